"""Tests for keras_gans.layers.equalized: EqualizedDense and EqualizedConv2D."""

import math

import numpy as np
import pytest

import keras

from helpers import JIT
from keras_gans.layers import EqualizedConv2D, EqualizedDense
from layer_checks import (
    JIT_MODES,
    assert_bfloat16_matches_float32,
    assert_round_trips,
    assert_steps_agree_with_eager,
    impulses,
    kernel_from_impulse_responses,
    numpy,
)

SQRT2 = math.sqrt(2.0)


def leaky_relu(z):
    return np.where(z > 0, z, 0.2 * z)


@pytest.mark.parametrize("gain, lr_multiplier", [(SQRT2, 1.0), (1.0, 0.01)])
def test_effective_weights_have_std_gain_over_sqrt_fan_in(gain, lr_multiplier):
    # Measured from outputs, not read from attributes: a bias-free dense
    # layer maps the identity to its effective kernel, a convolution maps
    # impulses to its (flipped) effective kernel.
    dense = EqualizedDense(512, use_bias=False, gain=gain, lr_multiplier=lr_multiplier)
    dense_kernel = numpy(dense(np.eye(1024, dtype="float32")))
    conv = EqualizedConv2D(256, 3, use_bias=False, gain=gain, lr_multiplier=lr_multiplier)
    conv_kernel = kernel_from_impulse_responses(conv(impulses(128, 3)))
    for layer, kernel, fan_in in [(dense, dense_kernel, 1024), (conv, conv_kernel, 9 * 128)]:
        # 10^5+ draws: the std is within 1% of its value.
        np.testing.assert_allclose(kernel.std(), gain / math.sqrt(fan_in), rtol=0.01)
        assert abs(kernel.mean()) < 0.01 * kernel.std()
        # ...while the stored weights are N(0, 1/lr_multiplier).
        np.testing.assert_allclose(numpy(layer.kernel).std(), 1 / lr_multiplier, rtol=0.01)


def test_dense_output_is_the_scaled_affine_map():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 6)).astype("float32")
    layer = EqualizedDense(3, activation="leaky_relu", gain=0.7, lr_multiplier=0.01, bias_init=0.5)
    layer.build(x.shape)
    # A fresh layer's effective bias is bias_init.
    np.testing.assert_allclose(numpy(layer(np.zeros_like(x))), leaky_relu(np.full((5, 3), 0.5)))
    layer.bias.assign(rng.standard_normal(3).astype("float32") * 100)
    scale = 0.7 * 0.01 / math.sqrt(6)
    expected = leaky_relu(x @ (numpy(layer.kernel) * scale) + numpy(layer.bias) * 0.01)
    np.testing.assert_allclose(numpy(layer(x)), expected, rtol=1e-5, atol=1e-6)


def test_conv_output_is_a_convolution_with_the_scaled_kernel():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 7, 6, 4)).astype("float32")
    layer = EqualizedConv2D(5, 3, activation="leaky_relu", lr_multiplier=0.1)
    layer.build(x.shape)
    layer.bias.assign(rng.standard_normal(5).astype("float32"))
    # Keras' own convolution, given the effective kernel and bias.
    reference = keras.layers.Conv2D(5, 3, padding="same", activation="leaky_relu",
                                    data_format="channels_last")
    reference.build(x.shape)
    scale = SQRT2 * 0.1 / math.sqrt(3 * 3 * 4)
    reference.set_weights([numpy(layer.kernel) * scale, numpy(layer.bias) * 0.1])
    np.testing.assert_allclose(numpy(layer(x)), numpy(reference(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("gain, lr_multiplier", [(SQRT2, 1.0), (1.0, 0.01)])
def test_an_adam_step_moves_effective_weights_by_lr_times_scale(gain, lr_multiplier):
    """The point of the trick: Adam's first step moves every stored weight by
    about lr, so the effective weight moves by lr * scale, the same
    fraction of its std in every layer (and lr * lr_multiplier for biases)."""
    lr, fan_in = 0.01, 6
    inputs = keras.Input((fan_in,))
    layer = EqualizedDense(4, gain=gain, lr_multiplier=lr_multiplier)
    model = keras.Model(inputs, layer(inputs))
    model.compile(optimizer=keras.optimizers.Adam(lr, epsilon=1e-12), loss="mse", jit_compile=JIT)

    def effective_weights():  # Measured from outputs: the map is affine.
        bias = numpy(layer(np.zeros((1, fan_in), "float32")))[0]
        return numpy(layer(np.eye(fan_in, dtype="float32"))) - bias, bias

    kernel, bias = effective_weights()
    rng = np.random.default_rng(2)
    model.train_on_batch(rng.standard_normal((8, fan_in)), rng.standard_normal((8, 4)))
    new_kernel, new_bias = effective_weights()
    scale = gain * lr_multiplier / math.sqrt(fan_in)
    # rtol: a float32 weight near 100 (lr_multiplier 0.01) rounds its step by ~1e-3.
    np.testing.assert_allclose(np.abs(new_kernel - kernel), lr * scale, rtol=1e-2)
    np.testing.assert_allclose(np.abs(new_bias - bias), lr * lr_multiplier, rtol=1e-2)


def small_model():
    inputs = keras.Input((6, 6, 3))
    x = EqualizedConv2D(4, 3, activation="leaky_relu", gain=1.5, lr_multiplier=0.5,
                        bias_init=0.1, name="conv")(inputs)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, EqualizedDense(2, gain=1.0, name="dense")(x))


def test_config_and_weights_round_trip(tmp_path):
    model = small_model()
    x = np.random.default_rng(3).standard_normal((2, 6, 6, 3)).astype("float32")
    loaded = assert_round_trips(model, x, tmp_path)
    conv, dense = loaded.get_layer("conv"), loaded.get_layer("dense")
    assert (conv.filters, conv.kernel_size, conv.gain, conv.lr_multiplier, conv.bias_init) == (
        4, 3, 1.5, 0.5, 0.1)
    assert conv.activation is keras.activations.leaky_relu
    assert (dense.units, dense.gain, dense.use_bias) == (2, 1.0, True)


@pytest.mark.parametrize("jit_compile", JIT_MODES)
def test_compiled_steps(jit_compile):
    x = np.random.default_rng(4).standard_normal((2, 6, 6, 3)).astype("float32")
    assert_steps_agree_with_eager(small_model(), x, jit_compile)


def test_mixed_bfloat16():
    x = np.random.default_rng(5).standard_normal((2, 6, 6, 8)).astype("float32")
    assert_bfloat16_matches_float32(lambda dtype: EqualizedConv2D(4, 3, dtype=dtype), x)
    assert_bfloat16_matches_float32(lambda dtype: EqualizedDense(4, dtype=dtype), x[:, 0, 0])


@pytest.mark.single_backend
def test_bad_arguments_say_what_to_change():
    with pytest.raises(ValueError, match="kernel_size must be a positive odd int"):
        EqualizedConv2D(4, 2)
    with pytest.raises(ValueError, match="lr_multiplier must be > 0"):
        EqualizedDense(4, lr_multiplier=0)
    with pytest.raises(ValueError, match=r"takes \(batch, height, width, channels\)"):
        EqualizedConv2D(4, 3)(np.zeros((2, 6, 3), "float32"))
