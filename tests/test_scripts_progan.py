"""scripts/train_progan.py, run as a subprocess on tiny data: a run stopped
mid-fade, resumed to the end of its schedule."""

import numpy as np
import pytest

from test_scripts import log_epochs, run, run_main, user_lines

# 8x8 in 8 steps of 8 images: 4x4 for 2 steps, 8x8 fading in for 4, held for 2.
TINY = ["--image-size", "8", "--channels", "1", "--images-per-stage", "16", "--fade-images",
        "32", "--batch-size", "8", "--steps-per-epoch", "2", "--max-filters", "8",
        "--latent-dim", "8", "--no-jit"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("progan")
    data = base / "tiny.npz"
    x = np.random.default_rng(0).integers(0, 256, (64, 12, 12), dtype=np.uint8)
    np.savez(data, x_train=x)
    out, export = base / "run", base / "saved_models" / "progan" / "1"
    first = run("train_progan.py", "--data", data, *TINY, "--epochs", "2", "--out", out,
                "--seed", "0")
    checkpoint = _state(out)
    # Without --epochs: as many as the schedule takes (64 images, 4 epochs).
    resumed = run("train_progan.py", "--data", data, *TINY, "--out", out, "--resume",
                  "--export", export)
    return {"data": data, "out": out, "export": export, "first": first,
            "after_first": checkpoint, "resumed": resumed}


def _state(out):
    import keras

    import keras_gans  # noqa: F401 (registers the classes load_model looks up)

    gan = keras.models.load_model(out / "checkpoints" / "last.keras")
    return {"stage": gan.stage, "phase": gan.phase, "images": gan.images_seen(),
            "alpha": float(keras.ops.convert_to_numpy(gan.alpha))}


def test_a_run_stops_mid_fade_and_resumes_to_the_end_of_its_schedule(runs):
    out = runs["out"]
    assert "from image 16, epoch 2: fade in 8x8" in runs["first"].stdout
    # 4 steps: the last one trained at alpha (24 - 16) / 32.
    assert runs["after_first"] == {"stage": 1, "phase": 1, "images": 32, "alpha": 0.25}
    assert "Resuming" in runs["resumed"].stdout and "4 epochs" in runs["resumed"].stdout
    assert _state(out) == {"stage": 1, "phase": 2, "images": 64, "alpha": 1.0}
    assert log_epochs(out) == [0, 1, 2, 3]
    for name in ("stage_0_4x4.png", "stage_1_8x8.png", "epoch_0004.png", "final.png"):
        assert (out / "samples" / name).is_file(), name
    assert (runs["export"] / "saved_model.pb").is_file()
    assert "Traceback" not in runs["resumed"].stderr


def test_resuming_with_another_schedule_is_one_line(runs, capsys):
    args = ["--data", runs["data"], *TINY, "--images-per-stage", "32", "--out", runs["out"],
            "--resume", "--epochs", "5"]
    assert run_main("train_progan.py", args) == 2
    lines = user_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "resume with --images-per-stage 16" in lines[0], lines


def test_an_image_size_that_does_not_grow_from_4x4_is_one_line(runs, capsys):
    assert run_main("train_progan.py", ["--data", runs["data"], "--image-size", "48"]) == 2
    lines = user_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "4 times a power of two" in lines[0], lines
