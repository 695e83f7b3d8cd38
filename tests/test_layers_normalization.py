"""Tests for keras_gans.layers.normalization: PixelNorm and MinibatchStdDev."""

import numpy as np
import pytest

import keras

from keras_gans.layers import MinibatchStdDev, PixelNorm
from layer_checks import (
    JIT_MODES,
    assert_bfloat16_matches_float32,
    assert_round_trips,
    assert_steps_agree_with_eager,
    numpy,
)


def features(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


# -- PixelNorm --------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 5, 4, 16), (6, 32)], ids=["images", "vectors"])
def test_pixel_norm_matches_numpy_and_gives_unit_mean_square(shape):
    x = features(shape) * np.geomspace(0.1, 100, shape[0]).reshape(-1, *[1] * (len(shape) - 1))
    out = numpy(PixelNorm()(x))
    np.testing.assert_allclose(out, x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + 1e-8),
                               rtol=1e-5)
    # Every position's feature vector, whatever its scale.
    np.testing.assert_allclose(np.mean(out**2, axis=-1), 1.0, rtol=1e-5)


# -- MinibatchStdDev --------------------------------------------------------------


def reference_stddev(x, group_size, num_channels):
    """The papers' statistic, written as loops: sample n is in group n mod M."""
    batch, height, width, channels = x.shape
    groups = batch // min(group_size, batch)
    stats = np.zeros((batch, num_channels))
    for m in range(groups):
        members = x[m::groups].astype("float64")
        for f, part in enumerate(np.split(members, num_channels, axis=-1)):
            stats[m::groups, f] = np.sqrt(part.var(axis=0) + 1e-8).mean()
    return np.broadcast_to(stats[:, None, None, :], (batch, height, width, num_channels))


@pytest.mark.parametrize("batch, group_size, num_channels", [(8, 4, 1), (12, 4, 2), (2, 4, 1)],
                         ids=["two-groups", "channel-groups", "batch-below-group"])
def test_minibatch_stddev_matches_numpy(batch, group_size, num_channels):
    x = features((batch, 3, 3, 6))
    out = numpy(MinibatchStdDev(group_size, num_channels)(x))
    assert out.shape == (batch, 3, 3, 6 + num_channels)
    np.testing.assert_array_equal(out[..., :6], x)
    np.testing.assert_allclose(out[..., 6:], reference_stddev(x, group_size, num_channels),
                               rtol=1e-5)


def test_minibatch_stddev_is_constant_within_a_group_and_differs_between_groups():
    x = features((8, 4, 4, 5))
    x[1::2] = 3 * x[0::2]  # Group 1 (samples 1, 3, 5, 7): group 0's, tripled.
    stat = numpy(MinibatchStdDev(group_size=4)(x))[..., -1]
    for group in (stat[0::2], stat[1::2]):
        np.testing.assert_allclose(group, group[0, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(stat[1, 0, 0] / stat[0, 0, 0], 3.0, rtol=1e-4)


def test_minibatch_stddev_of_identical_samples_is_zero():
    x = np.repeat(features((1, 4, 4, 5)), 4, axis=0)
    stat = numpy(MinibatchStdDev()(x))[..., -1]
    np.testing.assert_allclose(stat, 0.0, atol=2e-4)  # sqrt(epsilon) = 1e-4


def stddev_model(group_size=4):
    inputs = keras.Input((4, 4, 3))
    x = MinibatchStdDev(group_size, name="stddev")(inputs)
    return keras.Model(inputs, keras.layers.Conv2D(2, 1, name="conv")(x))


@pytest.mark.parametrize("jit_compile", JIT_MODES)
def test_compiled_steps_with_a_static_batch(jit_compile):
    model = stddev_model()
    x = features((8, 4, 4, 3))
    assert model.compute_output_shape((8, 4, 4, 3)) == (8, 4, 4, 2)
    assert_steps_agree_with_eager(model, x, jit_compile)
    # A batch that does not split fails while tracing, saying what to change
    # (a fresh trace: TensorFlow retraces a second batch size as dynamic).
    model.compile(jit_compile=jit_compile)
    with pytest.raises(ValueError, match="6 samples.*multiple of 4"):
        model.predict_on_batch(features((6, 4, 4, 3)))


def test_minibatch_stddev_error_says_what_to_change():
    with pytest.raises(ValueError, match=r"multiple of 4 .*or a group_size that divides 10"):
        MinibatchStdDev()(features((10, 2, 2, 3)))
    with pytest.raises(ValueError, match="must divide the 3 input channels"):
        MinibatchStdDev(num_channels=2)(features((4, 2, 2, 3)))


# -- Both -------------------------------------------------------------------------


def test_config_round_trip(tmp_path):
    inputs = keras.Input((4, 4, 6))
    x = PixelNorm(epsilon=1e-6, name="norm")(inputs)
    model = keras.Model(inputs, MinibatchStdDev(2, num_channels=3, name="stddev")(x))
    loaded = assert_round_trips(model, features((4, 4, 4, 6)), tmp_path)
    assert loaded.get_layer("norm").epsilon == 1e-6
    stddev = loaded.get_layer("stddev")
    assert (stddev.group_size, stddev.num_channels) == (2, 3)


def test_mixed_bfloat16():
    x = features((8, 4, 4, 16)) * 1e3
    assert_bfloat16_matches_float32(lambda dtype: PixelNorm(dtype=dtype), x)
    assert_bfloat16_matches_float32(lambda dtype: MinibatchStdDev(dtype=dtype), x)
