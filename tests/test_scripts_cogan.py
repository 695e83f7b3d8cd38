"""scripts/train_cogan.py: one tiny run as a subprocess (as a user runs it),
shared by the tests; resumes, folders and argument errors in process."""

import json
import shutil

import numpy as np
import pytest

from test_scripts import (TINY, assert_one_line_errors, check_run_folder, grid_side, log_epochs,
                          png_size, run, run_main, write_images)

SCRIPT = "train_cogan.py"
TINY_COGAN = ["--width", "8", "--latent-dim", "16"]


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("mnist") / "mnist.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 256, (64, 28, 28), dtype=np.uint8),
             y_train=np.arange(64) % 10)
    return path


@pytest.fixture(scope="module")
def cogan_run(digits_npz, tmp_path_factory):
    base = tmp_path_factory.mktemp("cogan")
    out, export = base / "run", base / "saved_models" / "cogan" / "1"
    result = run(SCRIPT, "--mnist-pair", "edges", "--data", digits_npz, *TINY, *TINY_COGAN,
                 "--out", out, "--export", export)
    return out, export, result


def test_train_cogan_writes_the_run_folder_and_exports_pairs(cogan_run):
    import tensorflow as tf

    out, export, result = cogan_run
    check_run_folder(out, export, result)
    # 32 pairs: 8 columns, four blocks of a row of digits above a row of edge maps.
    assert png_size(out / "samples" / "final.png") == (grid_side(8, 28), grid_side(8, 28))
    header = (out / "log.csv").read_text().splitlines()[0].split(",")
    assert {"d_a_loss", "d_b_loss", "g_a_loss", "g_b_loss", "d_real"} <= set(header)
    config = json.loads((out / "config.json").read_text())
    assert config["mnist_pair"] == "edges" and config["shared_generator_layers"] is None
    sample = tf.saved_model.load(str(export)).signatures["sample"]
    images = sample(num_samples=tf.constant(2), seed=tf.constant(0))
    assert sorted(images) == ["images_a", "images_b"]
    assert images["images_b"].shape == (2, 28, 28, 1) and images["images_b"].dtype == tf.uint8


def test_train_cogan_resume_continues_with_the_ties(cogan_run, digits_npz, tmp_path, capsys):
    import keras

    source, _, _ = cogan_run
    out = tmp_path / "run"
    shutil.copytree(source, out)
    args = ["--mnist-pair", "edges", "--data", digits_npz, *TINY_COGAN, *TINY[2:],
            "--epochs", "2", "--out", out, "--resume", "--verbose", "0"]
    assert run_main(SCRIPT, args) == 0
    assert "Resuming" in capsys.readouterr().out
    assert log_epochs(out) == [0, 1]
    gan = keras.models.load_model(out / "checkpoints" / "last.keras")
    assert int(gan.d_optimizer.iterations) == int(gan.g_optimizer.iterations) == 4
    # The shared score layer still serves both domains: one layer, two calls.
    assert len(gan.discriminator.get_layer("d_score")._inbound_nodes) == 2
    other_size = ["--data-a", digits_npz, "--data-b", digits_npz, "--image-size", "32",
                  *TINY_COGAN, *TINY[2:], "--epochs", "3", "--out", out, "--resume"]
    assert run_main(SCRIPT, other_size) == 2
    assert "resume with --image-size 28 --channels 1" in capsys.readouterr().err


def test_train_cogan_on_two_folders(tmp_path):
    write_images(tmp_path, ("daisies", "sunflowers"), 8, (40, 40, 3), ".png")
    args = ["--data-a", tmp_path / "daisies", "--data-b", tmp_path / "sunflowers",
            "--image-size", "32", "--channels", "3", "--flip", *TINY, *TINY_COGAN,
            "--out", tmp_path / "run", "--verbose", "0"]
    assert run_main(SCRIPT, args) == 0
    # 32 pairs of 32 px RGB images.
    assert png_size(tmp_path / "run" / "samples" / "final.png") == (grid_side(8, 32),) * 2


def test_bad_arguments_and_data_are_one_line(digits_npz, tmp_path, capsys):
    mnist = ["--mnist-pair", "edges", "--data", digits_npz]
    run_args = [*TINY, *TINY_COGAN, "--out", tmp_path / "run"]
    assert_one_line_errors([
        (SCRIPT, ["--mnist-pair", "edges"], "--mnist-pair needs --data mnist.npz"),
        (SCRIPT, ["--data-a", "x"], "give both --data-a and --data-b"),
        (SCRIPT, [*mnist, "--data-a", "x"], "not both"),
        (SCRIPT, ["--data", digits_npz], "--data is the mnist.npz of --mnist-pair"),
        (SCRIPT, [*mnist, "--image-size", "64"], "28x28 grayscale"),
        (SCRIPT, [*mnist, "--shared-generator-layers", "3", *run_args],
         "shared_generator_layers must lie in 0..2"),
        (SCRIPT, ["--mnist-pair", "negative", "--data", tmp_path / "none.npz", *run_args],
         "none.npz"),
    ], capsys)
