"""Tests for keras_gans.layers.SelfAttention2D (SAGAN / BigGAN self-attention)."""

import numpy as np
import pytest

import keras
from keras import layers, ops

from helpers import JIT
from keras_gans.layers import SelfAttention2D


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def feature_maps(shape=(2, 8, 8, 16), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def kernels(block):
    """The four 1x1 kernels as (c_in, c_out) matrices (spectral-normalized
    or not: the stored kernel is what the convolution uses)."""
    def matrix(conv):
        conv = getattr(conv, "layer", conv)
        return numpy(conv.kernel)[0, 0]

    return [matrix(c) for c in (block.query_conv, block.key_conv, block.value_conv, block.output_conv)]


def reference(x, block):
    """The block in NumPy from its weights, as BigGAN's Attention.forward."""
    query_w, key_w, value_w, output_w = kernels(block)
    batch, height, width, channels = x.shape

    def pool(f):  # 2x2 max pooling, stride 2
        return f.reshape(batch, height // 2, 2, width // 2, 2, -1).max(axis=(2, 4))

    query = (x @ query_w).reshape(batch, height * width, -1)
    key = pool(x @ key_w).reshape(batch, height * width // 4, -1)
    value = pool(x @ value_w).reshape(batch, height * width // 4, -1)
    logits = query @ key.transpose(0, 2, 1)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    attended = (weights @ value).reshape(batch, height, width, channels // 2)
    return x + numpy(block.gamma) * (attended @ output_w)


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_a_fresh_block_is_exactly_the_identity(spectral_norm):
    x = feature_maps()
    block = SelfAttention2D(spectral_norm=spectral_norm)
    for training in (True, False):
        np.testing.assert_array_equal(numpy(block(x, training=training)), x)
    assert float(numpy(block.gamma)) == 0.0


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_output_matches_numpy_attention(spectral_norm):
    x = feature_maps()
    block = SelfAttention2D(spectral_norm=spectral_norm)
    block(x, training=True)  # builds (and, with SN, normalizes the kernels)
    block.gamma.assign(1.0)
    out = numpy(block(x, training=False))
    expected = reference(x, block)
    assert not np.allclose(expected, x, atol=1e-2)  # the attention term matters
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_every_position_sees_the_far_corner():
    # A 1x1 (or any small) convolution would leave the bottom-right output
    # unchanged when the top-left input pixel moves; attention does not.
    x = 0.5 * feature_maps((1, 8, 8, 16))  # soft attention: no weight saturates
    block = SelfAttention2D()
    block(x)
    block.gamma.assign(1.0)
    moved = x.copy()
    moved[0, 0, 0] += 2.0
    change = np.abs(numpy(block(moved)) - numpy(block(x)))[0]
    assert change[7, 7].max() > 1e-2
    assert (change.max(axis=-1) > 1e-3).all()  # and so does every other position


@pytest.mark.single_backend
def test_channels_must_divide_by_eight():
    with pytest.raises(ValueError, match="divisible by 8.*got 12.*multiple of 8 filters"):
        SelfAttention2D()(np.zeros((1, 8, 8, 12), "float32"))
    with pytest.raises(ValueError, match="must be even, got 8x7"):
        SelfAttention2D()(np.zeros((1, 8, 7, 16), "float32"))


def test_round_trips_through_a_keras_file(tmp_path):
    inputs = keras.Input((8, 8, 16))
    block = SelfAttention2D(spectral_norm=True, kernel_initializer="orthogonal", name="attention")
    model = keras.Model(inputs, block(inputs))
    x = feature_maps()
    model(x, training=True)
    block.gamma.assign(0.7)
    model.save(tmp_path / "attention.keras")
    loaded = keras.saving.load_model(tmp_path / "attention.keras")
    restored = loaded.get_layer("attention")
    assert restored.spectral_norm and isinstance(restored.query_conv, layers.SpectralNormalization)
    assert isinstance(restored.kernel_initializer, keras.initializers.Orthogonal)
    np.testing.assert_allclose(numpy(loaded(x)), numpy(model(x)), rtol=1e-6)


def test_trains_inside_a_compiled_step():
    inputs = keras.Input((8, 8, 16))
    block = SelfAttention2D(spectral_norm=True, name="attention")
    features = layers.GlobalAveragePooling2D()(block(inputs))
    model = keras.Model(inputs, layers.Dense(1)(features))
    model.compile(keras.optimizers.Adam(0.01), "mse", jit_compile=JIT)
    x = feature_maps((4, 8, 8, 16))
    model.fit(x, np.ones((4, 1), "float32"), epochs=2, batch_size=4, verbose=0)
    assert float(numpy(block.gamma)) != 0.0  # the gate is trained through the step


def test_mixed_bfloat16_keeps_float32_weights_and_stays_close_to_float32():
    x = 4 * feature_maps()  # large logits
    reference_block = SelfAttention2D(kernel_initializer="orthogonal")
    reference_block(x)
    reference_block.gamma.assign(1.0)
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        block = SelfAttention2D()
        block(x)
    finally:
        keras.config.set_dtype_policy("float32")
    block.set_weights(reference_block.get_weights())
    assert block.query_conv.kernel.dtype == "float32" and block.gamma.dtype == "float32"
    out = block(x)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    expected = reference(x, reference_block)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(numpy(ops.cast(out, "float32")), expected, atol=0.03 * scale)
