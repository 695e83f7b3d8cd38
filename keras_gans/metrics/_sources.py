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

import numpy as np

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def is_folder(data):
    return isinstance(data, (str, os.PathLike)) and os.path.isdir(data)


def list_image_files(folder):
    """All image files under `folder` (recursively), sorted by relative path.

    Sorting makes the order, and so any subset and the fingerprint, independent
    of the file system's directory order.
    """
    files = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in names:
            if name.lower().endswith(IMAGE_EXTENSIONS):
                files.append(os.path.join(root, name))
    return sorted(files, key=lambda p: os.path.relpath(p, folder))


def subset_indices(n, max_samples, seed):
    """Sorted indices of a seeded uniform subset of `max_samples` out of `n`.

    A random rather than a leading subset: folders are sorted by class, so the
    first N files would be a biased sample of the data set.
    """
    if max_samples is None or max_samples >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=int(max_samples), replace=False))


def _load_image(path):
    from PIL import Image

    with Image.open(path) as img:
        if img.mode in ("L", "I;16", "I", "F", "1"):
            arr = np.asarray(img.convert("L"))[..., None]
        else:
            arr = np.asarray(img.convert("RGB"))
    return arr


def load_images(paths):
    """Load image files into one uint8 batch (N, H, W, C).

    Images of another size than the first are resized (PIL bilinear, which
    is antialiased when shrinking) and grayscale images are tiled to RGB when
    the batch mixes both, so that the batch can be stacked.
    """
    from PIL import Image

    arrays = [_load_image(p) for p in paths]
    if not arrays:
        return np.zeros((0, 1, 1, 3), np.uint8)
    h, w = arrays[0].shape[:2]
    channels = max(a.shape[-1] for a in arrays)
    out = []
    for a in arrays:
        if a.shape[:2] != (h, w):
            img = Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a)
            a = np.asarray(img.resize((w, h), Image.BILINEAR))
            a = a[..., None] if a.ndim == 2 else a
        if a.shape[-1] != channels:
            a = np.repeat(a, channels, axis=-1)
        out.append(a)
    return np.stack(out)


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


def iter_image_batches(data, batch_size=64, max_samples=None, seed=0):
    """Yield NumPy image batches (dtype preserved) from `data`.

    Args:
        data: an array (N, H, W[, C]); a path to a folder of image files
            (searched recursively); a `tf.data.Dataset` (batched, or of
            single H x W x C images); or any iterable of batches. Elements
            that are `(images, labels)` tuples or dicts with an `"image"` key
            contribute their images.
        batch_size: batch size for arrays, folders and unbatched datasets.
        max_samples: stop after this many images. Arrays and folders take a
            seeded uniform subset (see `subset_indices`); streams take the
            first `max_samples`.
        seed: seed of that subset.
    """
    if callable(data) and not hasattr(data, "__iter__"):
        raise TypeError(
            "A callable image source needs a sample count; use "
            "`keras_gans.metrics.evaluate`, which calls it as fn(n)."
        )
    if is_folder(data):
        files = list_image_files(data)
        if not files:
            raise ValueError(f"No image files ({', '.join(IMAGE_EXTENSIONS)}) under {data!r}.")
        idx = subset_indices(len(files), max_samples, seed)
        for start in range(0, len(idx), batch_size):
            yield load_images([files[i] for i in idx[start : start + batch_size]])
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
    - folder: SHA-256 of the sorted relative paths, sizes and modification
      times (cheap: no file is read).
    - anything else (datasets, generators) cannot be fingerprinted without
      consuming it, so an explicit `dataset_id` is required.
    """
    if dataset_id is not None:
        return "id:" + str(dataset_id)
    h = hashlib.sha256()
    if is_folder(data):
        for path in list_image_files(data):
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
