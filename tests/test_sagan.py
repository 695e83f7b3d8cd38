"""Tests for keras_gans.models.sagan: SAGAN and its blocks."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import keras
from keras import layers
from helpers import JIT
from layer_checks import numpy

from keras_gans.callbacks import SampleGrid
from keras_gans.export import export_generator
from keras_gans.layers import ConditionalBatchNormalization, SelfAttention2D
from keras_gans.models.sagan import (
    SAGAN,
    BlockLayers,
    residual_down_block,
    residual_up_block,
    sagan_discriminator,
    sagan_generator,
    split_attention,
)

NUM_CLASSES = 10
# Tiny 32 px widths: the generator's 4x4 map and its three blocks; the
# discriminator's four blocks (attention needs multiples of 8 channels).
G_WIDTHS, D_WIDTHS = (16, 16, 8, 8), (8, 8, 16, 16)


def tiny_sagan(num_classes=NUM_CLASSES, **kwargs):
    return SAGAN(32, 1, latent_dim=8, num_classes=num_classes, generator_width=G_WIDTHS,
                 discriminator_width=D_WIDTHS, embedding_dim=8, seed=0, **kwargs)


def tiny_data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(-1, 1, (n, 32, 32, 1)).astype("float32")
    return images, (np.arange(n) % NUM_CLASSES).astype("int32")


def iterations(optimizer):
    return int(numpy(optimizer.iterations))


@pytest.fixture(scope="module")
def trained():
    """A tiny conditional SAGAN after 4 steps, shared by several tests."""
    keras.utils.set_random_seed(0)
    gan = tiny_sagan()
    gan.compile(jit_compile=JIT)
    history = gan.fit(*tiny_data(), batch_size=16, epochs=2, verbose=0)
    return gan, history


def attention_sides(model):
    return sorted(layer.input.shape[1] for layer in model.layers
                  if isinstance(layer, SelfAttention2D))


# -- networks -----------------------------------------------------------------------


@pytest.mark.single_backend
@pytest.mark.parametrize("block", ["residual", "dcgan"])
@pytest.mark.parametrize("size,channels", [(32, 1), (32, 3), (64, 3), (128, 1)])
def test_shapes_at_each_size(size, channels, block):
    g = sagan_generator(size, channels, latent_dim=8, width=8, block=block)
    d = sagan_discriminator(size, channels, width=8, block=block)
    images = numpy(g(np.random.default_rng(0).standard_normal((2, 8)).astype("float32")))
    assert images.shape == (2, size, size, channels)
    assert np.all(np.abs(images) <= 1.0) and images.std() > 0
    assert numpy(d(images)).shape == (2, 1)


@pytest.mark.single_backend
def test_widths_follow_the_paper_and_can_be_given():
    g = sagan_generator(128, 3, width=4)
    # 16ch at 4x4, then 16ch, 8ch, 4ch, 2ch, ch (SAGAN's 128 px generator).
    assert g.get_layer("g_reshape").output.shape[-1] == 64
    blocks = [g.get_layer(f"g_block{i}_add").output.shape[1:] for i in range(1, 6)]
    assert blocks == [(8, 8, 64), (16, 16, 32), (32, 32, 16), (64, 64, 8), (128, 128, 4)]
    d = sagan_discriminator(128, 3, width=4)
    blocks = [d.get_layer(f"d_block{i}_add").output.shape[1:] for i in range(1, 7)]
    assert blocks == [(64, 64, 4), (32, 32, 8), (16, 16, 16), (8, 8, 32), (4, 4, 64), (4, 4, 64)]
    # BigGAN's 32 px discriminator: four blocks of 4ch, two of them downsampling.
    d = sagan_discriminator(32, 3, width=(16,) * 4, downsamples=(True, True, False, False))
    assert [d.get_layer(f"d_block{i}_add").output.shape[1] for i in range(1, 5)] == [16, 8, 8, 8]
    with pytest.raises(ValueError, match="takes 4 widths; got 3"):
        sagan_generator(32, 3, width=(16, 8, 8))
    with pytest.raises(ValueError, match="power-of-two image size"):
        sagan_discriminator(48, 3)
    with pytest.raises(ValueError, match="block must be one of"):
        SAGAN(32, block="densenet")


@pytest.mark.single_backend
def test_residual_blocks_are_wired_as_sagan_and_sn_gan():
    x = keras.Input((4, 4, 16))
    up = keras.Model(x, residual_up_block(x, 8, name="up"))
    # BN -> ReLU -> upsample -> conv3x3 -> BN -> ReLU -> conv3x3; shortcut upsample -> conv1x1.
    chain = ["up_bn1", "up_relu1", "up_up", "up_conv1_sn", "up_bn2", "up_relu2", "up_conv2_sn"]
    for before, after in zip(chain, chain[1:]):
        assert up.get_layer(after).input is up.get_layer(before).output, after
    assert up.get_layer("up_shortcut_up").input is x
    assert up.get_layer("up_shortcut_sn").layer.kernel_size == (1, 1)
    assert up.get_layer("up_conv1_sn").layer.kernel_size == (3, 3)

    images = keras.Input((16, 16, 3))
    first = residual_down_block(images, 8, preactivation=False, name="first")
    second = residual_down_block(first, 16, name="second")
    last = residual_down_block(second, 16, downsample=False, name="last")
    d = keras.Model(images, last)
    # SN-GAN's optimized first block: no ReLU before its first conv, and its
    # shortcut pools the images before the 1x1 conv.
    assert d.get_layer("first_conv1_sn").input is images
    assert d.get_layer("first_shortcut_pool").input is images
    assert d.get_layer("first_shortcut_sn").input is d.get_layer("first_shortcut_pool").output
    # Later blocks: ReLU first; the shortcut convolves, then pools.
    assert d.get_layer("second_relu1").input is first
    assert d.get_layer("second_shortcut_sn").input is first
    assert d.get_layer("second_shortcut_pool").input is d.get_layer("second_shortcut_sn").output
    # Same side and channels: an identity shortcut.
    names = [layer.name for layer in d.layers]
    assert "last_shortcut_sn" not in names and "last_pool" not in names
    assert d.get_layer("last_add").input[1] is second


@pytest.mark.single_backend
def test_attention_sits_at_the_requested_sides():
    gan = SAGAN(64, 3, generator_width=8, discriminator_width=8)
    assert attention_sides(gan.generator) == attention_sides(gan.discriminator) == [32]
    gan = SAGAN(64, 3, attention=(8, 16), generator_width=8, discriminator_width=8)
    assert attention_sides(gan.generator) == attention_sides(gan.discriminator) == [8, 16]
    # At 32 px the discriminator's maps start at 16: 32 attends in G only.
    gan = tiny_sagan(None)
    assert attention_sides(gan.generator) == [32] and attention_sides(gan.discriminator) == []
    assert split_attention((64,), 64) == ((64,), ())
    assert attention_sides(SAGAN(32, 1, attention=(), generator_width=8).generator) == []
    with pytest.raises(ValueError, match=r"cannot attend at \[48\]"):
        SAGAN(64, 3, attention=(48,))
    with pytest.raises(ValueError, match=r"sides \[4, 8, 16\], so it cannot attend at \[32\]"):
        sagan_discriminator(32, 3, width=8, attention=(32,))


@pytest.mark.single_backend
@pytest.mark.parametrize("block", ["residual", "dcgan"])
def test_every_convolution_and_dense_layer_is_spectrally_normalized(block):
    gan = SAGAN(64, 3, num_classes=5, block=block, attention=(16,), generator_width=8,
                discriminator_width=8)
    for network in (gan.generator, gan.discriminator):
        sublayers = list(network._flatten_layers(include_self=False))
        wrapped = {id(layer.layer) for layer in sublayers
                   if isinstance(layer, layers.SpectralNormalization)}
        weighted = [layer for layer in sublayers if isinstance(layer, (layers.Conv2D, layers.Dense))]
        # Attention's four 1x1 convs and conditional BN's gain/bias maps included.
        assert len(weighted) >= 10
        assert [layer.name for layer in weighted if id(layer) not in wrapped] == []
    assert any(isinstance(layer, ConditionalBatchNormalization) for layer in gan.generator.layers)
    # The discriminator's class table too (a Dense on one-hot labels)...
    assert gan.discriminator.get_layer("d_label_embedding_sn")
    # ...but not the generator's class embedding (BigGAN: SN there cripples G).
    assert isinstance(gan.generator.get_layer("g_labels_embedding"), layers.Embedding)


@pytest.mark.single_backend
def test_training_calls_bring_every_kernel_to_unit_spectral_norm():
    gan = tiny_sagan()
    z = keras.ops.convert_to_tensor(np.random.default_rng(0).standard_normal((8, 8)), "float32")
    labels = keras.ops.arange(8, dtype="int32")
    for _ in range(30):  # power iterations, one per training-mode call
        images = gan.generator([z, labels], training=True)
        gan.discriminator([images, labels], training=True)
    for network in (gan.generator, gan.discriminator):
        wrappers = [layer for layer in network._flatten_layers()
                    if isinstance(layer, layers.SpectralNormalization)]
        assert len(wrappers) >= 10
        for wrapper in wrappers:
            kernel = numpy(wrapper.kernel)
            sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
            assert sigma == pytest.approx(1.0, abs=0.05), wrapper.name


def test_one_power_iteration_per_discriminator_loss():
    # Reals and fakes meet the same normalized kernels (and torch's autograd
    # allows no second in-place kernel assignment before the backward pass).
    gan = tiny_sagan()
    images, labels = (keras.ops.convert_to_tensor(t) for t in tiny_data(4))
    once = tiny_sagan().discriminator
    once.set_weights(gan.discriminator.get_weights())
    once([images, labels], training=True)
    gan.discriminator_loss(images, -images, labels, labels)
    for expected, actual in zip(once.weights, gan.discriminator.weights):
        np.testing.assert_allclose(numpy(actual), numpy(expected), rtol=1e-5, atol=1e-6)


@pytest.mark.single_backend
def test_bare_compile_gives_hinge_loss_and_two_timescale_adam():
    gan = tiny_sagan(None)
    gan.compile()
    assert gan.loss_pair.name == "hinge" and gan.d_steps == gan.g_steps == 1
    for optimizer, learning_rate in ((gan.d_optimizer, 4e-4), (gan.g_optimizer, 1e-4)):
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert float(numpy(optimizer.learning_rate)) == pytest.approx(learning_rate)
        assert (optimizer.beta_1, optimizer.beta_2) == (0.0, 0.9)
    gan.compile(loss="non_saturating", d_steps=2, g_optimizer=keras.optimizers.SGD(0.1))
    assert gan.loss_pair.name == "non_saturating" and gan.d_steps == 2
    assert isinstance(gan.g_optimizer, keras.optimizers.SGD)


# -- class conditioning -------------------------------------------------------------


def test_labels_steer_the_generator():
    gan = tiny_sagan()
    z = np.random.default_rng(0).standard_normal((1, 8)).astype("float32")
    images = gan.generate(z=np.repeat(z, 2, axis=0), labels=[3, 7])
    assert np.abs(images[0] - images[1]).mean() > 1e-3
    same = gan.generate(z=np.repeat(z, 2, axis=0), labels=[3, 3])
    np.testing.assert_allclose(same[0], same[1], atol=1e-6)


def test_projection_head_adds_the_labels_embedding_times_the_features():
    gan = tiny_sagan()
    d = gan.discriminator
    images = np.random.default_rng(1).uniform(-1, 1, (4, 32, 32, 1)).astype("float32")
    labels = np.array([0, 3, 3, 9], "int32")
    logits = numpy(d([images, labels]))[:, 0]
    parts = keras.Model(d.inputs, [d.get_layer("d_sum").output, d.get_layer("d_logit_sn").output])
    features, unconditional = (numpy(t) for t in parts([images, labels]))
    table = numpy(d.get_layer("d_label_embedding_sn").layer.kernel)  # (classes, features)
    expected = unconditional[:, 0] + np.sum(features * table[labels], axis=1)
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-5)
    other = numpy(d([images, np.array([1, 1, 5, 2], "int32")]))[:, 0]
    assert np.all(np.abs(other - logits) > 1e-6)


def test_conditional_training_needs_labels_in_range():
    gan = tiny_sagan()
    gan.compile(jit_compile=JIT)
    images, labels = tiny_data(16)
    with pytest.raises(ValueError, match=r"Labels must lie in \[0, 10\).*found label 10"):
        gan.fit(images, labels + 1, batch_size=16, verbose=0)
    with pytest.raises(ValueError, match=r"conditional \(num_classes=10\).*fit\(images, labels\)"):
        gan.fit(images, batch_size=16, verbose=0)
    assert iterations(gan.d_optimizer) == 0
    with pytest.raises(ValueError, match="with_labels=True"):
        gan.unpack_batch(images)  # a dataset of images only: the step says so
    with pytest.raises(ValueError, match=r"takes inputs \['z'\], not \['labels'\]"):
        tiny_sagan(None).generate(labels=[1])


# -- training, saving, export -------------------------------------------------------


def test_short_fit_updates_both_networks(trained):
    gan, history = trained
    assert set(history.history) == {"d_loss", "g_loss", "real_score", "fake_score"}
    assert all(np.all(np.isfinite(values)) for values in history.history.values())
    assert iterations(gan.d_optimizer) == iterations(gan.g_optimizer) == 4
    fresh = tiny_sagan()
    for network, initial in ((gan.generator, fresh.generator),
                             (gan.discriminator, fresh.discriminator)):
        moved = [not np.allclose(numpy(a), numpy(b))
                 for a, b in zip(network.trainable_weights, initial.trainable_weights)]
        assert sum(moved) > len(moved) // 2, network.name


def test_unconditional_fit_on_a_dataset_ignores_its_labels():
    import tensorflow as tf

    gan = tiny_sagan(None, block="dcgan")
    gan.compile(jit_compile=JIT)
    ds = tf.data.Dataset.from_tensor_slices(tiny_data(32)).batch(16)
    logs = gan.fit(ds, epochs=1, verbose=0).history
    assert all(np.isfinite(values[-1]) for values in logs.values())
    assert iterations(gan.g_optimizer) == 2


def test_save_load_round_trip_and_resume(trained, tmp_path):
    gan, _ = trained
    path = tmp_path / "sagan.keras"
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, SAGAN) and loaded.num_classes == NUM_CLASSES
    assert loaded.attention == (32,) and loaded.loss_pair.name == "hinge"
    assert int(numpy(loaded.progress.steps)) == 4
    for saved, restored in zip(gan.d_optimizer.variables + gan.g_optimizer.variables,
                               loaded.d_optimizer.variables + loaded.g_optimizer.variables):
        np.testing.assert_allclose(numpy(saved), numpy(restored))
    for saved, restored in zip(gan.discriminator.weights, loaded.discriminator.weights):
        np.testing.assert_allclose(numpy(saved), numpy(restored))  # incl. SN's u vectors
    labels = [0, 4, 7]
    np.testing.assert_allclose(loaded.generate(labels=labels, seed=1),
                               gan.generate(labels=labels, seed=1), atol=1e-5)
    loaded.fit(*tiny_data(32), batch_size=16, epochs=1, verbose=0)
    assert iterations(loaded.d_optimizer) == iterations(loaded.g_optimizer) == 6
    assert int(numpy(loaded.progress.steps)) == 6


@pytest.mark.single_backend
def test_config_round_trip():
    gan = SAGAN(64, 3, latent_dim=16, num_classes=3, block="dcgan", attention=(16, 8),
                generator_width=(32, 16, 16, 8, 8), discriminator_width=4, embedding_dim=12,
                ema_decay=0.99)
    config = json.loads(json.dumps(gan.get_config()))
    assert "generator" not in config and config["attention"] == [8, 16]
    clone = SAGAN.from_config(config)
    assert clone.get_config() == config
    for network, original in ((clone.generator, gan.generator),
                              (clone.discriminator, gan.discriminator)):
        assert network.count_params() == original.count_params()
    assert attention_sides(clone.discriminator) == [8, 16]


@pytest.mark.single_backend
def test_sample_grid_draws_one_row_per_class(tmp_path):
    from PIL import Image

    gan = tiny_sagan()
    grid = SampleGrid(tmp_path, num_samples=20)
    grid.set_model(gan)
    # 10 rows (classes) x 2 columns of 32 px tiles, 2 px padding.
    assert Image.open(grid.save("grid.png")).size == (2 * 34 + 2, 10 * 34 + 2)
    inputs = gan.grid_inputs(20, seed=0)
    np.testing.assert_array_equal(inputs["labels"], np.repeat(np.arange(10), 2))
    np.testing.assert_array_equal(inputs["z"][:2], inputs["z"][2:4])


def test_export_serves_from_tensorflow_alone(trained, tmp_path):
    gan, _ = trained
    path = export_generator(gan, str(tmp_path / "sagan" / "1"))
    inputs = gan.sample_inputs(3, seed=0, labels=[0, 5, 9])  # z and labels, as `latents` say
    np.savez(tmp_path / "inputs.npz", **inputs)
    code = f"""
import numpy as np, sys, tensorflow as tf
inputs = dict(np.load({str(tmp_path / "inputs.npz")!r}))
serve = tf.saved_model.load({path!r}).signatures["serving_default"]
images = serve(**{{name: tf.constant(value) for name, value in inputs.items()}})["images"]
np.save({str(tmp_path / "served.npy")!r}, images.numpy())
assert "keras_gans" not in sys.modules
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    served = np.load(tmp_path / "served.npy")
    assert served.dtype == np.uint8 and served.shape == (3, 32, 32, 1)
    expected = np.clip(np.round((gan.generate(inputs=inputs) + 1) * 127.5), 0, 255)
    assert np.abs(served.astype(int) - expected.astype(int)).max() <= 1


# -- learning -----------------------------------------------------------------------


# One backend: about 1 minute on TensorFlow, 4 on JAX (CPU compilation);
# the fit, save and export tests cover the other backends.
@pytest.mark.single_backend
def test_learns_mnist_digits(data_root):
    """300 steps of a small SAGAN at the paper's defaults bring its samples'
    Frechet distance to MNIST, in the evaluator's features, far below the
    untrained generator's (about 420 -> 90 on TensorFlow and JAX)."""
    import keras_gans.data as gan_data
    from keras_gans import metrics

    with np.load(os.path.join(data_root, "mnist", "mnist.npz")) as npz:
        train, test = npz["x_train"][:8192], npz["x_test"][:1000]
    ds = gan_data.image_dataset(train, image_size=32, channels=1, batch_size=32, seed=0)
    gan = SAGAN(32, 1, latent_dim=32, generator_width=(32, 16, 8, 8),
                discriminator_width=(8, 16, 32, 32), seed=0)
    gan.compile(jit_compile=JIT)
    evaluator = os.path.join(os.path.dirname(__file__), "..", "evaluators", "mnist.keras")
    extractor = metrics.FeatureExtractor(evaluator, layer="features")
    real = metrics.FeatureStatistics.from_features(extractor(test))

    def distance():
        fakes = extractor(gan.generate(1000, seed=1))
        return metrics.FeatureStatistics.from_features(fakes).frechet_distance(real)

    untrained = distance()
    gan.fit(ds.repeat(), steps_per_epoch=300, epochs=1, verbose=0)
    trained = distance()
    assert trained < 0.4 * untrained, (untrained, trained)
