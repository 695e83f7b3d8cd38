"""What a generator takes as input, and drawing it: one contract for every model.

A model declares its generator's inputs as a list of `LatentInput`s (`GAN.latents`):
normal latent vectors (`z`, or several for hierarchical models) and class
labels. Everything that samples reads that list instead of asking what kind
of model it holds:

- the training step draws them with `keras.random` from the model's
  `SeedGenerator` (`draw_in_step`; labels may come from the real batch);
- `GAN.sample_inputs` draws them as NumPy arrays, from an int seed
  (reproducible on every backend) or from the model's SeedGenerator, for
  `generate`, `SampleGrid`, `FIDCallback` and the scripts (`draw_numpy`);
- an exported SavedModel draws them with TensorFlow's stateless ops inside
  its `sample` signature (`draw_tensorflow`).

Truncation (BigGAN's trick) resamples every latent entry whose magnitude
exceeds the threshold until none does; it never clips.

Example:

>>> from keras_gans import sampling
>>> specs = [sampling.LatentInput("z", (8,)), sampling.LatentInput("labels", kind="labels", num_classes=3)]
>>> inputs = sampling.draw_numpy(specs, 4, seed=0, labels=[0, 1, 2, 0])
>>> inputs["z"].shape, inputs["labels"].tolist()
((4, 8), [0, 1, 2, 0])
"""

import dataclasses

import numpy as np

import keras
from keras import ops

from keras_gans import backend as gan_backend

KINDS = ("normal", "labels")


@dataclasses.dataclass(frozen=True)
class LatentInput:
    """One input of a generator.

    Args:
        name: its name: the argument of `generate(...)`, of the export's
            `serving_default` signature and the key of `sample_inputs`.
        shape: the shape of one sample's input (`(latent_dim,)` for z; `()`
            for a label).
        kind: "normal" (standard normal entries) or "labels" (ints in
            `[0, num_classes)`).
        num_classes: the number of classes, for "labels".
    """

    name: str
    shape: tuple = ()
    kind: str = "normal"
    num_classes: int = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"LatentInput kind must be one of {KINDS}, got {self.kind!r}.")
        if self.kind == "labels" and not self.num_classes:
            raise ValueError(f"The labels input {self.name!r} needs num_classes.")
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))

    @property
    def dtype(self):
        return "int32" if self.kind == "labels" else "float32"


def check_labels(labels, num_classes, name="labels"):
    """Labels as an int32 NumPy vector; a ValueError names any label outside
    `[0, num_classes)` or that is not an integer."""
    labels = np.asarray(ops.convert_to_numpy(labels)).reshape(-1)
    if labels.size == 0:
        return labels.astype("int32")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise ValueError(f"{name} must be integers, got values like {labels.flat[0]}.")
    low, high = labels.min(), labels.max()
    if low < 0 or high >= num_classes:
        bad = labels.flat[np.argmax((labels < 0) | (labels >= num_classes))]
        raise ValueError(
            f"{name} must lie in [0, {num_classes}) for num_classes={num_classes}, but "
            f"found label {bad} (labels span {low}..{high}). Set num_classes to the "
            "number of classes."
        )
    return labels.astype("int32")


def _check_truncation(truncation):
    if truncation is None:
        return None
    truncation = float(truncation)
    if truncation <= 0:
        return None  # The export's convention: 0 or less means none.
    return truncation


def truncated_normal_numpy(rng, shape, threshold):
    """Standard normal entries, each one redrawn until `|x| <= threshold`."""
    x = rng.standard_normal(shape).astype("float32")
    outside = np.abs(x) > threshold
    while outside.any():
        x[outside] = rng.standard_normal(int(outside.sum())).astype("float32")
        outside = np.abs(x) > threshold
    return x


def draw_numpy(specs, n, seed=None, labels=None, truncation=None, seed_generator=None):
    """Inputs for `n` samples as NumPy arrays.

    Args:
        specs: the model's `LatentInput`s.
        n: number of samples.
        seed: an int: the same seed gives the same inputs on every backend.
            Without one, a seed is drawn from `seed_generator` (which then
            advances), or from NumPy's entropy when that is None too.
        labels: class ids for the "labels" inputs (one per sample), else
            drawn uniformly; an int k gives classes 0, 1, .., in turn.
        truncation: resample normal entries beyond +-truncation (None or
            <= 0: no truncation).
        seed_generator: the model's `keras.random.SeedGenerator`.
    """
    if seed is None and seed_generator is not None:
        seed = int(ops.convert_to_numpy(
            keras.random.randint((), 0, 2**31 - 1, seed=seed_generator, dtype="int32")
        ))
    rng = np.random.default_rng(seed)
    truncation = _check_truncation(truncation)
    out = {}
    for spec in specs:
        if spec.kind == "labels":
            if labels is None:
                out[spec.name] = rng.integers(0, spec.num_classes, n).astype("int32")
            else:
                given = check_labels(labels, spec.num_classes)
                if len(given) != n:
                    raise ValueError(f"Got {len(given)} labels for {n} samples.")
                out[spec.name] = given
        elif truncation is None:
            out[spec.name] = rng.standard_normal((n, *spec.shape)).astype("float32")
        else:
            out[spec.name] = truncated_normal_numpy(rng, (n, *spec.shape), truncation)
    return out


def draw_in_step(specs, batch_size, seed_generator, given=None):
    """Inputs for one training batch, drawn with `keras.random`.

    Under a `tf.distribute` strategy every replica reads the same seed, so
    each draws the global batch's inputs and keeps its own rows: replicas
    get distinct inputs, the same as one device would draw.

    Args:
        specs: the model's `LatentInput`s.
        batch_size: the replica's batch size.
        seed_generator: the model's SeedGenerator.
        given: inputs to use as they are (e.g. the real batch's labels).
    """
    given = given or {}
    out = {}
    for spec in specs:
        if given.get(spec.name) is not None:
            out[spec.name] = given[spec.name]
        elif spec.kind == "labels":
            out[spec.name] = replica_rows(
                lambda shape: keras.random.randint(shape, 0, spec.num_classes,
                                                   seed=seed_generator, dtype="int32"),
                batch_size, spec.shape)
        else:
            out[spec.name] = replica_rows(
                lambda shape: keras.random.normal(shape, seed=seed_generator),
                batch_size, spec.shape)
    return out


def replica_rows(draw, batch_size, shape=()):
    """`draw((rows, *shape))` for this replica's `batch_size` rows of the
    global batch: under a `tf.distribute` strategy every replica reads the
    same seed, so each draws the global batch and keeps its own rows (the
    numbers one device would draw); elsewhere one draw of `batch_size`."""
    replica, num_replicas = gan_backend.replica_info()
    value = draw((batch_size * num_replicas, *shape))
    if num_replicas > 1:
        start = (replica * batch_size,) + (0,) * len(shape)
        value = ops.slice(value, start, (batch_size, *shape))
    return value


def draw_tensorflow(tf, specs, count, seed, labels=None, truncation=None):
    """Inputs for `count` samples with TensorFlow's stateless random ops, for
    an exported `sample` signature (TensorFlow ops only: it runs in a
    SavedModel whatever backend trained the model).

    Args:
        tf: the `tensorflow` module.
        specs: the model's `LatentInput`s.
        count: an int32 scalar tensor.
        seed: an int32 scalar tensor.
        labels: an int32 vector for the "labels" inputs (required when the
            model has one: a client asks for classes).
        truncation: a float32 scalar tensor; > 0 resamples normal entries
            beyond +-truncation, until none is.
    """
    out = {}
    for i, spec in enumerate(specs):
        if spec.kind == "labels":
            out[spec.name] = labels
            continue
        shape = tf.concat([[count], tf.constant(spec.shape, tf.int32)], 0)
        key = tf.stack([seed, tf.constant(i, tf.int32)])
        x = tf.random.stateless_normal(shape, seed=key)
        if truncation is not None:
            x = _truncate_tensorflow(tf, x, key, truncation)
        out[spec.name] = x
    return out


def _truncate_tensorflow(tf, x, key, threshold):
    def outside(x):
        return tf.logical_and(threshold > 0.0, tf.abs(x) > threshold)

    def redraw(round_, x):
        fresh = tf.random.stateless_normal(
            tf.shape(x), seed=tf.stack([key[0], key[1] + 1000 * (round_ + 1)])
        )
        return round_ + 1, tf.where(outside(x), fresh, x)

    _, x = tf.while_loop(
        lambda round_, x: tf.reduce_any(outside(x)), redraw, [tf.constant(0), x]
    )
    return x
