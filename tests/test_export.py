"""SavedModel export, checked from a process that imports only TensorFlow."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import keras_gans as kg
from helpers import JIT
from keras_gans import export
from keras_gans.images import to_uint8


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    gan = kg.DCGAN(image_size=16, channels=3, latent_dim=8, generator_width=4, discriminator_width=4, seed=0)
    gan.compile(jit_compile=JIT)
    x = np.random.default_rng(0).uniform(-1, 1, (32, 16, 16, 3)).astype("float32")
    gan.fit(x, batch_size=16, epochs=1, verbose=0)  # non-trivial BatchNorm statistics
    path = tmp_path_factory.mktemp("saved_models") / "tiny_dcgan" / "1"
    export.export_generator(gan, path, max_samples=6)
    return gan, path


CLIENT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    assert "keras_gans" not in sys.modules
    m = tf.saved_model.load(sys.argv[1])
    z = np.load(sys.argv[2])
    out = m.signatures["serving_default"](z=tf.constant(z))["images"]
    s1 = m.signatures["sample"](num_samples=tf.constant(3), seed=tf.constant(11))["images"]
    s2 = m.signatures["sample"](num_samples=tf.constant(3), seed=tf.constant(11))["images"]
    s3 = m.signatures["sample"](num_samples=tf.constant(3), seed=tf.constant(12))["images"]
    empty = m.signatures["serving_default"](z=tf.zeros([0, z.shape[1]]))["images"]
    none = m.signatures["sample"](num_samples=tf.constant(0), seed=tf.constant(0))["images"]
    try:
        m.signatures["sample"](num_samples=tf.constant(7), seed=tf.constant(0))
        too_many = "no error"
    except tf.errors.InvalidArgumentError as e:
        too_many = e.message
    np.save(sys.argv[3], out.numpy())
    print(json.dumps({
        "signatures": sorted(m.signatures.keys()),
        "dtype": out.dtype.name, "shape": out.shape.as_list(),
        "sample_shape": s1.shape.as_list(),
        "deterministic": bool(np.array_equal(s1.numpy(), s2.numpy())),
        "seed_matters": not bool(np.array_equal(s1.numpy(), s3.numpy())),
        "empty_shapes": [empty.shape.as_list(), none.shape.as_list()],
        "too_many": too_many,
    }))
    """
)


def test_signatures_from_a_tensorflow_only_process(exported, tmp_path):
    gan, path = exported
    z = np.random.default_rng(1).normal(size=(5, 8)).astype("float32")
    np.save(tmp_path / "z.npy", z)
    result = subprocess.run(
        [sys.executable, "-c", CLIENT, str(path), str(tmp_path / "z.npy"), str(tmp_path / "out.npy")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"serving_default", "sample"} <= set(info["signatures"])
    assert info["dtype"] == "uint8" and info["shape"] == [5, 16, 16, 3]
    assert info["sample_shape"] == [3, 16, 16, 3]
    assert info["deterministic"] and info["seed_matters"]
    assert info["empty_shapes"] == [[0, 16, 16, 3]] * 2  # an empty request, from any backend
    assert "at most 6 images per call" in info["too_many"]  # max_samples=6 below
    served = np.load(tmp_path / "out.npy").astype(int)
    in_memory = to_uint8(gan.generate(z=z)).astype(int)
    assert np.abs(served - in_memory).max() <= 1


def test_saved_model_cli_lists_both_signatures(exported):
    _, path = exported
    cli = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show", "--dir", str(path), "--all"]
    result = subprocess.run(cli, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "signature_def['serving_default']" in result.stdout
    assert "signature_def['sample']" in result.stdout
    assert "DT_UINT8" in result.stdout


def test_layout_and_version_check(exported, tmp_path):
    gan, path = exported
    assert (path / "saved_model.pb").exists() and (path / "variables").is_dir()
    with pytest.raises(ValueError, match="integer version"):
        export.export_generator(gan, tmp_path / "tiny_dcgan")
    with pytest.raises(FileExistsError, match="bump the version"):
        export.export_generator(gan, path, overwrite=False)
    with pytest.raises(FileNotFoundError):
        export.load_generator(tmp_path / "nothing" / "1")


@pytest.mark.single_backend  # file handling; from torch the write runs in another process
def test_a_failed_overwrite_keeps_the_served_export(exported, monkeypatch):
    gan, path = exported
    before = sorted(p.name for p in path.iterdir())

    def broken_write_out(self, filepath, verbose=None):
        os.makedirs(filepath)  # a half-written export
        raise OSError("disk full")

    # ExportArchive() builds the backend's own archive class: patch that one.
    monkeypatch.setattr(type(keras.export.ExportArchive()), "write_out", broken_write_out)
    with pytest.raises(OSError, match="disk full"):
        export.export_generator(gan, path)
    assert sorted(p.name for p in path.iterdir()) == before and (path / "saved_model.pb").exists()
    assert [p.name for p in path.parent.iterdir()] == ["1"]  # no staging folder left behind


class PairGAN(kg.GAN):
    """A generator with two outputs, as CoGAN's (one image per domain)."""

    @property
    def image_names(self):
        return ("images_a", "images_b")


PAIR_CLIENT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tensorflow as tf
    m = tf.saved_model.load(sys.argv[1])
    z = tf.constant(np.load(sys.argv[2]))
    out = m.signatures["serving_default"](z=z)
    drawn = m.signatures["sample"](num_samples=tf.constant(2), seed=tf.constant(0))
    assert sorted(out) == sorted(drawn) == ["images_a", "images_b"], (sorted(out), sorted(drawn))
    np.savez(sys.argv[3], **{k: v.numpy() for k, v in out.items()})
    """
)


@pytest.mark.skipif(keras.backend.backend() == "torch", reason="torch exports reload the model in "
                    "a TensorFlow process, which cannot import this test's class")
def test_a_generator_with_several_outputs_generates_and_exports_each(tmp_path):
    z_in = keras.Input((4,))
    trunk = keras.layers.Dense(12, activation="relu")(z_in)
    heads = [keras.layers.Reshape((2, 2, 3))(keras.layers.Dense(12, activation="tanh")(trunk))
             for _ in range(2)]
    generator = keras.Model(z_in, heads)
    critic = keras.Sequential([keras.Input((2, 2, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
    gan = PairGAN(generator, critic, seed=0)
    z = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    a, b = gan.generate(z=z, batch_size=2)  # batches joined per output
    assert a.shape == b.shape == (3, 2, 2, 3) and not np.allclose(a, b)
    path = export.export_generator(gan, tmp_path / "pair" / "1")
    np.save(tmp_path / "z.npy", z)
    result = subprocess.run([sys.executable, "-c", PAIR_CLIENT, str(path), str(tmp_path / "z.npy"),
                             str(tmp_path / "out.npz")], capture_output=True, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    out = np.load(tmp_path / "out.npz")
    np.testing.assert_array_equal(out["images_a"], to_uint8(a))
    np.testing.assert_array_equal(out["images_b"], to_uint8(b))
