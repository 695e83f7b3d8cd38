"""Tests for keras_gans.metrics: statistics against closed forms and plain
NumPy/SciPy references, feature extraction, caching and the evaluator CLI."""

import importlib.util
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
from scipy import linalg

import keras

from keras_gans.metrics import FeatureExtractor
from keras_gans.metrics import FeatureStatistics
from keras_gans.metrics import InceptionFeatureExtractor
from keras_gans.metrics import WeightsUnavailableError
from keras_gans.metrics import available_metrics
from keras_gans.metrics import evaluate
from keras_gans.metrics import frechet_distance
from keras_gans.metrics import get_metric
from keras_gans.metrics import inception_score
from keras_gans.metrics import kernel_inception_distance
from keras_gans.metrics import precision_recall
from keras_gans.metrics import real_statistics

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("KERAS_GANS_DATA")
needs_data = pytest.mark.skipif(not DATA, reason="KERAS_GANS_DATA is not set")
# The statistics are NumPy/SciPy: checked once, not on every backend.
numpy_only = pytest.mark.single_backend


def _random_cov(rng, d, scale=1.0):
    a = rng.normal(size=(d, d))
    return scale * (a @ a.T / d + 0.1 * np.eye(d))


# -- FID ------------------------------------------------------------------------


@numpy_only
def test_fid_matches_closed_form_for_gaussians():
    rng = np.random.default_rng(0)
    d, n = 8, 20_000
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = _random_cov(rng, d), _random_cov(rng, d)
    x1 = rng.multivariate_normal(m1, s1, size=n)
    x2 = rng.multivariate_normal(m2, s2, size=n)
    s1h = linalg.sqrtm(s1).real
    exact = (m1 - m2) @ (m1 - m2) + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1h @ s2 @ s1h).real)
    est = frechet_distance(x1.mean(0), np.cov(x1, rowvar=False), x2.mean(0), np.cov(x2, rowvar=False))
    assert est == pytest.approx(exact, rel=0.03)


@numpy_only
def test_fid_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(1).normal(size=(2000, 16))
    mu, cov = x.mean(0), np.cov(x, rowvar=False)
    assert abs(frechet_distance(mu, cov, mu, cov)) < 1e-6


@numpy_only
def test_fid_near_singular_covariance_is_finite():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(10, 64)), rng.normal(size=(12, 64)) + 0.5
    value = frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert np.isfinite(value) and value > 0


@numpy_only
def test_fid_agrees_with_numpy_scipy_reference():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(500, 32)) @ rng.normal(size=(32, 32))
    b = rng.normal(size=(400, 32)) @ rng.normal(size=(32, 32)) + 0.3
    mu1, s1, mu2, s2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    reference = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-6)
    stats_a, stats_b = FeatureStatistics.from_features(a), FeatureStatistics.from_features(b)
    assert stats_a.frechet_distance(stats_b) == pytest.approx(reference, rel=1e-6)


@numpy_only
def test_fid_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


# -- FeatureStatistics ----------------------------------------------------------


@numpy_only
def test_feature_statistics_streaming_equals_numpy(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(5000, 24)) * 3 + 1000.0  # large mean: tests the shift
    stats = FeatureStatistics(keep_features=700, seed=1)
    for batch in np.array_split(x, 37):
        stats.update(batch)
    assert stats.count == 5000
    np.testing.assert_allclose(stats.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats.cov, np.cov(x, rowvar=False), rtol=1e-9, atol=1e-9)
    kept = stats.features
    assert kept.shape == (700, 24)
    # The kept rows are a subset of the stream, in stream order.
    assert np.isin(kept[:, 0], x[:, 0].astype(np.float32)).all()

    path = tmp_path / "stats.npz"
    stats.save(path)
    loaded = FeatureStatistics.load(path)
    assert loaded.count == 5000
    np.testing.assert_allclose(loaded.mean, stats.mean, rtol=1e-12)
    np.testing.assert_allclose(loaded.cov, stats.cov, rtol=1e-12)
    np.testing.assert_array_equal(loaded.features, kept)
    # Loaded statistics keep accumulating exactly.
    extra = rng.normal(size=(300, 24))
    loaded.update(extra)
    both = np.concatenate([x, extra])
    np.testing.assert_allclose(loaded.mean, both.mean(0), rtol=1e-12)
    np.testing.assert_allclose(loaded.cov, np.cov(both, rowvar=False), rtol=1e-9, atol=1e-9)


@numpy_only
def test_feature_statistics_keeps_all_when_small():
    x = np.random.default_rng(5).normal(size=(50, 4)).astype(np.float32)
    stats = FeatureStatistics(keep_features=100)
    for batch in np.array_split(x, 3):
        stats.update(batch)
    assert stats.has_all_features
    np.testing.assert_array_equal(stats.features, x)


# -- KID ------------------------------------------------------------------------


def _mmd2_reference(x, y):
    # Explicit loops over pairs: the textbook unbiased MMD² estimator.
    m, d = len(x), x.shape[1]
    k = lambda a, b: (float(np.dot(a, b)) / d + 1.0) ** 3
    kxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kxy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return kxx + kyy - 2 * kxy


@numpy_only
def test_kid_agrees_with_loop_reference():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(40, 6)), rng.normal(size=(40, 6)) + 0.4
    # One subset covering both sets: a permutation, which MMD² ignores.
    mean, std = kernel_inception_distance(x, y, num_subsets=1, subset_size=40)
    assert mean == pytest.approx(_mmd2_reference(x, y), rel=1e-6)
    assert std == 0.0


@numpy_only
def test_kid_same_distribution_near_zero_and_shift_positive():
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(1500, 32)), rng.normal(size=(1500, 32))
    mean, std = kernel_inception_distance(a, b, num_subsets=20, subset_size=500)
    assert abs(mean) < max(3 * std, 1e-3)
    shifted, shifted_std = kernel_inception_distance(a, b + 1.0, num_subsets=20, subset_size=500)
    assert shifted > 0.5 and shifted > 10 * shifted_std


@numpy_only
def test_kid_subset_size_is_clipped():
    rng = np.random.default_rng(8)
    mean, _ = kernel_inception_distance(rng.normal(size=(30, 4)), rng.normal(size=(50, 4)), num_subsets=3)
    assert np.isfinite(mean)


# -- Inception Score ------------------------------------------------------------


@numpy_only
def test_inception_score_uniform_and_confident():
    assert inception_score(np.full((1000, 10), 0.1))[0] == pytest.approx(1.0, abs=1e-9)
    confident = np.eye(10)[np.arange(1000) % 10]
    mean, std = inception_score(confident, splits=10)
    assert mean == pytest.approx(10.0, rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)
    logits = np.where(confident > 0, 50.0, -50.0)
    assert inception_score(logits, from_logits=True)[0] == pytest.approx(10.0, rel=1e-6)
    with pytest.raises(ValueError, match="from_logits"):
        inception_score(logits)


# -- precision / recall ---------------------------------------------------------


@numpy_only
def test_precision_recall_identical_and_disjoint():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(800, 8))
    assert precision_recall(x, x.copy()) == (1.0, 1.0)
    assert precision_recall(x, x + 1000.0) == (0.0, 0.0)


@numpy_only
def test_precision_recall_half_the_modes():
    rng = np.random.default_rng(10)
    # Low dimension: k-NN balls of finite samples cover their own distribution
    # almost fully there (in high dimensions even identical distributions
    # score noticeably below 1).
    centers = rng.normal(size=(10, 2)) * 50  # far apart
    real = centers[np.arange(2000) % 10] + rng.normal(size=(2000, 2))
    fake = centers[np.arange(2000) % 5] + rng.normal(size=(2000, 2))
    precision, recall = precision_recall(real, fake, k=3, batch_size=300)
    assert precision > 0.93
    assert recall == pytest.approx(0.5, abs=0.05)
    # Blocking the distance computation does not change the answer.
    assert precision_recall(real, fake, k=3, batch_size=4000) == (precision, recall)


# -- registry -------------------------------------------------------------------


@numpy_only
def test_registry():
    assert {"fid", "kid", "is", "precision_recall"} <= set(available_metrics())
    assert get_metric("FID").name == "fid"
    assert get_metric("inception_score").name == "is"
    with pytest.raises(KeyError, match="available"):
        get_metric("nope")


# -- feature extractors ---------------------------------------------------------


def _tiny_model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(8, activation="relu", name="features"),
            keras.layers.Dense(3, name="logits"),
        ]
    )


@pytest.fixture(scope="module")
def tiny_extractor():
    return FeatureExtractor(_tiny_model(), layer="features", logits_layer="logits", batch_size=16)


def test_feature_extractor_layers_sources_and_conventions(tiny_extractor, tmp_path):
    rng = np.random.default_rng(11)
    u8 = rng.integers(0, 256, size=(37, 16, 16), dtype=np.uint8)
    feats, logits = tiny_extractor.features_and_logits(u8)
    assert feats.shape == (37, 8) and logits.shape == (37, 3)
    # uint8 0..255 and float [-1, 1] are the same images.
    np.testing.assert_allclose(tiny_extractor(u8.astype(np.float32) / 127.5 - 1.0), feats, atol=1e-5)
    # Any layer, flattened to 2-D.
    flat = FeatureExtractor(tiny_extractor.model, layer="flat")(u8)
    assert flat.shape == (37, 14 * 14 * 4)
    # Generators of (images, labels) batches and larger images (resized).
    gen = ((u8[i : i + 10], None) for i in range(0, 37, 10))
    np.testing.assert_allclose(tiny_extractor(gen), feats, atol=1e-5)
    big = np.repeat(np.repeat(u8, 2, axis=1), 2, axis=2)  # 32x32, RGB below
    assert tiny_extractor(np.repeat(big[..., None], 3, axis=-1)).shape == (37, 8)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        tiny_extractor(u8.astype(np.float32))


def test_feature_extractor_tf_data_and_keras_file(tiny_extractor, tmp_path):
    tf = pytest.importorskip("tensorflow")
    x = np.random.default_rng(12).uniform(-1, 1, size=(20, 16, 16, 1)).astype(np.float32)
    expected = tiny_extractor(x)
    ds = tf.data.Dataset.from_tensor_slices((x, np.zeros(20)))  # unbatched pairs
    np.testing.assert_allclose(tiny_extractor(ds), expected, atol=1e-5)
    path = str(tmp_path / "tiny.keras")
    tiny_extractor.model.save(path)
    from_file = FeatureExtractor(path, layer="features", logits_layer="logits")
    np.testing.assert_allclose(from_file(x), expected, atol=1e-5)
    assert from_file.fingerprint == tiny_extractor.fingerprint


def test_fingerprint_tracks_weights_and_layer(tiny_extractor):
    same = FeatureExtractor(tiny_extractor.model, layer="features", logits_layer="logits")
    assert same.fingerprint == tiny_extractor.fingerprint
    assert FeatureExtractor(tiny_extractor.model, layer="flat").fingerprint != tiny_extractor.fingerprint
    other = FeatureExtractor(_tiny_model(seed=1), layer="features", logits_layer="logits")
    assert other.fingerprint != tiny_extractor.fingerprint


def test_fingerprint_tracks_dtype_policy_and_assigned_weights():
    x = np.random.default_rng(16).integers(0, 256, (4, 16, 16, 1), dtype=np.uint8)
    plain = FeatureExtractor(_tiny_model(), layer="features")
    try:
        keras.config.set_dtype_policy("mixed_bfloat16")
        mixed = FeatureExtractor(_tiny_model(), layer="features")  # the same float32 weights
        mixed_features = mixed(x)
        # The resizing/rescaling wrapper is built under the global policy.
        plain_under_mixed = plain.fingerprint
    finally:
        keras.config.set_dtype_policy("float32")
    # bfloat16 layers give other features, so they must not share cached statistics.
    assert not np.allclose(mixed_features, plain(x), atol=1e-4)
    assert mixed.fingerprint != plain.fingerprint
    assert plain_under_mixed != plain.fingerprint
    # The fingerprint follows weights changed in place, as training does.
    before = plain.fingerprint
    kernel = plain.model.layers[0].kernel
    kernel.assign(kernel + 0.1)
    assert plain.fingerprint != before


def test_integer_images_must_hold_0_to_255():
    extractor = _pixels_extractor()
    with pytest.raises(ValueError, match=r"0\.\.255.*uint16"):
        extractor(np.full((2, 16, 16), 4000, np.uint16))  # 16-bit data, not [-1, 513]
    small = np.random.default_rng(17).integers(0, 256, (2, 16, 16))  # int64 holding 0..255
    np.testing.assert_array_equal(extractor(small), extractor(small.astype(np.uint8)))


# -- image folders, read the way training reads them ----------------------------


def _pixels_extractor(size=16, channels=1):
    """An extractor whose features are the pixels it is fed, in [-1, 1]."""
    model = keras.Sequential([keras.Input((size, size, channels)), keras.layers.Flatten()])
    return FeatureExtractor(model, batch_size=4)


def _save_image(path, array):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _wide_image(channels=1):
    """20 x 60, white in (a little more than) its centre square, black at the sides."""
    image = np.zeros((20, 60, channels), np.uint8)
    image[:, 18:42] = 255
    return image[..., 0] if channels == 1 else image


# Passes the cheap structural scan (JPEG header and end marker), fails to decode.
GARBLED_JPEG = b"\xff\xd8\xff\xe0" + bytes(100) + b"\xff\xd9"
# A macOS AppleDouble file: "._name.png" beside "name.png", not an image.
APPLEDOUBLE = b"\x00\x05\x16\x07" + bytes(80)


def test_folder_images_are_resized_once_whatever_the_batching(tmp_path):
    rng = np.random.default_rng(18)
    for i, (h, w) in enumerate([(20, 20), (40, 40), (48, 64), (16, 16), (90, 30)]):
        _save_image(tmp_path / f"{i}.png", rng.integers(0, 256, (h, w), dtype=np.uint8))
    extractor = _pixels_extractor()
    one_by_one = extractor(str(tmp_path), batch_size=1)
    np.testing.assert_array_equal(extractor(str(tmp_path), batch_size=5), one_by_one)


def test_folder_is_read_like_training(tmp_path):
    _save_image(tmp_path / "a" / "wide.png", _wide_image())
    _save_image(tmp_path / "b" / "gray.png", np.full((16, 16), 128, np.uint8))
    _save_image(tmp_path / "b" / "other.tiff", np.zeros((16, 16), np.uint8))  # a format training skips
    (tmp_path / "a" / "._wide.png").write_bytes(APPLEDOUBLE)
    (tmp_path / "a" / "empty.png").write_bytes(b"")
    (tmp_path / "b" / "garbled.jpg").write_bytes(GARBLED_JPEG)
    with pytest.warns(UserWarning, match="skipped 2 "):
        pixels = _pixels_extractor()(str(tmp_path))
    assert pixels.shape == (2, 16 * 16)
    np.testing.assert_array_equal(pixels[0], 1.0)  # the centre square, not a squashed image
    np.testing.assert_allclose(pixels[1], 128 / 127.5 - 1.0, atol=1e-6)


def test_folder_jpegs_are_turned_upright_by_exif(tmp_path):
    from PIL import Image

    stored = np.zeros((16, 32), np.uint8)
    stored[:, :16] = 255  # white left half, as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation 6: shown turned 90 degrees clockwise
    Image.fromarray(stored).save(tmp_path / "phone.jpg", quality=100, exif=exif)
    pixels = _pixels_extractor()(str(tmp_path)).reshape(16, 16)
    # Upright, the white half is on top; the centre square keeps half of it.
    assert pixels[:6].min() > 0.9 and pixels[-6:].max() < -0.9


def test_sixteen_bit_grayscale_files_are_scaled(tmp_path):
    _save_image(tmp_path / "deep.png", np.full((16, 16), 4000, np.uint16))
    pixels = _pixels_extractor()(str(tmp_path))
    # The high byte, as TensorFlow's decoder gives training; not clipped to 255.
    np.testing.assert_allclose(pixels, (4000 >> 8) / 127.5 - 1.0, atol=1e-6)


def test_inception_offline_error_message(monkeypatch, tmp_path):
    # Simulate an offline machine: every DNS lookup fails. The real
    # keras.utils.get_file download path runs, into an empty cache.
    def no_network(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    with pytest.raises(WeightsUnavailableError) as info:
        InceptionFeatureExtractor(weights="imagenet", cache_dir=str(tmp_path))
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "could not be downloaded" in message and "offline" in message
    assert 'weights="/path/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"' in message
    assert "FeatureExtractor(model, layer=...)" in message and "scripts/train_evaluator.py" in message


def test_inception_random_weights_gives_2048_features():
    extractor = InceptionFeatureExtractor(weights=None, batch_size=2)
    feats = extractor(np.zeros((2, 28, 28, 1), np.uint8))  # grayscale, resized to 299
    assert feats.shape == (2, 2048) and np.isfinite(feats).all()


# -- caching and evaluate -------------------------------------------------------


class CountingExtractor(FeatureExtractor):
    calls = 0

    def _predict(self, images):
        type(self).calls += 1
        return super()._predict(images)


def test_real_statistics_cache(tiny_extractor, tmp_path):
    extractor = CountingExtractor(tiny_extractor.model, layer="features", logits_layer="logits", batch_size=16)
    real = np.random.default_rng(13).integers(0, 256, size=(50, 16, 16, 1), dtype=np.uint8)
    CountingExtractor.calls = 0
    first = real_statistics(real, extractor, cache_dir=tmp_path)
    assert CountingExtractor.calls > 0 and first.count == 50 and first.has_all_features
    assert len(list(tmp_path.glob("real_stats_*.npz"))) == 1
    CountingExtractor.calls = 0
    second = real_statistics(real, extractor, cache_dir=tmp_path)
    assert CountingExtractor.calls == 0
    np.testing.assert_allclose(second.cov, first.cov)
    np.testing.assert_array_equal(second.features, first.features)
    # Changed data, or a different subset size, is a different cache entry.
    real[0] ^= 1
    real_statistics(real, extractor, cache_dir=tmp_path)
    real_statistics(real, extractor, cache_dir=tmp_path, max_samples=20)
    assert CountingExtractor.calls > 0
    assert len(list(tmp_path.glob("real_stats_*.npz"))) == 3
    # Streams cannot be fingerprinted: an explicit dataset_id is required.
    with pytest.raises(ValueError, match="dataset_id"):
        real_statistics(iter([real]), extractor, cache_dir=tmp_path)
    stats = real_statistics(iter([real]), extractor, cache_dir=tmp_path, dataset_id="toy-v1")
    CountingExtractor.calls = 0
    assert real_statistics(iter([real]), extractor, cache_dir=tmp_path, dataset_id="toy-v1").count == stats.count
    assert CountingExtractor.calls == 0


def test_real_statistics_folder_cache(tiny_extractor, tmp_path):
    from PIL import Image

    folder = tmp_path / "images"
    rng = np.random.default_rng(14)
    for c in ("a", "b"):
        (folder / c).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(folder / c / f"{i}.png")
    extractor = CountingExtractor(tiny_extractor.model, layer="features", batch_size=16)
    CountingExtractor.calls = 0
    stats = real_statistics(str(folder), extractor, cache_dir=tmp_path / "cache")
    assert stats.count == 12 and CountingExtractor.calls > 0
    CountingExtractor.calls = 0
    real_statistics(str(folder), extractor, cache_dir=tmp_path / "cache")
    assert CountingExtractor.calls == 0
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(folder / "a" / "new.png")
    assert real_statistics(str(folder), extractor, cache_dir=tmp_path / "cache").count == 13


@pytest.mark.single_backend  # fails before any feature is computed
def test_real_statistics_of_a_missing_path_says_so(tiny_extractor, tmp_path):
    for cache_dir in (tmp_path, None):
        with pytest.raises(FileNotFoundError, match="celeba_typo"):
            real_statistics(str(tmp_path / "celeba_typo"), tiny_extractor, cache_dir=cache_dir)


@pytest.mark.single_backend  # file handling, not feature extraction
def test_concurrent_cache_writers_do_not_collide(tiny_extractor, tmp_path, monkeypatch):
    real = np.random.default_rng(19).integers(0, 256, size=(20, 16, 16, 1), dtype=np.uint8)
    save = FeatureStatistics.save

    def save_while_another_writer_saves(self, f):
        # A second writer of the same entry (a thread, or a container with
        # the same pid) saves while this one is halfway through.
        if not getattr(save_while_another_writer_saves, "nested", False):
            save_while_another_writer_saves.nested = True
            real_statistics(real, tiny_extractor, cache_dir=tmp_path)
        save(self, f)

    monkeypatch.setattr(FeatureStatistics, "save", save_while_another_writer_saves)
    stats = real_statistics(real, tiny_extractor, cache_dir=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [p.name for p in tmp_path.glob("real_stats_*.npz")]
    (path,) = tmp_path.glob("real_stats_*.npz")
    np.testing.assert_array_equal(FeatureStatistics.load(path).features, stats.features)


def test_evaluate_all_metrics(tiny_extractor, tmp_path):
    rng = np.random.default_rng(15)
    real = rng.integers(0, 256, size=(120, 16, 16, 1), dtype=np.uint8)
    generate = lambda n: rng.uniform(-1, 1, size=(n, 16, 16, 1)).astype(np.float32)
    options = {"kid": {"num_subsets": 5, "subset_size": 50}}
    metrics = ("fid", "kid", "is", "precision_recall")
    result = evaluate(generate, real, tiny_extractor, metrics=metrics, num_samples=100, batch_size=32,
                      cache_dir=tmp_path, metric_options=options)
    assert set(result) == {"fid", "kid", "kid_std", "is", "is_std", "precision", "recall"}
    assert all(isinstance(v, float) and np.isfinite(v) for v in result.values())
    # Real images against themselves: FID ~0, precision = recall = 1.
    same = evaluate(real, real, tiny_extractor, metrics=("fid", "pr"), num_samples=120, cache_dir=tmp_path)
    assert abs(same["fid"]) < 1e-6 and same["precision"] == 1.0 and same["recall"] == 1.0
    assert result["fid"] > 1e-3
    no_logits = FeatureExtractor(tiny_extractor.model, layer="features")
    with pytest.raises(ValueError, match="logits"):
        evaluate(generate, real, no_logits, metrics=("is",), num_samples=10)


# -- real data and the evaluator CLI --------------------------------------------


def _run_cli(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, os.path.join(REPO, "scripts", "train_evaluator.py"), *args],
        capture_output=True, text=True, env=env, timeout=300,
    )


@pytest.mark.single_backend  # argument checks, before any model is built
def test_train_evaluator_cli_errors(tmp_path):
    help_ = _run_cli("--help")
    assert help_.returncode == 0 and "--data" in help_.stdout and "--image-size" in help_.stdout
    bad = _run_cli("--data", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "m.keras"))
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().count("\n") == 0 and "not found" in bad.stderr
    wrong = _run_cli("--data", "x.npz", "--out", "model.h5")
    assert wrong.returncode != 0 and "Traceback" not in wrong.stderr and ".keras" in wrong.stderr


def _load_script(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, "scripts", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.single_backend  # image files only, no model
def test_train_evaluator_reads_folders_like_training(tmp_path, capsys):
    for label in ("cat", "dog"):
        for i in range(3):
            _save_image(tmp_path / label / f"{i}.png", _wide_image(channels=3))
    (tmp_path / ".ipynb_checkpoints").mkdir()  # a hidden folder is not an (empty) class
    (tmp_path / "cat" / "._0.png").write_bytes(APPLEDOUBLE)
    (tmp_path / "dog" / "garbled.jpg").write_bytes(GARBLED_JPEG)
    load_folder = _load_script("train_evaluator").load_folder
    (x_train, y_train), (x_test, y_test), classes = load_folder(str(tmp_path), 16, 0.5, 0)
    assert classes == ["cat", "dog"]
    assert sorted(np.concatenate([y_train, y_test])) == [0, 0, 0, 1, 1, 1]
    assert x_train.shape[1:] == (16, 16, 3)
    assert (x_train == 255).all() and (x_test == 255).all()  # centre-cropped, not squashed
    assert "skipped 1 " in capsys.readouterr().err


@needs_data
def test_train_evaluator_quick_mnist_run(tmp_path):
    # A small slice of MNIST in the same .npz layout keeps this run short.
    with np.load(os.path.join(DATA, "mnist", "mnist.npz")) as z:
        small = {"x_train": z["x_train"][:1024], "y_train": z["y_train"][:1024],
                 "x_test": z["x_test"][:256], "y_test": z["y_test"][:256]}
    np.savez(tmp_path / "small.npz", **small)
    out = tmp_path / "mnist.keras"
    run = _run_cli("--data", str(tmp_path / "small.npz"), "--out", str(out),
                   "--epochs", "1", "--width", "8", "--verbose", "0")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "held-out accuracy" in run.stdout and (tmp_path / "mnist.json").exists()
    extractor = FeatureExtractor(str(out), layer="features", logits_layer="logits")
    feats, logits = extractor.features_and_logits(small["x_test"][:64])
    assert feats.shape == (64, 128) and logits.shape == (64, 10)


@needs_data
def test_mnist_train_vs_test_fid_smaller_than_vs_noise():
    with np.load(os.path.join(DATA, "mnist", "mnist.npz")) as z:
        x_train, x_test = z["x_train"][:500], z["x_test"][:500]
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Conv2D(16, 5, strides=2, activation="relu"),
         keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
         keras.layers.GlobalAveragePooling2D(name="features")]
    )
    extractor = FeatureExtractor(model, layer="features", batch_size=250)
    noise = np.random.default_rng(0).integers(0, 256, size=(500, 28, 28), dtype=np.uint8)
    real_vs_real = evaluate(x_test, x_train, extractor, metrics=("fid",), num_samples=500)["fid"]
    real_vs_noise = evaluate(noise, x_train, extractor, metrics=("fid",), num_samples=500)["fid"]
    assert real_vs_real < 0.1 * real_vs_noise
