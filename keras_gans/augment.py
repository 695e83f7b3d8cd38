"""Augmenting what the discriminator sees: DiffAugment and ADA's controller.

With few training images a discriminator memorizes them and its feedback
to the generator turns to noise. DiffAugment (Zhao et al. 2020) augments
real *and* generated images, in both phases, with transforms that are
differentiable with respect to the images, so the generator is trained
through them and does not learn to produce augmented images. Adaptive
augmentation (Karras et al. 2020, StyleGAN2-ADA) applies each transform
with a probability `p` that a controller raises while the discriminator is
over-confident on reals and lowers otherwise; `ada_update` is that rule.

The transforms follow the authors' `DiffAugment_pytorch.py`, for images in
[-1, 1], `(batch, height, width, channels)`:

| policy | transform (drawn per sample) |
|---|---|
| `color` | brightness `x + U(-0.5, 0.5)`; saturation `(x - mean_c) * U(0, 2) + mean_c`; contrast `(x - mean_hwc) * U(0.5, 1.5) + mean_hwc` |
| `translation` | an integer shift of up to 1/8 of the height and of the width, zeros entering |
| `cutout` | a square of half the image side (rounded) zeroed at a random centre, clipped at the borders |

Everything is `keras.ops` (TensorFlow, JAX, PyTorch; inside a compiled
step too) and draws from a `keras.random.SeedGenerator` passed in, so a
model whose generator is saved resumes the same random stream. The means
are taken in float32 and the transforms run in the images' dtype (e.g.
bfloat16 under mixed precision).
"""

import keras
from keras import ops

# Each policy name and the transforms it stands for, applied in this order.
POLICIES = {
    "color": ("brightness", "saturation", "contrast"),
    "translation": ("translation",),
    "cutout": ("cutout",),
}
TRANSLATION_RATIO = 1 / 8
CUTOUT_RATIO = 1 / 2


def parse_policy(policy):
    """The transforms a DiffAugment policy names, in order.

    Args:
        policy: comma-separated names from `POLICIES` (`"color,translation,cutout"`),
            a sequence of them, or `None`/`""` for none.

    Returns:
        A tuple of transform names, e.g. `("brightness", "saturation",
        "contrast", "translation")`; empty for no augmentation.

    Example:

    >>> parse_policy("translation,cutout")
    ('translation', 'cutout')
    """
    if not policy:
        return ()
    names = policy.split(",") if isinstance(policy, str) else list(policy)
    names = [str(name).strip() for name in names]
    unknown = [name for name in names if name not in POLICIES]
    if unknown or len(set(names)) < len(names):
        problem = f"unknown name {unknown[0]!r}" if unknown else "a name given twice"
        raise ValueError(
            f"DiffAugment policy {policy!r} has {problem}: use comma-separated names "
            f"out of {', '.join(POLICIES)} (e.g. 'color,translation,cutout')."
        )
    return tuple(transform for name in names for transform in POLICIES[name])


def draw_augmentation(images, policy="color,translation,cutout", *, seed, probability=None):
    """Draw the per-sample parameters of a DiffAugment policy for `images`.

    Args:
        images: the batch to augment, `(batch, height, width, channels)`
            with a known height and width.
        policy: see `parse_policy`.
        seed: a `keras.random.SeedGenerator` (what a training step passes:
            each call draws new parameters) or anything else `keras.random`
            takes as a seed.
        probability: `None` to transform every sample, or a float or scalar
            tensor `p` in [0, 1]: each sample then gets each transform with
            probability `p`, independently (ADA's rule), and the identity's
            parameters otherwise.

    Returns:
        A dict, in application order, with an entry per transform of the
        policy: `brightness` `(batch,)` offsets, `saturation` and `contrast`
        `(batch,)` factors, `translation` `(batch, 2)` int32 shifts
        `(down, right)`, `cutout` `(batch, 4)` int32 boxes
        `(top, left, bottom, right)` (bottom/right exclusive, possibly
        outside the image; empty when not applied).

    Example:

    >>> images = keras.random.uniform((8, 32, 32, 3), -1, 1)
    >>> draws = draw_augmentation(images, "translation", seed=keras.random.SeedGenerator(0))
    >>> tuple(draws["translation"].shape)
    (8, 2)
    """
    transforms = parse_policy(policy)
    if isinstance(probability, (int, float)) and not 0 <= probability <= 1:
        raise ValueError(f"The augmentation probability must lie in [0, 1], got {probability}.")
    height, width = images.shape[1], images.shape[2]
    if transforms and (height is None or width is None):
        raise ValueError(
            f"DiffAugment needs images of known height and width, got shape {images.shape}."
        )
    batch = ops.shape(images)[0]

    def uniform(low, high):
        return keras.random.uniform((batch,), low, high, seed=seed)

    def randint(low, high):  # high exclusive
        return keras.random.randint((batch,), low, high, seed=seed, dtype="int32")

    def sample(transform):
        """`(the transform's value that is the identity, drawn values)`."""
        if transform == "brightness":
            return 0, uniform(-0.5, 0.5)
        if transform == "saturation":
            return 1, uniform(0.0, 2.0)
        if transform == "contrast":
            return 1, uniform(0.5, 1.5)
        if transform == "translation":
            limits = [int(side * TRANSLATION_RATIO + 0.5) for side in (height, width)]
            return 0, ops.stack([randint(-limit, limit + 1) for limit in limits], axis=1)
        # Cutout: the authors' centres range over the image (one more for even
        # sizes), so a box can hang over the border and be cut smaller.
        sizes = [int(side * CUTOUT_RATIO + 0.5) for side in (height, width)]
        top_left = ops.stack(
            [randint(0, side + 1 - size % 2) - size // 2 for side, size in zip((height, width), sizes)],
            axis=1,
        )
        return 0, ops.concatenate([top_left, top_left + ops.convert_to_tensor(sizes, "int32")], axis=1)

    draws = {}
    for transform in transforms:
        identity, values = sample(transform)
        if probability is not None:
            applied = ops.less(keras.random.uniform((batch,), seed=seed), probability)
            applied = ops.reshape(applied, (-1,) + (1,) * (len(values.shape) - 1))
            values = ops.where(applied, values, ops.full_like(values, identity))
        draws[transform] = values
    return draws


def _per_sample(values, images):  # (batch,) -> (batch, 1, 1, 1), in the images' dtype
    return ops.reshape(ops.cast(values, images.dtype), (-1, 1, 1, 1))


def _mean(images, axis):  # in float32: a bfloat16 sum over an image loses digits
    return ops.cast(ops.mean(ops.cast(images, "float32"), axis=axis, keepdims=True), images.dtype)


def _shift_matrices(shifts, size, dtype):
    """`(batch, size, size)` one-hot matrices: row i picks input row i - shift,
    or nothing when that is outside, so multiplying by them translates with
    zero padding and their transposes are the Jacobians."""
    index = ops.arange(size, dtype="int32")
    source = index[None, :, None] - shifts[:, None, None]
    return ops.cast(ops.equal(index[None, None, :], source), dtype)


def _translate(images, shifts):
    rows = _shift_matrices(shifts[:, 0], images.shape[1], images.dtype)
    cols = _shift_matrices(shifts[:, 1], images.shape[2], images.dtype)
    images = ops.einsum("bik,bkwc->biwc", rows, images)
    return ops.einsum("bjl,bilc->bijc", cols, images)


def _cut_out(images, boxes):
    rows = ops.arange(images.shape[1], dtype="int32")[None, :]
    cols = ops.arange(images.shape[2], dtype="int32")[None, :]
    in_rows = ops.logical_and(rows >= boxes[:, 0:1], rows < boxes[:, 2:3])  # (batch, height)
    in_cols = ops.logical_and(cols >= boxes[:, 1:2], cols < boxes[:, 3:4])  # (batch, width)
    inside = ops.logical_and(in_rows[:, :, None], in_cols[:, None, :])[..., None]
    return ops.where(inside, ops.zeros_like(images), images)


# Written as x + (factor - 1) * (x - mean): the same as the papers'
# (x - mean) * factor + mean, but exactly x at the identity's factor 1.
_TRANSFORMS = {
    "brightness": lambda x, offset: x + _per_sample(offset, x),
    "saturation": lambda x, factor: x + (_per_sample(factor, x) - 1) * (x - _mean(x, -1)),
    "contrast": lambda x, factor: x + (_per_sample(factor, x) - 1) * (x - _mean(x, (1, 2, 3))),
    "translation": _translate,
    "cutout": _cut_out,
}


def apply_augmentation(images, draws):
    """Apply drawn DiffAugment parameters (see `draw_augmentation`) to `images`.

    Differentiable with respect to `images`; a sample with the identity's
    parameters comes out exactly as it went in.

    Args:
        images: `(batch, height, width, channels)`.
        draws: the dict `draw_augmentation` returned for these images.

    Returns:
        The augmented images, same shape and dtype.

    Example:

    >>> images = keras.random.uniform((8, 32, 32, 3), -1, 1)
    >>> brighter = apply_augmentation(images, {"brightness": keras.ops.full((8,), 0.25)})
    >>> bool(keras.ops.all(brighter == images + 0.25))
    True
    """
    images = ops.convert_to_tensor(images)
    for transform, values in draws.items():
        images = _TRANSFORMS[transform](images, values)
    return images


def diff_augment(images, policy="color,translation,cutout", *, seed, probability=None):
    """DiffAugment: augment a batch, differentiably, before the discriminator.

    Apply it to the real and the generated batch alike (separate calls draw
    separately, as the authors do), in the discriminator's and the
    generator's phase.

    Args:
        images: `(batch, height, width, channels)` in [-1, 1].
        policy: comma-separated names out of `color`, `translation`,
            `cutout`; `None` or `""` returns `images` itself.
        seed: a `keras.random.SeedGenerator` (e.g. the model's), which each
            call advances.
        probability: `None` (every sample, every transform) or ADA's `p`,
            a float or scalar tensor: each transform is applied to each
            sample with that probability; 0 gives the images back unchanged.

    Returns:
        The augmented batch, same shape and dtype.

    Example:

    >>> seed = keras.random.SeedGenerator(0)
    >>> real = diff_augment(real, "color,translation,cutout", seed=seed)
    >>> fake = diff_augment(fake, "color,translation,cutout", seed=seed)
    """
    if not parse_policy(policy):
        return images
    return apply_augmentation(images, draw_augmentation(images, policy, seed=seed, probability=probability))


def ada_update(probability, real_sign_mean, batch_size, interval=4, target=0.6, speed_kimg=500):
    """StyleGAN2-ADA's augmentation-probability update, one adjustment.

    Every `interval` training steps, `p` moves by
    `sign(E[sign(D(real))] - target) * batch_size * interval / (speed_kimg * 1000)`:
    up while the discriminator calls more than `target` of the reals real
    (the overfitting heuristic r_t), down otherwise, fast enough to go from
    0 to 1 in `speed_kimg` thousand real images. The defaults are the
    authors' (`training/training_loop.py`: `ada_interval=4`, `ada_kimg=500`;
    `train.py --aug=ada`: `ada_target=0.6`). Their loop clips `p` only at 0;
    this also clips at 1, which changes nothing while `p < 1` (a probability
    above 1 acts as 1) and saves the excess from having to come back down.

    Args:
        probability: the current `p` (float or scalar tensor).
        real_sign_mean: the mean of `sign(D(x))` over the real images the
            discriminator saw since the last adjustment (the authors average
            every real batch of the interval).
        batch_size: real images per step (the global batch).
        interval: steps between adjustments.
        target: the wanted `E[sign(D(real))]`.
        speed_kimg: thousands of images for `p` to move by 1.

    Returns:
        The new `p`, a float32 scalar tensor in [0, 1].

    Example:

    >>> p = ada_update(0.0, real_sign_mean=0.9, batch_size=64)  # + 64 * 4 / 500_000
    >>> round(float(p), 6)
    0.000512
    """
    step = batch_size * interval / (speed_kimg * 1000)
    adjustment = ops.sign(ops.convert_to_tensor(real_sign_mean, "float32") - target) * step
    return ops.clip(ops.convert_to_tensor(probability, "float32") + adjustment, 0.0, 1.0)


@keras.saving.register_keras_serializable(package="keras_gans")
class AugmentState(keras.layers.Layer):
    """The state of a GAN's adaptive augmentation, saved with the model.

    `probability` is ADA's p; `sign_sum` and `count` accumulate
    `E[sign(D(real))]` over the discriminator updates since the last
    adjustment (every `interval` steps, `ada_update` moves p by their mean).

    Args:
        initial_probability: p before training (0 for ADA, as the authors
            start).
    """

    def __init__(self, initial_probability=0.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_probability = float(initial_probability)
        scalar = dict(shape=(), dtype="float32", trainable=False,
                      aggregation="only_first_replica")
        self.probability = self.add_weight(
            name="probability", initializer=keras.initializers.Constant(self.initial_probability),
            **scalar)
        self.sign_sum = self.add_weight(name="sign_sum", initializer="zeros", **scalar)
        self.count = self.add_weight(name="count", initializer="zeros", **scalar)
        self.built = True

    def accumulate(self, real_sign_mean):
        self.sign_sum.assign_add(ops.cast(real_sign_mean, "float32"))
        self.count.assign_add(ops.ones((), "float32"))

    def adjust(self, due, batch_size, interval, target, speed_kimg):
        """On `due` steps, move p by the accumulated signs and start over."""
        probability, sign_sum, count = (v.value for v in (self.probability, self.sign_sum, self.count))
        mean = sign_sum / ops.maximum(count, 1.0)
        new = ada_update(probability, mean, batch_size, interval, target, speed_kimg)
        self.probability.assign(ops.where(due, new, probability))
        self.sign_sum.assign(ops.where(due, 0.0, sign_sum))
        self.count.assign(ops.where(due, 0.0, count))

    def get_config(self):
        return {**super().get_config(), "initial_probability": self.initial_probability}
