"""The TensorFlow-free input pipeline behind `image_dataset(pipeline="numpy")`.

JAX- or PyTorch-only installs (a GPU machine without TensorFlow, say) still
train from image folders, arrays and `.npz` files. Images are decoded once
with Pillow (threads: decoding releases the GIL), centre-cropped, resized and
held in memory as uint8; a `keras.utils.PyDataset` then serves shuffled,
optionally flipped batches. Sources and errors are those of `image_dataset`.
"""

import concurrent.futures
import math
import os
import pathlib

import numpy as np

import keras

from keras_gans.data.arrays import check_arrays, npz_arrays
from keras_gans.data.files import folder_labels, scan_image_folder, warn_skipped
from keras_gans.data.tfds import is_tfds_name
from keras_gans.images import to_unit_range

# The transposes that turn an image upright, by EXIF orientation: those of
# Pillow's `ImageOps.exif_transpose`, and of `tf_pipeline._orient` in tf.data.
_UPRIGHT = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE",
            6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90"}


def load_image(path, size=None, channels=3, orientation=1):
    """Read one image file as `image_dataset` reads it; None if it does not
    decode.

    A GIF's first frame; 16-bit grayscale scaled to 8 bits by its high byte
    (as TensorFlow's decoder does: `convert("L")` would clip it); turned
    upright by the EXIF `orientation` (1-8, as `scan_image_folder` reads
    it); converted to `channels`, alpha dropped; then the largest centred box
    with the aspect ratio of `size` resized, bilinear and antialiased,
    straight to `size`. Resizing once, to the final size, keeps a pixel
    independent of the images read with it.

    Args:
        path: the image file.
        size: `(height, width)`, or None to keep the image's own size.
        channels: 1 (grayscale) or 3 (RGB).
        orientation: the file's EXIF orientation.

    Returns:
        uint8 array `(height, width, channels)`, or None.

    Example:

    >>> folder = scan_image_folder("flowers")
    >>> load_image(folder.files[0], (64, 64), orientation=folder.orientations[0]).shape
    (64, 64, 3)
    """
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.seek(0)  # a GIF's first frame
            if image.mode.startswith("I;16") or image.mode == "I":
                image = Image.fromarray(np.clip(np.asarray(image, np.int64) >> 8, 0, 255)
                                        .astype(np.uint8), "L")
            if orientation in _UPRIGHT:
                image = image.transpose(getattr(Image.Transpose, _UPRIGHT[orientation]))
            image = image.convert("L" if channels == 1 else "RGB")
            if size is not None:
                height, width = size
                # Crop the largest centred box with the target's aspect ratio.
                scale = min(image.width / width, image.height / height)
                crop_w, crop_h = round(width * scale), round(height * scale)
                left, top = (image.width - crop_w) // 2, (image.height - crop_h) // 2
                box = (left, top, left + crop_w, top + crop_h)
                image = image.resize((width, height), Image.BILINEAR, box=box)
            pixels = np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError):  # what Pillow raises for bad files
        return None
    return pixels[..., None] if channels == 1 else pixels


def _folder_arrays(folder, size, channels):
    workers = min(16, (os.cpu_count() or 1) * 2)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        images = list(pool.map(lambda f, o: load_image(f, size, channels, o),
                               folder.files, folder.orientations))
    good = [i for i, image in enumerate(images) if image is not None]
    # Files the cheap scan passed but Pillow cannot decode move to the skipped.
    folder.skipped.extend(folder.files[i] for i, im in enumerate(images) if im is None)
    folder.files = [folder.files[i] for i in good]
    folder.labels = [folder.labels[i] for i in good]
    folder.orientations = [folder.orientations[i] for i in good]
    x = np.stack([images[i] for i in good]) if good else np.zeros((0, *size, channels), np.uint8)
    return x, np.asarray(folder.labels, np.int32)


def _array_images(x, size, channels):
    """Validated arrays -> uint8 [0, 255] at `size` with `channels`."""
    x, _, scale, offset = check_arrays(x, None)
    x = np.clip(np.round(x.astype(np.float32) * scale + offset), 0, 255).astype(np.uint8)
    if x.shape[-1] in (2, 4):  # Drop alpha, as tf.data does.
        x = x[..., :-1]
    if channels == 1 and x.shape[-1] == 3:  # ITU-R 601 luma, as tf.image uses
        x = np.round(x @ np.array([0.2989, 0.587, 0.114])).astype(np.uint8)[..., None]
    elif channels == 3 and x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    if x.shape[1:3] != tuple(size):
        from PIL import Image

        mode = "L" if channels == 1 else "RGB"
        resized = []
        for image in x:
            pil = Image.fromarray(image[..., 0] if channels == 1 else image, mode)
            h, w = size
            scale_ = min(pil.width / w, pil.height / h)
            cw, ch = round(w * scale_), round(h * scale_)
            left, top = (pil.width - cw) // 2, (pil.height - ch) // 2
            out = np.asarray(pil.resize((w, h), Image.BILINEAR, box=(left, top, left + cw, top + ch)))
            resized.append(out[..., None] if channels == 1 else out)
        x = np.stack(resized)
    return x


def numpy_image_dataset(source, size, channels, batch_size, *, with_labels, shuffle, flip,
                        drop_remainder, split, image_key, label_key, seed, dtype):
    """`image_dataset` without TensorFlow: folders, arrays and `.npz` files,
    decoded once into memory.

    Args:
        source, size, channels, batch_size, with_labels, shuffle, flip,
            drop_remainder, split, image_key, label_key, seed, dtype: as for
            `image_dataset` (`size` already a `(height, width)` pair).

    Returns:
        An `ImageBatches` PyDataset.

    Example:

    >>> ds = numpy_image_dataset("flowers", (64, 64), 3, 32, with_labels=False,
    ...     shuffle=True, flip=True, drop_remainder=True, split="train",
    ...     image_key=None, label_key=None, seed=0, dtype="float32")
    >>> ds[0].shape
    (32, 64, 64, 3)
    """
    if isinstance(source, (tuple, list)) and len(source) == 2:
        x, y = source
    elif isinstance(source, np.ndarray):
        x, y = source, None
    elif isinstance(source, (str, os.PathLike)):
        path = pathlib.Path(source).expanduser()
        if path.is_dir():
            folder = scan_image_folder(path)
            labels = folder_labels(folder, with_labels)
            x, y = _folder_arrays(folder, size, channels)
            warn_skipped(folder, stacklevel=4)
            y = y if labels is not None else None
            if len(x) == 0:
                raise ValueError(f"{path}: none of its {len(folder.skipped)} image files decode.")
        elif path.is_file() and path.suffix.lower() == ".npz":
            x, y = npz_arrays(path, split, image_key, label_key, with_labels)
        elif path.is_file():
            raise ValueError(f"{path} is a file but not an .npz archive.")
        elif isinstance(source, str) and is_tfds_name(source):
            raise ImportError(
                f"No such file or folder: {path}; as a TensorFlow Datasets name, "
                f"{source!r} needs TensorFlow (`pip install tensorflow "
                f"tensorflow-datasets`). Without it, pass an image folder, an .npz "
                f"file or arrays."
            )
        else:
            raise FileNotFoundError(f"No such file or folder: {path}")
    else:
        raise TypeError(
            f"source must be a folder, an .npz file, an image array or an "
            f"(images, labels) pair; got {type(source).__name__}."
        )
    if with_labels and y is None:
        raise ValueError("with_labels=True needs labels: pass `(x, y)` or a folder of class subfolders.")
    if y is not None:
        _, y, _, _ = check_arrays(np.zeros((len(np.asarray(y)), 1, 1), np.uint8), y)
    if not (isinstance(source, (str, os.PathLike)) and pathlib.Path(source).is_dir()):
        if y is not None and len(y) != len(x):
            raise ValueError(f"Labels must be one per image: {len(x)} images, {len(y)} labels.")
        x = _array_images(x, size, channels)
    if drop_remainder and len(x) < batch_size:
        raise ValueError(
            f"Only {len(x)} images, fewer than batch_size={batch_size}: with "
            f"drop_remainder=True the dataset would be empty."
        )
    return ImageBatches(
        x, y if with_labels else None, batch_size, shuffle=shuffle, flip=flip,
        drop_remainder=drop_remainder, seed=seed, dtype=dtype,
    )


class ImageBatches(keras.utils.PyDataset):
    """Batches of in-memory uint8 images (and labels), reshuffled every epoch.

    Batches are assembled by `workers` threads ahead of the training step
    (NumPy indexing releases the GIL); each epoch's order and flips come
    from `(seed, epoch)`, so concurrent fetches agree and runs repeat.

    Args:
        images: uint8 array `(N, H, W, C)`.
        labels: int32 array `(N,)` or None.
        batch_size: images per batch.
        shuffle: a new order every epoch.
        flip: random left-right flips, new every epoch.
        drop_remainder: drop the last, smaller batch.
        seed: for reproducible order and flips.
        dtype: "float32" (scaled to [-1, 1]) or "uint8".
        repeat: serve epochs back to back, without end (see `repeat()`).
        workers: threads preparing batches.

    Example:

    >>> x = np.zeros((100, 32, 32, 3), np.uint8)
    >>> ds = ImageBatches(x, None, 25, flip=True, seed=0)
    >>> len(ds), ds[0].shape  # float32 in [-1, 1]
    (4, (25, 32, 32, 3))
    """

    def __init__(self, images, labels, batch_size, *, shuffle=True, flip=False,
                 drop_remainder=True, seed=None, dtype="float32", repeat=False, workers=4):
        super().__init__(workers=workers, use_multiprocessing=False, max_queue_size=16)
        self.images, self.labels = images, labels
        self.batch_size = int(batch_size)
        self.shuffle, self.flip, self.drop_remainder = shuffle, flip, drop_remainder
        self.seed, self.dtype, self._repeat = seed, dtype, repeat
        self._base_seed = seed if seed is not None else int(np.random.SeedSequence().entropy % 2**32)
        self._epoch = 0
        self._plans = {}
        self._epoch_batches = (len(images) // self.batch_size if drop_remainder
                               else math.ceil(len(images) / self.batch_size))

    def _plan(self, epoch):
        """(order, flips) of one epoch; the last few are kept."""
        plan = self._plans.get(epoch)
        if plan is None:
            rng = np.random.default_rng([self._base_seed, epoch])
            n = len(self.images)
            order = rng.permutation(n) if self.shuffle else np.arange(n)
            flips = rng.random(n) < 0.5 if self.flip else None
            plan = self._plans[epoch] = (order, flips)
            for old in [e for e in self._plans if e < epoch - 2]:
                self._plans.pop(old, None)
        return plan

    def repeat(self):
        """An endless view (for `fit(steps_per_epoch=...)` past one pass)."""
        return ImageBatches(
            self.images, self.labels, self.batch_size, shuffle=self.shuffle, flip=self.flip,
            drop_remainder=self.drop_remainder, seed=self._base_seed, dtype=self.dtype,
            repeat=True, workers=self.workers,
        )

    @property
    def num_batches(self):
        return None if self._repeat else self._epoch_batches

    def __len__(self):
        return self._epoch_batches

    def __getitem__(self, index):
        if self._repeat:
            epoch, index = divmod(index, self._epoch_batches)
        else:
            epoch = self._epoch
        order, flips = self._plan(epoch)
        rows = order[index * self.batch_size : (index + 1) * self.batch_size]
        batch = self.images[rows]
        if flips is not None:
            flipped = flips[rows]
            batch[flipped] = batch[flipped, :, ::-1]
        if self.dtype == "float32":
            batch = to_unit_range(batch)
        if self.labels is None:
            return batch
        return batch, self.labels[rows]

    def on_epoch_end(self):
        if not self._repeat:
            self._epoch += 1
