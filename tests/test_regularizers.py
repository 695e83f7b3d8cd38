"""Tests for keras_gans.regularizers: BigGAN's off-diagonal orthogonal penalty."""

import numpy as np
import pytest

import keras
from keras import layers, ops

from autodiff import input_gradient
from keras_gans.regularizers import OffDiagonalOrthogonal


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def penalty_numpy(kernel, strength):
    w = kernel.reshape(-1, kernel.shape[-1]).astype("float64")
    gram = w.T @ w
    return strength * np.sum((gram * (1 - np.eye(len(gram)))) ** 2)


def orthogonal_columns(rows, cols, scales=None, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((rows, cols)))
    return (q * (1 if scales is None else scales)).astype("float32")


@pytest.mark.parametrize("scales", [None, [0.1, 3.0, 1.0, 7.0]], ids=["orthonormal", "unequal-norms"])
def test_no_penalty_for_orthogonal_filters_of_any_norm(scales):
    regularizer = OffDiagonalOrthogonal(1.0)
    dense_kernel = orthogonal_columns(6, 4, scales)
    conv_kernel = orthogonal_columns(2 * 2 * 3, 4, scales, seed=1).reshape(2, 2, 3, 4)
    for kernel in (dense_kernel, conv_kernel):
        # The classic ||W^T W - I||^2 would charge unequal norms; this does not.
        assert float(numpy(regularizer(kernel))) == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize("shape", [(5, 3), (3, 3, 4, 6)], ids=["dense", "conv"])
def test_matches_numpy(shape):
    kernel = np.random.default_rng(2).standard_normal(shape).astype("float32")
    value = float(numpy(OffDiagonalOrthogonal(1e-2)(kernel)))
    assert value > 0
    assert value == pytest.approx(penalty_numpy(kernel, 1e-2), rel=1e-5)


@pytest.mark.parametrize("shape", [(5, 3), (3, 3, 4, 6)], ids=["dense", "conv"])
def test_gradient_is_the_closed_form(shape):
    strength = 1e-2
    kernel = np.random.default_rng(3).standard_normal(shape).astype("float32")
    grad = input_gradient(OffDiagonalOrthogonal(strength), kernel)
    w = kernel.reshape(-1, shape[-1]).astype("float64")
    off_diagonal = w.T @ w * (1 - np.eye(shape[-1]))
    closed_form = 4 * strength * w @ off_diagonal
    np.testing.assert_allclose(grad.reshape(w.shape), closed_form, rtol=1e-4, atol=1e-6)
    # BigGAN's utils.ortho adds 2 * strength * (w w^T * (1 - I)) w, w = W^T:
    # half of it, as the docstring says.
    biggan = 2 * strength * (off_diagonal @ w.T)
    np.testing.assert_allclose(grad.reshape(w.shape), 2 * biggan.T, rtol=1e-4, atol=1e-6)


def test_joins_the_model_losses_and_round_trips(tmp_path):
    inputs = keras.Input((6,))
    outputs = layers.Dense(4, kernel_regularizer=OffDiagonalOrthogonal(3e-3), name="dense")(inputs)
    model = keras.Model(inputs, outputs)
    model(np.zeros((1, 6), "float32"))
    kernel = numpy(model.get_layer("dense").kernel)
    (loss,) = model.losses
    assert float(numpy(loss)) == pytest.approx(penalty_numpy(kernel, 3e-3), rel=1e-5)
    model.save(tmp_path / "ortho.keras")
    loaded = keras.saving.load_model(tmp_path / "ortho.keras")
    restored = loaded.get_layer("dense").kernel_regularizer
    assert isinstance(restored, OffDiagonalOrthogonal) and restored.strength == 3e-3
    loaded(np.zeros((1, 6), "float32"))
    assert float(numpy(loaded.losses[0])) == pytest.approx(float(numpy(loss)), rel=1e-6)


@pytest.mark.single_backend
def test_refuses_vectors_and_negative_strengths():
    with pytest.raises(ValueError, match="rank >= 2.*leave biases and scales out"):
        OffDiagonalOrthogonal()(np.ones(4, "float32"))
    with pytest.raises(ValueError, match="strength must be a number >= 0"):
        OffDiagonalOrthogonal(-1.0)
