"""Converting generated images for people: uint8, grids and PNG files."""

import math
import os

import numpy as np


def to_uint8(images):
    """Map images in [-1, 1] to uint8 0..255 (rounded, clipped)."""
    images = np.asarray(images, dtype="float32")
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype("uint8")


def make_grid(images, ncols=None, padding=2, pad_value=255):
    """Tile a batch `(n, h, w, c)` of uint8 or [-1, 1] images into one image.

    Args:
        images: the batch; float images are taken to be in [-1, 1].
        ncols: images per row; default the smallest square that fits.
        padding: pixels between tiles.
        pad_value: colour of the padding (0..255).

    Returns:
        A uint8 array `(H, W, c)`.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        images = to_uint8(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"Expected a batch of images (n, h, w, c), got shape {images.shape}.")
    n, h, w, c = images.shape
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    grid = np.full(
        (nrows * (h + padding) + padding, ncols * (w + padding) + padding, c),
        pad_value,
        dtype=np.uint8,
    )
    for i, image in enumerate(images):
        r, col = divmod(i, ncols)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top : top + h, left : left + w] = image
    return grid


def save_image(image, path):
    """Write one uint8 `(H, W, c)` image (c = 1 or 3) as PNG; makes folders."""
    from PIL import Image

    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    directory = os.path.dirname(os.fspath(path))
    if directory:
        os.makedirs(directory, exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def save_grid(images, path, ncols=None):
    """`make_grid` then `save_image`; returns the path."""
    return save_image(make_grid(images, ncols=ncols), path)


def to_unit_range(images):
    """Images as float32 in [-1, 1]: integers (0..255) are scaled, floats
    are taken to be in [-1, 1] already."""
    images = np.asarray(images)
    if np.issubdtype(images.dtype, np.integer):
        return images.astype("float32") / 127.5 - 1.0
    return images.astype("float32")
