"""The scripts in scripts/, run as subprocesses on tiny data.

Each subprocess pays the TensorFlow import (5-10 s), so the runs are few and
shared through module fixtures; argument errors and --help are checked in
process. XLA is off (--no-jit): for 2-step runs its compile time dominates.
"""

import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
TINY = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8", "--no-jit"]
TINY_DCGAN = ["--image-size", "32", "--generator-width", "8", "--discriminator-width", "8"]

# TensorFlow's C++ start-up lines (written before logging is configured, so
# TF_CPP_MIN_LOG_LEVEL cannot silence them) and absl's Python warnings.
_NOISE = re.compile(r"^(WARNING: All log messages before absl|[IWE]\d{4} |WARNING:absl:)")


def run(script, *args, check=True):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"}
    env.pop("KERAS_GANS_TRACEBACK", None)
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / script), *map(str, args)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    if check and result.returncode != 0:
        pytest.fail(f"{script} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def user_lines(stderr):
    return [line for line in stderr.splitlines() if line.strip() and not _NOISE.match(line)]


def load_script(name):
    spec = importlib.util.spec_from_file_location(name.replace(".py", ""), SCRIPTS / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def png_size(path):
    from PIL import Image

    with Image.open(path) as image:
        return image.size


def grid_side(n_per_side, image, padding=2):
    return n_per_side * (image + padding) + padding


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    from PIL import Image

    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for name in ("daisy", "rose"):
        (root / name).mkdir()
        for i in range(20):
            pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.jpg")
    return root


@pytest.fixture(scope="module")
def tiny_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("mnist") / "mnist.npz"
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 28, 28), dtype=np.uint8)
    np.savez(path, x_train=x, y_train=np.arange(64) % 10)
    return path


@pytest.fixture(scope="module")
def dcgan_run(tiny_folder, tmp_path_factory):
    base = tmp_path_factory.mktemp("dcgan")
    out, export = base / "run", base / "saved_models" / "plants" / "1"
    result = run(
        "train_dcgan_plants.py", "--data", tiny_folder, *TINY, *TINY_DCGAN,
        "--seed", "1", "--out", out, "--export", export,
    )
    return out, export, result


@pytest.fixture(scope="module")
def mnist_run(tiny_npz, tmp_path_factory):
    base = tmp_path_factory.mktemp("mnist_run")
    out, export = base / "run", base / "saved_models" / "mnist" / "1"
    result = run(
        "train_gan_mnist.py", "--data", tiny_npz, *TINY, "--loss", "minimax",
        "--out", out, "--export", export,
    )
    return out, export, result


def check_run_folder(out, export, result, epochs=1):
    for name in [f"epoch_{e:04d}.png" for e in range(1, epochs + 1)] + ["final.png"]:
        assert (out / "samples" / name).is_file(), name
    for name in ("losses.png", "checkpoints/last.keras", "log.csv"):
        assert (out / name).is_file(), name
    assert (export / "saved_model.pb").is_file()
    assert "Traceback" not in result.stderr
    for part in ("Outputs:", "samples", "losses.png", "last.keras", "log.csv", str(export)):
        assert part in result.stdout


def log_epochs(out):
    rows = (out / "log.csv").read_text().splitlines()[1:]
    return [int(row.split(",")[0]) for row in rows]


# -- training -------------------------------------------------------------------


def test_train_dcgan_plants_writes_the_run_folder(dcgan_run):
    out, export, result = dcgan_run
    check_run_folder(out, export, result)
    assert log_epochs(out) == [0]
    # Not a TTY: one line per epoch, no progress bar redraws.
    assert "\r" not in result.stdout and "2/2" in result.stdout
    # 64 samples of 32x32 in an 8x8 grid.
    assert png_size(out / "samples" / "final.png") == (grid_side(8, 32),) * 2


def test_train_dcgan_plants_resume_continues(dcgan_run, tiny_folder, tmp_path):
    import keras

    source, _, _ = dcgan_run
    out = tmp_path / "run"
    shutil.copytree(source, out)
    result = run(
        "train_dcgan_plants.py", "--data", tiny_folder, *TINY_DCGAN, *TINY[2:],
        "--epochs", "3", "--out", out, "--no-export", "--resume",
    )
    assert "Resuming" in result.stdout and "epoch 2 of 3" in result.stdout
    assert log_epochs(out) == [0, 1, 2]
    assert (out / "samples" / "epoch_0003.png").is_file()
    gan = keras.models.load_model(out / "checkpoints" / "last.keras")
    # 3 epochs x 2 steps; the plant DCGAN updates G twice per step.
    assert int(gan.d_optimizer.iterations) == 6
    assert int(gan.g_optimizer.iterations) == 12
    assert gan.g_steps == 2 and gan.jit_compile is False


def test_train_dcgan_plants_resume_when_done(dcgan_run, tiny_folder, tmp_path, capsys):
    from keras_gans import cli

    source, _, _ = dcgan_run
    out = tmp_path / "run"
    shutil.copytree(source, out)
    args = ["--data", tiny_folder, *TINY_DCGAN, *TINY, "--out", out, "--no-export", "--resume"]
    with pytest.raises(SystemExit) as info:
        cli.run_main(load_script("train_dcgan_plants.py").main, [str(a) for a in args])
    assert info.value.code == 0
    assert "trained 1 epochs already; raise --epochs" in capsys.readouterr().out
    assert log_epochs(out) == [0]


def test_train_gan_mnist_writes_the_run_folder(mnist_run):
    out, export, result = mnist_run
    check_run_folder(out, export, result)
    assert log_epochs(out) == [0]
    assert png_size(out / "samples" / "final.png") == (grid_side(8, 28),) * 2


# -- sampling and export --------------------------------------------------------


def test_sample_from_keras_checkpoint(dcgan_run, tmp_path):
    out, _, _ = dcgan_run
    grid = tmp_path / "grid.png"
    result = run(
        "sample.py", "--model", out / "checkpoints" / "last.keras", "--num-samples", "6",
        "--ncols", "3", "--seed", "2", "--out", grid,
    )
    assert png_size(grid) == (grid_side(3, 32), grid_side(2, 32))
    assert "6 samples of 32x32" in result.stdout


def test_sample_from_saved_model(mnist_run, tmp_path):
    _, export, _ = mnist_run
    grid = tmp_path / "grid.png"
    # The TF Serving model folder: its highest version is used.
    result = run("sample.py", "--model", export.parent, "--num-samples", "16", "--out", grid)
    assert png_size(grid) == (grid_side(4, 28),) * 2
    assert str(export) in result.stdout


def test_export_generator(mnist_run, tmp_path):
    out, _, _ = mnist_run
    target = tmp_path / "saved_models" / "digits" / "7"
    result = run("export_generator.py", "--model", out, "--out", target)
    assert (target / "saved_model.pb").is_file()
    assert "sample(num_samples: int32[], seed: int32[]) -> images: uint8[?,28,28,1]" in result.stdout
    assert "serving_default(z: float32[?,100]) -> images: uint8[?,28,28,1]" in result.stdout
    assert f"-v {target.parent}:/models/digits -e MODEL_NAME=digits tensorflow/serving" in result.stdout
    assert "/v1/models/digits:predict" in result.stdout

    import tensorflow as tf

    images = tf.saved_model.load(str(target)).signatures["sample"](
        num_samples=tf.constant(3), seed=tf.constant(0)
    )["images"]
    assert images.shape == (3, 28, 28, 1) and images.dtype == tf.uint8


# -- errors: one line on stderr, no traceback -------------------------------------


def test_data_error_is_one_line_in_a_subprocess(tmp_path):
    # The rest of the error cases run in process (below), through the same
    # run_main, without paying a TensorFlow import each.
    missing = tmp_path / "missing"
    result = run("train_dcgan_plants.py", "--data", missing, "--out", tmp_path / "run", check=False)
    assert result.returncode == 2
    lines = user_lines(result.stderr)
    assert lines == [f"train_dcgan_plants.py: error: No such file or folder: {missing}"], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "script, args, message",
    [
        ("train_dcgan_plants.py", ["--image-size", "abc"], "argument --image-size"),
        ("train_dcgan_plants.py", ["--epochs", "0"], "argument --epochs"),
        ("train_dcgan_plants.py", ["--export", "saved_models/plants"], "integer version"),
        ("train_dcgan_plants.py", ["--loss", "wasserstein"], "argument --loss"),
        ("train_gan_mnist.py", ["--batch-size", "-1"], "argument --batch-size"),
        ("sample.py", [], "--model"),
        ("sample.py", ["--model", "m.keras", "--labels", "a,b"], "argument --labels"),
        ("export_generator.py", ["--model", "m.keras", "--out", "x/latest"], "integer version"),
    ],
)
def test_bad_arguments_are_one_line(script, args, message, capsys):
    from keras_gans import cli

    with pytest.raises(SystemExit) as info:
        cli.run_main(load_script(script).main, args, script)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{script}: error: ") and message in err


def test_runtime_errors_are_one_line(tiny_folder, dcgan_run, capsys, tmp_path, monkeypatch):
    from keras_gans import cli

    monkeypatch.delenv("KERAS_GANS_TRACEBACK", raising=False)
    import requests
    import tensorflow_datasets as tfds

    def offline(self, *args, **kwargs):  # as a machine without network fails, at once
        raise requests.exceptions.ConnectionError("Failed to resolve 'storage.googleapis.com'")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", offline)
    out, export, _ = dcgan_run
    cases = [
        # TFDS download failures (offline here) name the dataset.
        ("train_dcgan_plants.py", ["--data-dir", tmp_path / "tfds", *TINY_DCGAN,
                                   "--out", tmp_path / "r1"], "'tf_flowers'"),
        ("train_gan_mnist.py", ["--data", "no_such_dataset_xyz", "--out", tmp_path / "r3"],
         "'no_such_dataset_xyz' is neither an existing file or folder nor a TensorFlow Datasets"),
        ("train_dcgan_plants.py", ["--data", tiny_folder, "--image-size", "30"], "image size"),
        ("train_dcgan_plants.py", ["--data", tiny_folder, *TINY_DCGAN, "--out", out],
         "already holds a run"),
        ("train_dcgan_plants.py", ["--data", tiny_folder, "--out", tmp_path / "r2", "--resume"],
         "no checkpoint"),
        ("train_dcgan_plants.py", ["--data", tiny_folder, "--out", out, "--resume"],
         "--image-size 32"),
        ("sample.py", ["--model", tmp_path / "none.keras"], "No such model"),
        ("sample.py", ["--model", export, "--labels", "1,2"], "not conditional"),
        ("export_generator.py", ["--model", export, "--out", tmp_path / "e" / "1"],
         "already a SavedModel"),
        ("export_generator.py", ["--model", out, "--out", export], "--overwrite"),
    ]
    for script, args, message in cases:
        with pytest.raises(SystemExit) as info:
            cli.run_main(load_script(script).main, [str(a) for a in args], script)
        err = capsys.readouterr().err
        assert info.value.code == 2, (script, args, err)
        lines = user_lines(err)
        assert len(lines) == 1 and lines[0].startswith(f"{script}: error: "), (args, err)
        assert message in lines[0], (args, err)


# -- --help ------------------------------------------------------------------------

COMMON = ["--epochs", "--batch-size", "--steps-per-epoch", "--d-steps", "--g-steps", "--lr",
          "--beta1", "--loss", "--seed", "--out", "--resume", "--overwrite", "--export",
          "--no-export", "--jit", "--no-jit", "--data-dir"]
FLAGS = {
    "train_dcgan_plants.py": ["--data", "--image-size", "--channels", "--latent-dim",
                              "--generator-width", "--discriminator-width", "--flip",
                              "--no-flip", *COMMON],
    "train_gan_mnist.py": ["--data", "--latent-dim", *COMMON],
    "sample.py": ["--model", "--num-samples", "--seed", "--out", "--ncols", "--labels"],
    "export_generator.py": ["--model", "--out", "--overwrite"],
}


@pytest.mark.parametrize("script", sorted(FLAGS))
def test_help_mentions_every_flag(script, capsys):
    module = load_script(script)
    with pytest.raises(SystemExit) as info:
        module.main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    options = {o for a in module.build_parser()._actions for o in a.option_strings} - {"-h", "--help"}
    assert options == set(FLAGS[script])
    for flag in FLAGS[script]:
        assert re.search(rf"{re.escape(flag)}\b", text), flag


# -- the real data -------------------------------------------------------------------


def test_train_dcgan_plants_on_real_flowers(data_root, tmp_path):
    folder = data_root / "flowers128"
    if not folder.is_dir():
        pytest.skip(f"no {folder}")
    out, export = tmp_path / "run", tmp_path / "saved_models" / "plants" / "1"
    result = run(
        "train_dcgan_plants.py", "--data", folder, "--image-size", "32", "--epochs", "1",
        "--steps-per-epoch", "3", "--no-jit", "--out", out, "--export", export,
    )
    check_run_folder(out, export, result)
    assert "3/3" in result.stdout
