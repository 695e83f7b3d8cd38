"""Tests for keras_gans.data.tfds: TFDS names, loading (mock data) and the
errors before or of a download."""

import sys

import numpy as np
import pytest

from data_helpers import collect
from keras_gans import data


def test_unknown_tfds_name():
    with pytest.raises(ValueError, match=r"'no_such_dataset_xyz'.*tfds.list_builders"):
        data.image_dataset("no_such_dataset_xyz")


def test_tfds_download_failure(tmp_path, monkeypatch):
    # A real attempt offline retries for minutes, so make it fail at once.
    import requests
    import tensorflow_datasets as tfds

    def offline(self, *args, **kwargs):
        raise requests.exceptions.ConnectionError("Failed to resolve 'storage.googleapis.com'")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", offline)
    with pytest.raises(data.DatasetDownloadError) as info:
        data.image_dataset("mnist", data_dir=tmp_path)
    message = str(info.value)
    assert "'mnist'" in message and "offline" in message and "data_dir" in message
    assert isinstance(info.value, RuntimeError)
    assert isinstance(info.value.__cause__, requests.exceptions.ConnectionError)

    with pytest.raises(data.DatasetDownloadError, match="not prepared.*download=False"):
        data.image_dataset("mnist", data_dir=tmp_path, download=False)


def test_tfds_errors_before_download(tmp_path):
    with pytest.raises(ValueError, match="'celeb_a' has no labels"):
        data.image_dataset("celeb_a", data_dir=tmp_path, with_labels=True)
    with pytest.raises(ValueError, match="no feature 'picture'"):
        data.image_dataset("mnist", data_dir=tmp_path, image_key="picture")


def test_tfds_pipeline_with_mock_data(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        ds = data.image_dataset("mnist", 16, batch_size=4, with_labels=True, data_dir=tmp_path)
        images, labels = collect(ds)
    assert images.shape == (12, 16, 16, 3) and labels.dtype == np.int32
    assert images.min() >= -1 and images.max() <= 1
    # mnist is grayscale, so the three channels are equal.
    np.testing.assert_allclose(images[..., 0], images[..., 2])


def test_mistyped_folder_without_tfds_names_the_path(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # not installed
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        data.image_dataset("flowers")
    assert str(info.value) == ("No such file or folder: flowers (if you meant the TFDS "
                               "dataset 'flowers': pip install tensorflow-datasets)")


def test_unpaired_from_tfds_cycle_gan(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=3):  # splits trainA, trainB, ...
        ds = data.unpaired_dataset("cycle_gan/horse2zebra", image_size=16, data_dir=tmp_path)
        pairs = list(ds)
    assert len(pairs) == 3 and pairs[0][1].shape == (1, 16, 16, 3)
