import json
import math

import keras
import numpy as np
import pytest
from keras import ops

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
