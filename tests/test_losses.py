import json
import math

import keras
import numpy as np
import pytest
from keras import ops

import keras_gans as kg
from keras_gans import losses


def value(x):
    return float(ops.convert_to_numpy(x))


def sp(x):  # softplus, by hand
    return math.log1p(math.exp(-abs(x))) + max(x, 0.0)


REAL = [2.0, -1.0, 0.5]
FAKE = [-3.0, 0.0, 1.5]


def test_minimax_pair_matches_hand_computed_values():
    d = value(losses.minimax_discriminator_loss(REAL, FAKE))
    expected = np.mean([sp(-r) for r in REAL]) + np.mean([sp(f) for f in FAKE])
    assert d == pytest.approx(expected, rel=1e-6)
    # log(1 - D(G(z))) = -softplus(f)
    g = value(losses.minimax_generator_loss(FAKE))
    assert g == pytest.approx(-np.mean([sp(f) for f in FAKE]), rel=1e-6)


def test_non_saturating_generator_is_minus_log_d():
    g = value(losses.non_saturating_generator_loss(FAKE))
    sigmoid = [1 / (1 + math.exp(-f)) for f in FAKE]
    assert g == pytest.approx(-np.mean(np.log(sigmoid)), rel=1e-6)


def test_least_squares_wasserstein_hinge():
    assert value(losses.least_squares_discriminator_loss(REAL, FAKE)) == pytest.approx(
        0.5 * np.mean((np.array(REAL) - 1) ** 2) + 0.5 * np.mean(np.array(FAKE) ** 2)
    )
    assert value(losses.least_squares_generator_loss(FAKE)) == pytest.approx(
        0.5 * np.mean((np.array(FAKE) - 1) ** 2)
    )
    assert value(losses.wasserstein_discriminator_loss(REAL, FAKE)) == pytest.approx(
        np.mean(FAKE) - np.mean(REAL)
    )
    assert value(losses.wasserstein_generator_loss(FAKE)) == pytest.approx(-np.mean(FAKE))
    assert value(losses.hinge_discriminator_loss(REAL, FAKE)) == pytest.approx(
        np.mean(np.maximum(0, 1 - np.array(REAL))) + np.mean(np.maximum(0, 1 + np.array(FAKE)))
    )
    assert value(losses.hinge_generator_loss(FAKE)) == pytest.approx(-np.mean(FAKE))


@pytest.mark.parametrize("name", losses.names())
@pytest.mark.parametrize("logit", [100.0, -100.0, 1e4, -1e4])
def test_extreme_logits_are_finite(name, logit):
    pair = losses.get(name)
    x = np.full((4, 1), logit, "float32")
    assert np.isfinite(value(pair.discriminator(x, x)))
    assert np.isfinite(value(pair.generator(x)))


def test_extreme_logits_give_the_right_limits():
    # D perfectly right: loss -> 0; D perfectly wrong: loss ~ 2 * 100.
    assert value(losses.minimax_discriminator_loss([100.0], [-100.0])) == pytest.approx(0, abs=1e-30)
    assert value(losses.minimax_discriminator_loss([-100.0], [100.0])) == pytest.approx(200.0)
    assert value(losses.non_saturating_generator_loss([-100.0])) == pytest.approx(100.0)
    # The saturating loss flattens out where D rejects fakes: its value is ~0.
    assert value(losses.minimax_generator_loss([-100.0])) == pytest.approx(0.0, abs=1e-30)


def test_get_accepts_names_aliases_and_pairs_and_rejects_unknown():
    assert losses.get("non_saturating").name == "non_saturating"
    assert losses.get("LSGAN").name == "least_squares"
    pair = losses.get("hinge")
    assert losses.get(pair) is pair
    with pytest.raises(ValueError, match="Unknown GAN loss 'nope'.*hinge"):
        losses.get("nope")


@keras.saving.register_keras_serializable(package="keras_gans_tests")
def doubled_hinge_d_loss(real_logits, fake_logits):
    return 2.0 * losses.hinge_discriminator_loss(real_logits, fake_logits)


@keras.saving.register_keras_serializable(package="keras_gans_tests")
def doubled_hinge_g_loss(fake_logits):
    return 2.0 * losses.hinge_generator_loss(fake_logits)


# A custom pair under a built-in's name: it must not come back as the built-in.
DOUBLED_HINGE = losses.GANLoss("hinge", doubled_hinge_d_loss, doubled_hinge_g_loss, False)


def test_serialize_names_built_ins_and_keeps_custom_functions():
    assert losses.serialize(losses.get("hinge")) == "hinge"
    assert losses.deserialize("hinge") is losses.get("hinge")
    config = json.loads(json.dumps(losses.serialize(DOUBLED_HINGE)))  # as saved in a .keras file
    assert losses.deserialize(config) == DOUBLED_HINGE


# -- penalties ----------------------------------------------------------------------

W = np.array([3.0, 0.0, 4.0, 0.0], "float32")  # |w| = 5


def linear_critic_gan(scale=1.0):
    """A GAN whose critic is `scale * w . x + 1`: its input gradient is
    `scale * w` everywhere, so every gradient penalty has a closed form."""
    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4)])
    critic = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    critic.set_weights([scale * W[:, None], np.ones(1, "float32")])
    gan = kg.GAN(generator, critic, seed=0)
    gan.compile(loss="wasserstein")
    return gan


def penalty_inputs(gan, n=6):
    rng = np.random.default_rng(0)
    real = keras.ops.convert_to_tensor(rng.normal(size=(n, 4)).astype("float32"))
    fake = keras.ops.convert_to_tensor(rng.normal(size=(n, 4)).astype("float32"))
    logits = gan.discriminate(real, training=True)
    return kg.losses.PenaltyInputs(real, fake, None, None, logits), real


@pytest.mark.parametrize("penalty, expected", [
    (kg.losses.GradientPenalty(10.0), 10.0 * (5.0 - 1.0) ** 2),
    (kg.losses.GradientPenalty(2.0, target=5.0), 0.0),
    (kg.losses.R1(gamma=10.0), 10.0 / 2 * 25.0),
    (kg.losses.R2(gamma=4.0), 4.0 / 2 * 25.0),
])
def test_gradient_penalties_match_the_closed_form_of_a_linear_critic(penalty, expected):
    gan = linear_critic_gan()
    inputs, _ = penalty_inputs(gan)
    assert value(penalty(gan, inputs)) == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_drift_is_epsilon_times_the_mean_squared_real_logit():
    gan = linear_critic_gan()
    inputs, real = penalty_inputs(gan)
    logits = keras.ops.convert_to_numpy(real) @ W + 1.0
    expected = 0.001 * np.mean(logits**2)
    assert value(kg.losses.Drift(0.001)(gan, inputs)) == pytest.approx(expected, rel=1e-5)
    # Without the phase's logits it computes them itself.
    alone = inputs._replace(real_logits=None)
    assert value(kg.losses.Drift(0.001)(gan, alone)) == pytest.approx(expected, rel=1e-5)


def test_penalties_serialize_with_their_interval_and_name():
    for penalty in (kg.losses.GradientPenalty(5.0, target=0.5, interval=2), kg.losses.R1(10, 16),
                    kg.losses.R2(3.0, name="fake_r1"), kg.losses.Drift(0.01, interval=4)):
        config = keras.saving.serialize_keras_object(penalty)
        restored = kg.losses.get_penalty(config)
        assert type(restored) is type(penalty) and restored.get_config() == penalty.get_config()
    assert kg.losses.R2(3.0, name="fake_r1").name == "fake_r1"
    with pytest.raises(ValueError, match="interval"):
        kg.losses.R1(interval=0)
    with pytest.raises(ValueError, match="Penalty"):
        kg.losses.get_penalty("r1")


def test_float16_input_gradients_do_not_underflow():
    # A two-layer linear critic, 1e-4 w . (1e-4 x): its weights are fine in
    # float16 but its input gradient, 1e-8 w, lies below float16's smallest
    # number, so an unscaled backward pass flushes it to (about) zero. Scaled
    # by the optimizer's loss scale (2**15) it survives, and R1 = 5 * 25e-16
    # comes out right, in float32.
    keras.config.set_dtype_policy("mixed_float16")
    try:
        generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4)])
        critic = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, use_bias=False),
                                   keras.layers.Dense(1, use_bias=False)])
        critic.set_weights([1e-4 * np.eye(4, dtype="float32"), 1e-4 * W[:, None]])
        gan = kg.GAN(generator, critic, seed=0)
        gan.compile(loss="wasserstein")
        assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
        inputs, _ = penalty_inputs(gan)
        r1 = kg.losses.R1(gamma=10.0)(gan, inputs)
        assert keras.backend.standardize_dtype(r1.dtype) == "float32"
        assert value(r1) == pytest.approx(5.0 * 25e-16, rel=2e-2, abs=0.0)
    finally:
        keras.config.set_dtype_policy("float32")
