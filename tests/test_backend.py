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
