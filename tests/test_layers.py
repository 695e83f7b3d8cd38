"""Tests for keras_gans.layers: ReflectionPadding2D and ImagePool."""

import numpy as np
import pytest

import keras
from keras import ops

from keras_gans.layers import ImagePool, ReflectionPadding2D


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


# -- ReflectionPadding2D ----------------------------------------------------------


@pytest.mark.parametrize("padding", [1, (2, 1)])
def test_reflection_padding_matches_numpy(padding):
    x = np.random.default_rng(0).standard_normal((2, 5, 6, 3)).astype("float32")
    layer = ReflectionPadding2D(padding)
    rows, cols = (padding, padding) if isinstance(padding, int) else padding
    expected = np.pad(x, [(0, 0), (rows, rows), (cols, cols), (0, 0)], mode="reflect")
    np.testing.assert_allclose(numpy(layer(x)), expected)
    assert layer.compute_output_shape((None, 5, 6, 3)) == (None, 5 + 2 * rows, 6 + 2 * cols, 3)


def test_reflection_padding_serializes_in_a_model(tmp_path):
    inputs = keras.Input((8, 8, 2))
    model = keras.Model(inputs, ReflectionPadding2D((3, 2), name="pad")(inputs))
    clone = keras.Model.from_config(model.get_config())
    assert clone.get_layer("pad").padding == (3, 2)
    model.save(tmp_path / "pad.keras")
    loaded = keras.saving.load_model(tmp_path / "pad.keras")
    x = np.ones((1, 8, 8, 2), "float32")
    assert numpy(loaded(x)).shape == (1, 14, 12, 2)


# -- ImagePool --------------------------------------------------------------------


def ids(n, start):
    """A batch of 1x1 images whose single value identifies them."""
    return np.arange(start, start + n, dtype="float32").reshape(n, 1, 1, 1)


def pool_ids(pool):
    return numpy(pool.images)[:, 0, 0, 0]


def test_image_pool_fills_then_returns_inputs():
    pool = ImagePool(pool_size=5, seed=0)
    pool.build((None, 1, 1, 1))
    out = numpy(pool(ids(3, 1)))
    np.testing.assert_array_equal(out, ids(3, 1))
    out = numpy(pool(ids(2, 4)))
    np.testing.assert_array_equal(out, ids(2, 4))
    np.testing.assert_array_equal(pool_ids(pool), [1, 2, 3, 4, 5])
    assert int(numpy(pool.count)) == 5


def test_image_pool_returns_past_images_half_the_time_once_full():
    pool_size, queries = 50, 2000
    pool = ImagePool(pool_size=pool_size, seed=1234)
    pool.build((None, 1, 1, 1))
    pool(ids(pool_size, 0))  # Fill it.
    swapped = 0
    seen = set(range(pool_size))
    for step in range(queries // 50):
        batch = ids(50, 1000 + 50 * step)
        before = set(pool_ids(pool).tolist())
        out = numpy(pool(batch))[:, 0, 0, 0]
        is_past = out != batch[:, 0, 0, 0]
        swapped += int(is_past.sum())
        # A past image is one that was stored before it was returned...
        assert set(out[is_past].tolist()) <= (before | set(batch[:, 0, 0, 0].tolist()))
        assert set(out[is_past].tolist()) <= seen | set(batch[:, 0, 0, 0].tolist())
        seen |= set(batch[:, 0, 0, 0].tolist())
        # ...and the pool keeps its size, now holding the new images that
        # replaced the ones returned.
        after = set(pool_ids(pool).tolist())
        assert len(after) == pool_size
    fraction = swapped / queries
    # Binomial(2000, 1/2): standard deviation 0.011; 0.45..0.55 is 4.5 sigma.
    assert 0.45 < fraction < 0.55, fraction


def test_image_pool_matches_the_sequential_original():
    """Whole-batch queries equal the paper code's image-by-image loop."""

    def reference(stored, count, images, use_past, slots, size):
        stored, out = stored.copy(), []
        for i, image in enumerate(images):
            if count < size:
                stored[count] = image
                count += 1
                out.append(image)
            elif use_past[i]:
                out.append(stored[slots[i]].copy())
                stored[slots[i]] = image
            else:
                out.append(image)
        return np.array(out), stored, count

    size = 5
    pool = ImagePool(size, seed=3)
    pool.build((None, 1, 1, 1))
    rng = np.random.default_rng(0)
    for step in range(12):
        n = int(rng.integers(1, 9))
        batch = ids(n, 10 * step)
        # Replay the layer's draws from a copy of its SeedGenerator.
        replay = keras.random.SeedGenerator(0)
        replay.state.assign(pool.seed_generator.state.value)
        use_past = numpy(keras.random.uniform((n,), seed=replay) < 0.5)
        slots = numpy(keras.random.randint((n,), 0, size, seed=replay, dtype="int32"))
        expected = reference(numpy(pool.images), int(numpy(pool.count)), batch, use_past, slots, size)
        out = numpy(pool(batch))
        np.testing.assert_array_equal(out, expected[0])
        np.testing.assert_array_equal(numpy(pool.images), expected[1])
        assert int(numpy(pool.count)) == expected[2]


def test_image_pool_passes_through_when_off_or_not_training():
    off = ImagePool(pool_size=0)
    off.build((None, 1, 1, 1))
    np.testing.assert_array_equal(numpy(off(ids(4, 0))), ids(4, 0))
    pool = ImagePool(pool_size=2, seed=0)
    pool.build((None, 1, 1, 1))
    pool(ids(2, 0))
    for _ in range(5):
        np.testing.assert_array_equal(numpy(pool(ids(3, 10), training=False)), ids(3, 10))
    np.testing.assert_array_equal(pool_ids(pool), [0, 1])


def test_image_pool_uses_a_given_seed_generator():
    def run(own_seed):
        # Pools with different own seeds agree when given the same generator,
        # which only holds if the draws come from it; their own is untouched.
        pool = ImagePool(pool_size=3, seed=own_seed)
        pool.build((None, 1, 1, 1))
        pool(ids(3, 0))
        own_state = numpy(pool.seed_generator.state)
        out = numpy(pool(ids(20, 100), seed=keras.random.SeedGenerator(7)))
        np.testing.assert_array_equal(numpy(pool.seed_generator.state), own_state)
        return out

    np.testing.assert_array_equal(run(own_seed=98), run(own_seed=99))


def test_image_pool_config_and_state_round_trip(tmp_path):
    pool = ImagePool(pool_size=7, seed=5, name="pool")
    clone = ImagePool.from_config(pool.get_config())
    assert (clone.pool_size, clone.seed, clone.name) == (7, 5, "pool")
    inputs = keras.Input((2, 2, 1))
    model = keras.Model(inputs, pool(inputs))
    pool(ids(3, 1) * np.ones((3, 2, 2, 1), "float32"))
    model.save(tmp_path / "pool.keras")
    loaded = keras.saving.load_model(tmp_path / "pool.keras").layers[-1]
    assert isinstance(loaded, ImagePool)
    np.testing.assert_array_equal(numpy(loaded.images), numpy(pool.images))
    assert int(numpy(loaded.count)) == 3
    # The pool's own random state resumes too (Keras saves none by itself).
    drawn = numpy(pool.seed_generator.state)
    assert not np.array_equal(drawn, numpy(ImagePool(seed=5).seed_generator.state))
    np.testing.assert_array_equal(numpy(loaded.seed_generator.state), drawn)
