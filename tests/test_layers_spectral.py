"""Spectral normalization as keras-gans uses it (Keras' SpectralNormalization,
wrapped by keras_gans.layers.spectral_norm): what its power iteration does
on each backend, as keras_gans/layers/spectral.py documents."""

import numpy as np
import pytest

import keras
from keras import layers, ops

from autodiff import BACKEND, variable_gradient
from keras_gans.layers import spectral_norm


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def top_singular_value(kernel):
    # Keras (like the SN-GAN code) normalizes the kernel reshaped to
    # (kh * kw * c_in, c_out): that matrix's norm, not the convolution's
    # operator norm.
    kernel = numpy(kernel)
    return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]


def conv_with_spectrum(singular_values, seed=0):
    """A built spectral-normalized 3x3 conv, 4 -> 8 channels, whose reshaped
    kernel (36, 8) has exactly the given singular values."""
    rng = np.random.default_rng(seed)
    left, _ = np.linalg.qr(rng.standard_normal((36, 8)))
    right, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    kernel = (left * singular_values) @ right.T
    wrapped = spectral_norm(layers.Conv2D(8, 3, name="conv"))
    wrapped.build((None, 6, 6, 4))
    wrapped.layer.kernel.assign(kernel.reshape(3, 3, 4, 8).astype("float32"))
    return wrapped


def test_training_calls_bring_the_top_singular_value_to_one():
    spectrum = np.array([4.0, 2.0, 1.5, 1.0, 0.8, 0.5, 0.3, 0.1])
    conv = conv_with_spectrum(spectrum)
    x = np.random.default_rng(1).standard_normal((2, 6, 6, 4)).astype("float32")
    assert top_singular_value(conv.layer.kernel) == pytest.approx(4.0, rel=1e-5)
    for _ in range(5):
        conv(x, training=True)
    # Call k divides the kernel by its power-iteration estimate of sigma,
    # which is low by a relative e_k ~ tan^2(a) (s2 / s1)^(4k - 2) / 2, a
    # the angle between the starting u and the top singular vector, so the
    # top singular value ends at 1 / (1 - e_5) = 1 + tan^2(a) 2^-19: within
    # 1e-4 unless u starts within 5 degrees of orthogonal to that vector,
    # and far above float32 round-off (1e-6).
    assert top_singular_value(conv.layer.kernel) == pytest.approx(1.0, rel=1e-4)
    # Only the scale changed: the spectrum's shape is kept.
    kernel = numpy(conv.layer.kernel).reshape(36, 8)
    np.testing.assert_allclose(np.linalg.svd(kernel, compute_uv=False), spectrum / 4, rtol=1e-4)


def test_inference_calls_leave_kernel_and_u_alone():
    conv = conv_with_spectrum(np.linspace(3.0, 0.5, 8))
    x = np.random.default_rng(2).standard_normal((2, 6, 6, 4)).astype("float32")
    conv(x, training=True)
    kernel, u = numpy(conv.layer.kernel), numpy(conv.vector_u)
    for training in (False, None):
        out = conv(x, training=training)
        np.testing.assert_array_equal(numpy(conv.layer.kernel), kernel)
        np.testing.assert_array_equal(numpy(conv.vector_u), u)
    # ...and compute with the stored kernel as it is, not divided again.
    np.testing.assert_allclose(numpy(out), numpy(conv.layer(x)), rtol=1e-6)
    conv(x, training=True)
    assert not np.array_equal(numpy(conv.vector_u), u)


def test_gradient_treats_sigma_as_the_backend_does():
    """TensorFlow and PyTorch differentiate the normalized kernel as if it
    were the parameter; JAX, under the scope a training step runs in,
    differentiates through sigma(W) (u and v held fixed), as the paper."""
    dense = spectral_norm(layers.Dense(3, use_bias=False, name="dense"))
    dense.build((None, 4))
    kernel, u = numpy(dense.layer.kernel), numpy(dense.vector_u)
    x = np.random.default_rng(3).standard_normal((5, 4)).astype("float32")
    weights = np.array([1.0, -2.0, 0.5], "float32")

    grad = variable_gradient(
        lambda: ops.sum(dense(x, training=True) * ops.convert_to_tensor(weights)), dense.layer.kernel
    )

    # One power iteration from u, in NumPy.
    v = u @ kernel.T
    v /= np.linalg.norm(v)
    u = v @ kernel
    u /= np.linalg.norm(u)
    sigma = (v @ kernel @ u.T).item()
    normalized = kernel / sigma
    direct = np.outer(x.sum(0), weights)  # d loss / d normalized kernel
    through_sigma = (direct - np.sum(direct * normalized) * v.T @ u) / sigma
    expected = through_sigma if BACKEND == "jax" else direct
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-5)
    assert not np.allclose(direct, through_sigma, atol=1e-2)  # the two readings differ here


@pytest.mark.single_backend
def test_spectral_norm_helper_wraps_names_and_passes_through():
    conv = layers.Conv2D(4, 3, name="d_conv1")
    wrapped = spectral_norm(conv, power_iterations=2)
    assert isinstance(wrapped, layers.SpectralNormalization)
    assert wrapped.layer is conv and wrapped.name == "d_conv1_sn"
    assert wrapped.power_iterations == 2
    assert spectral_norm(conv, enabled=False) is conv


def test_wrapped_layer_round_trips_with_its_power_iteration_state(tmp_path):
    inputs = keras.Input((6, 6, 4))
    model = keras.Model(inputs, spectral_norm(layers.Conv2D(8, 3, name="conv"))(inputs))
    x = np.random.default_rng(4).standard_normal((2, 6, 6, 4)).astype("float32")
    model(x, training=True)
    model.save(tmp_path / "sn.keras")
    loaded = keras.saving.load_model(tmp_path / "sn.keras")
    original, restored = model.get_layer("conv_sn"), loaded.get_layer("conv_sn")
    np.testing.assert_array_equal(numpy(restored.layer.kernel), numpy(original.layer.kernel))
    np.testing.assert_array_equal(numpy(restored.vector_u), numpy(original.vector_u))
    np.testing.assert_allclose(numpy(loaded(x, training=True)), numpy(model(x, training=True)), rtol=1e-5)


@pytest.mark.single_backend
def test_spectral_norm_refuses_an_embedding():
    with pytest.raises(ValueError, match="one-hot"):
        spectral_norm(keras.layers.Embedding(10, 4))
