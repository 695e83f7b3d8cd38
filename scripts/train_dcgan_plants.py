#!/usr/bin/env python
"""Train the plant DCGAN on photos of flowers and plants (128x128 by default).

Two recipes (`--recipe`), both DCGANs:

- `best` (the default): the recipe that measured best on flowers128 in
  `benchmarks/plants_quality.py` (see `benchmarks/plants_results.md`):
  DiffAugment (color, translation, cutout) on everything D sees, spectral
  normalization in D in place of its BatchNorm, the hinge loss, and
  resize-convolution upsampling in G (no checkerboard); the rest as
  classic. No EMA of G by default: at the short CPU budget measured it
  scored worse than G itself (`--ema-decay 0.999` turns it on).
- `classic`: the DCGAN paper's networks (transposed convolutions, BatchNorm
  in both), Adam 2e-4 (beta_1 0.5), the non-saturating loss, and two
  generator updates per discriminator update (--g-steps 2), which keeps the
  generator from falling behind on photos.

Every piece of a recipe is a flag of its own (--augment, --ada-target,
--ema-decay, --spectral-norm, --upsample, --r1-gamma, and the optimizer,
loss and steps flags): the recipe only sets their defaults. Random
left-right flips (--flip) double the data for free.

Examples:
    python scripts/train_dcgan_plants.py --data /path/to/flowers128 --epochs 50
    python scripts/train_dcgan_plants.py --data /path/to/flowers128 --recipe classic
    python scripts/train_dcgan_plants.py --data /path/to/flowers128 --augment none
    python scripts/train_dcgan_plants.py --data /path/to/flowers128 --epochs 80 --resume
    python scripts/train_dcgan_plants.py            # TFDS tf_flowers (downloads once)
    python scripts/train_dcgan_plants.py --data /path/to/flowers128 --strategy mirrored \
        --batch-size 256                            # all local GPUs, 256 images per step
"""

import argparse
import os
import sys

if "keras_gans" not in sys.modules:  # Parse the arguments before Keras loads.
    os.environ["KERAS_GANS_DEFER_IMPORTS"] = "1"

from keras_gans.cli import arguments, errors  # noqa: E402

#: Each recipe's pieces (`model`: the flags of this script) and its
#: optimizer, loss and steps (`training`: `arguments.add_gan_args`' defaults).
RECIPES = {
    "classic": {
        "model": {"augment": None, "ada_target": None, "ema_decay": None,
                  "spectral_norm": False, "upsample": "transposed", "r1_gamma": None},
        "training": {"lr": 2e-4, "beta1": 0.5, "loss": "non_saturating", "g_steps": 2},
    },
    "best": {
        "model": {"augment": "color,translation,cutout", "ada_target": None, "ema_decay": None,
                  "spectral_norm": True, "upsample": "resize", "r1_gamma": None},
        "training": {"lr": 2e-4, "beta1": 0.5, "loss": "hinge", "g_steps": 2},
    },
}
DEFAULT_RECIPE = "best"

#: The EMA's StyleGAN ramp-up whenever --ema-decay is on: its horizon is at
#: most 5% of the images seen, so an early average is not mostly the
#: untrained generator.
EMA_RAMPUP = 0.05
#: R1 runs lazily, every 16 steps at 16 times the weight (StyleGAN2).
R1_INTERVAL = 16


def _off_or(convert):
    """argparse type: "none" (off), or `convert(text)`."""

    def parse(text):
        return None if text.strip().lower() in ("none", "off") else convert(text)

    return parse


def _fraction(text):
    """argparse type: a number in (0, 1)."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1) or none, got {text!r}")
    return value


def _recipe_default(recipes, name):
    """The help text's "(classic: X, best: Y)" for piece `name`."""

    def shown(value):  # by identity: a weight of 1.0 is not "on"
        return "off" if value is None or value is False else "on" if value is True else value

    return ", ".join(f"{recipe}: {shown(r['model'][name])}" for recipe, r in recipes.items())


def build_parser(recipe=DEFAULT_RECIPE):
    """The flags, with `recipe`'s defaults for the optimizer, loss and steps."""
    p = arguments.ArgumentParser(
        prog="train_dcgan_plants.py",
        description="Train a DCGAN on plant photos; writes sample grids, a loss plot, a "
        "checkpoint and a CSV log to --out and a TF Serving SavedModel to --export. The "
        f"optimizer, loss and steps defaults shown are those of --recipe {recipe}.",
    )
    add = p.add_argument
    add("--data", metavar="SOURCE", default="tf_flowers",
        help="a folder of images (searched recursively) or a TFDS name (default tf_flowers)")
    add("--image-size", type=arguments.positive_int, default=128, metavar="N",
        help="image side: 32, 64, 128, 256, ... (default 128)")
    add("--channels", type=int, choices=(1, 3), default=3, help="1 or 3 (default 3)")
    add("--latent-dim", metavar="N", type=arguments.positive_int, default=128,
        help="size of z (default 128)")
    add("--generator-width", metavar="N", type=arguments.positive_int, default=64,
        help="channels of the generator's last hidden stage, doubling towards z (default 64)")
    add("--discriminator-width", metavar="N", type=arguments.positive_int, default=64,
        help="channels of the discriminator's first stage, doubling per stage (default 64)")
    add("--flip", action=argparse.BooleanOptionalAction, default=True,
        help="random left-right flips (default on)")
    add("--recipe", choices=tuple(RECIPES), default=DEFAULT_RECIPE,
        help="the defaults of the flags below and of the optimizer, loss and steps: best "
        "(measured best on flowers, benchmarks/plants_results.md) or classic (the DCGAN "
        f"paper's networks and loss); both update G twice per step (default {DEFAULT_RECIPE})")
    # Absent unless given (SUPPRESS): the recipe fills in the rest.
    piece = {"default": argparse.SUPPRESS}
    # The library checks the policy's names (in one line, once Keras is loaded).
    add("--augment", type=_off_or(str), metavar="POLICY", **piece,
        help="DiffAugment the images D sees, reals and fakes, in both phases: comma-separated "
        f"color, translation, cutout, or none ({_recipe_default(RECIPES, 'augment')})")
    add("--ada-target", type=_off_or(_fraction), metavar="P", **piece,
        help="adapt how often --augment applies (StyleGAN2-ADA) so that D's mean sign on reals "
        f"is P, e.g. 0.6; none: always ({_recipe_default(RECIPES, 'ada_target')})")
    add("--ema-decay", type=_off_or(_fraction), metavar="DECAY",
        **piece, help="sample from an exponential moving average of G with this decay (ramped "
        f"up over the first images), or none ({_recipe_default(RECIPES, 'ema_decay')})")
    add("--spectral-norm", action=argparse.BooleanOptionalAction, **piece,
        help="spectral normalization on every convolution of D, which then has no BatchNorm "
        f"(SN-GAN) ({_recipe_default(RECIPES, 'spectral_norm')})")
    add("--upsample", choices=("transposed", "resize", "resize_bilinear"), **piece,
        help="how G doubles its maps: transposed convolutions (the paper's), or a resize and a "
        f"3x3 convolution, which paints no checkerboard ({_recipe_default(RECIPES, 'upsample')})")
    add("--r1-gamma", type=_off_or(arguments.positive_float),
        metavar="GAMMA", **piece,
        help=f"R1 penalty on D's gradients at real images, every {R1_INTERVAL} steps, or none "
        f"({_recipe_default(RECIPES, 'r1_gamma')})")
    arguments.add_common_training_args(
        p, out="runs/plants_dcgan", export="saved_models/plants_dcgan/1",
        epochs=50, batch_size=64, **RECIPES[recipe]["training"],
    )

    def fill_in_recipe(parser, args):
        for name, value in RECIPES[args.recipe]["model"].items():
            if not hasattr(args, name):
                setattr(args, name, value)
        if args.ada_target is not None and args.augment is None:
            parser.error("--ada-target adapts --augment's probability: give --augment too")

    p.add_check(fill_in_recipe)
    return p


def parse_args(argv=None):
    """The flags of `argv`, the optimizer's defaults those of its --recipe."""
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--recipe", default=DEFAULT_RECIPE)
    recipe = peek.parse_known_args(argv)[0].recipe
    # An unknown recipe is the full parser's error to report.
    return build_parser(recipe if recipe in RECIPES else DEFAULT_RECIPE).parse_args(argv)


def build_gan(args):
    """A compiled `kg.DCGAN` for the parsed flags `args`."""
    import keras_gans as kg
    from keras_gans.cli import runner

    gan = kg.DCGAN(
        image_size=args.image_size, channels=args.channels, latent_dim=args.latent_dim,
        generator_width=args.generator_width, discriminator_width=args.discriminator_width,
        generator_upsample=args.upsample,
        discriminator_norm=None if args.spectral_norm else "batch",
        discriminator_spectral_norm=args.spectral_norm,
        ema_decay=args.ema_decay, ema_rampup=EMA_RAMPUP if args.ema_decay else None,
        augment=args.augment, ada_target=args.ada_target, seed=args.seed,
    )
    penalties = [] if args.r1_gamma is None else [kg.losses.R1(args.r1_gamma, R1_INTERVAL)]
    return runner.compile_from_args(gan, args, penalties=penalties)


def main(argv=None):
    args = parse_args(argv)
    import keras_gans as kg
    from keras_gans.cli import run_folder, runner

    def dataset(seed):
        return kg.data.image_dataset(
            args.data, image_size=args.image_size, channels=args.channels,
            batch_size=args.batch_size, flip=args.flip, data_dir=args.data_dir, seed=seed,
        )

    def on_resume(gan):
        run_folder.check_image_shape(gan, args.image_size, args.channels)

    runner.train(args, lambda: build_gan(args), dataset, model_class=kg.DCGAN,
                 on_resume=on_resume)
    return 0


if __name__ == "__main__":
    errors.run_main(main)
