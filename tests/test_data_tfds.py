"""Tests for keras_gans.data.tfds: TFDS names, loading (mock data), the
errors before a download, and failing fast when the download hosts cannot
be reached."""

import os
import pathlib
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from data_helpers import collect
from keras_gans import data
from keras_gans.data import tfds as data_tfds

SCRIPTS = pathlib.Path(__file__).resolve().parent.parent / "scripts"


@pytest.fixture
def online(monkeypatch):
    """The download hosts answer the probe, as on a machine with network (for
    tests that stand in for TFDS' download or data)."""
    monkeypatch.setattr(data_tfds, "probe_connection", lambda addresses, timeout=None: None)


def test_unknown_tfds_name():
    with pytest.raises(ValueError, match=r"'no_such_dataset_xyz'.*tfds.list_builders"):
        data.image_dataset("no_such_dataset_xyz")


def test_tfds_download_failure(tmp_path, monkeypatch, online):
    # Past the probe, a download that fails (at once here) says why.
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


def test_tfds_pipeline_with_mock_data(tmp_path, online):
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


def test_unpaired_from_tfds_cycle_gan(tmp_path, online):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=3):  # splits trainA, trainB, ...
        ds = data.unpaired_dataset("cycle_gan/horse2zebra", image_size=16, data_dir=tmp_path)
        pairs = list(ds)
    assert len(pairs) == 3 and pairs[0][1].shape == (1, 16, 16, 3)


# -- failing fast offline ---------------------------------------------------------


def flowers_hosts_unreachable():
    """tf_flowers' download hosts as the error names them ("host:port, ...");
    skips the test where they answer: the real offline checks below would
    download it there."""
    import tensorflow_datasets as tfds

    addresses = data_tfds.download_addresses(tfds.builder("tf_flowers"))
    if data_tfds.probe_connection(addresses) is None:
        pytest.skip(f"{addresses} reachable: this checks a machine without network")
    return ", ".join(f"{host}:{port}" for host, port in addresses)


def test_offline_download_fails_at_the_probe(tmp_path, monkeypatch):
    # The network really is absent here: the probe, not TFDS' minutes of
    # retries, decides, and no download starts.
    import tensorflow_datasets as tfds

    hosts = flowers_hosts_unreachable()  # download.tensorflow.org:80, storage.googleapis.com:443
    downloads = []
    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare",
                        lambda self, *args, **kwargs: downloads.append(self.name))
    for load in (lambda: data.image_dataset("tf_flowers", data_dir=tmp_path),
                 lambda: data.unpaired_dataset("tf_flowers", "tf_flowers", data_dir=tmp_path)):
        with pytest.raises(data.DatasetDownloadError) as info:
            load()
        message = str(info.value)
        assert message.startswith(
            f"The download of TFDS dataset 'tf_flowers' failed (cannot reach {hosts}: ")
        assert "offline" in message and "data_dir=" in message and "\n" not in message
        assert isinstance(info.value.__cause__, OSError)
    assert downloads == []


@pytest.mark.single_backend
def test_offline_script_exits_2_with_one_line(tmp_path):
    # train_dcgan_plants.py's default --data is tf_flowers; TFDS_DATA_DIR keeps
    # ~/tensorflow_datasets out of it.
    hosts = flowers_hosts_unreachable()
    env = {**os.environ, "TFDS_DATA_DIR": str(tmp_path / "tfds"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("KERAS_GANS_TRACEBACK", None)
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "train_dcgan_plants.py"), "--epochs", "1",
         "--steps-per-epoch", "1", "--batch-size", "8", "--image-size", "32", "--no-export",
         "--out", str(tmp_path / "run")],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("train_dcgan_plants.py")] == lines[-1:]
    assert lines[-1].startswith("train_dcgan_plants.py: error: The download of TFDS dataset "
                                f"'tf_flowers' failed (cannot reach {hosts}: ")


@pytest.fixture(scope="module")
def prepared_tfds(tmp_path_factory):
    """A tiny TFDS dataset prepared in its own data_dir (no network needed):
    4 solid 8x8 images, grey levels 0, 60, 120, 180, labels 0, 1, 0, 1."""
    import tensorflow_datasets as tfds

    class KerasGansTestSquares(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(8, 8, 3)),
                "label": tfds.features.ClassLabel(num_classes=2),
            }))

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples()}

        def _generate_examples(self):
            for i in range(4):
                yield i, {"image": np.full((8, 8, 3), 60 * i, np.uint8), "label": i % 2}

    data_dir = tmp_path_factory.mktemp("tfds")
    KerasGansTestSquares(data_dir=data_dir).download_and_prepare()
    return "keras_gans_test_squares", data_dir


def test_a_prepared_dataset_loads_without_a_probe(prepared_tfds, monkeypatch):
    def probe(*args, **kwargs):
        raise AssertionError("probed the network for a prepared dataset")

    monkeypatch.setattr(data_tfds, "probe_connection", probe)
    name, data_dir = prepared_tfds
    ds = data.image_dataset(name, 8, batch_size=4, with_labels=True, data_dir=data_dir,
                            dtype="uint8")
    images, labels = collect(ds)
    assert sorted(zip(images[:, 0, 0, 0].tolist(), labels.tolist())) == [
        (0, 0), (60, 1), (120, 0), (180, 1)]


def test_download_addresses_are_the_dataset_hosts_or_the_proxy(monkeypatch):
    import tensorflow_datasets as tfds

    for variable in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.delenv(variable.upper(), raising=False)
    flowers = tfds.builder("tf_flowers")  # http://download.tensorflow.org/...
    assert data_tfds.download_addresses(flowers) == [
        ("download.tensorflow.org", 80), ("storage.googleapis.com", 443)]
    # Behind a proxy the proxy is what must answer, but not for hosts it is bypassed for.
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("HTTPS_PROXY", "proxy.example:3129")
    monkeypatch.setenv("NO_PROXY", "download.tensorflow.org")
    assert data_tfds.download_addresses(flowers) == [
        ("download.tensorflow.org", 80), ("proxy.example", 3129)]


def test_probe_connection_answers_as_soon_as_one_host_does(monkeypatch):
    with socket.create_server(("127.0.0.1", 0)) as server, socket.socket() as closed:
        listening = server.getsockname()
        closed.bind(("127.0.0.1", 0))  # a port that nobody listens on
        refused = closed.getsockname()
        assert data_tfds.probe_connection([refused, listening]) is None
        assert isinstance(data_tfds.probe_connection([refused]), ConnectionRefusedError)

    def hang(address, timeout=None):  # a resolver that answers too late
        time.sleep(1)
        raise socket.gaierror("answered after the deadline")

    monkeypatch.setattr(socket, "create_connection", hang)
    assert isinstance(data_tfds.probe_connection([listening], timeout=0.1), TimeoutError)


def test_is_tfds_name():
    assert all(map(data.is_tfds_name, ["mnist", "cycle_gan/horse2zebra", "mnist:3.*.*"]))
    assert not any(map(data.is_tfds_name, ["Flowers", "./mnist", "my photos", ""]))
