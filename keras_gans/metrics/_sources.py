"""Turn the many ways of holding images into a stream of NumPy batches.

Every metric consumes images the same way: an array, a folder of image files,
a `tf.data.Dataset`, or any iterable of batches. This module hides the
difference, so that feature extraction can stream over 50,000 images without
holding them all, and so that the statistics cache can fingerprint what it was
given. Nothing here touches Keras; pixel-range conventions are handled by the
feature extractor (uint8 is 0..255, float is assumed in [-1, 1]).
"""

import hashlib
import os
import warnings

import numpy as np


def is_folder(data):
    return isinstance(data, (str, os.PathLike)) and os.path.isdir(data)


def scan_folder(folder):
    """The images of `folder` exactly as training finds them.

    `keras_gans.data.scan_image_folder` decides which files are images (its
    extensions, hidden files and folders such as macOS `._x.jpg` or
    `.ipynb_checkpoints` left out, a cheap check for broken files), so that
    real statistics describe the same images a GAN was trained on.
    """
    from keras_gans.data import scan_image_folder  # lazily: no import cycle

    return scan_image_folder(folder)


def subset_indices(n, max_samples, seed):
    """Sorted indices of a seeded uniform subset of `max_samples` out of `n`.

    A random rather than a leading subset: folders are sorted by class, so the
    first N files would be a biased sample of the data set.
    """
    if max_samples is None or max_samples >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=int(max_samples), replace=False))


def _iter_folder(folder, batch_size, max_samples, seed, image_size, channels):
    from keras_gans.data import load_image  # the files, read as training reads them

    scan = scan_folder(folder)
    idx = subset_indices(len(scan.files), max_samples, seed)
    skipped = list(scan.skipped)
    for start in range(0, len(idx), batch_size):
        batch = idx[start : start + batch_size]
        paths = [scan.files[i] for i in batch]
        images = [load_image(scan.files[i], image_size, channels, scan.orientations[i])
                  for i in batch]
        skipped += [p for p, image in zip(paths, images) if image is None]
        images = [image for image in images if image is not None]
        if len({image.shape for image in images}) > 1:
            raise ValueError(
                f"The images in {folder} differ in size and the feature extractor "
                "has no input size to resize them to; pass "
                "FeatureExtractor(..., image_size=(height, width))."
            )
        if images:
            yield np.stack(images)
    if skipped:
        # One warning for the whole folder, as image_dataset gives training.
        warnings.warn(
            f"{folder}: skipped {len(skipped)} image files that do not decode, "
            f"e.g. {skipped[0]}",
            stacklevel=2,
        )


def _first_element(item):
    # Datasets of (images, labels) pairs or {"image": ...} dicts: keep images.
    if isinstance(item, dict):
        for key in ("image", "images", "x"):
            if key in item:
                return item[key]
        raise ValueError(
            f"Cannot find images in a dict with keys {sorted(item)}; expected "
            "one of 'image', 'images', 'x'."
        )
    if isinstance(item, (tuple, list)):
        return item[0]
    return item


def _to_numpy(x):
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach"):  # torch tensors, possibly on a GPU
        x = x.detach().cpu()
    return np.asarray(x)  # tf / jax tensors implement __array__


def iter_image_batches(data, batch_size=64, max_samples=None, seed=0, image_size=None, channels=3):
    """Yield NumPy image batches (dtype preserved) from `data`.

    Args:
        data: an array (N, H, W[, C]); a path to a folder of image files
            (read as `image_dataset` reads it for training, see
            `keras_gans.data.load_image`; undecodable files are skipped with one warning);
            a `tf.data.Dataset` (batched, or of single H x W x C images); or
            any iterable of batches. Elements that are `(images, labels)`
            tuples or dicts with an `"image"` key contribute their images.
        batch_size: batch size for arrays, folders and unbatched datasets.
        max_samples: stop after this many images. Arrays and folders take a
            seeded uniform subset (see `subset_indices`); streams take the
            first `max_samples`.
        seed: seed of that subset.
        image_size: `(height, width)` that folder images are cropped and
            resized to (the extractor's input size); None keeps their size.
        channels: the channels of folder images, 1 or 3.
    """
    if callable(data) and not hasattr(data, "__iter__"):
        raise TypeError(
            "A callable image source needs a sample count; use "
            "`keras_gans.metrics.evaluate`, which calls it as fn(n)."
        )
    if is_folder(data):
        yield from _iter_folder(data, batch_size, max_samples, seed, image_size, channels)
        return
    if isinstance(data, (str, os.PathLike)):
        raise FileNotFoundError(f"Image folder not found: {os.fspath(data)!r}")
    if isinstance(data, np.ndarray) or (hasattr(data, "shape") and hasattr(data, "__len__") and not hasattr(data, "as_numpy_iterator")):
        data = _to_numpy(data)
        idx = subset_indices(len(data), max_samples, seed)
        for start in range(0, len(idx), batch_size):
            sel = idx[start : start + batch_size]
            # A contiguous slice avoids a copy when no subset was taken.
            yield data[sel[0] : sel[-1] + 1] if len(idx) == len(data) else data[sel]
        return
    if hasattr(data, "as_numpy_iterator"):  # tf.data.Dataset, without importing tf
        spec = _first_element(data.element_spec)
        rank = getattr(getattr(spec, "shape", None), "rank", None)
        if rank == 3 and spec.shape[-1] in (1, 3, 4):
            data = data.batch(batch_size)  # a dataset of single images
        iterator = data.as_numpy_iterator()
    else:
        iterator = iter(data)
    seen = 0
    for item in iterator:
        batch = _to_numpy(_first_element(item))
        if max_samples is not None:
            batch = batch[: max_samples - seen]
        if len(batch):
            yield batch
        seen += len(batch)
        if max_samples is not None and seen >= max_samples:
            return


def dataset_fingerprint(data, dataset_id=None):
    """A string that changes whenever the images in `data` change.

    - `dataset_id` given: that string (the caller vouches for it).
    - array: SHA-256 of dtype, shape and raw bytes.
    - folder: SHA-256 of the relative paths, sizes and modification times
      of the images that `scan_folder` finds (no image is decoded).
    - anything else (datasets, generators) cannot be fingerprinted without
      consuming it, so an explicit `dataset_id` is required.
    """
    if dataset_id is not None:
        return "id:" + str(dataset_id)
    h = hashlib.sha256()
    if is_folder(data):
        for path in scan_folder(data).files:
            st = os.stat(path)
            h.update(f"{os.path.relpath(path, data)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        return "folder:" + h.hexdigest()
    if isinstance(data, np.ndarray):
        arr = np.ascontiguousarray(data)
        h.update(f"{arr.dtype.str}|{arr.shape}|".encode())
        h.update(memoryview(arr).cast("B"))
        return "array:" + h.hexdigest()
    raise ValueError(
        f"Cannot fingerprint real data of type {type(data).__name__} for the "
        "statistics cache; pass dataset_id='a-unique-name' (change it when the "
        "data changes) or cache_dir=None."
    )
