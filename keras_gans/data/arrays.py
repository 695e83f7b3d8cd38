"""Image arrays and `.npz` archives: checks, value ranges and key names.

Shared by the tf.data and the NumPy pipelines, so that an array reads the
same and a bad one fails with the same message in each. NumPy only.
"""

import numpy as np


def check_arrays(x, y):
    """Validates image (and label) arrays and reads their value range.

    uint8 (or other integer) images hold 0..255; float images are read as
    `[-1, 1]` if they have negative values, `[0, 1]` if their maximum is at
    most 1, else `[0, 255]`.

    Args:
        x: images `(N, H, W)` or `(N, H, W, C)` with C in 1-4.
        y: integer labels `(N,)` (or `(N, 1)`), or None.

    Returns:
        `(x, y, scale, offset)`: `x` as 4-D uint8 or float32, `y` as int32
        `(N,)` or None, and the affine map that puts `x * scale + offset` in
        [0, 255].

    Raises:
        ValueError: the arrays' shape, dtype or values, and the fix.

    Example:

    >>> x, y, scale, offset = check_arrays(np.zeros((4, 8, 8)) - 1, np.arange(4))
    >>> x.shape, scale, offset
    ((4, 8, 8, 1), 127.5, 127.5)
    """
    x = np.asarray(x)
    expected = "images of shape (N, H, W) or (N, H, W, C), uint8 or float"
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise ValueError(f"Expected {expected}; got an array of dtype {x.dtype}.")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 2, 3, 4) or len(x) == 0:
        hint = ""
        if x.ndim == 4 and x.shape[1] in (1, 3):
            hint = " It looks channels-first: use np.moveaxis(x, 1, -1)."
        raise ValueError(
            f"Expected {expected} with C in 1-4 and N > 0; got shape "
            f"{x.shape} ({x.dtype}).{hint}"
        )

    if np.issubdtype(x.dtype, np.integer):
        if x.dtype != np.uint8:
            low, high = x.min(), x.max()
            if low < 0 or high > 255:
                raise ValueError(
                    f"Integer images must hold 0..255; got {x.dtype} values in "
                    f"[{low}, {high}]."
                )
            x = x.astype(np.uint8)
        scale, offset = 1.0, 0.0
    else:
        x = x.astype(np.float32, copy=False)
        low, high = float(x.min()), float(x.max())
        if low < 0:  # [-1, 1]
            scale, offset = 127.5, 127.5
        elif high <= 1:  # [0, 1]
            scale, offset = 255.0, 0.0
        else:  # [0, 255]
            scale, offset = 1.0, 0.0

    if y is not None:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:  # e.g. keras.datasets.cifar10
            y = y[:, 0]
        if not np.issubdtype(y.dtype, np.integer) or y.ndim != 1 or len(y) != len(x):
            raise ValueError(
                f"Labels must be integers of shape ({len(x)},), one per image; "
                f"got shape {y.shape} ({y.dtype})."
            )
        y = y.astype(np.int32)
    return x, y, scale, offset



def npz_arrays(path, split, image_key, label_key, with_labels):
    """The image (and label) arrays of an `.npz` archive.

    Images are `image_key`, else `x_<split>` (Keras' names: `x_train`), else,
    when no array is named `x_...`, the first 3-D or 4-D array; labels are
    `label_key`, else `y_<split>`.

    Args:
        path: the `.npz` file.
        split: the suffix of the Keras-style names, e.g. "train".
        image_key: the images' array name, or None.
        label_key: the labels' array name, or None.
        with_labels: read labels too.

    Returns:
        `(images, labels)`, labels None without `with_labels`.

    Raises:
        ValueError: a named array is missing; the message lists the arrays.

    Example:

    >>> x, y = npz_arrays("mnist.npz", "test", None, None, with_labels=True)
    >>> x.shape, y.shape
    ((10000, 28, 28), (10000,))
    """
    with np.load(path, allow_pickle=False) as npz:
        keys = list(npz.files)

        def describe():
            return ", ".join(f"{k} {npz[k].shape}" for k in keys)

        key = image_key or f"x_{split}"
        if key not in keys:
            if image_key or any(k.startswith("x_") for k in keys):
                raise ValueError(
                    f"{path} has no array {key!r}. Its arrays: {describe()}. "
                    f"Pass image_key= (and label_key=) or split=."
                )
            # No x_<split> naming: take the first array that looks like images.
            images = [k for k in keys if npz[k].ndim in (3, 4)]
            if not images:
                raise ValueError(
                    f"{path} has no image array (3-D or 4-D). Its arrays: "
                    f"{describe()}."
                )
            key = images[0]
        y = None
        if with_labels:
            label = label_key or f"y_{split}"
            if label not in keys:
                raise ValueError(
                    f"{path} has no label array {label!r}. Its arrays: "
                    f"{describe()}. Pass label_key=."
                )
            y = npz[label]
        return npz[key], y

