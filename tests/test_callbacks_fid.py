"""FIDCallback: FID/KID in the epoch logs of a tiny GAN, with a tiny extractor."""

import csv
import math

import keras
from helpers import JIT
import numpy as np
import pytest

import keras_gans as kg
from keras_gans import metrics
from keras_gans.callbacks import FIDCallback
from keras_gans.metrics import resolve_extractor


def tiny_classifier():
    return keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(name="features"),
            keras.layers.Dense(3, name="logits"),
        ]
    )


class CountingExtractor(metrics.FeatureExtractor):
    """Records how many images each pass over a source holds."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passes = []

    def iter_batches(self, images, batch_size=None, max_samples=None, seed=0):
        count = 0
        for out in super().iter_batches(images, batch_size, max_samples, seed):
            count += len(out[0])
            yield out
        self.passes.append(count)


@pytest.fixture(scope="module")
def classifier():
    keras.utils.set_random_seed(0)
    return tiny_classifier()


@pytest.fixture
def extractor(classifier):
    return CountingExtractor(classifier, layer="features")


@pytest.fixture
def gan():
    model = kg.DCGAN(image_size=16, channels=1, latent_dim=8, generator_width=4, discriminator_width=4, seed=0)
    model.compile(jit_compile=JIT)
    return model


REAL = np.random.default_rng(0).integers(0, 256, (40, 16, 16, 1)).astype("uint8")
TRAIN = np.random.default_rng(1).uniform(-1, 1, (32, 16, 16, 1)).astype("float32")


def test_fid_in_history_every_epoch_and_real_statistics_once(gan, extractor):
    fid = FIDCallback(REAL, num_samples=24, extractor=extractor, batch_size=8, verbose=0)
    history = gan.fit(TRAIN, batch_size=16, epochs=2, verbose=0, callbacks=[fid])
    values = history.history["fid"]
    assert len(values) == 2
    assert all(math.isfinite(v) and v >= 0 for v in values)
    assert fid.history["epoch"] == [1, 2] and fid.history["fid"] == values
    # One pass over the 40 real images, then one over 24 generated per epoch.
    assert extractor.passes == [40, 24, 24]
    # A second fit reuses the statistics too.
    gan.fit(TRAIN, batch_size=16, epochs=1, verbose=0, callbacks=[fid])
    assert extractor.passes == [40, 24, 24, 24]


def test_every_n_epochs_omits_skipped_epochs(gan, extractor):
    fid = FIDCallback(REAL, every_n_epochs=2, num_samples=16, extractor=extractor, verbose=0)
    history = gan.fit(TRAIN, batch_size=16, epochs=5, verbose=0, callbacks=[fid])
    assert len(history.history["fid"]) == 2
    assert fid.history["epoch"] == [2, 4]
    assert len(extractor.passes) == 1 + 2


@pytest.mark.parametrize("skipped", ["nan", "last"])
def test_skipped_epochs_nan_or_last_keep_one_value_per_epoch(gan, extractor, skipped):
    fid = FIDCallback(REAL, every_n_epochs=2, num_samples=16, extractor=extractor, verbose=0, skipped=skipped)
    values = gan.fit(TRAIN, batch_size=16, epochs=3, verbose=0, callbacks=[fid]).history["fid"]
    assert len(values) == 3
    assert math.isnan(values[0]) and math.isfinite(values[1])
    if skipped == "nan":
        assert math.isnan(values[2])
    else:
        assert values[2] == values[1]


def test_kid_and_csv_logger_after_it(tmp_path, gan, extractor):
    fid = FIDCallback(REAL, num_samples=20, extractor=extractor, kid=True, verbose=0)
    log = tmp_path / "log.csv"
    history = gan.fit(
        TRAIN, batch_size=16, epochs=2, verbose=0, callbacks=[fid, keras.callbacks.CSVLogger(str(log))]
    )
    assert len(history.history["kid"]) == 2 and len(history.history["kid_std"]) == 2
    assert all(math.isfinite(v) for v in history.history["kid"])
    with open(log) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    assert float(rows[1]["fid"]) == pytest.approx(history.history["fid"][1])


def test_same_weights_same_value_and_progress_bar(gan, extractor, capsys):
    fid = FIDCallback(REAL, num_samples=16, extractor=extractor, batch_size=8, verbose=1)
    fid.set_model(gan)
    first, second = fid.evaluate()["fid"], fid.evaluate()["fid"]
    assert first == pytest.approx(second, rel=1e-6)  # fixed seeded latents
    assert "16/16" in capsys.readouterr().out
    other = FIDCallback(REAL, num_samples=16, extractor=extractor, batch_size=8, verbose=0, seed=1)
    other.set_model(gan)
    assert other.evaluate()["fid"] != first


def test_conditional_model_gets_uniform_seeded_labels(extractor):
    cgan_module = pytest.importorskip("keras_gans.models.cgan")
    gan = cgan_module.ConditionalGAN(
        num_classes=3, image_size=16, channels=1, latent_dim=8, generator_width=4,
        discriminator_width=4, seed=0,
    )
    fid = FIDCallback(REAL, num_samples=30, extractor=extractor, verbose=0, seed=3)
    fid.set_model(gan)
    fid.on_train_begin()
    logs = {}
    fid.on_epoch_end(0, logs)
    assert math.isfinite(logs["fid"])
    drawn = fid._latents()["labels"]
    assert drawn.shape == (30,) and set(drawn.tolist()) == {0, 1, 2}
    again = FIDCallback(REAL, num_samples=30, extractor=extractor, verbose=0, seed=3)
    again.set_model(gan)
    np.testing.assert_array_equal(again._latents()["labels"], drawn)


def test_cache_dir_stores_real_statistics(tmp_path, gan, classifier):
    first = CountingExtractor(classifier, layer="features")
    FIDCallback(REAL, num_samples=16, extractor=first, cache_dir=tmp_path, verbose=0).compute_real_statistics()
    assert first.passes == [40] and len(list(tmp_path.glob("real_stats_*.npz"))) == 1
    second = CountingExtractor(classifier, layer="features")
    fid = FIDCallback(REAL, num_samples=16, extractor=second, cache_dir=tmp_path, verbose=0)
    gan.fit(TRAIN, batch_size=16, epochs=1, verbose=0, callbacks=[fid])
    assert second.passes == [16]  # the real statistics came from the cache


def test_keras_path_extractor_uses_features_layer(tmp_path, classifier):
    path = tmp_path / "clf.keras"
    classifier.save(path)
    fid = FIDCallback(REAL, extractor=str(path), verbose=0)
    assert fid.extractor.layer == "features"
    with_logits = resolve_extractor(str(path), logits=True)
    assert with_logits.logits_layer == "logits"


def test_softmax_classifier_logits_are_log_probabilities():
    model = keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(5, name="features"),
            keras.layers.Dense(3, activation="softmax", name="probs"),
        ]
    )
    ex = resolve_extractor(model, logits=True)
    feats, logits = ex.features_and_logits(REAL[:4])
    probs = model.predict_on_batch(REAL[:4].astype("float32") / 127.5 - 1)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(np.exp(log_softmax), probs, atol=1e-5)
    assert feats.shape == (4, 5)


def test_inception_offline_fails_at_construction(monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(metrics.WeightsUnavailableError, match="evaluators/mnist.keras"):
        FIDCallback(REAL, extractor="inception")
    with pytest.raises(metrics.WeightsUnavailableError):
        FIDCallback(REAL)  # the default extractor is InceptionV3


def test_validation(extractor, tmp_path):
    with pytest.raises(ValueError, match="every_n_epochs"):
        FIDCallback(REAL, every_n_epochs=0, extractor=extractor)
    with pytest.raises(ValueError, match="skipped"):
        FIDCallback(REAL, extractor=extractor, skipped="zero")
    with pytest.raises(FileNotFoundError):
        FIDCallback(REAL, extractor=str(tmp_path / "missing.keras"))


def test_infinite_dataset_needs_max_real_samples(gan, extractor):
    tf = pytest.importorskip("tensorflow")
    ds = tf.data.Dataset.from_tensor_slices(REAL).batch(8).repeat()
    fid = FIDCallback(ds, num_samples=16, extractor=extractor, verbose=0)
    with pytest.raises(ValueError, match="max_real_samples"):
        gan.fit(TRAIN, batch_size=16, epochs=1, verbose=0, callbacks=[fid])
    fid = FIDCallback(ds, num_samples=16, extractor=extractor, verbose=0, max_real_samples=24)
    gan.fit(TRAIN, batch_size=16, epochs=1, verbose=0, callbacks=[fid])
    assert extractor.passes[-2:] == [24, 16]


def test_cyclegan_like_models_are_refused(extractor):
    fid = FIDCallback(REAL, extractor=extractor, verbose=0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    fid.set_model(model)
    with pytest.raises(ValueError, match="generate"):
        fid.on_train_begin()
