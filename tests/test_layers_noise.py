"""Tests for keras_gans.layers.noise: NoiseInjection."""

import numpy as np
import pytest

import keras

from keras_gans.layers import NoiseInjection
from layer_checks import (
    JIT_MODES,
    assert_bfloat16_matches_float32,
    assert_round_trips,
    assert_steps_agree_with_eager,
    numpy,
)

SCALES = np.array([0.5, -2.0, 3.0], "float32")


def features(batch=2, size=16, seed=0):
    return np.random.default_rng(seed).standard_normal((batch, size, size, 3)).astype("float32")


def scaled_layer(seed=0):
    layer = NoiseInjection(seed=seed)
    layer.build((None, 16, 16, 3))
    layer.scale.assign(SCALES)
    return layer


def test_a_fresh_layer_is_the_identity():
    x = features()
    np.testing.assert_array_equal(numpy(NoiseInjection(seed=0)(x)), x)


def test_noise_is_one_normal_map_per_sample_scaled_per_channel():
    x = features(batch=4, size=32)
    layer = scaled_layer()
    first, second = numpy(layer(x)), numpy(layer(x))
    # Each call draws anew...
    difference = first - second
    assert np.abs(difference).mean() > 0.5
    # ...one map per sample, its channels in the ratio of the scales.
    np.testing.assert_allclose(difference / SCALES, np.repeat(difference[..., :1] / SCALES[0], 3, -1),
                               rtol=1e-4, atol=1e-4)
    noise = (first - x)[..., 0] / SCALES[0]
    assert abs(noise.mean()) < 0.1 and abs(noise.std() - 1) < 0.05  # 4096 N(0, 1) draws
    assert np.abs(noise[0] - noise[1]).mean() > 0.5  # Samples get their own maps.


def test_a_given_noise_gives_the_same_output():
    x = features()
    layer = scaled_layer()
    noise = np.random.default_rng(1).standard_normal((1, 16, 16, 1)).astype("float32")
    state = numpy(layer.seed_generator.state)
    outputs = [numpy(layer(x, noise=noise)) for _ in range(2)]
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.testing.assert_allclose(outputs[0], x + noise * SCALES, rtol=1e-6)
    np.testing.assert_array_equal(numpy(layer.seed_generator.state), state)  # Nothing drawn.


def test_a_given_seed_generator_is_drawn_from():
    x = features()
    layers = [scaled_layer(seed=1), scaled_layer(seed=2)]
    own_states = [numpy(layer.seed_generator.state) for layer in layers]
    outputs = [numpy(layer(x, seed=keras.random.SeedGenerator(7))) for layer in layers]
    np.testing.assert_array_equal(outputs[0], outputs[1])
    for layer, state in zip(layers, own_states):
        np.testing.assert_array_equal(numpy(layer.seed_generator.state), state)


def noise_model(seed=0):
    inputs = keras.Input((16, 16, 3))
    layer = NoiseInjection(seed=seed, name="noise")
    model = keras.Model(inputs, layer(inputs))
    layer.scale.assign(SCALES)
    return model


def test_seed_state_round_trips_so_a_loaded_layer_continues_the_stream(tmp_path):
    x = features()
    model = noise_model(seed=3)
    model(x)  # Advance the stream once.
    loaded = assert_round_trips(model, x, tmp_path)  # Both draw their second maps.
    np.testing.assert_array_equal(numpy(loaded(x)), numpy(model(x)))  # And their third.
    restarted = noise_model(seed=3)
    assert not np.allclose(numpy(restarted(x)), numpy(model(x)))
    assert loaded.get_layer("noise").seed == 3


@pytest.mark.parametrize("jit_compile", JIT_MODES)
def test_compiled_steps(jit_compile):
    # With a given noise the compiled step is deterministic and comparable...
    x_in, noise_in = keras.Input((16, 16, 3)), keras.Input((16, 16, 1))
    noisy = NoiseInjection(seed=0)(keras.layers.Conv2D(3, 3, padding="same")(x_in), noise=noise_in)
    model = keras.Model([x_in, noise_in], noisy)
    noise = np.random.default_rng(1).standard_normal((2, 16, 16, 1)).astype("float32")
    assert_steps_agree_with_eager(model, [features(), noise], jit_compile)
    # ...and its own draws advance inside compiled steps.
    model = noise_model()
    model.compile(jit_compile=jit_compile)
    assert not np.allclose(model.predict_on_batch(features()), model.predict_on_batch(features()))


def test_mixed_bfloat16():
    # Drawn in float32 from the same seed: both layers add the same noise.
    def make(dtype):
        layer = NoiseInjection(seed=4, dtype=dtype)
        layer.build((None, 16, 16, 3))
        layer.scale.assign(SCALES)
        return layer

    assert_bfloat16_matches_float32(make, features())


@pytest.mark.single_backend
def test_a_wrong_noise_shape_is_named():
    with pytest.raises(ValueError, match=r"noise must have shape \(batch or 1, 16, 16, 1\)"):
        scaled_layer()(features(), noise=np.zeros((2, 8, 8, 1), "float32"))
