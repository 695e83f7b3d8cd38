"""Tests for keras_gans.data.domains (CoGAN's MNIST domains) and for the
unpaired input CoGAN trains on: two domains shuffled apart."""

import numpy as np
import pytest

from keras_gans import data
from keras_gans.data.domains import TRANSFORMS, edge_map, mnist_domains, negative

pytestmark = pytest.mark.single_backend


def indexed_images(n, size=8):
    """uint8 images whose every pixel is 3 * their index: recoverable after
    any resize, shuffle or scaling to [-1, 1]."""
    return np.repeat(3 * np.arange(n, dtype=np.uint8), size * size).reshape(n, size, size, 1)


def indices(images):
    """The index of each indexed image (uint8 or [-1, 1]); -1 negates."""
    images = np.asarray(images, "float32")
    if images.min() < 0:
        images = (images + 1.0) * 127.5
    return np.round(images.reshape(len(images), -1).mean(axis=1) / 3).astype(int)


# -- transforms -------------------------------------------------------------------------


def test_an_edge_map_is_the_dilation_minus_the_image():
    image = np.zeros((2, 6, 6), np.uint8)
    image[0, 2, 2] = 200  # one pixel: its 3x3 neighbourhood lights up, not itself
    image[1] = 90  # a flat image has no edges, up to its borders too
    edges = edge_map(image)
    expected = np.zeros((6, 6), np.uint8)
    expected[1:4, 1:4] = 200
    expected[2, 2] = 0
    np.testing.assert_array_equal(edges[0], expected)
    np.testing.assert_array_equal(edges[1], 0)
    # Channels and images stay apart; the first's pixel does not reach the second.
    np.testing.assert_array_equal(edge_map(image[..., None])[..., 0], edges)
    with pytest.raises(ValueError, match=r"edge_map takes uint8 images .*float32"):
        edge_map(image.astype("float32"))


def test_a_negative_is_its_own_inverse():
    image = np.array([[[0, 17], [200, 255]]], np.uint8)
    np.testing.assert_array_equal(negative(image), [[[255, 238], [55, 0]]])
    np.testing.assert_array_equal(negative(negative(image)), image)
    assert set(TRANSFORMS) == {"edges", "negative"}


# -- the MNIST domains --------------------------------------------------------------------


@pytest.fixture
def indexed_npz(tmp_path):
    path = tmp_path / "digits.npz"
    images = indexed_images(21, size=28)[..., 0]  # Keras' layout: (N, 28, 28)
    np.savez(path, x_train=images, y_train=np.arange(21), x_test=images[:3], y_test=np.arange(3))
    return path


def test_the_domains_are_disjoint_halves_with_their_labels(indexed_npz):
    (images_a, labels_a), (images_b, labels_b) = mnist_domains(indexed_npz, pair="negative")
    assert images_a.shape == (10, 28, 28, 1) and images_b.shape == (11, 28, 28, 1)
    assert images_a.dtype == images_b.dtype == np.uint8
    found_a, found_b = indices(images_a), indices(negative(images_b))
    np.testing.assert_array_equal(found_a, labels_a)  # each label stays with its image
    np.testing.assert_array_equal(found_b, labels_b)
    assert not set(found_a) & set(found_b) and set(found_a) | set(found_b) == set(range(21))
    assert sorted(found_a) != list(range(10))  # shuffled, not cut in order
    # The seed draws the halves, the same each time; the split picks the arrays.
    again, other = mnist_domains(indexed_npz, "negative"), mnist_domains(indexed_npz, "negative", 1)
    np.testing.assert_array_equal(again[0][1], labels_a)
    assert set(other[0][1]) != set(labels_a)
    assert len(mnist_domains(indexed_npz, split="test")[0][0]) == 1


def test_edges_make_domain_b_and_arrays_are_sources_too():
    digits = np.zeros((4, 28, 28), np.uint8)
    digits[:, 10:18, 10:18] = 255
    labels = np.arange(4)
    (images_a, _), (images_b, labels_b) = mnist_domains((digits, labels), pair="edges")
    np.testing.assert_array_equal(images_a, digits[:2, ..., None])
    np.testing.assert_array_equal(images_b, edge_map(digits[labels_b][..., None]))
    # Floats in [0, 1] read as 0..255.
    (floats, _), _ = mnist_domains((digits / 255.0, labels), pair="edges")
    np.testing.assert_array_equal(floats, images_a)


def test_bad_sources_fail_with_the_fix(tmp_path, indexed_npz):
    with pytest.raises(ValueError, match=r"pair must be one of \['edges', 'negative'\]"):
        mnist_domains(indexed_npz, pair="sketch")
    np.savez(tmp_path / "unlabelled.npz", x_train=indexed_images(4))
    with pytest.raises(ValueError, match="no label array 'y_train'"):
        mnist_domains(tmp_path / "unlabelled.npz")
    with pytest.raises(ValueError, match="needs labels"):
        mnist_domains((indexed_images(4), None))


# -- unpaired batches -------------------------------------------------------------------------


def pairs_of_one_epoch(a, b, **kwargs):
    ds = data.unpaired_dataset(a, b, image_size=8, channels=1, batch_size=8, jitter=False,
                               flip=False, **kwargs)
    batches = [(indices(x.numpy()), indices(y.numpy())) for x, y in ds]
    return np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])


def test_unpaired_batches_shuffle_the_domains_apart(tmp_path):
    """The same 64 images as both domains: each domain comes in its own
    order, so the batches pair no image with itself beyond chance; from
    arrays, .npz files and folders alike."""
    from PIL import Image

    images = indexed_images(64)
    np.savez(tmp_path / "images.npz", x_train=images)
    (tmp_path / "folder").mkdir()
    for i, image in enumerate(images):
        Image.fromarray(image[..., 0]).save(tmp_path / "folder" / f"{i}.png")
    for source in (images, str(tmp_path / "images.npz"), str(tmp_path / "folder")):
        order_a, order_b = pairs_of_one_epoch(source, source, seed=0)
        assert sorted(order_a) == sorted(order_b) == list(range(64)), source
        assert np.mean(order_a == order_b) < 0.1, (source, order_a, order_b)
        assert np.mean(order_a == np.arange(64)) < 0.1  # shuffled, not in order
    # A seed repeats both orders; another seed draws others.
    first = pairs_of_one_epoch(images, images, seed=0)
    np.testing.assert_array_equal(np.stack(pairs_of_one_epoch(images, images, seed=0)), first)
    assert not np.array_equal(np.stack(pairs_of_one_epoch(images, images, seed=1)), first)
