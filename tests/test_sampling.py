"""The sampling contract: what a generator takes, drawn in NumPy, in the step
and in TensorFlow exports."""

import numpy as np
import pytest

import keras

from keras_gans import sampling

SPECS = [
    sampling.LatentInput("z", (6,)),
    sampling.LatentInput("labels", kind="labels", num_classes=4),
]


def test_numpy_draws_are_seeded_and_labels_checked():
    a = sampling.draw_numpy(SPECS, 5, seed=3)
    b = sampling.draw_numpy(SPECS, 5, seed=3)
    np.testing.assert_array_equal(a["z"], b["z"])
    assert a["z"].shape == (5, 6) and a["z"].dtype == np.float32
    assert a["labels"].dtype == np.int32 and set(a["labels"]) <= set(range(4))
    assert not np.allclose(a["z"], sampling.draw_numpy(SPECS, 5, seed=4)["z"])
    given = sampling.draw_numpy(SPECS, 3, seed=3, labels=[3, 0, 1])
    assert given["labels"].tolist() == [3, 0, 1]
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        sampling.draw_numpy(SPECS, 2, seed=0, labels=[0, 4])
    with pytest.raises(ValueError, match="2 labels for 3 samples"):
        sampling.draw_numpy(SPECS, 3, seed=0, labels=[0, 1])
    with pytest.raises(ValueError, match="num_classes"):
        sampling.LatentInput("labels", kind="labels")


def test_an_unseeded_draw_advances_the_seed_generator():
    generator = keras.random.SeedGenerator(5)
    first = sampling.draw_numpy(SPECS[:1], 4, seed_generator=generator)["z"]
    second = sampling.draw_numpy(SPECS[:1], 4, seed_generator=generator)["z"]
    assert not np.allclose(first, second)
    again = sampling.draw_numpy(SPECS[:1], 4, seed_generator=keras.random.SeedGenerator(5))["z"]
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("threshold", [0.25, 1.0, 2.0])
def test_truncation_resamples_instead_of_clipping(threshold):
    z = sampling.draw_numpy(SPECS[:1], 4000, seed=0, truncation=threshold)["z"]
    assert np.abs(z).max() <= threshold
    # Resampling keeps the truncated normal's shape: no mass piles up at the
    # threshold, as clipping would put it (about 80% of entries at 0.25).
    at_edge = np.mean(np.isclose(np.abs(z), threshold, atol=1e-6))
    assert at_edge < 1e-3
    # The truncated standard normal's variance, 1 - 2 t phi(t) / (2 Phi(t) - 1).
    from scipy import stats

    t = threshold
    variance = 1 - 2 * t * stats.norm.pdf(t) / (2 * stats.norm.cdf(t) - 1)
    assert z.var() == pytest.approx(variance, rel=0.05)
    untruncated = sampling.draw_numpy(SPECS[:1], 10, seed=0, truncation=0)["z"]
    np.testing.assert_array_equal(untruncated, sampling.draw_numpy(SPECS[:1], 10, seed=0)["z"])


def test_in_step_draws_use_given_inputs_and_the_seed_generator():
    generator = keras.random.SeedGenerator(1)
    labels = keras.ops.convert_to_tensor(np.array([2, 2, 1], "int32"))
    drawn = sampling.draw_in_step(SPECS, 3, generator, given={"labels": labels})
    assert tuple(drawn["z"].shape) == (3, 6)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(drawn["labels"]), [2, 2, 1])
    uniform = sampling.draw_in_step(SPECS, 500, generator)["labels"]
    assert set(keras.ops.convert_to_numpy(uniform).tolist()) == {0, 1, 2, 3}


@pytest.mark.single_backend
def test_tensorflow_draws_are_stateless_and_truncate():
    tf = pytest.importorskip("tensorflow")
    specs = [sampling.LatentInput("z", (8,)), sampling.LatentInput("w", (3,))]
    first = sampling.draw_tensorflow(tf, specs, tf.constant(50), tf.constant(7))
    again = sampling.draw_tensorflow(tf, specs, tf.constant(50), tf.constant(7))
    np.testing.assert_array_equal(first["z"].numpy(), again["z"].numpy())
    assert not np.allclose(first["z"].numpy()[:, :3], first["w"].numpy())  # own streams
    cut = sampling.draw_tensorflow(tf, specs, tf.constant(2000), tf.constant(7),
                                   truncation=tf.constant(0.5))
    z = cut["z"].numpy()
    assert np.abs(z).max() <= 0.5 and np.mean(np.isclose(np.abs(z), 0.5)) < 1e-3
    off = sampling.draw_tensorflow(tf, specs, tf.constant(50), tf.constant(7),
                                   truncation=tf.constant(0.0))
    np.testing.assert_array_equal(off["z"].numpy(), first["z"].numpy())
