"""`evaluate`: every requested metric from one pass over generated images."""

import numpy as np

from keras_gans.metrics._sources import iter_image_batches
from keras_gans.metrics.registry import get_metric
from keras_gans.metrics.statistics import FeatureStatistics
from keras_gans.metrics.stats_cache import accumulate, real_statistics


def _is_image_container(obj):
    return isinstance(obj, np.ndarray) or hasattr(obj, "shape") or hasattr(obj, "__iter__")


def _generated_batches(fn, num_samples, batch_size):
    # Ask for batch_size images at a time so that generation, like feature
    # extraction, never holds num_samples images at once.
    produced = 0
    while produced < num_samples:
        n = min(batch_size, num_samples - produced)
        images = fn(n)
        if hasattr(images, "detach"):  # torch
            images = images.detach().cpu()
        images = np.asarray(images)[:n]
        if len(images) == 0:
            raise ValueError("The generator function returned no images.")
        produced += len(images)
        yield images


def evaluate(
    generator,
    real_data=None,
    extractor=None,
    metrics=("fid", "kid"),
    num_samples=10_000,
    batch_size=64,
    cache_dir=None,
    seed=0,
    dataset_id=None,
    max_real_samples=None,
    keep_features=10_000,
    metric_options=None,
):
    """Evaluate generated images against real data with registered metrics.

    Args:
        generator: a callable `fn(n) -> images` returning `n` images in
            [-1, 1] (e.g. `gan.generate`; called repeatedly with at most
            `batch_size`), or generated images themselves as an array, image
            folder, `tf.data.Dataset` or iterable of batches.
        real_data: real images (array, folder, dataset, iterable), or
            precomputed `FeatureStatistics` / a path to their `.npz`. Not
            needed when only `"is"` is requested.
        extractor: a `FeatureExtractor` (e.g. `InceptionFeatureExtractor()`
            or `FeatureExtractor("evaluators/mnist.keras", layer="features",
            logits_layer="logits")`).
        metrics: names from `available_metrics()`: "fid", "kid", "is",
            "precision_recall".
        num_samples: generated images to evaluate (the "50k" of FID50k).
        batch_size: generation and feature-extraction batch size.
        cache_dir: where real statistics are cached (see `real_statistics`);
            `None` recomputes them every call.
        seed: seed of KID subsets, kept-feature subsets and real subsets. It
            does not seed the generator: make `fn` reproducible yourself
            (e.g. `keras.utils.set_random_seed`) if you need identical images.
        dataset_id: names `real_data` for the cache when it is a dataset or
            stream (required then).
        max_real_samples: use at most this many real images.
        keep_features: raw features kept per side for KID and
            precision/recall (a uniform random subset).
        metric_options: per-metric keyword arguments, e.g.
            `{"kid": {"subset_size": 100}, "precision_recall": {"k": 5}}`.

    Returns:
        A dict of floats: "fid"; "kid", "kid_std"; "is", "is_std";
        "precision", "recall" (those of the requested metrics).

    Example:

    >>> extractor = FeatureExtractor("evaluators/mnist.keras", layer="features",
    ...                              logits_layer="logits")
    >>> x_test = np.load("mnist.npz")["x_test"]
    >>> evaluate(gan.generate, x_test, extractor,
    ...          metrics=("fid", "kid", "is", "precision_recall"),
    ...          num_samples=10_000, cache_dir="~/.cache/keras_gans")
    {'fid': 3.1, 'kid': 0.002, 'kid_std': 0.0004, 'is': 9.2, ...}
    """
    if extractor is None:
        raise ValueError("An `extractor` is required, e.g. FeatureExtractor(model, layer=...).")
    if isinstance(metrics, str):
        metrics = (metrics,)
    resolved = [get_metric(m) for m in metrics]
    options = dict(metric_options or {})
    needs_real = any(m.needs_real for m in resolved)
    needs_features = any(m.needs_features for m in resolved)
    needs_logits = any(m.needs_logits for m in resolved)
    # Fail before the expensive passes, not after them.
    if needs_logits and not extractor.has_logits:
        raise ValueError(
            f"Metrics {[m.name for m in resolved if m.needs_logits]} need class logits: use "
            "InceptionFeatureExtractor(logits=True) or FeatureExtractor(model, "
            "layer='features', logits_layer='logits')."
        )
    if needs_real and real_data is None:
        raise ValueError(f"Metrics {[m.name for m in resolved if m.needs_real]} need `real_data`.")

    keep = keep_features if needs_features else 0
    real = None
    if needs_real:
        real = real_statistics(
            real_data,
            extractor,
            cache_dir=cache_dir,
            max_samples=max_real_samples,
            keep_features=keep,
            dataset_id=dataset_id,
            batch_size=batch_size,
            seed=seed,
        )

    if callable(generator) and not _is_image_container(generator):
        images = _generated_batches(generator, int(num_samples), int(batch_size))
    else:
        images = iter_image_batches(generator, int(batch_size), max_samples=int(num_samples), seed=seed)
    fake = FeatureStatistics(keep_features=keep, seed=seed + 1)
    logits = [] if needs_logits else None
    accumulate(extractor.iter_batches(images, batch_size), fake, logits)
    if fake.count < 2:
        raise ValueError(f"Only {fake.count} generated image(s); at least 2 are needed.")
    fake_logits = np.concatenate(logits) if logits else None

    results = {}
    for metric in resolved:
        kwargs = dict(options.get(metric.name, {}))
        if metric.name == "kid":
            kwargs.setdefault("seed", seed)
        results.update(metric.compute(real, fake, fake_logits, **kwargs))
    return {k: float(v) for k, v in results.items()}
