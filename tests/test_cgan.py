"""Tests for keras_gans.models.cgan: the conditional GAN."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import keras
from helpers import JIT

from keras_gans.callbacks import SampleGrid
from keras_gans.export import export_generator
from keras_gans.models.cgan import (
    ConditionalGAN,
    cgan_dcgan_discriminator,
    cgan_dcgan_generator,
    cgan_mlp_discriminator,
    cgan_mlp_generator,
)

NUM_CLASSES = 10


@pytest.fixture
def data_root():
    # The same contract as the suite's conftest fixture: skip without data.
    root = os.environ.get("KERAS_GANS_DATA")
    if not root:
        pytest.skip("set KERAS_GANS_DATA to run tests on real data")
    return root


def tiny_gan(body="dcgan", **kwargs):
    return ConditionalGAN(
        num_classes=NUM_CLASSES, image_size=28, channels=1, latent_dim=8, body=body,
        generator_width=8, discriminator_width=8, generator_units=(32,),
        discriminator_units=(32,), seed=0, **kwargs,
    )


def tiny_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8)
    labels = (np.arange(n) % NUM_CLASSES).astype("int32")
    return images, labels


def iterations(optimizer):
    return int(keras.ops.convert_to_numpy(optimizer.iterations))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny DCGAN-body CGAN after one short fit, shared by several tests."""
    keras.utils.set_random_seed(0)
    gan = tiny_gan(discriminator_label_mode="projection")
    gan.compile(jit_compile=JIT)
    images, labels = tiny_data()
    history = gan.fit(images, labels, batch_size=16, epochs=2, verbose=0)
    return gan, history


# -- networks -----------------------------------------------------------------------


@pytest.mark.parametrize("label_mode", ["one_hot", "embedding"])
@pytest.mark.parametrize("discriminator_label_mode", ["channels", "projection"])
@pytest.mark.parametrize("body", ["mlp", "dcgan"])
@pytest.mark.single_backend
def test_network_shapes(body, label_mode, discriminator_label_mode):
    if body == "mlp":
        g = cgan_mlp_generator(NUM_CLASSES, (28, 28, 1), 8, (16,), label_mode, embedding_dim=4)
        d = cgan_mlp_discriminator(NUM_CLASSES, (28, 28, 1), (16,), 0.3, discriminator_label_mode)
    else:
        g = cgan_dcgan_generator(NUM_CLASSES, 32, 3, 8, 8, label_mode, embedding_dim=4)
        d = cgan_dcgan_discriminator(NUM_CLASSES, 32, 3, 8, discriminator_label_mode)
    z = np.zeros((4, 8), "float32")
    labels = np.array([0, 3, 9, 9], "int32")
    images = keras.ops.convert_to_numpy(g([z, labels]))
    assert images.shape == ((4, 28, 28, 1) if body == "mlp" else (4, 32, 32, 3))
    assert np.all(np.abs(images) <= 1.0)
    assert keras.ops.convert_to_numpy(d([images, labels])).shape == (4, 1)


def test_label_changes_the_output():
    g = cgan_dcgan_generator(NUM_CLASSES, 28, 1, 8, 8)
    z = np.ones((2, 8), "float32")
    out = keras.ops.convert_to_numpy(g([z, np.array([1, 2], "int32")]))
    assert not np.allclose(out[0], out[1])


def test_bad_modes_are_rejected():
    with pytest.raises(ValueError, match="label_mode"):
        cgan_dcgan_generator(NUM_CLASSES, label_mode="projection")
    with pytest.raises(ValueError, match="label_mode"):
        cgan_mlp_discriminator(NUM_CLASSES, label_mode="one_hot")
    with pytest.raises(ValueError, match="body"):
        ConditionalGAN(body="resnet")


# -- training -----------------------------------------------------------------------


def test_short_fit_has_finite_metrics(trained):
    gan, history = trained
    assert set(history.history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    for values in history.history.values():
        assert np.all(np.isfinite(values))
    assert iterations(gan.d_optimizer) == iterations(gan.g_optimizer) == 8


@pytest.mark.parametrize("body", ["mlp", "dcgan"])
def test_fit_on_a_dataset_with_uniform_fake_labels(body):
    import tensorflow as tf

    gan = tiny_gan(body, fake_labels="uniform", label_mode="embedding")
    gan.compile(jit_compile=JIT)
    ds = tf.data.Dataset.from_tensor_slices(tiny_data(32)).batch(16)
    logs = gan.fit(ds, epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in logs.values())


def test_uniform_fake_labels_are_drawn_apart_from_the_real_ones():
    real = keras.ops.convert_to_tensor(np.full(512, 3, "int32"))
    gan = tiny_gan("mlp", fake_labels="uniform")
    fake = keras.ops.convert_to_numpy(gan.draw_inputs(512, real)["labels"])
    assert fake.shape == (512,) and fake.min() >= 0 and fake.max() < NUM_CLASSES
    # 512 uniform draws miss one of 10 classes with probability < 1e-22.
    assert set(fake.tolist()) == set(range(NUM_CLASSES))
    same = tiny_gan("mlp").draw_inputs(512, real)["labels"]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(same), keras.ops.convert_to_numpy(real))


UNIFORM_LABELS_ON_TWO_REPLICAS = """
import json
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from keras_gans import distribute
from keras_gans.models.cgan import ConditionalGAN

def make_gan():
    return ConditionalGAN(num_classes=10, image_size=8, channels=1, latent_dim=2, body="mlp",
                          generator_units=(4,), discriminator_units=(4,),
                          fake_labels="uniform", seed=0)

one_device = make_gan().draw_inputs(64)["labels"].numpy().tolist()
with distribute.strategy_scope("mirrored", devices=["/cpu:0", "/cpu:1"]):
    strategy, gan = tf.distribute.get_strategy(), make_gan()
    labels = strategy.run(tf.function(lambda: gan.draw_inputs(32)["labels"]))
    replicas = [t.numpy().tolist() for t in strategy.experimental_local_results(labels)]
print(json.dumps({"one_device": one_device, "replicas": replicas}))
"""


# Runs in a subprocess on its own backend: once, in the first backend's pass.
@pytest.mark.single_backend
def test_uniform_fake_labels_differ_between_replicas():
    from test_distribution import run_script

    result = run_script(UNIFORM_LABELS_ON_TWO_REPLICAS, "tensorflow")
    first, second = result["replicas"]
    assert first != second
    # Each replica keeps its rows of the global batch's labels, as one device draws them.
    assert first + second == result["one_device"]


@pytest.mark.parametrize("discriminator_label_mode", ["channels", "projection"])
def test_eager_fit_on_arrays(discriminator_label_mode):
    # Without jit, JAX hands the step NumPy batches; the networks must see
    # backend tensors only (a [NumPy images, tensor labels] input used to fail).
    gan = tiny_gan("mlp", discriminator_label_mode=discriminator_label_mode)
    gan.compile(jit_compile=False)
    images, labels = tiny_data(32)
    logs = gan.fit(images.astype("float32") / 127.5 - 1, labels, batch_size=16, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in logs.values())
    assert iterations(gan.d_optimizer) == 2


def test_generate_shapes_and_seed(trained):
    gan, _ = trained
    images = gan.generate(labels=[0, 1, 2, 9], seed=3)
    assert images.shape == (4, 28, 28, 1) and images.dtype == np.float32
    np.testing.assert_allclose(images, gan.generate(labels=[0, 1, 2, 9], seed=3), atol=1e-6)
    assert gan.generate(labels=12).shape == (12, 28, 28, 1)  # a count: classes in turn
    z = np.zeros((2, 8), "float32")
    assert gan.generate(labels=[5, 6], z=z).shape == (2, 28, 28, 1)
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        gan.generate(labels=[10])


def test_out_of_range_labels_fail_before_training():
    import tensorflow as tf

    gan = tiny_gan(body="mlp")
    gan.compile()
    images, labels = tiny_data(32)
    labels[5] = NUM_CLASSES
    with pytest.raises(ValueError, match=r"Labels must lie in \[0, 10\).*found label 10"):
        gan.fit(images, labels, batch_size=16, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="found label -1"):
        gan.fit(images, np.full(32, -1), batch_size=16, epochs=1, verbose=0)
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(32)
    with pytest.raises(ValueError, match="found label 10"):
        gan.fit(ds, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="needs labels"):
        gan.fit(images, batch_size=16, epochs=1, verbose=0)
    assert iterations(gan.d_optimizer) == 0  # Nothing ran.


# -- saving ---------------------------------------------------------------------------


def test_save_load_round_trip_and_resume(trained, tmp_path):
    gan, _ = trained
    path = tmp_path / "cgan.keras"
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, ConditionalGAN)
    assert loaded.num_classes == NUM_CLASSES
    assert loaded.discriminator_label_mode == "projection"
    assert iterations(loaded.d_optimizer) == iterations(gan.d_optimizer) == 8
    assert iterations(loaded.g_optimizer) == iterations(gan.g_optimizer) == 8
    for saved, restored in zip(
        gan.d_optimizer.variables + gan.g_optimizer.variables,
        loaded.d_optimizer.variables + loaded.g_optimizer.variables,
    ):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(saved), keras.ops.convert_to_numpy(restored)
        )
    labels = [0, 4, 7]
    np.testing.assert_allclose(
        loaded.generate(labels=labels, seed=1), gan.generate(labels=labels, seed=1), atol=1e-5
    )
    images, labels = tiny_data(32)
    loaded.fit(images, labels, batch_size=16, epochs=1, verbose=0)
    assert iterations(loaded.d_optimizer) == iterations(loaded.g_optimizer) == 10


def test_config_round_trip():
    gan = tiny_gan(body="mlp", label_mode="embedding", fake_labels="uniform")
    clone = ConditionalGAN.from_config(json.loads(json.dumps(gan.get_config())))
    assert clone.get_config()["label_mode"] == "embedding"
    assert clone.fake_labels == "uniform"
    assert clone.generator.count_params() == gan.generator.count_params()


# -- grids and export -----------------------------------------------------------------


def test_sample_grid_draws_one_row_per_class(trained, tmp_path):
    from PIL import Image

    gan, _ = trained
    grid = SampleGrid(tmp_path, num_samples=20)
    grid.set_model(gan)
    path = grid.save("grid.png")
    # 10 rows (classes) x 2 columns of 28 px tiles, 2 px padding.
    assert Image.open(path).size == (2 * 30 + 2, 10 * 30 + 2)
    inputs = gan.grid_inputs(20, seed=0)
    z, labels = inputs["z"], inputs["labels"]
    np.testing.assert_array_equal(labels, np.repeat(np.arange(10), 2))
    np.testing.assert_array_equal(z[:2], z[2:4])  # The same z in every row.


def test_export_serves_from_tensorflow_alone(trained, tmp_path):
    gan, _ = trained
    path = export_generator(gan, str(tmp_path / "mnist_cgan" / "1"))
    z = np.random.default_rng(0).standard_normal((5, gan.latent_dim)).astype("float32")
    labels = np.array([0, 1, 2, 8, 9], "int32")
    np.savez(tmp_path / "inputs.npz", z=z, labels=labels)
    code = f"""
import numpy as np, sys, tensorflow as tf
inputs = np.load({str(tmp_path / "inputs.npz")!r})
model = tf.saved_model.load({path!r})
served = model.signatures["serving_default"](z=tf.constant(inputs["z"]),
                                             labels=tf.constant(inputs["labels"]))["images"]
sampled = model.signatures["sample"](seed=tf.constant(7), labels=tf.constant(inputs["labels"]))
sample_z = tf.random.stateless_normal([5, {gan.latent_dim}], seed=[7, 0])
np.savez({str(tmp_path / "outputs.npz")!r}, served=served.numpy(),
         sampled=sampled["images"].numpy(), sample_z=sample_z.numpy())
assert "keras_gans" not in sys.modules
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    outputs = np.load(tmp_path / "outputs.npz")
    for key, z_used in (("served", z), ("sampled", outputs["sample_z"])):
        images = outputs[key]
        assert images.dtype == np.uint8 and images.shape == (5, 28, 28, 1)
        expected = np.clip(np.round((gan.generate(labels=labels, z=z_used) + 1) * 127.5), 0, 255)
        assert np.abs(images.astype(int) - expected.astype(int)).max() <= 1, key


# -- real data --------------------------------------------------------------------------


def test_short_fit_on_real_mnist(data_root):
    import keras_gans.data as gan_data

    path = os.path.join(data_root, "mnist", "mnist.npz")
    with np.load(path) as npz:
        images, labels = npz["x_train"][:512], npz["y_train"][:512]
    ds = gan_data.image_dataset(
        (images, labels), image_size=28, channels=1, batch_size=64, with_labels=True, seed=0
    )
    gan = tiny_gan(discriminator_label_mode="channels")
    gan.compile()
    logs = gan.fit(ds, epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in logs.values())
    assert gan.generate(labels=list(range(10)), seed=0).shape == (10, 28, 28, 1)
