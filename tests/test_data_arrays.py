"""Tests for keras_gans.data.arrays: image arrays and .npz files as sources,
their value ranges, and the errors for badly shaped arrays."""

import numpy as np
import pytest

from data_helpers import collect
from keras_gans import data


def test_uint8_grayscale_array():
    x = np.zeros((10, 28, 28), np.uint8)
    x[5:] = 255
    (images,) = collect(data.image_dataset(x, 28, channels=1, batch_size=5, shuffle=False))
    assert images.shape == (10, 28, 28, 1) and images.dtype == np.float32
    np.testing.assert_allclose(images[:5], -1.0)
    np.testing.assert_allclose(images[5:], 1.0)
    (images,) = collect(data.image_dataset(x, 32, channels=3, batch_size=5))
    assert images.shape == (10, 32, 32, 3)


@pytest.mark.parametrize("low, high", [(0.0, 1.0), (-1.0, 1.0)])
def test_float_arrays(low, high):
    x = np.linspace(low, high, 6 * 8 * 8 * 3).reshape(6, 8, 8, 3).astype(np.float64)
    (images,) = collect(data.image_dataset(x, 8, batch_size=6, shuffle=False))
    expected = (x - low) / (high - low) * 2 - 1
    np.testing.assert_allclose(images, expected, atol=1e-5)


def test_arrays_with_labels():
    x = np.random.default_rng(0).integers(0, 256, (12, 8, 8, 3), dtype=np.uint8)
    y = np.arange(12) % 3
    ds = data.image_dataset((x, y), 8, batch_size=4, with_labels=True, shuffle=False)
    assert int(ds.cardinality()) == 3
    images, labels = collect(ds)
    assert labels.tolist() == y.tolist() and labels.dtype == np.int32
    np.testing.assert_allclose(images, x / 127.5 - 1, atol=1e-6)
    with pytest.raises(ValueError, match=r"pass `\(x, y\)`"):
        data.image_dataset(x, with_labels=True)


@pytest.mark.parametrize(
    "source, match",
    [
        (np.zeros((10, 10), np.uint8), r"got shape \(10, 10\)"),
        (np.zeros((4, 3, 8, 8), np.uint8), "channels-first"),
        (np.array([["a"]]), "dtype <U1"),
        ((np.zeros((4, 8, 8), np.uint8), np.zeros(3, int)), r"shape \(4,\).*got shape \(3,\)"),
        ((np.zeros((4, 8, 8), np.uint8), np.zeros(4)), "float64"),
        (np.full((4, 8, 8), 300, np.int32), r"0\.\.255"),
    ],
)
def test_bad_arrays(source, match):
    with pytest.raises(ValueError, match=match):
        data.image_dataset(source, 8, batch_size=1, with_labels=isinstance(source, tuple))


def test_npz_files(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (8, 8, 8), dtype=np.uint8)
    y = np.arange(8)
    np.savez(tmp_path / "keras.npz", x_train=x, y_train=y, x_test=x[:4], y_test=y[:4])
    np.savez(tmp_path / "custom.npz", imgs=x, lbls=y)
    np.savez(tmp_path / "other.npz", meta=np.arange(3), pictures=x)

    def load(name, **kwargs):
        return collect(data.image_dataset(
            tmp_path / name, 8, channels=1, batch_size=4, shuffle=False, **kwargs
        ))

    images, labels = load("keras.npz", with_labels=True)
    assert images.shape == (8, 8, 8, 1) and labels.tolist() == y.tolist()
    images, labels = load("keras.npz", with_labels=True, split="test")
    assert labels.tolist() == [0, 1, 2, 3]
    images, labels = load("custom.npz", with_labels=True, image_key="imgs", label_key="lbls")
    assert labels.tolist() == y.tolist()
    (images,) = load("other.npz")  # no x_train: the first 3-D array
    np.testing.assert_allclose(images[..., 0], x / 127.5 - 1, atol=1e-6)

    with pytest.raises(ValueError, match=r"no label array 'y_train'.*imgs \(8, 8, 8\), lbls \(8,\)"):
        load("custom.npz", with_labels=True, image_key="imgs")
    with pytest.raises(ValueError, match=r"no array 'x_valid'.*x_train.*y_test"):
        load("keras.npz", split="valid")


# -- real data ($KERAS_GANS_DATA) ---------------------------------------------


def test_mnist_npz(data_root):
    path = data_root / "mnist" / "mnist.npz"
    ds = data.image_dataset(path, 28, channels=1, batch_size=1000, with_labels=True,
                            shuffle=False, cache=False)
    images, labels = collect(ds)
    assert images.shape == (60000, 28, 28, 1)
    assert labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    # The mean pixel of x_train is 33.3184 (see SOURCES.md).
    assert abs((images.mean() + 1) * 127.5 - 33.3184) < 1e-3
