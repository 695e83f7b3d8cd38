"""Image files and batches for the data tests (keras_gans.data's modules)."""

import pathlib

import numpy as np
from PIL import Image


def save(path, array, format=None, mode=None, **options):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.asarray(array, dtype=np.uint8))
    if mode:
        image = image.convert(mode)
    image.save(path, format=format, **options)
    return path


def solid(value, height=32, width=48, channels=3):
    return np.full((height, width, channels), value, np.uint8)


def collect(ds):
    """All batches of one epoch, concatenated."""
    batches = [tuple(np.asarray(t) for t in b) if isinstance(b, tuple) else (np.asarray(b),)
               for b in ds]
    return tuple(np.concatenate(parts) for parts in zip(*batches))
