"""Real-data feature statistics, computed once and cached on disk.

Real-data features are the expensive, repeated half of every evaluation (50k
Inception forward passes for FID50k), while they depend only on the data set,
the extractor and the sample count. They are stored as `.npz` under a key
derived from exactly those, so a changed data set or extractor never reuses a
stale file:

- data set: a fingerprint of an array's bytes, or of a folder's sorted file
  list with sizes and modification times; `tf.data` datasets and other
  streams need an explicit `dataset_id` string;
- extractor: `FeatureExtractor.fingerprint` (architecture, layer,
  preprocessing and a checksum of the weights);
- `max_samples` (and the subset seed).

The file holds `mean`, `cov`, `count` and a uniform random subset of at most
`keep_features` raw features (10,000 by default: KID and precision/recall
need raw features, FID does not; 10k x 2048 float32 is 80 MB).
"""

import hashlib
import json
import os
import uuid

from keras_gans.metrics._sources import dataset_fingerprint
from keras_gans.metrics.statistics import FeatureStatistics

# 2: folders are read like training (centre crop, one resize to the input
# size, 16-bit scaled, image_dataset's file set); format-1 entries of folders
# hold other statistics.
CACHE_FORMAT = 2


def accumulate(batches, stats, logits=None):
    """Fold `(features, logits)` batches into `stats` (and a logits list)."""
    for feats, lg in batches:
        stats.update(feats)
        if logits is not None and lg is not None:
            logits.append(lg)
    return stats


def _enough_features(stats, keep_features):
    if keep_features == 0 or stats.has_all_features:
        return True
    want = stats.count if keep_features is None else min(keep_features, stats.count)
    return stats.num_kept >= want


def cache_path(real_data, extractor, cache_dir, max_samples=None, dataset_id=None, seed=0):
    """The `.npz` path that `real_statistics` uses for these arguments."""
    key = {
        "format": CACHE_FORMAT,
        "dataset": dataset_fingerprint(real_data, dataset_id),
        "extractor": extractor.fingerprint,
        "max_samples": max_samples,
        "seed": seed,
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return os.path.join(os.fspath(cache_dir), f"real_stats_{digest}.npz"), key


def real_statistics(
    real_data,
    extractor,
    cache_dir=None,
    max_samples=None,
    keep_features=10_000,
    dataset_id=None,
    batch_size=None,
    seed=0,
):
    """Feature statistics of a real data set, loaded from the cache if present.

    Args:
        real_data: an image array, an image folder, a `tf.data.Dataset` or an
            iterable of batches (uint8 0..255 or float in [-1, 1]); or
            already-computed `FeatureStatistics`, or a path to their `.npz`,
            which are returned as they are.
        extractor: a `FeatureExtractor`.
        cache_dir: directory for cached statistics; `None` disables caching.
        max_samples: use at most this many real images (a seeded uniform
            subset for arrays and folders, the first ones for streams).
        keep_features: raw features to keep for KID / precision-recall (`0`
            none, `None` all). A cached file with fewer is recomputed.
        dataset_id: a string naming the data set, required to cache data that
            cannot be fingerprinted (datasets, generators); change it when
            the data changes.
        batch_size: overrides the extractor's batch size.
        seed: seed of the `max_samples` subset and of the kept features.

    Returns:
        `FeatureStatistics` (with `.metadata` describing the cache key).

    Example:

    >>> extractor = FeatureExtractor("evaluators/mnist.keras", layer="features")
    >>> x_test = np.load("mnist.npz")["x_test"]
    >>> stats = real_statistics(x_test, extractor, cache_dir="~/.cache/keras_gans")
    >>> stats = real_statistics(x_test, extractor, cache_dir="~/.cache/keras_gans")  # loaded
    """
    if isinstance(real_data, FeatureStatistics):
        return real_data
    if isinstance(real_data, (str, os.PathLike)) and not os.path.isdir(real_data):
        name = os.fspath(real_data)
        if not os.path.isfile(name):
            # Say so now: a missing path would otherwise surface as "cannot
            # fingerprint real data of type str".
            raise FileNotFoundError(f"Real data not found: {name!r} is neither an image folder nor a statistics .npz.")
        if not name.endswith(".npz"):
            raise ValueError(f"Expected an image folder or a statistics .npz; got the file {name!r}.")
        return FeatureStatistics.load(name)

    path = key = None
    if cache_dir is not None:
        cache_dir = os.path.expanduser(os.fspath(cache_dir))
        path, key = cache_path(real_data, extractor, cache_dir, max_samples, dataset_id, seed)
        if os.path.exists(path):
            try:
                stats = FeatureStatistics.load(path)
            except Exception:  # a truncated or foreign file: recompute it
                stats = None
            if stats is not None and stats.metadata.get("key") == key and _enough_features(stats, keep_features):
                return stats

    stats = FeatureStatistics(keep_features=keep_features, seed=seed)
    accumulate(extractor.iter_batches(real_data, batch_size, max_samples=max_samples, seed=seed), stats)
    if stats.count < 2:
        raise ValueError(f"Real data gave {stats.count} image(s); at least 2 are needed.")
    stats.metadata = {"key": key, "extractor": repr(extractor)}
    if path is not None:
        os.makedirs(cache_dir, exist_ok=True)
        # A unique temporary name: a pid is shared by threads, and by
        # containers that mount the same cache directory. (Not mkstemp: its
        # 0600 mode would hide the entry from the other users of a shared
        # cache; "x" creates the file with the umask's mode, or fails.)
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "xb") as f:  # a file object stops np.savez appending ".npz"
                stats.save(f)
            os.replace(tmp, path)  # atomic: a concurrent reader never sees half a file
        finally:
            if os.path.exists(tmp):  # the save failed: leave no debris
                os.unlink(tmp)
    return stats
