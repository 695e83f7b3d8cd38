"""The tf.data input pipeline, and `image_dataset()`, the library's one data
entry point.

`image_dataset()` turns a folder of images, a NumPy array (or `.npz` file) or
a TensorFlow Datasets name into a `tf.data.Dataset` of float32 image batches
scaled to `[-1, 1]`, the range a `tanh` generator produces; without
TensorFlow (or with `pipeline="numpy"`) it hands folders and arrays to the
NumPy pipeline. `unpaired_dataset()` builds the two-domain, unpaired stream
that CycleGAN trains on.

Every source goes through the same steps: decode (a photo turned upright by
its EXIF orientation), convert to the requested number of channels,
centre-crop to the target aspect ratio (a square for an int `image_size`),
resize with an antialiasing filter, cache, shuffle, flip, batch and prefetch.
All backends accept the result: Keras 3 feeds `tf.data` to JAX and PyTorch
models too.

TensorFlow is imported when a pipeline is built, not with this module:
`import keras_gans` on JAX or PyTorch leaves it out.

Example:

>>> from keras_gans import data
>>> ds = data.image_dataset("path/to/flowers", image_size=64, batch_size=32)
>>> images = next(iter(ds))  # (32, 64, 64, 3) float32 in [-1, 1]
"""

import importlib
import importlib.util
import os
import pathlib
import warnings

import numpy as np

from keras_gans.data import numpy_pipeline
from keras_gans.data.arrays import check_arrays, npz_arrays
from keras_gans.data.files import folder_labels, scan_image_folder, warn_skipped
from keras_gans.data.tfds import is_tfds_name, load_tfds


class _LazyModule:
    """A module imported on first use of one of its attributes: TensorFlow
    takes seconds to import and is not needed on JAX and PyTorch until a
    tf.data pipeline is built."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        return getattr(importlib.import_module(self._name), attr)


tf = _LazyModule("tensorflow")

AUTOTUNE = -1  # The value of `tf.data.AUTOTUNE`, usable without TensorFlow.

# Datasets smaller than this are shuffled with a buffer holding all of them
# (a perfect shuffle); larger ones use a 10k buffer to bound memory, and are
# permuted once up front so that a source sorted by class still mixes.
_FULL_SHUFFLE_LIMIT = 20_000
_SHUFFLE_BUFFER = 10_000

# CycleGAN's random jitter: resize 256 -> 286, then crop back to 256.
_JITTER_SCALE = 286 / 256


def _has_tensorflow():
    return importlib.util.find_spec("tensorflow") is not None


def _require_tf():
    if not _has_tensorflow():
        raise ImportError(
            "This needs TensorFlow (tf.data, TensorFlow Datasets): `pip install "
            "tensorflow` (the CPU-only package is enough). Without it, "
            "image_dataset() still loads folders, arrays and .npz files "
            "(pipeline='numpy')."
        )


# -- turning any source into a dataset of resized pixels -----------------------


def _as_size(image_size):
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    size = tuple(int(s) for s in image_size)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"image_size must be an int or (height, width), got {image_size!r}")
    return size


def _check_channels(channels):
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}.")


def _map_with_random(ds, fn, seed, num_parallel_calls=AUTOTUNE):
    """`ds.map(fn)` where `fn(element, random)` also gets an int64 drawn per
    element and redrawn every epoch, to seed stateless random ops (a seeded
    stateful random op in `map` repeats its draws every epoch)."""
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    return tf.data.Dataset.zip((ds, seeds)).map(fn, num_parallel_calls=num_parallel_calls)


def _convert_channels(images, channels):
    """Converts HWC or NHWC images to 1 or 3 channels; alpha is dropped."""
    c = images.shape[-1]
    if c is None:  # Only known at run time (rare): make it RGB first.
        images = tf.cond(
            tf.shape(images)[-1] < 3,
            lambda: tf.concat([images[..., :1]] * 3, axis=-1),
            lambda: images[..., :3],
        )
        images.set_shape(images.shape[:-1].concatenate([3]))
        c = 3
    if c in (1, 2):  # Grayscale, or grayscale + alpha.
        images = images[..., :1]
        return tf.image.grayscale_to_rgb(images) if channels == 3 else images
    if c in (3, 4):  # RGB, or RGBA.
        images = images[..., :3]
        return tf.image.rgb_to_grayscale(images) if channels == 1 else images
    raise ValueError(f"Images must have 1 to 4 channels (channels last), got {c}.")


def _center_crop_resize(images, size):
    """Centre-crops HWC or NHWC images to the aspect ratio of `size` (a
    square for square sizes), then resizes them to `size`."""
    if tuple(images.shape[-3:-1]) == tuple(size):
        return tf.cast(images, tf.float32)  # Already there: skip the work.
    height, width = size
    shape = tf.shape(images)
    h, w = shape[-3], shape[-2]
    # The largest centred window with the target's aspect ratio.
    crop_h = tf.minimum(h, w * height // width)
    crop_w = tf.minimum(w, h * width // height)
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    images = images[..., top : top + crop_h, left : left + crop_w, :]
    # Antialiasing matters when shrinking large photos: without it, bilinear
    # resizing samples only a few source pixels and aliases fine detail.
    return tf.image.resize(images, size, method="bilinear", antialias=True)


def _prepare(images, size, channels, dtype="uint8"):
    """Channels, crop and resize. Returns pixels in [0, 255] as `dtype`:
    uint8 for 8-bit sources, which keeps the cache 4x smaller than float32."""
    images = _center_crop_resize(_convert_channels(images, channels), size)
    images = tf.clip_by_value(images, 0.0, 255.0)
    if dtype == "uint8":
        images = tf.cast(tf.round(images), tf.uint8)
    return images


def _to_unit_range(pixels):
    """[0, 255] pixels -> float32 in [-1, 1], the range of a tanh output."""
    return tf.cast(pixels, tf.float32) / 127.5 - 1.0


def _orient(image, orientation):
    """Turns a decoded image upright by its EXIF orientation (1-8): a
    transpose for 5-8, then left-right and up-down flips, as Pillow's
    `ImageOps.exif_transpose` does."""
    flip_lr = tf.reduce_any(tf.equal(orientation, [2, 3, 6, 7]))
    flip_ud = tf.reduce_any(tf.equal(orientation, [3, 4, 7, 8]))
    image = tf.cond(orientation >= 5, lambda: tf.transpose(image, [1, 0, 2]), lambda: image)
    image = tf.cond(flip_lr, lambda: tf.reverse(image, [1]), lambda: image)
    return tf.cond(flip_ud, lambda: tf.reverse(image, [0]), lambda: image)


def _mixing_order(count, shuffle, seed):
    """A permutation of a source that the shuffle buffer cannot hold whole:
    a buffer of 10k over a folder sorted by class would serve one class at
    a time. None when the shuffle mixes everything anyway."""
    if not shuffle or _shuffle_buffer(count) >= count:
        return None
    return np.random.default_rng(seed).permutation(count)


def _folder_pixels(folder, labels, size, channels, num_parallel_calls, order=None):
    files, orientations = folder.files, folder.orientations
    if order is not None:
        files, orientations = [files[i] for i in order], [orientations[i] for i in order]
        labels = None if labels is None else [labels[i] for i in order]
    count = len(files)

    def decode(contents):
        # channels=3 makes the decoder turn grayscale and palette images into
        # RGB and drop alpha; expand_animations=False keeps a GIF's first
        # frame. The WebP decoder refuses channels=3 for images with alpha.
        return tf.cond(
            tf.strings.substr(contents, 8, 4) == "WEBP",
            lambda: tf.ensure_shape(
                tf.io.decode_image(contents, expand_animations=False)[..., :3], [None, None, 3]
            ),
            lambda: tf.io.decode_image(contents, channels=3, expand_animations=False),
        )

    def load(index, path, orientation, *label):
        image = _orient(decode(tf.io.read_file(path)), orientation)
        image = _prepare(image, size, channels)
        return (index, image, *label)

    columns = (np.arange(count), files, np.asarray(orientations, np.int32))
    if labels is not None:
        columns += (np.asarray(labels, np.int32),)
    ds = tf.data.Dataset.from_tensor_slices(columns)
    # In order (whatever the dataset options say): the failures are found
    # below as the indices missing from the sequence.
    ds = ds.map(load, num_parallel_calls=num_parallel_calls, deterministic=True)
    # The up-front check catches the usual broken files; this safety net
    # drops anything else the decoder rejects, mid-epoch.
    ds = ds.ignore_errors()
    # Dropping makes the length unknown, and Keras then warns that the data
    # "ran out" after the first epoch. Topping the epoch up from the start
    # (a rare duplicate image) keeps it exactly len(files) long.
    ds = ds.repeat().take(count)
    return _warn_undecoded(ds, files, folder.path), count


def _warn_undecoded(ds, files, root):
    """Warns once per file about the files the decoder dropped (the indices
    missing from the elements' first field) and drops that index. Python
    runs only when a file was dropped; the order is the iterator's own
    state, so an epoch that is cut short does not look like a failure."""
    count, failed = len(files), set()

    def warn(expected, index):
        expected, index = int(expected), int(index)
        if expected < index:
            missing = range(expected, index)
        else:  # The pass ended with dropped files; the top-up restarted it.
            missing = [*range(expected, count), *range(index)]
        new = sorted(set(missing) - failed)
        failed.update(new)
        if new:
            warnings.warn(
                f"{root}: skipped {len(new)} file(s) that TensorFlow cannot decode, "
                f"e.g. {files[new[0]]} ({len(failed)} in all so far)"
            )
        return 0

    def check(expected, element):
        index, rest = element[0], element[1:]
        report = tf.cond(
            tf.equal(index, expected),
            lambda: tf.constant(0, tf.int64),
            lambda: tf.py_function(warn, [expected, index], tf.int64),
        )
        with tf.control_dependencies([report]):
            expected = (index + 1) % count
        return expected, rest if len(rest) > 1 else rest[0]

    return ds.scan(tf.constant(0, tf.int64), check)


def _array_pixels(x, y, size, channels, with_labels, num_parallel_calls, shuffle=False, seed=None):
    if with_labels and y is None:
        raise ValueError("with_labels=True needs labels: pass `(x, y)`.")
    x, y, scale, offset = check_arrays(x, y)
    order = _mixing_order(len(x), shuffle, seed)
    if order is not None:  # A copy, but only of arrays too large for the buffer.
        x, y = x[order], (None if y is None else y[order])
    dtype = "uint8" if x.dtype == np.uint8 else "float32"

    def prepare(images, *labels):
        images = tf.cast(images, tf.float32) * scale + offset
        images = _prepare(images, size, channels, dtype)
        return (images, *labels) if labels else images

    ds = tf.data.Dataset.from_tensor_slices((x, y) if with_labels else x)
    # All images share one size, so resize 256 at a time: one op per batch
    # instead of one per image.
    ds = ds.batch(256).map(prepare, num_parallel_calls=num_parallel_calls).unbatch()
    # unbatch() forgets the length; Keras uses it for its progress bar.
    return ds.apply(tf.data.experimental.assert_cardinality(len(x))), len(x)


def _tfds_pixels(name, size, channels, *, split, data_dir, image_key, label_key,
                 with_labels, download, num_parallel_calls):
    ds, count = load_tfds(name, split=split, data_dir=data_dir, image_key=image_key,
                          label_key=label_key, with_labels=with_labels, download=download)

    def prepare(image, *label):
        image = _prepare(image, size, channels)
        return (image, tf.cast(label[0], tf.int32)) if label else image

    return ds.map(prepare, num_parallel_calls=num_parallel_calls), count


def _pixels(source, size, channels, *, with_labels, split, data_dir, image_key,
            label_key, download, num_parallel_calls, shuffle=False, seed=None):
    """Any source -> (dataset of [0, 255] images (and int32 labels) at
    `size`, number of elements or None). With `shuffle`, folders and arrays
    too large for the shuffle buffer come permuted (by `seed`)."""
    if isinstance(source, (tuple, list)) and len(source) == 2:
        x, y = source
        return _array_pixels(x, y, size, channels, with_labels, num_parallel_calls, shuffle, seed)
    if isinstance(source, np.ndarray):
        return _array_pixels(source, None, size, channels, with_labels, num_parallel_calls,
                             shuffle, seed)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            f"source must be a folder, an .npz file, a TFDS name, an image "
            f"array or an (images, labels) pair; got {type(source).__name__}."
        )

    path = pathlib.Path(source).expanduser()
    if path.is_dir():
        folder = scan_image_folder(path)
        warn_skipped(folder, stacklevel=4)
        labels = folder_labels(folder, with_labels)
        order = _mixing_order(len(folder.files), shuffle, seed)
        return _folder_pixels(folder, labels, size, channels, num_parallel_calls, order)
    if path.is_file():
        if path.suffix.lower() != ".npz":
            raise ValueError(f"{path} is a file but not an .npz archive.")
        x, y = npz_arrays(path, split, image_key, label_key, with_labels)
        return _array_pixels(x, y, size, channels, with_labels, num_parallel_calls, shuffle, seed)
    if isinstance(source, str) and is_tfds_name(source):
        return _tfds_pixels(
            source, size, channels, split=split, data_dir=data_dir,
            image_key=image_key, label_key=label_key, with_labels=with_labels,
            download=download, num_parallel_calls=num_parallel_calls,
        )
    raise FileNotFoundError(f"No such file or folder: {path}")


def _shuffle_buffer(count):
    if count is None or count >= _FULL_SHUFFLE_LIMIT:
        return _SHUFFLE_BUFFER
    return count


def _prefetch_to_device(ds, option):
    """Ends the pipeline with a copy to the GPU when asked for and there is
    one. Not by default: it makes the length unknown (Keras' progress bar,
    `cardinality()`), it must stay the last stage (no `repeat()` after it),
    only TensorFlow models read tensors on TF's GPU, and its gain has not
    been measured."""
    if not option or not tf.config.list_physical_devices("GPU"):
        return ds
    return ds.apply(tf.data.experimental.prefetch_to_device("/GPU:0"))


def repeat(ds):
    """The dataset repeated without end: `ds.repeat()`, placed before a
    closing `prefetch_to_device` stage, which tf.data wants last.

    Args:
        ds: a `tf.data.Dataset` from `image_dataset()`, or the NumPy
            pipeline's `ImageBatches` (which repeats itself).

    Returns:
        The endless dataset.

    Example:

    >>> ds = repeat(image_dataset(x, batch_size=8, prefetch_to_device=True))
    >>> model.fit(ds, steps_per_epoch=100, epochs=10)
    """
    copy = getattr(ds, "_input_dataset", None)  # prefetch(copy_to_device(...))
    if type(copy).__name__ != "_CopyToDeviceDataset":
        return ds.repeat()
    device = tf.data.experimental.prefetch_to_device(copy._target_device)
    return copy._input_dataset.repeat().apply(device)


def _map_images(element, fn):
    if isinstance(element, tuple):  # (images, labels)
        return (fn(element[0]), *element[1:])
    return fn(element)


def _map_images_ds(ds, fn):
    if isinstance(ds.element_spec, tuple):  # (images, labels)
        return ds.map(lambda images, *rest: (fn(images), *rest))
    return ds.map(fn)


# -- the public entry points ----------------------------------------------------


def image_dataset(
    source,
    image_size=64,
    channels=3,
    batch_size=64,
    *,
    with_labels=False,
    shuffle=True,
    flip=False,
    cache=True,
    drop_remainder=True,
    split="train",
    data_dir=None,
    image_key=None,
    label_key=None,
    seed=None,
    num_parallel_calls=AUTOTUNE,
    prefetch_to_device=False,
    download=True,
    dtype="float32",
    pipeline="auto",
):
    """A `tf.data.Dataset` of image batches in `[-1, 1]` for GAN training.

    `source` can be:

    - a folder of images (str or `pathlib.Path`), searched recursively for
      `.jpg`, `.jpeg`, `.png`, `.bmp`, `.gif` and `.webp` files. Subfolders
      are classes (sorted names -> labels 0..n-1). Files that are not
      decodable images are skipped with a warning that counts them (see
      `scan_image_folder()`), as are files that fail to decode later on.
      Photos are turned upright by their EXIF orientation.
    - a NumPy array of images, `(N, H, W)` or `(N, H, W, C)`, or a pair
      `(x, y)` with integer labels of shape `(N,)`. uint8 arrays hold
      0..255; float arrays are read as `[-1, 1]` if they have negative
      values, `[0, 1]` if their maximum is at most 1, else `[0, 255]`.
    - the path of an `.npz` file holding such arrays: `x_<split>` and
      `y_<split>` (`x_train`, `y_train` by default, the names Keras uses),
      or `image_key` and `label_key`.
    - a TensorFlow Datasets name, e.g. `"mnist"`, `"tf_flowers"` or
      `"cycle_gan/horse2zebra"`, downloaded on first use unless
      `download=False`.

    Each image is converted to `channels` (grayscale <-> RGB, alpha dropped,
    a GIF's first frame), centre-cropped to the aspect ratio of `image_size`
    and resized (bilinear, antialiased). The resized images are cached (as
    uint8, or float32 for float arrays); then each epoch is shuffled,
    optionally flipped, batched and scaled to float32 `[-1, 1]`.

    Args:
        source: a folder, `.npz` path, TFDS name, array or `(x, y)` pair.
        image_size: int, or `(height, width)`.
        channels: 1 (grayscale) or 3 (RGB).
        batch_size: images per batch.
        with_labels: yield `(images, labels)` with int32 labels.
        shuffle: reshuffle every epoch.
        flip: flip images left-right at random, differently every epoch.
        cache: keep the resized images in memory after the first epoch.
        drop_remainder: drop the last, smaller batch (GAN steps usually
            assume a fixed batch size).
        split: the TFDS split (e.g. `"train"`, `"train[:10%]"`), or the
            suffix of the `.npz` keys.
        data_dir: the TFDS data directory (default `~/tensorflow_datasets`).
        image_key: the image feature (TFDS) or array name (`.npz`).
        label_key: the label feature (TFDS) or array name (`.npz`).
        seed: int, for a reproducible shuffle and flips.
        num_parallel_calls: parallel decoding calls.
        prefetch_to_device: `True` copies batches to the first GPU ahead of
            time, when TensorFlow sees one. Off by default: it helps only
            TensorFlow-backend models outside a `tf.distribute` strategy,
            makes the number of batches unknown, and must stay the last
            stage (`keras_gans.cli.repeat_for_steps` repeats before it).
        download: let TFDS download a dataset that is not prepared yet.
        dtype: "float32" for images in [-1, 1]; "uint8" for raw 0..255
            pixels, which move 4x fewer bytes to an accelerator (the
            `keras_gans.GAN` trainer scales uint8 batches on the device).
        pipeline: "tf" (tf.data), "numpy" (a `keras.utils.PyDataset` that
            needs no TensorFlow: folders, arrays and `.npz` only), or "auto":
            tf.data when TensorFlow is installed, else NumPy.

    Returns:
        A `tf.data.Dataset` of `(batch, height, width, channels)` float32
        images, or of `(images, labels)` pairs when `with_labels=True`.

    Raises:
        FileNotFoundError: a path that does not exist.
        ValueError: no images, bad arrays, an unknown TFDS name, or labels
            that the source does not have.
        DatasetDownloadError: a TFDS download failed, or its hosts do not
            answer (offline: found within `keras_gans.data.tfds.PROBE_TIMEOUT`
            seconds, not after minutes of retries).

    Example:

    >>> ds = image_dataset("flowers/", image_size=64, with_labels=True, seed=1)
    >>> images, labels = next(iter(ds))  # (64, 64, 64, 3), (64,)
    >>> ds = image_dataset("mnist", image_size=32, channels=1)
    """
    size = _as_size(image_size)
    _check_channels(channels)
    if dtype not in ("float32", "uint8"):
        raise ValueError(f"dtype must be 'float32' or 'uint8', got {dtype!r}.")
    if pipeline not in ("auto", "tf", "numpy"):
        raise ValueError(f"pipeline must be 'auto', 'tf' or 'numpy', got {pipeline!r}.")
    if pipeline == "numpy" or (pipeline == "auto" and not _has_tensorflow()):
        return numpy_pipeline.numpy_image_dataset(
            source, size, channels, batch_size, with_labels=with_labels,
            shuffle=shuffle, flip=flip, drop_remainder=drop_remainder, split=split,
            image_key=image_key, label_key=label_key, seed=seed, dtype=dtype,
        )
    _require_tf()
    ds, count = _pixels(
        source, size, channels, with_labels=with_labels, split=split,
        data_dir=data_dir, image_key=image_key, label_key=label_key,
        download=download, num_parallel_calls=num_parallel_calls,
        shuffle=shuffle, seed=seed,
    )
    if drop_remainder and count is not None and count < batch_size:
        raise ValueError(
            f"Only {count} images, fewer than batch_size={batch_size}: with "
            f"drop_remainder=True the dataset would be empty."
        )

    if cache:
        ds = ds.cache()
    if shuffle:
        # After the cache, so that each epoch gets a new order.
        ds = ds.shuffle(_shuffle_buffer(count), seed=seed, reshuffle_each_iteration=True)
    if flip:
        # Flipping single uint8 images (before batching) copies only the
        # images that flip, which is cheaper than a masked flip of a batch.
        def random_flip(element, random):
            seed_pair = tf.stack([random, tf.constant(0, tf.int64)])
            return _map_images(
                element,
                lambda image: tf.image.stateless_random_flip_left_right(image, seed_pair),
            )

        ds = _map_with_random(ds, random_flip, seed, num_parallel_calls)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if dtype == "float32":
        ds = _map_images_ds(ds, _to_unit_range)  # One vectorised op per batch.
    else:
        ds = _map_images_ds(ds, lambda images: tf.cast(tf.round(images), tf.uint8))
    ds = ds.prefetch(AUTOTUNE)
    return _prefetch_to_device(ds, prefetch_to_device)


def unpaired_dataset(
    a,
    b=None,
    image_size=128,
    channels=3,
    batch_size=1,
    *,
    training=True,
    jitter=True,
    flip=True,
    seed=None,
    cache=True,
    data_dir=None,
):
    """Unpaired image batches from two domains, for CycleGAN.

    Each domain is read like `image_dataset()` reads a source (a folder, an
    `.npz` file, an array or a TFDS name) and shuffled on its own; the two
    are zipped. An epoch has as many pairs as the larger domain has images,
    and the smaller domain wraps around.

    With `b=None`, `a` holds both domains: a folder with `trainA/`, `trainB/`
    (and `testA/`, `testB/`) subfolders, the CycleGAN layout, or a TFDS name
    such as `"cycle_gan/horse2zebra"` whose splits `trainA`/`trainB` (or
    `testA`/`testB`) are the domains.

    For training, images get CycleGAN's random jitter (resized up by 286/256,
    e.g. 128 -> 143, then randomly cropped back to `image_size`) and random
    left-right flips. With `training=False`, images are only resized, in a
    fixed order.

    Args:
        a: domain A (or both domains, with `b=None`).
        b: domain B.
        image_size: int, or `(height, width)`.
        channels: 1 or 3, for both domains.
        batch_size: pairs per batch (CycleGAN uses 1).
        training: jitter, flip and shuffle (and drop a last partial batch).
        jitter: random resize-and-crop, when training.
        flip: random left-right flips, when training.
        seed: int, for a reproducible shuffle and augmentation.
        cache: keep the resized images in memory after the first epoch.
        data_dir: the TFDS data directory.

    Returns:
        A `tf.data.Dataset` of `(a_images, b_images)`, each
        `(batch, height, width, channels)` float32 in `[-1, 1]`.

    Example:

    >>> ds = unpaired_dataset("cyclegan/daisy2sunflower", image_size=128)
    >>> ds = unpaired_dataset("cycle_gan/horse2zebra", training=False)
    >>> a, b = next(iter(ds))  # two (1, 128, 128, 3) batches
    """
    _require_tf()
    size = _as_size(image_size)
    _check_channels(channels)
    stage = "train" if training else "test"

    if b is None:
        if not isinstance(a, (str, os.PathLike)):
            raise ValueError(
                f"With b=None, a must be a folder with {stage}A/ and {stage}B/ "
                f"subfolders or a TFDS cycle_gan name; got {type(a).__name__}."
            )
        path = pathlib.Path(a).expanduser()
        if path.is_dir():
            a, b = path / f"{stage}A", path / f"{stage}B"
            splits = (stage, stage)
            for name, folder in (("A", a), ("B", b)):
                if not folder.is_dir():
                    raise FileNotFoundError(
                        f"Domain {name} folder not found: {folder} (with b=None, "
                        f"a must hold {stage}A/ and {stage}B/ subfolders)."
                    )
        elif isinstance(a, str) and is_tfds_name(a):
            b, splits = a, (f"{stage}A", f"{stage}B")
        else:
            raise FileNotFoundError(f"No such folder: {path}")
    else:
        def split_for(source, name):
            is_cycle_gan = isinstance(source, str) and source.startswith("cycle_gan")
            return f"{stage}{name}" if is_cycle_gan else stage

        splits = (split_for(a, "A"), split_for(b, "B"))

    # Training caches the images at the jitter size and crops them each epoch.
    if training and jitter:
        load_size = tuple(round(s * _JITTER_SCALE) for s in size)
    else:
        load_size = size

    domains, counts = [], []
    for i, (name, source, split) in enumerate(zip("AB", (a, b), splits)):
        domain_seed = None if seed is None else seed + i
        try:
            ds, count = _pixels(
                source, load_size, channels, with_labels=False, split=split,
                data_dir=data_dir, image_key=None, label_key=None,
                download=True, num_parallel_calls=AUTOTUNE,
                shuffle=training, seed=domain_seed,
            )
        except (FileNotFoundError, ValueError) as e:
            raise type(e)(f"Domain {name}: {e}") from e
        if count is None:
            count = int(ds.reduce(0, lambda n, _: n + 1))
        if cache:
            ds = ds.cache()
        if training:
            ds = ds.shuffle(_shuffle_buffer(count), seed=domain_seed,
                            reshuffle_each_iteration=True)
        domains.append(ds)
        counts.append(count)

    # The larger domain sets the epoch length and the other one wraps around.
    # The repeating one is zipped first, so that when the larger one ends an
    # epoch both have been read to their end: a cache that is not read to its
    # end is thrown away (and the images decoded again next epoch).
    domain_a, domain_b = domains
    if counts[0] >= counts[1]:
        ds = tf.data.Dataset.zip((domain_b.repeat(), domain_a))
        ds = ds.map(lambda b_image, a_image: (a_image, b_image))
    else:
        ds = tf.data.Dataset.zip((domain_a.repeat(), domain_b))
    if training and (jitter or flip):
        crop_shape = (*size, channels)

        def augment(pair, random):
            def seed_pair(i):
                return tf.stack([random, tf.constant(i, tf.int64)])

            out = []
            for i, images in enumerate(pair):
                if jitter:
                    images = tf.image.stateless_random_crop(images, crop_shape, seed_pair(2 * i))
                if flip:
                    images = tf.image.stateless_random_flip_left_right(images, seed_pair(2 * i + 1))
                out.append(images)
            return tuple(out)

        ds = _map_with_random(ds, augment, None if seed is None else seed + 2)
    ds = ds.batch(batch_size, drop_remainder=training)
    ds = ds.map(lambda x, y: (_to_unit_range(x), _to_unit_range(y)))
    # No prefetch_to_device: the scripts count the batches (cardinality).
    return ds.prefetch(AUTOTUNE)
