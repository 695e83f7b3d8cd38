"""scripts/train_stylegan.py and scripts/style_mix.py, run as subprocesses on
tiny data: a run, resumed and exported, then both grids drawn from its
SavedModel; a run of the original form, growing."""

import numpy as np
import pytest

from test_scripts import log_epochs, png_size, run, run_main, user_lines

TINY = ["--image-size", "8", "--channels", "1", "--batch-size", "8", "--steps-per-epoch", "2",
        "--max-filters", "8", "--latent-dim", "8", "--w-dim", "8", "--mapping-layers", "2",
        "--r1-interval", "2", "--mixing", "1", "--no-jit"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("stylegan")
    data = base / "tiny.npz"
    x = np.random.default_rng(0).integers(0, 256, (32, 12, 12), dtype=np.uint8)
    np.savez(data, x_train=x)
    out, export = base / "run", base / "saved_models" / "stylegan" / "1"
    path_length = ["--path-length-weight", "2", "--path-length-interval", "2"]
    run("train_stylegan.py", "--data", data, *TINY, *path_length, "--epochs", "1", "--out", out,
        "--seed", "0")
    resumed = run("train_stylegan.py", "--data", data, *TINY, *path_length, "--epochs", "2",
                  "--out", out, "--resume", "--export", export)
    # The grids from the SavedModel (train_stylegan.py drew them from the model).
    grids = base / "grids"
    run("style_mix.py", export, "--rows", "1,2", "--cols", "3,4,5", "--layers", "0,1",
        "--psi", "1,0.5,0", "--out", grids)
    # The original form: 4x4 for 16 images, 8x8 faded in over 16, in 2 epochs of 2 steps.
    original = base / "original"
    run("train_stylegan.py", "--data", data, *TINY, "--architecture", "stylegan",
        "--images-per-stage", "16", "--fade-images", "16", "--epochs", "2", "--out", original)
    return {"data": data, "out": out, "export": export, "resumed": resumed, "grids": grids,
            "original": original}


def test_a_run_resumes_exports_and_draws_its_grids(runs):
    out = runs["out"]
    assert "Resuming" in runs["resumed"].stdout and log_epochs(out) == [0, 1]
    header = (out / "log.csv").read_text().splitlines()[0].split(",")
    assert "path_length" in header and "r1" in header, header  # both lazy penalties log
    assert (runs["export"] / "saved_model.pb").is_file()
    # 8x8 tiles, 2 pixels apart: mixing (4 + 1) rows x (5 + 1) columns,
    # truncation 4 seeds x 5 psis.
    assert png_size(out / "samples" / "style_mix.png") == (62, 52)
    assert png_size(out / "samples" / "truncation.png") == (52, 42)
    # 2 row seeds + the header row, 3 columns + the left column; 3 psis.
    assert png_size(runs["grids"] / "mix.png") == (42, 32)
    assert png_size(runs["grids"] / "truncation.png") == (32, 22)
    assert "Traceback" not in runs["resumed"].stderr


def test_resuming_at_another_size_and_a_bad_probability_are_one_line(runs, capsys):
    args = ["--data", runs["data"], *TINY, "--image-size", "16", "--out", runs["out"],
            "--resume", "--epochs", "3"]
    assert run_main("train_stylegan.py", args) == 2
    lines = user_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "resume with --image-size 8" in lines[0], lines
    assert run_main("train_stylegan.py", ["--mixing", "2"]) == 2
    lines = user_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "--mixing" in lines[0], lines


def test_the_original_form_grows_in_a_run(runs):
    import keras

    import keras_gans  # noqa: F401 (registers the classes load_model looks up)

    gan = keras.models.load_model(runs["original"] / "checkpoints" / "last.keras")
    assert (type(gan).__name__, gan.stage, gan.phase) == ("ProgressiveStyleGAN", 1, 2)
    samples = runs["original"] / "samples"
    for name in ("stage_0_4x4.png", "style_mix.png", "truncation.png"):
        assert (samples / name).is_file(), name
