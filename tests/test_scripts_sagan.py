"""scripts/train_sagan.py, run as a user runs it, on tiny class folders."""

import json

import pytest

from test_scripts import run, write_images

TINY = ["--image-size", "32", "--width", "8", "--latent-dim", "8", "--attention", "16",
        "--batch-size", "8", "--steps-per-epoch", "2", "--no-jit", "--seed", "0"]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return write_images(tmp_path_factory.mktemp("photos"), ("daisy", "rose"), 8, (32, 32, 3), ".png")


# Subprocess runs on the first backend only (each pays the TensorFlow import).
@pytest.mark.single_backend
def test_train_sagan_conditional_trains_resumes_and_exports(photos, tmp_path):
    out = tmp_path / "run"
    run("train_sagan.py", "--data", photos, "--num-classes", "2", *TINY, "--epochs", "1",
        "--out", out)
    config = json.loads((out / "config.json").read_text())
    assert config["d_lr"] == 4e-4 and config["g_lr"] == 1e-4 and config["loss"] == "hinge"
    assert (out / "samples" / "epoch_0001.png").is_file()
    result = run("train_sagan.py", "--data", photos, "--num-classes", "2", *TINY, "--epochs", "2",
                 "--out", out, "--resume", "--export", tmp_path / "export" / "1")
    assert "Resuming" in result.stdout
    log = (out / "log.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in log[1:]] == ["0", "1"]
    assert (tmp_path / "export" / "1" / "saved_model.pb").is_file()


@pytest.mark.single_backend
def test_train_sagan_rejects_bad_attention_sides(tmp_path):
    result = run("train_sagan.py", "--attention", "x", check=False)
    assert result.returncode == 2
    assert "comma-separated feature-map sides" in result.stderr.strip().splitlines()[-1]
