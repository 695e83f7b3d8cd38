"""Streaming feature statistics: mean and covariance without keeping features.

FID needs only the mean and covariance of each feature set, so features are
folded into running sums (in float64) batch by batch and 50,000 samples never
sit in memory at once. KID and precision/recall need raw features; a seeded
uniform random subset of at most `keep_features` of them is kept alongside.
"""

import json

import numpy as np


class FeatureStatistics:
    """Running mean and covariance of feature vectors, saved as `.npz`.

    The covariance uses sums of outer products of *shifted* features
    (`x - shift`, with `shift` the first batch's mean): mathematically the
    same, but it avoids the catastrophic cancellation of `E[xx'] - mu mu'`
    when the mean is large compared with the spread.

    Args:
        keep_features: how many raw feature vectors to keep (a uniform random
            subset, via the "bottom-k random keys" reservoir, so it does not
            depend on batch order); `0` keeps none, `None` keeps all.
        seed: seed of that subset.

    Example:

    >>> stats = FeatureStatistics()
    >>> for batch in np.array_split(np.random.randn(1000, 8), 7):
    ...     stats.update(batch)
    >>> stats.count, stats.mean.shape, stats.cov.shape
    (1000, (8,), (8, 8))
    >>> stats.save("real_stats.npz"); FeatureStatistics.load("real_stats.npz").count
    1000
    """

    def __init__(self, keep_features=0, seed=0):
        self.keep_features = keep_features
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self.count = 0
        self._shift = None
        self._sum = None
        self._outer = None
        self._kept = None  # (m, d) float32
        self._keys = None  # random keys of the kept rows
        self._index = None  # position of each kept row in the stream
        self._pending, self._pending_rows = [], 0
        self.metadata = {}
        self._fixed = None  # (mean, cov) of a foreign file without sums

    @property
    def dim(self):
        return None if self._shift is None else self._shift.shape[0]

    def update(self, features):
        """Fold a batch of features (N, D) into the statistics."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2:
            x = x.reshape(len(x), -1)
        n = x.shape[0]
        if self._fixed is not None:
            raise ValueError("These statistics were loaded without a sample count; they cannot be updated.")
        if n == 0:
            return self
        if self._shift is None:
            d = x.shape[1]
            self._shift = x.mean(axis=0)
            self._sum = np.zeros(d)
            self._outer = np.zeros((d, d))
        elif x.shape[1] != self.dim:
            raise ValueError(f"Feature dimension changed from {self.dim} to {x.shape[1]}.")
        xc = x - self._shift
        self._sum += xc.sum(axis=0)
        self._outer += xc.T @ xc
        self._keep(np.asarray(features, dtype=np.float32).reshape(n, -1))
        self.count += n
        return self

    def _keep(self, feats):
        if self.keep_features == 0:
            return
        n = len(feats)
        # Each row gets a uniform random key; keeping the rows with the
        # smallest keys is a uniform subset whatever the batch boundaries.
        keys = self._rng.random(n)
        index = np.arange(self.count, self.count + n)
        self._pending.append((feats.copy(), keys, index))
        self._pending_rows += n
        if self.keep_features is not None and self._pending_rows > 2 * self.keep_features:
            self._consolidate()

    def _consolidate(self):
        # Concatenate lazily (amortised) instead of once per batch.
        if not self._pending:
            return
        parts = ([(self._kept, self._keys, self._index)] if self._kept is not None else []) + self._pending
        self._kept = np.concatenate([p[0] for p in parts])
        self._keys = np.concatenate([p[1] for p in parts])
        self._index = np.concatenate([p[2] for p in parts])
        self._pending, self._pending_rows = [], 0
        if self.keep_features is not None and len(self._keys) > self.keep_features:
            sel = np.argpartition(self._keys, self.keep_features)[: self.keep_features]
            sel.sort()
            self._kept, self._keys, self._index = self._kept[sel], self._keys[sel], self._index[sel]

    @property
    def mean(self):
        """Mean feature vector (D,), float64."""
        if self._fixed is not None:
            return self._fixed[0]
        if self.count == 0:
            raise ValueError("No features have been added.")
        return self._shift + self._sum / self.count

    @property
    def cov(self):
        """Unbiased covariance (D, D), float64; equals `np.cov(x, rowvar=False)`."""
        if self._fixed is not None:
            return self._fixed[1]
        if self.count < 2:
            raise ValueError("The covariance needs at least 2 samples.")
        m = self._sum / self.count
        return (self._outer - self.count * np.outer(m, m)) / (self.count - 1)

    @property
    def features(self):
        """The kept raw features (M, D) float32 in stream order, or None."""
        self._consolidate()
        if self._kept is None:
            return None
        order = np.argsort(self._index, kind="stable")
        return self._kept[order]

    @property
    def num_kept(self):
        self._consolidate()
        return 0 if self._kept is None else len(self._kept)

    @property
    def has_all_features(self):
        return self.count > 0 and self.num_kept == self.count

    @classmethod
    def from_features(cls, features, keep_features=0, seed=0):
        """Statistics of one array of features."""
        return cls(keep_features=keep_features, seed=seed).update(features)

    def frechet_distance(self, other):
        """FID-style Fréchet distance between these and `other` statistics."""
        from keras_gans.metrics.frechet import frechet_distance

        return frechet_distance(self.mean, self.cov, other.mean, other.cov)

    # -- persistence ---------------------------------------------------------

    def save(self, path):
        """Write `mean`, `cov`, `count` (and kept `features`) to an `.npz`.

        `path` may be a file name or an open binary file.
        """
        if self.count < 2 and self._fixed is None:
            raise ValueError("Need at least 2 samples to save statistics.")
        arrays = {
            "mean": self.mean,
            "cov": self.cov,
            "count": np.int64(self.count),
            "metadata": np.array(json.dumps(self.metadata)),
            "keep_features": np.int64(-1 if self.keep_features is None else self.keep_features),
            "seed": np.int64(self.seed),
        }
        self._consolidate()
        if self._kept is not None:
            arrays.update(features=self._kept, feature_keys=self._keys, feature_index=self._index)
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path):
        """Read statistics written by `save` (or any `.npz` with `mu`/`sigma`
        or `mean`/`cov` arrays); further `update`s continue from them."""
        with np.load(path, allow_pickle=False) as z:
            mean = z["mean"] if "mean" in z else z["mu"]
            cov = z["cov"] if "cov" in z else z["sigma"]
            count = int(z["count"]) if "count" in z else 0
            keep = int(z["keep_features"]) if "keep_features" in z else 0
            seed = int(z["seed"]) if "seed" in z else 0
            stats = cls(keep_features=None if keep < 0 else keep, seed=seed)
            mean = np.asarray(mean, np.float64)
            cov = np.asarray(cov, np.float64)
            if count >= 2:
                # Re-express mean/cov as sums around shift = mean (exact), so
                # that further updates continue the same statistics.
                stats.count = count
                stats._shift = mean
                stats._sum = np.zeros_like(mean)
                stats._outer = cov * (count - 1)
                # A fresh key stream, so continued updates are not correlated
                # with the keys of the rows already kept.
                stats._rng = np.random.default_rng([seed, count])
            else:
                # Foreign files (e.g. pytorch-fid's mu/sigma) carry no count:
                # mean/cov stay usable, updates are refused.
                stats._fixed = (mean, cov)
                stats._shift = mean
            if "features" in z:
                stats._kept = z["features"]
                stats._keys = z["feature_keys"]
                stats._index = z["feature_index"]
            if "metadata" in z:
                stats.metadata = json.loads(str(z["metadata"]))
        return stats

    def __repr__(self):
        return f"FeatureStatistics(count={self.count}, dim={self.dim}, kept={self.num_kept})"
