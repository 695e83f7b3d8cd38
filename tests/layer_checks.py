"""Checks the layer test modules share: `.keras` round trips, compiled steps,
mixed precision, and a layer's kernel measured from its impulse responses."""

import numpy as np
import pytest

import keras
from keras import ops

# jit_compile=True on torch is torch.compile: minutes on CI's CPU.
JIT_MODES = [False, pytest.param(True, marks=pytest.mark.slow_on_torch)]


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float32")


def assert_round_trips(model, inputs, tmp_path):
    """Saves `model` to a `.keras` file; the loaded one gives the same outputs."""
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(numpy(loaded(inputs)), numpy(model(inputs)), rtol=1e-6, atol=1e-6)
    return loaded


def assert_steps_agree_with_eager(model, inputs, jit_compile):
    """A compiled predict equals the eager call, and one SGD step of the
    compiled train step moves the weights as the eager train step does."""
    initial = model.get_weights()
    expected = numpy(model(inputs))

    def one_step(jit):
        model.set_weights(initial)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=jit)
        prediction = numpy(model.predict_on_batch(inputs))
        model.train_on_batch(inputs, np.zeros_like(prediction))
        return prediction, model.get_weights()

    eager_trained = one_step(False)[1] if jit_compile else None
    prediction, trained = one_step(jit_compile)  # The model stays compiled so.
    np.testing.assert_allclose(prediction, expected, rtol=1e-4, atol=1e-5)
    for weight, eager_weight in zip(trained, eager_trained or trained):
        np.testing.assert_allclose(weight, eager_weight, rtol=1e-4, atol=1e-5)
    # The step learned something: some weight moved.
    assert any(not np.allclose(a, b) for a, b in zip(trained, initial))


def assert_bfloat16_matches_float32(make_layer, inputs, rtol=2e-2):
    """The layer under `mixed_bfloat16`, with the float32 layer's weights,
    computes in bfloat16 and agrees with it to bfloat16's precision."""
    exact = make_layer(dtype="float32")
    expected = numpy(exact(inputs))
    mixed = make_layer(dtype="mixed_bfloat16")
    if not mixed.built:
        mixed(inputs)
    mixed.set_weights(exact.get_weights())
    outputs = mixed(inputs)
    assert keras.backend.standardize_dtype(outputs.dtype) == "bfloat16"
    assert all(keras.backend.standardize_dtype(v.dtype) == "float32" for v in mixed.weights)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(numpy(outputs), expected, rtol=rtol, atol=rtol * scale)


def impulses(channels, kernel_size):
    """One `(kernel_size, kernel_size, channels)` map per channel, a 1 at its centre."""
    centre = kernel_size // 2
    maps = np.zeros((channels, kernel_size, kernel_size, channels), "float32")
    maps[np.arange(channels), centre, centre, np.arange(channels)] = 1.0
    return maps


def kernel_from_impulse_responses(responses):
    """The HWIO kernel of a linear, bias-free stride-1 "same" convolution,
    from its `responses` to `impulses(...)` (sample i: the impulse in
    channel i): output position p holds the kernel's entry at 2*centre - p."""
    return np.flip(numpy(responses), axis=(1, 2)).transpose(1, 2, 0, 3)
