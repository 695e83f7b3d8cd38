"""Tests for keras_gans.augment: DiffAugment's transforms and ADA's update."""

import numpy as np
import pytest

import keras
from keras import ops

from autodiff import BACKEND, input_gradient
from keras_gans.augment import (
    ada_update,
    apply_augmentation,
    diff_augment,
    draw_augmentation,
    parse_policy,
)


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def images(batch=8, size=16, channels=3, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, channels)).astype("float32")


def shifted(image, down, right):
    """`image` moved down/right by whole pixels, zeros entering (NumPy)."""
    height, width = image.shape[:2]
    out = np.zeros_like(image)
    out[max(down, 0):height + min(down, 0), max(right, 0):width + min(right, 0)] = image[
        max(-down, 0):height - max(down, 0), max(-right, 0):width - max(right, 0)
    ]
    return out


def compiled(fn):
    """`fn(x, probability, seed_generator)` run inside a compiled function:
    tf.function with XLA, or jax.jit with the generator's state carried
    through a StatelessScope as a JAX training step carries it."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True)
    import jax

    def run(x, probability, generator):
        def pure(x, probability, state):
            with keras.StatelessScope(state_mapping=[(generator.state, state)]) as scope:
                out = fn(x, probability, generator)
            return out, scope.get_current_value(generator.state)

        out, state = jax.jit(pure)(x, probability, generator.state.value)
        generator.state.assign(state)
        return out

    return run


@pytest.mark.parametrize("policy", [None, "", ()])
def test_no_policy_returns_the_images_themselves(policy):
    x, generator = images(), keras.random.SeedGenerator(0)
    state = numpy(generator.state)
    assert diff_augment(x, policy, seed=generator) is x
    np.testing.assert_array_equal(numpy(generator.state), state)


@pytest.mark.single_backend
def test_policy_names_are_checked():
    assert parse_policy(" translation, cutout") == ("translation", "cutout")
    assert parse_policy(["color"]) == ("brightness", "saturation", "contrast")
    with pytest.raises(ValueError, match="unknown name 'flip'.*out of color, translation, cutout"):
        parse_policy("color,flip")
    with pytest.raises(ValueError, match="a name given twice"):
        diff_augment(images(), "cutout,cutout", seed=0)
    with pytest.raises(ValueError, match=r"probability must lie in \[0, 1\], got 1.5"):
        diff_augment(images(), seed=0, probability=1.5)


def test_colour_transforms_match_their_formulas():
    x = images()
    draws = draw_augmentation(x, "color", seed=keras.random.SeedGenerator(1))
    brightness, saturation, contrast = (numpy(draws[k]) for k in ("brightness", "saturation", "contrast"))
    assert (-0.5 <= brightness).all() and (brightness < 0.5).all()
    assert (0 <= saturation).all() and (saturation < 2).all()
    assert (0.5 <= contrast).all() and (contrast < 1.5).all()

    expected = x + brightness[:, None, None, None]
    mean = expected.mean(axis=-1, keepdims=True)
    expected = (expected - mean) * saturation[:, None, None, None] + mean
    mean = expected.mean(axis=(1, 2, 3), keepdims=True)
    expected = (expected - mean) * contrast[:, None, None, None] + mean
    np.testing.assert_allclose(numpy(apply_augmentation(x, draws)), expected, rtol=1e-5, atol=1e-5)
    # diff_augment is those draws applied: the same seed, the same result.
    np.testing.assert_array_equal(
        numpy(diff_augment(x, "color", seed=keras.random.SeedGenerator(1))),
        numpy(apply_augmentation(x, draws)),
    )


def test_translation_moves_whole_pixels_per_sample_with_zeros_entering():
    x = 1 + np.arange(16 * 16 * 16 * 2, dtype="float32").reshape(16, 16, 16, 2)
    draws = draw_augmentation(x, "translation", seed=keras.random.SeedGenerator(2))
    shifts = numpy(draws["translation"])
    assert shifts.dtype == np.int32 and np.abs(shifts).max() <= 2  # 16 / 8
    assert len({tuple(s) for s in shifts}) > 4  # drawn per sample
    out = numpy(apply_augmentation(x, draws))
    for image, result, (down, right) in zip(x, out, shifts):
        np.testing.assert_array_equal(result, shifted(image, down, right))


def test_two_copies_of_an_image_are_augmented_differently():
    x = np.repeat(images(batch=1), 8, axis=0)
    out = numpy(diff_augment(x, seed=keras.random.SeedGenerator(3)))
    assert len({o.tobytes() for o in out}) == 8


def test_cutout_zeros_exactly_a_square_of_half_the_side_clipped_at_the_borders():
    x = 1 + images(batch=32)  # no zeros of its own
    draws = draw_augmentation(x, "cutout", seed=keras.random.SeedGenerator(4))
    boxes = numpy(draws["cutout"])
    top, left, bottom, right = boxes.T
    np.testing.assert_array_equal(bottom - top, 8)
    np.testing.assert_array_equal(right - left, 8)
    assert (top + 4 >= 0).all() and (top + 4 <= 16).all()  # centres over the image
    out = numpy(apply_augmentation(x, draws))
    areas = []
    for image, result, (t, l, b, r) in zip(x, out, boxes):
        expected = image.copy()
        expected[max(t, 0):b, max(l, 0):r] = 0
        np.testing.assert_array_equal(result, expected)
        areas.append((min(b, 16) - max(t, 0)) * (min(r, 16) - max(l, 0)))
    assert 64 in areas and min(areas) < 64  # whole squares and clipped ones


def test_gradients_reach_the_images():
    x = images(batch=4)
    weights = np.random.default_rng(5).standard_normal(x.shape).astype("float32")
    weighted_sum = lambda draws: lambda x: ops.sum(apply_augmentation(x, draws) * ops.convert_to_tensor(weights))  # noqa: E731
    generator = keras.random.SeedGenerator(6)
    draws = draw_augmentation(x, seed=generator)
    grad = input_gradient(weighted_sum(draws), x)
    assert np.isfinite(grad).all() and (np.abs(grad).sum(axis=(1, 2, 3)) > 0).all()

    # Brightness then translation: the Jacobian is the shift, whose
    # transpose moves the output weights back (zeros where content left).
    draws = {
        "brightness": ops.convert_to_tensor([0.3, -0.2, 0.1, 0.0]),
        "translation": ops.convert_to_tensor([[1, -2], [0, 0], [-3, 2], [2, 2]], "int32"),
    }
    grad = input_gradient(weighted_sum(draws), x)
    for g, w, (down, right) in zip(grad, weights, numpy(draws["translation"])):
        np.testing.assert_allclose(g, shifted(w, -down, -right), rtol=1e-6)


def test_the_same_seed_state_gives_the_same_augmentation():
    x = images()
    generator = keras.random.SeedGenerator(7)
    state = numpy(generator.state)
    first = numpy(diff_augment(x, seed=generator))
    second = numpy(diff_augment(x, seed=generator))
    assert not np.allclose(first, second)  # the generator moved on
    generator.state.assign(state)  # e.g. restored from a checkpoint
    np.testing.assert_array_equal(numpy(diff_augment(x, seed=generator)), first)
    np.testing.assert_array_equal(
        numpy(diff_augment(x, seed=keras.random.SeedGenerator(7))), first
    )


@pytest.mark.parametrize("as_tensor", [False, True], ids=["float", "variable"])
def test_probability_zero_is_the_identity_and_one_always_augments(as_tensor):
    x = images(batch=64)
    probability = (lambda p: keras.Variable(p)) if as_tensor else float
    generator = keras.random.SeedGenerator(8)
    np.testing.assert_array_equal(
        numpy(diff_augment(x, seed=generator, probability=probability(0.0))), x
    )
    draws = {k: numpy(v) for k, v in
             draw_augmentation(x, seed=generator, probability=probability(1.0)).items()}
    assert (draws["brightness"] != 0).all() and (draws["saturation"] != 1).all()
    assert (draws["contrast"] != 1).all()
    assert (draws["cutout"][:, 2] > draws["cutout"][:, 0]).all()  # no empty box


def test_each_transform_is_gated_per_sample():
    x = images(batch=256, size=8)
    draws = {k: numpy(v) for k, v in
             draw_augmentation(x, seed=keras.random.SeedGenerator(9), probability=0.3).items()}
    brightened = draws["brightness"] != 0
    cut = draws["cutout"][:, 2] > draws["cutout"][:, 0]
    # 0.3 of 256 is 77 +- 7: +-30 is over four standard deviations.
    for applied in (brightened, cut, draws["saturation"] != 1):
        assert 47 <= applied.sum() <= 107
    assert (brightened != cut).any()  # drawn independently
    np.testing.assert_array_equal(draws["cutout"][~cut], 0)  # the empty box


@pytest.mark.skipif(BACKEND == "torch", reason="compiled here means tf.function(jit_compile) or jax.jit")
def test_works_inside_a_compiled_function():
    # (TensorFlow's XLA and eager kernels may pick different random
    # algorithms, so compiled draws are compared with compiled ones.)
    x = ops.convert_to_tensor(images())
    augment = compiled(lambda x, p, generator: diff_augment(x, seed=generator, probability=p))
    generator = keras.random.SeedGenerator(10)
    np.testing.assert_array_equal(numpy(augment(x, ops.convert_to_tensor(0.0), generator)), numpy(x))
    state = numpy(generator.state)
    first = numpy(augment(x, ops.convert_to_tensor(1.0), generator))
    second = numpy(augment(x, ops.convert_to_tensor(1.0), generator))
    assert not np.allclose(first, numpy(x)) and not np.allclose(first, second)
    generator.state.assign(state)
    np.testing.assert_array_equal(numpy(augment(x, ops.convert_to_tensor(1.0), generator)), first)


def test_bfloat16_images_stay_bfloat16_and_close():
    x = images()
    draws = draw_augmentation(x, seed=keras.random.SeedGenerator(11))
    out = apply_augmentation(ops.cast(x, "bfloat16"), draws)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    expected = numpy(apply_augmentation(x, draws))
    np.testing.assert_allclose(numpy(ops.cast(out, "float32")), expected, atol=0.05)


def test_ada_moves_p_by_the_documented_step():
    step = 64 * 4 / 500_000
    assert float(numpy(ada_update(0.2, 0.8, batch_size=64))) == pytest.approx(0.2 + step)
    assert float(numpy(ada_update(0.2, 0.1, batch_size=64))) == pytest.approx(0.2 - step)
    assert float(numpy(ada_update(0.2, 0.6, batch_size=64))) == pytest.approx(0.2)  # on target
    assert float(numpy(ada_update(0.0, -1.0, batch_size=64))) == 0.0
    assert float(numpy(ada_update(1.0, 1.0, batch_size=64))) == 1.0
    p = keras.Variable(0.5)
    p.assign(ada_update(p, ops.convert_to_tensor(1.0), batch_size=32, interval=16, target=0.9,
                        speed_kimg=100))
    assert float(numpy(p)) == pytest.approx(0.5 + 32 * 16 / 100_000)
