"""Tests for keras_gans.layers.ConditionalBatchNormalization (BigGAN's ccbn)."""

import numpy as np
import pytest

import keras
from keras import layers, ops

from helpers import JIT
from keras_gans.layers import ConditionalBatchNormalization

EPSILON = 1e-5


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def batch(seed=0, shape=(4, 3, 3, 6), condition_dim=5):
    rng = np.random.default_rng(seed)
    x = (2 + 3 * rng.standard_normal(shape)).astype("float32")
    conditions = rng.standard_normal((shape[0], condition_dim)).astype("float32")
    return x, conditions


def with_random_maps(layer, x, conditions, seed=1):
    """Build `layer` and give its gain and bias maps random kernels."""
    layer([x, conditions], training=False)
    rng = np.random.default_rng(seed)
    gain_w, bias_w = (rng.standard_normal((conditions.shape[1], x.shape[-1])).astype("float32")
                      for _ in range(2))
    layer.gain.kernel.assign(0.3 * gain_w)
    layer.bias.kernel.assign(bias_w)
    return 0.3 * gain_w, bias_w


def test_two_conditions_give_two_affine_maps_of_the_same_normalized_input():
    x, conditions = batch()
    x[1] = x[0]  # the same features under two conditions
    layer = ConditionalBatchNormalization()
    gain_w, bias_w = with_random_maps(layer, x, conditions)

    out = numpy(layer([x, conditions], training=True))

    axes = tuple(range(x.ndim - 1))
    normalized = (x - x.mean(axes)) / np.sqrt(x.var(axes) + EPSILON)
    gain = 1 + conditions @ gain_w
    bias = conditions @ bias_w
    expected = normalized * gain[:, None, None, :] + bias[:, None, None, :]
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    # Samples 0 and 1 share normalized features but get their own maps.
    np.testing.assert_array_equal(normalized[0], normalized[1])
    assert not np.allclose(out[0], out[1], atol=1e-2)


def test_training_uses_and_updates_batch_statistics_inference_the_moving_ones():
    x, conditions = batch()
    layer = ConditionalBatchNormalization(momentum=0.8)
    gain_w, bias_w = with_random_maps(layer, x, conditions)
    gain = (1 + conditions @ gain_w)[:, None, None, :]
    bias = (conditions @ bias_w)[:, None, None, :]
    axes = (0, 1, 2)

    train_out = numpy(layer([x, conditions], training=True))
    np.testing.assert_allclose(
        train_out, (x - x.mean(axes)) / np.sqrt(x.var(axes) + EPSILON) * gain + bias,
        rtol=1e-4, atol=1e-4,
    )
    moving_mean = 0.2 * x.mean(axes)  # from 0, momentum 0.8
    moving_var = 0.8 * 1.0 + 0.2 * x.var(axes)
    np.testing.assert_allclose(numpy(layer.batch_norm.moving_mean), moving_mean, rtol=1e-5)
    np.testing.assert_allclose(numpy(layer.batch_norm.moving_variance), moving_var, rtol=1e-5)

    infer_out = numpy(layer([x, conditions], training=False))
    np.testing.assert_allclose(
        infer_out, (x - moving_mean) / np.sqrt(moving_var + EPSILON) * gain + bias,
        rtol=1e-4, atol=1e-4,
    )
    np.testing.assert_allclose(numpy(layer.batch_norm.moving_mean), moving_mean, rtol=1e-5)


def test_starts_as_plain_batch_norm_on_features_of_any_rank():
    for shape in [(6, 8), (4, 3, 3, 6)]:
        x, conditions = batch(shape=shape)
        out = ConditionalBatchNormalization()([x, conditions], training=True)
        plain = layers.BatchNormalization(momentum=0.9, epsilon=EPSILON, center=False, scale=False)
        np.testing.assert_allclose(numpy(out), numpy(plain(x, training=True)), rtol=1e-5, atol=1e-5)


@pytest.mark.single_backend
def test_a_single_input_is_refused_with_the_expected_form():
    x, _ = batch()
    for wrong in (x, x[:, 0, 0]):  # features alone, of rank 4 or 2
        with pytest.raises(ValueError, match=r"takes \[features, conditions\]"):
            ConditionalBatchNormalization()(wrong)


def test_round_trips_through_a_keras_file(tmp_path):
    x, conditions = batch()
    features, condition = keras.Input(x.shape[1:]), keras.Input(conditions.shape[1:])
    layer = ConditionalBatchNormalization(
        momentum=0.8, epsilon=1e-3, spectral_norm=True, kernel_initializer="orthogonal", name="cbn"
    )
    model = keras.Model([features, condition], layer([features, condition]))
    model([x, conditions], training=True)
    model.save(tmp_path / "cbn.keras")
    loaded = keras.saving.load_model(tmp_path / "cbn.keras")
    restored = loaded.get_layer("cbn")
    assert (restored.momentum, restored.epsilon, restored.spectral_norm) == (0.8, 1e-3, True)
    assert isinstance(restored.gain, layers.SpectralNormalization)
    np.testing.assert_allclose(
        numpy(loaded([x, conditions], training=False)), numpy(model([x, conditions], training=False)),
        rtol=1e-5, atol=1e-6,
    )


def test_trains_inside_a_compiled_step_under_mixed_bfloat16():
    x, conditions = batch()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        features, condition = keras.Input(x.shape[1:]), keras.Input(conditions.shape[1:])
        layer = ConditionalBatchNormalization(spectral_norm=True, name="cbn")
        normalized = layer([features, condition])
        outputs = layers.Dense(1, dtype="float32")(layers.GlobalAveragePooling2D()(normalized))
        model = keras.Model([features, condition], outputs)
    finally:
        keras.config.set_dtype_policy("float32")
    assert keras.backend.standardize_dtype(normalized.dtype) == "bfloat16"
    assert layer.batch_norm.moving_mean.dtype == "float32"
    model.compile(keras.optimizers.Adam(0.01), "mse", jit_compile=JIT)
    model.fit([x, conditions], np.ones((4, 1), "float32"), epochs=2, batch_size=4, verbose=0)
    # The condition reaches the output: the zero-initialized gain map learned.
    assert np.abs(numpy(layer.gain.layer.kernel)).max() > 0
    assert np.abs(numpy(layer.batch_norm.moving_mean)).max() > 0
