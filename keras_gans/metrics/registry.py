"""A registry of evaluation metrics, all computed from cached feature statistics.

Each metric declares what it needs (real statistics, raw features, generated
logits), so `evaluate` extracts features once and serves every metric from
the same pass, StyleGAN2-ADA style. Register new metrics with
`register_metric`.
"""

import dataclasses
from typing import Callable

from keras_gans.metrics.is_score import inception_score
from keras_gans.metrics.kid import kernel_inception_distance
from keras_gans.metrics.manifold import precision_recall


@dataclasses.dataclass(frozen=True)
class Metric:
    """A named metric.

    Attributes:
        name: registry name.
        compute: `compute(real, fake, fake_logits, **kwargs) -> dict[str, float]`
            where `real` / `fake` are `FeatureStatistics` (`real` is None when
            `needs_real` is False) and `fake_logits` an (N, K) array or None.
        needs_real: whether real-data statistics are used.
        needs_features: whether raw features (not just mean/cov) are used.
        needs_logits: whether class logits of the generated images are used.
        description: one line for `available_metrics` users.
    """

    name: str
    compute: Callable
    needs_real: bool = True
    needs_features: bool = False
    needs_logits: bool = False
    description: str = ""


_REGISTRY = {}
_ALIASES = {"inception_score": "is", "pr": "precision_recall"}


def register_metric(metric, overwrite=False):
    """Add a `Metric` to the registry (returns it, so it can decorate)."""
    if metric.name in _REGISTRY and not overwrite:
        raise ValueError(f"Metric {metric.name!r} is already registered.")
    _REGISTRY[metric.name] = metric
    return metric


def get_metric(name):
    """The `Metric` registered under `name` (case-insensitive; aliases
    "inception_score" and "pr" are accepted)."""
    key = str(name).lower()
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        raise KeyError(f"Unknown metric {name!r}; available: {', '.join(available_metrics())}.")
    return _REGISTRY[key]


def available_metrics():
    """Sorted names of the registered metrics."""
    return sorted(_REGISTRY)


def _need_features(stats, side):
    if stats.features is None or stats.num_kept < 2:
        raise ValueError(
            f"This metric needs raw {side} features, but none were kept; "
            "compute the statistics with keep_features > 0."
        )
    return stats.features


def _fid(real, fake, fake_logits, eps=1e-6):
    from keras_gans.metrics.frechet import frechet_distance

    return {"fid": frechet_distance(real.mean, real.cov, fake.mean, fake.cov, eps=eps)}


def _kid(real, fake, fake_logits, num_subsets=100, subset_size=1000, seed=0):
    mean, std = kernel_inception_distance(
        _need_features(real, "real"), _need_features(fake, "generated"), num_subsets, subset_size, seed
    )
    return {"kid": mean, "kid_std": std}


def _is(real, fake, fake_logits, splits=10):
    if fake_logits is None:
        raise ValueError(
            "The Inception Score needs class logits: use InceptionFeatureExtractor(logits=True) "
            "or FeatureExtractor(model, layer='features', logits_layer='logits')."
        )
    mean, std = inception_score(fake_logits, splits=min(splits, len(fake_logits)), from_logits=True)
    return {"is": mean, "is_std": std}


def _pr(real, fake, fake_logits, k=3, batch_size=1000):
    p, r = precision_recall(_need_features(real, "real"), _need_features(fake, "generated"), k, batch_size)
    return {"precision": p, "recall": r}


register_metric(Metric("fid", _fid, description="Fréchet Inception Distance (lower is better)."))
register_metric(
    Metric("kid", _kid, needs_features=True, description="Kernel Inception Distance, unbiased MMD² (lower is better).")
)
register_metric(
    Metric("is", _is, needs_real=False, needs_logits=True, description="Inception Score (higher is better).")
)
register_metric(
    Metric(
        "precision_recall",
        _pr,
        needs_features=True,
        description="Improved precision (fidelity) and recall (coverage), k=3.",
    )
)
