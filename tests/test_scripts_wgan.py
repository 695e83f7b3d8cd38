"""scripts/train_wgan.py, run as a user runs it, on a tiny folder."""

import json

import pytest

from test_scripts import run, write_images

TINY = ["--image-size", "32", "--width", "4", "--latent-dim", "8", "--batch-size", "4",
        "--d-steps", "2", "--steps-per-epoch", "2", "--no-jit", "--seed", "0", "--epochs", "1"]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return write_images(tmp_path_factory.mktemp("photos"), ("daisy",), 16, (32, 32, 3), ".png")


# Subprocess runs on the first backend only (each pays the TensorFlow import).
@pytest.mark.single_backend
@pytest.mark.parametrize("variant, optimizer, lr", [("wgan-gp", "adam", 1e-4),
                                                    ("wgan", "rmsprop", 5e-5)])
def test_train_wgan_variants_use_their_papers_defaults(photos, tmp_path, variant, optimizer, lr):
    out = tmp_path / variant
    run("train_wgan.py", "--variant", variant, "--data", photos, *TINY, "--out", out)
    config = json.loads((out / "config.json").read_text())
    assert (config["optimizer"], config["d_lr"], config["g_lr"]) == (optimizer, lr, lr)
    summary = json.loads((out / "checkpoints" / "last.json").read_text())
    assert summary["epochs"] == 1
    log = (out / "log.csv").read_text()
    assert "real_score" in log and ("gradient_penalty" in log) == (variant == "wgan-gp")
    import keras

    import keras_gans  # noqa: F401  (registers the classes)

    gan = keras.models.load_model(out / "checkpoints" / "last.keras")
    # Each step read d_steps x batch_size real images: 2 steps x 2 x 4.
    assert int(keras.ops.convert_to_numpy(gan.progress.images)) == 16
    assert gan.fresh_reals and gan.d_steps == 2


@pytest.mark.single_backend
def test_help_follows_the_variant():
    gp = run("train_wgan.py", "--help").stdout
    clip = run("train_wgan.py", "--variant", "wgan", "--help").stdout
    assert "(default adam)" in gp and "(default rmsprop)" in clip
