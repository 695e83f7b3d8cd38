"""The scripts in scripts/, run as subprocesses on tiny data.

Each subprocess pays the TensorFlow import (5-10 s), so the runs are few and
shared through module fixtures; argument errors and --help are checked in
process. XLA is off (--no-jit): for 2-step runs its compile time dominates.
"""

import importlib.util
import json
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
TINY_CGAN = ["--width", "8", "--latent-dim", "16"]
# CycleGAN images are 128 or 256 px; few filters and one residual block keep
# a step cheap (tracing the four networks' step dominates: ~15 s on CPU).
TINY_CYCLEGAN = ["--image-size", "128", "--filters", "4", "--residual-blocks", "1",
                 "--pool-size", "2", "--grid-images", "2", "--epochs", "1",
                 "--steps-per-epoch", "1", "--no-jit"]

# TensorFlow's C++ log lines and absl's Python warnings, which the in-process
# runs below do not filter (the scripts do, as they load TensorFlow).
_NOISE = re.compile(r"^(WARNING: All log messages before absl|[IWE]\d{4} |WARNING:absl:)")


def run(script, *args, check=True, env=None):
    """Run a script as a user does: without the suite's TF_CPP_MIN_LOG_LEVEL."""
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", **(env or {})}
    for name in ("KERAS_GANS_TRACEBACK", "TF_CPP_MIN_LOG_LEVEL"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / script), *map(str, args)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    if check and result.returncode != 0:
        pytest.fail(f"{script} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def keras_backend():
    import keras

    return keras.backend.backend()


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


def write_images(root, folders, count, shape, suffix):
    """`count` random images of `shape` in each of `root`'s `folders`."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in folders:
        (root / name).mkdir()
        for i in range(count):
            pixels = rng.integers(0, 256, shape, dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}{suffix}")
    return root


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    return write_images(tmp_path_factory.mktemp("photos"), ("daisy", "rose"), 20, (32, 32, 3), ".jpg")


@pytest.fixture(scope="module")
def tiny_domains(tmp_path_factory):
    """A CycleGAN folder: trainA/ and trainB/, no test folders."""
    return write_images(
        tmp_path_factory.mktemp("domains"), ("trainA", "trainB"), 3, (40, 48, 3), ".png"
    )


@pytest.fixture(scope="module")
def tiny_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("mnist") / "mnist.npz"
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 28, 28), dtype=np.uint8)
    np.savez(path, x_train=x, y_train=np.arange(64) % 10)
    return path


def train_run(tmp_path_factory, script, model_name, *args):
    """Run a training script into a fresh run folder, exporting to
    saved_models/<model_name>/1. Returns `(out, export, result)`."""
    base = tmp_path_factory.mktemp(model_name)
    out, export = base / "run", base / "saved_models" / model_name / "1"
    return out, export, run(script, *args, "--out", out, "--export", export)


@pytest.fixture(scope="module")
def dcgan_run(tiny_folder, tmp_path_factory):
    return train_run(tmp_path_factory, "train_dcgan_plants.py", "plants",
                     "--data", tiny_folder, *TINY, *TINY_DCGAN, "--seed", "1")


@pytest.fixture(scope="module")
def mnist_run(tiny_npz, tmp_path_factory):
    return train_run(tmp_path_factory, "train_gan_mnist.py", "mnist",
                     "--data", tiny_npz, *TINY, "--loss", "minimax")


@pytest.fixture(scope="module")
def cgan_run(tiny_npz, tmp_path_factory):
    return train_run(tmp_path_factory, "train_cgan_mnist.py", "cgan",
                     "--data", tiny_npz, *TINY, *TINY_CGAN)


@pytest.fixture(scope="module")
def cyclegan_run(tiny_domains, tmp_path_factory):
    return train_run(tmp_path_factory, "train_cyclegan.py", "d2s",
                     "--data", tiny_domains, *TINY_CYCLEGAN)


def run_main(script, args):
    """`main` of `script` run in process by `errors.run_main`; its exit status."""
    from keras_gans.cli import errors

    with pytest.raises(SystemExit) as info:
        errors.run_main(load_script(script).main, [str(a) for a in args], script)
    return info.value.code


def assert_one_line_errors(cases, capsys):
    """Each `(script, args, message)` run in-process exits 2 with one line
    `<script>: error: ...` holding `message` on stderr."""
    for script, args, message in cases:
        status = run_main(script, args)
        err = capsys.readouterr().err
        assert status == 2, (script, args, err)
        lines = user_lines(err)
        assert len(lines) == 1 and lines[0].startswith(f"{script}: error: "), (args, err)
        assert message in lines[0], (args, err)

def assert_quiet(result):
    """No TensorFlow start-up chatter on stderr."""
    from keras_gans.cli import startup

    lines = result.stderr.splitlines(keepends=True)
    assert startup.user_lines(result.stderr) == lines, result.stderr


def check_run_folder(out, export, result, epochs=1):
    for name in [f"epoch_{e:04d}.png" for e in range(1, epochs + 1)] + ["final.png"]:
        assert (out / "samples" / name).is_file(), name
    for name in ("losses.png", "steps.csv", "checkpoints/last.keras", "checkpoints/last.json",
                 "log.csv", "config.json"):
        assert (out / name).is_file(), name
    assert (export / "saved_model.pb").is_file()
    assert "Traceback" not in result.stderr
    assert_quiet(result)
    for part in ("Outputs:", "samples", "losses.png", "last.keras", "log.csv", str(export)):
        assert part in result.stdout


def log_epochs(out):
    rows = (out / "log.csv").read_text().splitlines()[1:]
    return [int(row.split(",")[0]) for row in rows]


def logged_steps(out):
    rows = (out / "steps.csv").read_text().splitlines()[1:]
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

    import keras_gans  # noqa: F401  (registers the model classes for load_model)

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
    source, _, _ = dcgan_run
    out = tmp_path / "run"
    shutil.copytree(source, out)
    args = ["--data", tiny_folder, *TINY_DCGAN, *TINY, "--out", out, "--no-export", "--resume"]
    assert run_main("train_dcgan_plants.py", args) == 0
    assert "trained 1 epochs already; raise --epochs" in capsys.readouterr().out
    assert log_epochs(out) == [0]


def test_train_gan_mnist_writes_the_run_folder(mnist_run):
    out, export, result = mnist_run
    check_run_folder(out, export, result)
    assert log_epochs(out) == [0]
    # Issue 11: no val_* columns of NA only; the loss plot gets each step.
    assert (out / "log.csv").read_text().splitlines()[0] == "epoch,d_fake,d_loss,d_real,g_loss"
    assert (out / "steps.csv").read_text().splitlines()[0] == "step,epoch,d_fake,d_loss,d_real,g_loss"
    assert logged_steps(out) == [1, 2]
    # No --seed: one was drawn, and recorded for --resume.
    assert json.loads((out / "config.json").read_text())["seed"] == (
        json.loads((out / "checkpoints" / "last.json").read_text())["seed"])
    assert png_size(out / "samples" / "final.png") == (grid_side(8, 28),) * 2


def test_train_cgan_mnist_writes_the_run_folder(cgan_run):
    out, export, result = cgan_run
    check_run_folder(out, export, result)
    assert log_epochs(out) == [0]
    assert not (out / "checkpoint.keras").exists()  # the old layout
    # One row of 10 samples per class: 10 x 10 digits of 28x28.
    assert png_size(out / "samples" / "final.png") == (grid_side(10, 28),) * 2
    config = json.loads((out / "config.json").read_text())
    assert config["width"] == 8 and config["seed"] == 0 and config["strategy"] == "none"


def test_train_cgan_mnist_resume_continues(cgan_run, tiny_npz, tmp_path, capsys):
    import keras

    source, _, _ = cgan_run
    out = tmp_path / "run"
    shutil.copytree(source, out)
    args = ["--data", tiny_npz, *TINY_CGAN, *TINY[2:], "--epochs", "2", "--out", out,
            "--resume", "--verbose", "0"]
    assert run_main("train_cgan_mnist.py", args) == 0
    assert "Resuming" in capsys.readouterr().out
    assert log_epochs(out) == [0, 1]
    gan = keras.models.load_model(out / "checkpoints" / "last.keras")
    assert int(gan.d_optimizer.iterations) == 4 and gan.num_classes == 10


def test_train_cyclegan_writes_the_run_folder_and_translates(cyclegan_run, tiny_domains, tmp_path):
    out, export, result = cyclegan_run
    check_run_folder(out, export, result)
    assert log_epochs(out) == [0]
    # Rows a, G(a), F(G(a)) for 2 test images per domain: 3 columns, 4 rows.
    assert png_size(out / "samples" / "final.png") == (grid_side(3, 128), grid_side(4, 128))
    assert "cycle_loss" in (out / "log.csv").read_text().splitlines()[0]

    script = load_script("train_cyclegan.py")
    # From the run folder (its checkpoints/last.keras) and from the export.
    for model, direction in ((out, "a_to_b"), (export.parent, "b_to_a")):
        target = tmp_path / direction
        assert script.main(["--translate", str(tiny_domains / "trainA"), "--model", str(model),
                            "--output", str(target), "--direction", direction]) == 0
        assert sorted(os.listdir(target)) == ["0.png", "1.png", "2.png"]
        assert png_size(target / "0.png") == (128, 128)


def test_train_cyclegan_resume_when_done_and_for_more_epochs(cyclegan_run, tiny_domains, tmp_path,
                                                             capsys):
    import keras

    source, _, _ = cyclegan_run
    out = tmp_path / "run"
    shutil.copytree(source, out)
    args = ["--data", tiny_domains, *TINY_CYCLEGAN, "--out", out, "--resume"]
    assert run_main("train_cyclegan.py", args) == 0
    assert "trained 1 epochs already; raise --epochs" in capsys.readouterr().out
    assert log_epochs(out) == [0]
    # Raising --epochs redraws the learning-rate schedule for the new total
    # (the checkpoint's had decayed to zero at its last step).
    assert run_main("train_cyclegan.py", args + ["--epochs", "2", "--no-export"]) == 0
    assert "decays to zero over epochs 2-2 (--epochs 2)" in capsys.readouterr().out
    assert log_epochs(out) == [0, 1]
    gan = keras.models.load_model(out / "checkpoints" / "last.keras")
    assert gan.g_ab_optimizer._learning_rate.total_steps == 2


@pytest.mark.parametrize("script, run_fixture, args, seed", [
    ("train_dcgan_plants.py", "dcgan_run", [*TINY_DCGAN, "--seed", "3"], 3),
    ("train_gan_mnist.py", "mnist_run", ["--seed", "5"], 5),
    ("train_cgan_mnist.py", "cgan_run", TINY_CGAN, 0),  # --seed 0 by default
    ("train_cyclegan.py", "cyclegan_run", TINY_CYCLEGAN, 0),
])
def test_a_resumed_run_draws_another_data_seed(script, run_fixture, args, seed, request, tmp_path,
                                               monkeypatch):
    # Else it would replay epoch 0's shuffle and flips: an epoch's data is
    # drawn from the run's seed (the checkpoint's, on --resume) + the epoch.
    # The data is all the test needs: a stand-in for the data functions
    # records the seed, then stops.
    import keras_gans as kg

    class Stop(Exception):
        pass

    seeds = []

    def record(*args, seed=None, **kwargs):
        seeds.append(seed)
        raise Stop

    monkeypatch.setattr(kg.data, "image_dataset", record)
    monkeypatch.setattr(kg.data, "unpaired_dataset", record)
    out = tmp_path / "run"
    shutil.copytree(request.getfixturevalue(run_fixture)[0], out)
    run_seed = json.loads((out / "config.json").read_text())["seed"]
    main = load_script(script).main
    common = ["--data", str(tmp_path / "unused"), *TINY[2:], *args, "--epochs", "3", "--no-export"]
    for run_args in (["--out", str(tmp_path / "fresh")], ["--out", str(out), "--resume"]):
        with pytest.raises(Stop):
            main(common + run_args)
    assert seeds == [seed, run_seed + 1]


# -- --strategy -------------------------------------------------------------------


@pytest.mark.skipif(keras_backend() != "tensorflow", reason="tf.distribute")
def test_strategy_mirrored_builds_compiles_and_fits_in_the_scope(tiny_npz, tmp_path, capsys,
                                                                 monkeypatch):
    # MirroredStrategy on the one CPU: the same code path as several GPUs.
    import tensorflow as tf

    from keras_gans.cli import runner

    fits = []
    real_fit = runner._fit

    def spy(model, *args):
        # Keras records the strategy a model was built under (None outside one).
        fits.append({
            "built_under": type(model._distribute_strategy).__name__,
            "fit_under": type(tf.distribute.get_strategy()).__name__,
            "mirrored": all(isinstance(w.value, tf.distribute.DistributedValues)
                            for w in model.generator.weights),
        })
        return real_fit(model, *args)

    monkeypatch.setattr(runner, "_fit", spy)
    out = tmp_path / "run"
    base = ["--data", str(tiny_npz), "--steps-per-epoch", "1", "--batch-size", "8", "--no-jit",
            "--no-export", "--out", str(out), "--strategy", "mirrored", "--verbose", "0"]
    for extra in (["--epochs", "1"], ["--epochs", "2", "--resume"]):  # a resumed model too
        assert run_main("train_gan_mnist.py", base + extra) == 0, capsys.readouterr().err
    expected = {"built_under": "MirroredStrategy", "fit_under": "MirroredStrategy",
                "mirrored": True}
    assert fits == [expected, expected]
    assert "--strategy mirrored: 1 device(s), 8 image(s) each of a global batch of 8" in (
        capsys.readouterr().out
    )
    assert log_epochs(out) == [0, 1]
    state = json.loads((out / "checkpoints" / "last.json").read_text())
    assert (state["epochs"], state["step"]) == (2, 2)


@pytest.mark.parametrize(
    "script", ["train_dcgan_plants.py", "train_gan_mnist.py", "train_cgan_mnist.py",
               "train_cyclegan.py"],
)
def test_strategy_of_another_backend_is_one_line(script, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("KERAS_GANS_TRACEBACK", raising=False)
    # data_parallel on TensorFlow (the case run_tests.sh checks), mirrored on JAX.
    wrong, needs = ("mirrored", "tensorflow") if keras_backend() == "jax" else ("data_parallel", "jax")
    out = tmp_path / "run"
    assert run_main(script, ["--strategy", wrong, "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{script}: error: Strategy {wrong!r} ")
    assert f"needs KERAS_BACKEND={needs}" in err
    assert not out.exists()  # refused before any data, model or run folder


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


def test_a_cyclegan_is_pointed_to_translate_and_to_its_own_export(cyclegan_run, tmp_path,
                                                                  capsys, monkeypatch):
    monkeypatch.delenv("KERAS_GANS_TRACEBACK", raising=False)
    out, export, _ = cyclegan_run
    translate = "holds a CycleGAN, which translates images rather than sampling them; use " \
        "python scripts/train_cyclegan.py --translate DIR --model "
    cases = [
        ("sample.py", ["--model", out], translate),  # its checkpoint
        ("sample.py", ["--model", export], translate),  # its SavedModel
        ("export_generator.py", ["--model", out, "--out", tmp_path / "e" / "1"],
         f"export_translator(gan, '{tmp_path / 'e' / '1'}'), or rerun its train_cyclegan.py "
         f"command with --resume --export {tmp_path / 'e' / '1'}"),
    ]
    assert_one_line_errors(cases, capsys)
    assert not (tmp_path / "e").exists()


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
        ("train_gan_mnist.py", ["--optimizer", "sgd"], "argument --optimizer: invalid choice"),
        ("train_gan_mnist.py", ["--beta2", "1"], "argument --beta2: expected a number in [0, 1)"),
        ("train_gan_mnist.py", ["--optimizer", "rmsprop", "--beta1", "0"],
         "--beta1 and --beta2 are Adam's"),
        ("train_gan_mnist.py", ["--checkpoint-every", "0"], "argument --checkpoint-every"),
        ("train_gan_mnist.py", ["--strategy", "horovod"], "argument --strategy: invalid choice"),
        ("train_dcgan_plants.py", ["--strategy", "gpu"], "argument --strategy: invalid choice"),
        ("train_cgan_mnist.py", ["--strategy", "multi-worker"], "argument --strategy"),
        ("train_cgan_mnist.py", ["--num-classes", "0"], "argument --num-classes"),
        ("train_cgan_mnist.py", ["--export", "saved_models/cgan"], "integer version"),
        ("train_cyclegan.py", ["--strategy", "horovod"], "argument --strategy: invalid choice"),
        ("train_cyclegan.py", ["--image-size", "64"], "argument --image-size"),
        ("train_cyclegan.py", ["--data-a", "x"], "give both --data-a and --data-b"),
        ("train_cyclegan.py", ["--translate", "x"], "--translate needs --model and --output"),
        ("train_cyclegan.py", ["--lr", "0"], "argument --learning-rate/--lr"),
        ("train_evaluator.py", ["--data", "x.npz", "--out", "m.h5"], "must end in .keras"),
        ("train_evaluator.py", ["--data", "x.npz", "--out", "m.keras", "--holdout", "1"],
         "--holdout must be in (0, 1)"),
        ("sample.py", [], "--model"),
        ("sample.py", ["--model", "m.keras", "--labels", "a,b"], "argument --labels"),
        ("export_generator.py", ["--model", "m.keras", "--out", "x/latest"], "integer version"),
    ],
)
def test_bad_arguments_are_one_line(script, args, message, capsys):
    assert run_main(script, args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{script}: error: ") and message in err


def test_runtime_errors_are_one_line(tiny_folder, tiny_domains, dcgan_run, capsys, tmp_path,
                                    monkeypatch):
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
        ("train_dcgan_plants.py", ["--data", tiny_folder, "--image-size", "30", "--batch-size", "8"],
         "image size"),
        ("train_dcgan_plants.py", ["--data", tiny_folder, *TINY_DCGAN, "--out", out],
         "already holds a run"),
        ("train_dcgan_plants.py", ["--data", tiny_folder, "--out", tmp_path / "r2", "--resume"],
         "no checkpoint"),
        ("train_dcgan_plants.py", ["--data", tiny_folder, "--batch-size", "8", "--out", out,
                                   "--resume"], "--image-size 32"),
        ("sample.py", ["--model", tmp_path / "none.keras"], "No such model"),
        ("sample.py", ["--model", export, "--labels", "1,2"], "not conditional"),
        ("export_generator.py", ["--model", export, "--out", tmp_path / "e" / "1"],
         "already a SavedModel"),
        ("export_generator.py", ["--model", out, "--out", export], "--overwrite"),
        ("train_cgan_mnist.py", ["--data", tmp_path / "missing.npz", "--out", tmp_path / "r4"],
         "No such file or folder"),
        ("train_cgan_mnist.py", ["--data", tiny_folder, "--batch-size", "8", "--out", out,
                                 "--resume"], "holds a DCGAN run, not a ConditionalGAN"),
        ("train_cyclegan.py", ["--data", tmp_path / "missing", "--image-size", "128",
                               "--out", tmp_path / "r5"], "missing"),
        ("train_cyclegan.py", ["--data", tiny_domains, "--image-size", "128", "--out", out],
         "already holds a run"),
        ("train_cyclegan.py", ["--translate", tiny_folder, "--model", out, "--output",
                               tmp_path / "t"], "not a CycleGAN"),
        ("train_cyclegan.py", ["--translate", tiny_folder, "--model", export, "--output",
                               tmp_path / "t"], "no 'a_to_b' signature"),
    ]
    assert_one_line_errors(cases, capsys)


def test_train_evaluator_data_error_exits_2(tmp_path):
    # It reports before importing Keras: one line, exit status 2, no start-up noise.
    missing = tmp_path / "missing.npz"
    result = run("train_evaluator.py", "--data", missing, "--out", tmp_path / "m.keras",
                 check=False)
    assert result.returncode == 2
    assert result.stderr == f"train_evaluator.py: error: data not found: {missing}\n"


def test_a_fresh_import_loads_checkpoints_and_has_the_readme_names(mnist_run, cyclegan_run):
    # load_model finds a class only in Keras' registry: `import keras_gans`
    # fills it (the scripts' deferred import must not leak into this process).
    # README: kg.export_cyclegan.export_translator(...), keras_gans.metrics.
    code = ("import sys, keras, keras_gans as kg; "
            "names = [type(keras.models.load_model(p)).__name__ for p in sys.argv[1:]]; "
            "print(*names, kg.export_cyclegan.export_translator.__name__, "
            "kg.metrics.evaluate.__name__, kg.DCGAN.__name__)")
    paths = [str(r[0] / "checkpoints" / "last.keras") for r in (mnist_run, cyclegan_run)]
    out = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True,
                         env={**os.environ, "KERAS_GANS_DEFER_IMPORTS": ""}, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["VanillaGAN", "CycleGAN", "export_translator", "evaluate",
                                  "DCGAN"]


_IMPORTED = """
import runpy, sys
for script, args in [(s, a.split()) for s, a in (line.split(":") for line in sys.argv[1:])]:
    sys.argv = [script, *args]
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        print(script, args, e.code, *sorted({"keras", "tensorflow", "jax", "torch"} & set(sys.modules)))
"""


def test_help_and_argument_errors_answer_before_keras_loads():
    # Observation 3 of issue 11: --help took 8 s, loading TensorFlow (and
    # printing its start-up lines) before the usage text.
    cases = [f"{SCRIPTS / name}:{args}" for name in FLAGS if name not in ("evaluate.py",)
             for args in ("--help", "--epochs 0 --num-samples 0 --model")]
    cases.append(f"{SCRIPTS / 'train_evaluator.py'}:--data x.npz --out m.h5")
    result = subprocess.run([sys.executable, "-c", _IMPORTED, *cases], capture_output=True,
                            text=True, env={**os.environ, "KERAS_BACKEND": "tensorflow"},
                            timeout=300)
    lines = result.stdout.splitlines()
    reports = [line for line in lines if line.startswith(str(SCRIPTS))]
    assert len(reports) == len(cases), result.stdout + result.stderr
    for report in reports:  # status 0 or 2, and none of the frameworks imported
        assert report.endswith(("] 0", "] 2")), report
    assert result.stderr.count("error:") == len(cases) // 2 + 1
    assert "WARNING: All log messages" not in result.stderr


def test_a_diverging_run_stops_at_once_keeping_the_last_good_checkpoint(tiny_npz, tmp_path, capsys):
    # Observation 1 of issue 11: with --lr 1000 every loss was nan, the
    # script trained on, overwrote the checkpoint with NaN weights and exited 0.
    import keras

    out = tmp_path / "run"
    args = ["--data", tiny_npz, "--epochs", "3", "--steps-per-epoch", "30", "--batch-size", "8",
            "--no-jit", "--no-export", "--out", out, "--seed", "0", "--checkpoint-every", "2"]
    result = run("train_gan_mnist.py", *args, "--lr", "1000", check=False)
    assert result.returncode == 3, result.stderr
    assert "Outputs:" not in result.stdout
    assert_quiet(result)
    state = json.loads((out / "checkpoints" / "last.json").read_text())
    assert state["step"] % 2 == 0 and state["epoch"] == 0
    # A loss went NaN, or the weights did before the next checkpoint's write.
    (line,) = result.stderr.splitlines()
    match = re.fullmatch(
        r"train_gan_mnist.py: error: training diverged at step (\d+) \(epoch 1, batch \1\): "
        r"(.+ is nan|.+ holds NaN or infinite values); try a lower --lr \(now D 1000, G 1000\) "
        rf"with --resume, which continues from the last good checkpoint, "
        rf"{re.escape(str(out / 'checkpoints' / 'last.keras'))} \(step {state['step']}\)", line)
    assert match, line
    step = int(match[1])
    assert state["step"] < step <= state["step"] + 2
    gan = keras.models.load_model(out / "checkpoints" / "last.keras")
    assert all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in gan.weights)
    assert logged_steps(out)[-1] == step  # steps.csv and losses.png show the bad step
    # What the message says works: --resume at a lower rate trains on from there.
    resume = [*args, "--resume", "--lr", "1e-4", "--epochs", "1", "--verbose", "0"]
    assert run_main("train_gan_mnist.py", resume) == 0
    assert "Learning rates from the command line: D 0.0001, G 0.0001." in capsys.readouterr().out
    assert log_epochs(out) == [0] and logged_steps(out) == list(range(1, 31))
    gan = keras.models.load_model(out / "checkpoints" / "last.keras")
    assert int(gan.d_optimizer.iterations) == 30
    assert np.isclose(float(gan.d_optimizer.learning_rate), 1e-4)


def _tiny_dcgan_args(folder, out):
    return ["--data", folder, *TINY_DCGAN, "--epochs", "3", "--steps-per-epoch", "4",
            "--batch-size", "8", "--no-jit", "--no-export", "--seed", "4", "--verbose", "0",
            "--checkpoint-every", "3", "--out", out]


@pytest.fixture(scope="module")
def uninterrupted_dcgan(tiny_folder, tmp_path_factory):
    """The run that the killed and resumed ones must repeat exactly."""
    out = tmp_path_factory.mktemp("uninterrupted") / "run"
    assert run_main("train_dcgan_plants.py", _tiny_dcgan_args(tiny_folder, out)) == 0
    return out


def _assert_same_run(out, reference):
    import keras

    assert log_epochs(out) == [0, 1, 2] and logged_steps(out) == list(range(1, 13))
    # Every step trained on the same batch and noise as without the kill.
    ours, theirs = (np.loadtxt(o / "steps.csv", delimiter=",", skiprows=1) for o in (out, reference))
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)
    gan = keras.models.load_model(out / "checkpoints" / "last.keras")
    assert int(gan.d_optimizer.iterations) == 12 and int(gan.g_optimizer.iterations) == 24


def test_killed_mid_epoch_resumes_where_its_checkpoint_stood(tiny_folder, uninterrupted_dcgan,
                                                             tmp_path, capsys):
    # Observation 4 of issue 11: a checkpoint only per epoch, lost by preemption.
    # Checkpoints at steps 3 and 6 (epoch 2, batch 2 of 4); killed after step 7.
    out = tmp_path / "run"
    args = _tiny_dcgan_args(tiny_folder, out)
    result = run("train_dcgan_plants.py", *args, env={"KERAS_GANS_TEST_KILL_AT": "step 7"},
                 check=False)
    assert result.returncode == -9, result.stderr
    assert logged_steps(out) == list(range(1, 8)) and log_epochs(out) == [0]
    assert run_main("train_dcgan_plants.py", [*args, "--resume"]) == 0
    assert "Resuming" in capsys.readouterr().out
    _assert_same_run(out, uninterrupted_dcgan)


def test_killed_mid_checkpoint_write_resumes(tiny_folder, uninterrupted_dcgan, tmp_path):
    # Killed inside the write of the checkpoint of step 6, after the new one
    # replaced last.keras but before last.json did: last.keras is whole and
    # says its step. (test_cli kills the write at each of its stages.)
    out = tmp_path / "run"
    args = _tiny_dcgan_args(tiny_folder, out)
    result = run("train_dcgan_plants.py", *args,
                 env={"KERAS_GANS_TEST_KILL_AT": "checkpoint 3 committed"}, check=False)
    assert result.returncode == -9, result.stderr
    stale = json.loads((out / "checkpoints" / "last.json").read_text())["step"]
    assert stale == 4  # the epoch-end checkpoint before: written 2nd
    assert run_main("train_dcgan_plants.py", [*args, "--resume"]) == 0
    _assert_same_run(out, uninterrupted_dcgan)


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="needs tensorboard")
def test_tensorboard_logs_and_grids(tiny_npz, tmp_path):
    import tensorflow as tf

    out = tmp_path / "run"
    assert run_main("train_gan_mnist.py", ["--data", tiny_npz, *TINY, "--no-export", "--out", out,
                                           "--tensorboard", "--verbose", "0"]) == 0
    tags = set()
    for path in (out / "tensorboard").rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            tags |= {v.tag for v in event.summary.value}
    assert {"samples", "epoch_d_loss", "epoch_g_loss"} <= tags


# -- --help ------------------------------------------------------------------------

RUN = ["--epochs", "--batch-size", "--steps-per-epoch", "--seed", "--out", "--checkpoint-every",
       "--resume", "--overwrite", "--export", "--no-export", "--tensorboard", "--jit", "--no-jit",
       "--strategy", "--verbose", "--data-dir"]
COMMON = [*RUN, "--optimizer", "--lr", "--d-lr", "--g-lr", "--beta1", "--beta2", "--d-steps",
          "--g-steps", "--loss"]
FLAGS = {
    "train_dcgan_plants.py": ["--data", "--image-size", "--channels", "--latent-dim",
                              "--generator-width", "--discriminator-width", "--flip",
                              "--no-flip", "--recipe", "--augment", "--ada-target",
                              "--ema-decay", "--spectral-norm", "--no-spectral-norm",
                              "--upsample", "--r1-gamma", *COMMON],
    "train_gan_mnist.py": ["--data", "--latent-dim", *COMMON],
    "train_cgan_mnist.py": ["--data", "--image-size", "--channels", "--num-classes",
                            "--latent-dim", "--width", "--label-mode",
                            "--discriminator-label-mode", *COMMON],
    "train_cyclegan.py": ["--data-a", "--data-b", "--data", "--tfds", "--image-size",
                          "--learning-rate", "--lr", "--filters", "--residual-blocks",
                          "--cycle-weight", "--identity-weight", "--pool-size", "--grid-images",
                          "--grid-every", *RUN, "--translate", "--model", "--output",
                          "--direction"],
    "sample.py": ["--model", "--num-samples", "--seed", "--out", "--ncols", "--labels", "--truncation"],
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
    if "--strategy" in FLAGS[script]:
        # The names of every backend, and that --batch-size is the global batch.
        for name in ("none", "mirrored", "multi_worker", "tpu", "data_parallel", "TF_CONFIG"):
            assert name in text, name
        assert "global batch" in " ".join(text.split())


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
