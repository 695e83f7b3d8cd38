import numpy as np
import pytest

import keras
from keras import ops

from keras_gans import backend


def test_value_and_grad_matches_analytic_gradient():
    w = keras.Variable(np.array([1.0, -2.0], "float32"))
    x = ops.convert_to_tensor(np.array([3.0, 4.0], "float32"))
    loss, aux, (grad,) = backend.value_and_grad(lambda: (ops.sum(w * w * x), {"w0": w[0]}), [w])
    assert float(ops.convert_to_numpy(loss)) == pytest.approx(3 + 16)
    np.testing.assert_allclose(ops.convert_to_numpy(grad), 2 * np.array([1.0, -2.0]) * [3, 4])
    assert float(ops.convert_to_numpy(aux["w0"])) == 1.0


def test_unused_variables_get_zero_gradients_and_updates_are_kept():
    used = keras.Variable(np.ones(2, "float32"))
    unused = keras.Variable(np.ones(3, "float32"))
    counter = keras.Variable(0.0, trainable=False)

    def fn():
        counter.assign(counter + 1.0)  # like a BatchNorm statistic
        return ops.sum(used), {}

    _, _, grads = backend.value_and_grad(fn, [used, unused])
    np.testing.assert_array_equal(ops.convert_to_numpy(grads[1]), np.zeros(3))
    assert float(ops.convert_to_numpy(counter)) == 1.0


def test_input_gradients_are_differentiable_for_penalties():
    w = keras.Variable(np.array(2.0, "float32"))
    x = ops.convert_to_tensor(np.array([1.0, 3.0], "float32"))

    # d/dx sum(w * x^2) = 2 w x; penalty = sum((2 w x)^2) = 4 w^2 sum(x^2) -> d/dw = 8 w sum(x^2)
    def penalty():
        g = backend.input_gradients(lambda inputs: w * inputs * inputs, x)
        return ops.sum(g * g), {"g": g}

    loss, aux, (grad,) = backend.value_and_grad(penalty, [w])
    np.testing.assert_allclose(ops.convert_to_numpy(aux["g"]), [4.0, 12.0])
    assert float(ops.convert_to_numpy(grad)) == pytest.approx(8 * 2 * 10)


def test_pullback_of_input_gradient_equals_direct_gradient():
    """The generator phase's reuse of fakes gives exactly the direct gradient."""
    rng = np.random.default_rng(0)
    generator = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh")])
    critic = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    z = ops.convert_to_tensor(rng.normal(size=(5, 3)).astype("float32"))
    variables = generator.trainable_variables

    def loss_of(images):
        return ops.mean(ops.softplus(-critic(images))), {}

    _, _, direct = backend.value_and_grad(lambda: loss_of(generator(z)), variables)
    fake, pullback = backend.forward_and_pullback(lambda: generator(z), variables)
    _, _, fake_grads = backend.value_and_input_grad(loss_of, fake)
    for a, b in zip(direct, pullback(fake_grads)):
        np.testing.assert_allclose(ops.convert_to_numpy(a), ops.convert_to_numpy(b), rtol=1e-5, atol=1e-7)
