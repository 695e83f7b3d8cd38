"""scripts/train_biggan.py: a tiny run as a subprocess, then --resume in process."""

import json
import shutil
import subprocess
import sys

import pytest

from test_scripts import (
    TINY,
    assert_one_line_errors,
    check_run_folder,
    grid_side,
    log_epochs,
    png_size,
    run_main,
    tiny_folder,  # noqa: F401 (a fixture: two classes of 32 px photos)
    train_run,
)

# 32 px, 8 channels in both networks, z of 8 in four chunks; two D updates of
# 8 images each per step (a dataset batch of 16); every applied update of
# each network the mean of two.
TINY_BIGGAN = ["--num-classes", "2", "--image-size", "32", "--latent-dim", "8",
               "--shared-dim", "4", "--generator-width", "2", "--discriminator-width", "2",
               "--accumulate", "2"]


@pytest.fixture(scope="module")
def biggan_run(tiny_folder, tmp_path_factory):  # noqa: F811
    return train_run(tmp_path_factory, "train_biggan.py", "biggan",
                     "--data", tiny_folder, *TINY, *TINY_BIGGAN, "--grid-truncation", "0.5")


def test_train_biggan_writes_the_run_folder_and_exports_truncation(biggan_run, tmp_path):
    out, export, result = biggan_run
    check_run_folder(out, export, result)
    assert log_epochs(out) == [0]
    # One row of 10 samples per class.
    assert png_size(out / "samples" / "final.png") == (grid_side(10, 32), grid_side(2, 32))
    config = json.loads((out / "config.json").read_text())
    assert config["accumulate"] == 2 and config["d_steps"] == 2 and config["loss"] == "hinge"
    assert config["grid_truncation"] == 0.5
    code = f"""
import tensorflow as tf
sample = tf.saved_model.load({str(export)!r}).signatures["sample"]
print(sorted(sample.structured_input_signature[1]))
images = sample(seed=tf.constant(0), labels=tf.constant([0, 1, 1]),
                truncation=tf.constant(0.5))["images"]
print(images.shape, images.dtype.name)
"""
    served = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert served.returncode == 0, served.stderr[-2000:]
    assert served.stdout.split("\n")[:2] == ["['labels', 'seed', 'truncation']",
                                             "(3, 32, 32, 3) uint8"]


def test_train_biggan_resume_continues_with_the_accumulating_optimizers(
        biggan_run, tiny_folder, tmp_path, capsys):  # noqa: F811
    import keras

    source, _, _ = biggan_run
    out = tmp_path / "run"
    shutil.copytree(source, out)
    args = ["--data", tiny_folder, *TINY_BIGGAN, *TINY[2:], "--epochs", "2", "--out", out,
            "--resume", "--verbose", "0"]
    assert run_main("train_biggan.py", args) == 0
    assert "Resuming" in capsys.readouterr().out
    assert log_epochs(out) == [0, 1]
    gan = keras.models.load_model(out / "checkpoints" / "last.keras")
    assert int(gan.progress.steps) == 4 and gan.num_classes == 2 and gan.fresh_reals
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        assert optimizer.gradient_accumulation_steps == 2
    # 4 steps: 8 D calls and 4 G calls, each applied every second call.
    assert (int(gan.d_optimizer.iterations), int(gan.g_optimizer.iterations)) == (4, 2)


def test_train_biggan_argument_errors(capsys):
    assert_one_line_errors([
        ("train_biggan.py", ["--image-size", "48"], "argument --image-size: invalid choice"),
        ("train_biggan.py", ["--attention", "6x"], "expected sides like 64"),
        ("train_biggan.py", ["--ema-decay", "1.5"], "--ema-decay must lie in [0, 1)"),
    ], capsys)
