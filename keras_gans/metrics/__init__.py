"""GAN evaluation metrics computed from cached feature statistics.

Pixel convention: float images are in [-1, 1], uint8 images in [0, 255].

Example:

>>> from keras_gans import metrics
>>> extractor = metrics.FeatureExtractor("evaluators/mnist.keras", layer="features",
...                                      logits_layer="logits")
>>> metrics.evaluate(gan.generate, x_test, extractor,
...                  metrics=("fid", "kid", "is", "precision_recall"),
...                  num_samples=10_000, cache_dir="~/.cache/keras_gans")
"""

from keras_gans.metrics.evaluation import evaluate
from keras_gans.metrics.features import FeatureExtractor
from keras_gans.metrics.features import InceptionFeatureExtractor
from keras_gans.metrics.features import WeightsUnavailableError
from keras_gans.metrics.features import resolve_extractor
from keras_gans.metrics.frechet import frechet_distance
from keras_gans.metrics.is_score import inception_score
from keras_gans.metrics.kid import kernel_inception_distance
from keras_gans.metrics.manifold import precision_recall
from keras_gans.metrics.registry import Metric
from keras_gans.metrics.registry import available_metrics
from keras_gans.metrics.registry import get_metric
from keras_gans.metrics.registry import register_metric
from keras_gans.metrics.statistics import FeatureStatistics
from keras_gans.metrics.stats_cache import real_statistics

__all__ = [
    "FeatureExtractor",
    "FeatureStatistics",
    "InceptionFeatureExtractor",
    "Metric",
    "WeightsUnavailableError",
    "available_metrics",
    "evaluate",
    "frechet_distance",
    "get_metric",
    "inception_score",
    "kernel_inception_distance",
    "precision_recall",
    "real_statistics",
    "register_metric",
    "resolve_extractor",
]
