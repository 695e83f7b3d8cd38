"""scripts/train_dcgan_plants.py's recipes and the flags of their pieces.

The flags are parsed in process; the models they build are checked in
process too (no training); one tiny subprocess run trains the default
recipe with the optional pieces on, as a user runs it.
"""

import json

import pytest

from test_scripts import TINY, TINY_DCGAN, load_script, run, write_images

script = load_script("train_dcgan_plants.py")

# The pieces `--recipe` sets, as parsed.
PIECES = ("augment", "ada_target", "ema_decay", "spectral_norm", "upsample", "r1_gamma")


def pieces(argv):
    args = script.parse_args(argv)
    return {name: getattr(args, name) for name in PIECES}, args


@pytest.mark.single_backend
def test_classic_recipe_is_the_dcgan_paper_with_two_generator_updates():
    model, args = pieces(["--recipe", "classic"])
    assert model == dict(augment=None, ada_target=None, ema_decay=None, spectral_norm=False,
                         upsample="transposed", r1_gamma=None)
    assert (args.d_lr, args.g_lr, args.beta1, args.loss, args.g_steps) == (
        2e-4, 2e-4, 0.5, "non_saturating", 2)


@pytest.mark.single_backend
def test_the_default_recipe_is_best_and_its_pieces_are_its_table():
    default, default_args = pieces([])
    best, best_args = pieces(["--recipe", "best"])
    assert script.DEFAULT_RECIPE == "best" and default == best
    assert best == script.RECIPES["best"]["model"]
    assert best != script.RECIPES["classic"]["model"]
    assert best_args.loss == script.RECIPES["best"]["training"]["loss"]


@pytest.mark.single_backend
def test_flags_override_the_recipe():
    model, args = pieces(["--recipe", "best", "--augment", "none", "--no-spectral-norm",
                          "--upsample", "resize_bilinear", "--ema-decay", "0.99",
                          "--r1-gamma", "2", "--loss", "non_saturating", "--lr", "1e-4"])
    assert model == dict(augment=None, ada_target=None, ema_decay=0.99, spectral_norm=False,
                         upsample="resize_bilinear", r1_gamma=2.0)
    assert (args.loss, args.d_lr, args.g_lr) == ("non_saturating", 1e-4, 1e-4)
    model, _ = pieces(["--recipe", "classic", "--augment", "color", "--ada-target", "0.6",
                       "--spectral-norm"])
    assert (model["augment"], model["ada_target"], model["spectral_norm"]) == ("color", 0.6, True)


@pytest.mark.single_backend
@pytest.mark.parametrize("argv, message", [
    (["--recipe", "classic", "--ada-target", "0.6"], "--ada-target adapts --augment"),
    (["--ema-decay", "1.5"], "argument --ema-decay: expected a number in (0, 1)"),
    (["--recipe", "fancy"], "argument --recipe: invalid choice"),
    (["--upsample", "bicubic"], "argument --upsample: invalid choice"),
])
def test_bad_recipe_flags_say_which_and_why(argv, message, capsys):
    with pytest.raises(SystemExit):
        script.parse_args(argv)
    assert message in capsys.readouterr().err


@pytest.mark.single_backend
def test_help_shows_each_recipes_defaults(capsys):
    with pytest.raises(SystemExit):
        script.parse_args(["--recipe", "classic", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "classic: transposed, best: resize" in text
    assert "(default non_saturating)" in text


@pytest.mark.single_backend
@pytest.mark.parametrize("recipe", ["classic", "best"])
def test_each_recipe_builds_its_model(recipe):
    flags = ["--recipe", recipe, *TINY_DCGAN, "--no-jit", "--seed", "0"]
    gan = script.build_gan(script.parse_args(flags))
    model = script.RECIPES[recipe]["model"]
    config = gan.get_config()
    assert config["generator_upsample"] == model["upsample"]
    assert config["discriminator_spectral_norm"] == model["spectral_norm"]
    assert config["discriminator_norm"] == (None if model["spectral_norm"] else "batch")
    assert (gan.ema_decay, gan.augment) == (model["ema_decay"], model["augment"])
    assert gan.get_compile_config()["loss"] == script.RECIPES[recipe]["training"]["loss"]
    assert gan.g_steps == 2 and gan.penalties == []


@pytest.fixture(scope="module")
def best_run(tmp_path_factory):
    """The default recipe with R1 and adaptive augmentation on, trained 2 steps."""
    photos = write_images(tmp_path_factory.mktemp("photos"), ("daisy",), 16, (32, 32, 3), ".png")
    out = tmp_path_factory.mktemp("plants") / "run"
    run("train_dcgan_plants.py", "--data", photos, *TINY, *TINY_DCGAN, "--r1-gamma", "1",
        "--ada-target", "0.6", "--seed", "0", "--out", out, "--no-export")
    return out


@pytest.mark.single_backend
def test_the_default_recipe_trains_with_every_piece(best_run):
    import keras

    import keras_gans  # noqa: F401  (registers the classes)

    config = json.loads((best_run / "config.json").read_text())
    assert (config["recipe"], config["r1_gamma"], config["ada_target"]) == ("best", 1.0, 0.6)
    log = (best_run / "log.csv").read_text().splitlines()
    assert {"augment_p", "r1"} <= set(log[0].split(","))
    gan = keras.models.load_model(best_run / "checkpoints" / "last.keras")
    assert gan.discriminator_spectral_norm and gan.generator_upsample == "resize"
    assert gan.ema_decay == script.RECIPES["best"]["model"]["ema_decay"]
    assert [(type(p).__name__, p.gamma, p.interval) for p in gan.penalties] == [
        ("R1", 1.0, script.R1_INTERVAL)]
    assert gan.ada_target == 0.6 and gan.augment_state is not None
