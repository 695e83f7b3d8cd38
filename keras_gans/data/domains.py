"""Two image domains made from one labelled set: CoGAN's MNIST pairs.

CoGAN (Liu & Tuzel 2016) learns a joint distribution of two domains from
unpaired images. Its MNIST experiments make the domains from the training
digits, shuffled and cut into two disjoint halves, so that no digit appears
in both: domain A holds the first half as it is, domain B the second half
transformed, into edge maps (a 3x3 dilation minus the image, as the paper's
code computes them with OpenCV) or negatives.

NumPy and SciPy only.

Example:

>>> (digits, labels_a), (edges, labels_b) = mnist_domains("mnist.npz", pair="edges")
>>> digits.shape, edges.shape
((30000, 28, 28, 1), (30000, 28, 28, 1))
"""

import numpy as np
from scipy import ndimage

from keras_gans.data import arrays


def edge_map(images):
    """The edges of uint8 images: their grey dilation by a 3x3 square minus
    the image, per image and channel (CoGAN's MNIST edge domain).

    Args:
        images: uint8 `(N, H, W)` or `(N, H, W, C)`.

    Returns:
        uint8 edge maps of the same shape.

    Example:

    >>> square = np.zeros((1, 5, 5), np.uint8); square[0, 1:4, 1:4] = 255
    >>> edge_map(square)[0] // 255   # the ring around the square
    array([[1, 1, 1, 1, 1],
           [1, 0, 0, 0, 1],
           [1, 0, 0, 0, 1],
           [1, 0, 0, 0, 1],
           [1, 1, 1, 1, 1]], dtype=uint8)
    """
    images = _uint8_batch(images, "edge_map")
    size = [1] * images.ndim
    size[1] = size[2] = 3  # the spatial axes only
    # The dilation is the 3x3 maximum, at least the pixel itself: no underflow.
    return ndimage.grey_dilation(images, size=size) - images


def negative(images):
    """The negatives `255 - images` of uint8 images (its own inverse).

    Example:

    >>> negative(np.array([[[0, 200]]], np.uint8))
    array([[[255,  55]]], dtype=uint8)
    """
    return 255 - _uint8_batch(images, "negative")


#: The transforms that make domain B, by `mnist_domains`' `pair` name.
TRANSFORMS = {"edges": edge_map, "negative": negative}


def mnist_domains(source, pair="edges", seed=0, split="train"):
    """CoGAN's two MNIST domains: digits, and edge maps or negatives of other
    digits.

    The images of `split` are shuffled by `seed` and cut into two disjoint
    halves (an odd one out goes to B): domain A is the first half as it is,
    domain B the second half through `TRANSFORMS[pair]`.

    Args:
        source: an `.npz` file with Keras' names (`x_train`, `y_train`), or
            an `(images, labels)` pair of arrays (uint8, or floats in a range
            `keras_gans.data` reads).
        pair: "edges" or "negative".
        seed: seed of the shuffle that draws the halves.
        split: the `.npz` split ("train": `x_train`, `y_train`).

    Returns:
        `((images_a, labels_a), (images_b, labels_b))`: uint8 images
        `(n, 28, 28, 1)` and int32 labels. Labels are for evaluation only:
        CoGAN trains on the images, unpaired.

    Raises:
        ValueError: an unknown `pair`, or arrays that are not labelled images.

    Example:

    >>> (digits, _), (negatives, _) = mnist_domains("mnist.npz", pair="negative")
    >>> ds = keras_gans.data.unpaired_dataset(digits, negatives, image_size=28, channels=1,
    ...                                       batch_size=64, jitter=False, flip=False)
    """
    if pair not in TRANSFORMS:
        raise ValueError(f"pair must be one of {sorted(TRANSFORMS)}, got {pair!r}.")
    if isinstance(source, (tuple, list)):
        x, y = source
    else:
        x, y = arrays.npz_arrays(source, split, None, None, with_labels=True)
    x, y, scale, offset = arrays.check_arrays(x, y)
    if y is None:
        raise ValueError("mnist_domains needs labels beside the images: (images, labels).")
    if x.dtype != np.uint8:
        x = np.clip(np.round(x * scale + offset), 0, 255).astype(np.uint8)
    order = np.random.default_rng(seed).permutation(len(x))
    half_a, half_b = order[: len(x) // 2], order[len(x) // 2 :]
    return (x[half_a], y[half_a]), (TRANSFORMS[pair](x[half_b]), y[half_b])


def _uint8_batch(images, name):
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(f"{name} takes uint8 images (N, H, W) or (N, H, W, C); got "
                         f"{images.dtype} of shape {images.shape}.")
    return images
