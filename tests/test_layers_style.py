"""Tests for keras_gans.layers.style: AdaIN, ModulatedConv2D and ModulatedToRGB."""

import math

import numpy as np
import pytest

import keras
from keras import ops

from keras_gans.layers import AdaIN, ModulatedConv2D, ModulatedToRGB
from layer_checks import (
    JIT_MODES,
    assert_bfloat16_matches_float32,
    assert_round_trips,
    assert_steps_agree_with_eager,
    impulses,
    kernel_from_impulse_responses,
    numpy,
)


def features_and_latents(batch=3, size=5, channels=4, w_dim=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, size, size, channels)).astype("float32")
    return x, rng.standard_normal((batch, w_dim)).astype("float32")


def styles_of(layer, w):
    """The layer's style affine, from its definition: gain 1, lr_multiplier 1."""
    style = layer.style
    return w @ numpy(style.kernel) / math.sqrt(w.shape[-1]) + numpy(style.bias)


def randomize_biases(layer, seed=1):
    rng = np.random.default_rng(seed)
    for bias in (layer.style.bias, getattr(layer, "bias", None)):
        if bias is not None:
            bias.assign(rng.standard_normal(bias.shape).astype("float32"))


# -- AdaIN ------------------------------------------------------------------------


def test_adain_matches_numpy():
    x, w = features_and_latents()
    layer = AdaIN()
    layer([x, w])
    randomize_biases(layer)
    mean, var = x.mean(axis=(1, 2), keepdims=True), x.var(axis=(1, 2), keepdims=True)
    scale, shift = np.split(styles_of(layer, w)[:, None, None, :], 2, axis=-1)
    expected = (x - mean) / np.sqrt(var + 1e-8) * (1 + scale) + shift
    np.testing.assert_allclose(numpy(layer([x, w])), expected, rtol=1e-4, atol=1e-5)


def test_adain_output_depends_on_w_and_not_on_the_input_statistics():
    x, w = features_and_latents()
    layer = AdaIN()
    out = numpy(layer([x, w]))
    # Per-sample, per-channel scale and shift of x are normalized away...
    rescaled = x * np.array([3.0, 0.5, 7.0, 1.0]) + np.array([2.0, -1.0, 0.0, 5.0])
    np.testing.assert_allclose(numpy(layer([rescaled, w])), out, rtol=1e-4, atol=1e-4)
    # ...and w decides the style.
    assert np.abs(numpy(layer([x, w[::-1]])) - out).mean() > 0.1


# -- ModulatedConv2D --------------------------------------------------------------


def per_sample_kernels(layer, w):
    """StyleGAN2's per-sample kernels, built explicitly: (batch, k, k, in, out)."""
    kernel = numpy(layer.kernel) * layer.gain / math.sqrt(np.prod(layer.kernel.shape[:-1]))
    kernels = kernel[None] * styles_of(layer, w)[:, None, None, :, None]
    if layer.demodulate:
        norms = np.sqrt(np.sum(kernels**2, axis=(1, 2, 3), keepdims=True) + 1e-8)
        kernels = layer.gain * kernels / norms
    return kernels


@pytest.mark.parametrize("demodulate", [True, False], ids=["demodulated", "modulated"])
@pytest.mark.parametrize("upsample", [False, True], ids=["same-size", "upsampled"])
def test_modulated_conv_equals_a_convolution_per_sample(demodulate, upsample):
    x, w = features_and_latents()
    layer = ModulatedConv2D(5, 3, demodulate=demodulate, upsample=upsample)
    layer([x, w])
    randomize_biases(layer)
    # Upsampling is linear per channel: it commutes with scaling the channels.
    upsampled = numpy(ops.image.resize(x, (10, 10), interpolation="bilinear")) if upsample else x
    expected = np.concatenate([
        numpy(ops.conv(upsampled[b:b + 1], kernel, padding="same"))
        for b, kernel in enumerate(per_sample_kernels(layer, w))
    ]) + numpy(layer.bias)
    np.testing.assert_allclose(numpy(layer([x, w])), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("gain", [1.0, math.sqrt(2.0)])
def test_demodulated_kernels_have_norm_gain_per_sample_and_output_channel(gain):
    # Each sample's kernel is measured from the layer's impulse responses.
    _, w = features_and_latents(batch=2, w_dim=8)
    layer = ModulatedConv2D(6, 3, gain=gain, use_bias=False)
    for latent in w:
        responses = layer([impulses(4, 3), np.repeat(latent[None], 4, axis=0)])
        kernel = kernel_from_impulse_responses(responses)
        np.testing.assert_allclose(np.sqrt(np.sum(kernel**2, axis=(0, 1, 2))), gain, rtol=1e-5)


def test_demodulation_makes_the_output_insensitive_to_the_style_scale():
    x, w = features_and_latents()
    demodulated, to_rgb = ModulatedConv2D(5, 3), ModulatedToRGB(3, use_bias=False)
    before = [numpy(layer([x, w])) for layer in (demodulated, to_rgb)]
    for layer in (demodulated, to_rgb):  # Styles times 10.
        layer.style.kernel.assign(layer.style.kernel * 10.0)
        layer.style.bias.assign(layer.style.bias * 10.0)
    np.testing.assert_allclose(numpy(demodulated([x, w])), before[0], rtol=1e-4, atol=1e-5)
    # Without demodulation (toRGB), the style's scale reaches the output.
    np.testing.assert_allclose(numpy(to_rgb([x, w])), 10 * before[1], rtol=1e-4, atol=1e-5)


def test_to_rgb_is_an_undemodulated_1x1_modulated_conv_with_gain_1():
    x, w = features_and_latents()
    to_rgb = ModulatedToRGB(3)
    same = ModulatedConv2D(3, 1, demodulate=False, gain=1.0)
    same([x, w])
    to_rgb([x, w])
    randomize_biases(to_rgb)
    same.set_weights(to_rgb.get_weights())
    np.testing.assert_allclose(numpy(to_rgb([x, w])), numpy(same([x, w])), rtol=1e-6)
    assert ModulatedToRGB.from_config(to_rgb.get_config()).get_config() == to_rgb.get_config()


# -- All --------------------------------------------------------------------------


def style_model():
    x_in, w_in = keras.Input((4, 4, 8)), keras.Input((6,))
    x = AdaIN(name="adain")([x_in, w_in])
    x = ModulatedConv2D(4, 3, upsample=True, lr_multiplier=0.5, name="conv")([x, w_in])
    return keras.Model([x_in, w_in], ModulatedToRGB(3, name="to_rgb")([x, w_in]))


def test_config_and_weights_round_trip(tmp_path):
    x, w = features_and_latents(batch=2, size=4, channels=8)
    loaded = assert_round_trips(style_model(), [x, w], tmp_path)
    conv, to_rgb = loaded.get_layer("conv"), loaded.get_layer("to_rgb")
    assert (conv.filters, conv.upsample, conv.demodulate, conv.lr_multiplier) == (4, True, True, 0.5)
    assert (to_rgb.filters, to_rgb.kernel_size, to_rgb.demodulate, to_rgb.gain) == (3, 1, False, 1.0)


@pytest.mark.parametrize("jit_compile", JIT_MODES)
def test_compiled_steps(jit_compile):
    x, w = features_and_latents(batch=2, size=4, channels=8)
    assert_steps_agree_with_eager(style_model(), [x, w], jit_compile)


def test_mixed_bfloat16():
    inputs = list(features_and_latents())
    for make in (AdaIN, ModulatedToRGB,
                 lambda dtype: ModulatedConv2D(5, 3, upsample=True, dtype=dtype)):
        assert_bfloat16_matches_float32(lambda dtype: make(dtype=dtype), inputs)


@pytest.mark.single_backend
def test_a_missing_latent_is_named():
    x, _ = features_and_latents()
    for layer in (AdaIN(), ModulatedConv2D(4)):
        with pytest.raises(ValueError, match=r"takes \[x, w\]"):
            layer(x)
