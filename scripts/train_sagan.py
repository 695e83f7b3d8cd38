#!/usr/bin/env python
"""Train a SAGAN (Zhang et al. 2019): self-attention, spectral normalization
in both networks, hinge loss and two-timescale Adam (D 4e-4, G 1e-4, betas
0 and 0.9), on an image folder, an `.npz` file or a TFDS name.

`--num-classes N` makes it class-conditional (conditional BatchNorm in the
generator, a projection discriminator): the data then needs labels (class
subfolders, or `y_train` in an `.npz`), and the sample grids show one row
per class.

Examples:
    python scripts/train_sagan.py --data ../shared/data/flowers128 --image-size 64 --epochs 50
    python scripts/train_sagan.py --data ../shared/data/flowers128 --num-classes 5 --image-size 64
    python scripts/train_sagan.py --data mnist.npz --image-size 32 --channels 1 --attention 16
"""

import argparse
import os
import sys

if "keras_gans" not in sys.modules:  # Parse the arguments before Keras loads.
    os.environ["KERAS_GANS_DEFER_IMPORTS"] = "1"

from keras_gans.cli import arguments, errors  # noqa: E402


def _sides(text):
    try:
        sides = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        sides = ()
    if text.strip().lower() == "none":
        return ()
    if not sides or min(sides) < 4:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated feature-map sides such as 32 or 16,32 (or none), got {text!r}")
    return sides


def build_parser():
    p = arguments.ArgumentParser(
        prog="train_sagan.py",
        description="Train a SAGAN (self-attention, spectral normalization, hinge loss, "
        "two-timescale Adam); writes sample grids, a loss plot, checkpoints and a CSV log to "
        "--out, and a TF Serving SavedModel to --export if given.",
    )
    add = p.add_argument
    n = {"type": arguments.positive_int, "metavar": "N"}
    add("--data", metavar="SOURCE", default="tf_flowers",
        help="an image folder (class subfolders give labels), an .npz file or a TFDS name "
        "(default tf_flowers)")
    add("--image-size", type=int, choices=(32, 64, 128), default=64, help="image side (default 64)")
    add("--channels", type=int, choices=(1, 3), default=3, help="1 or 3 (default 3)")
    add("--num-classes", default=None, **n,
        help="train class-conditionally on N labelled classes (default: unconditional)")
    add("--latent-dim", default=128, **n, help="size of z (default 128)")
    add("--width", default=64, **n, help="channel width multiplier ch of both networks (default 64)")
    add("--block", choices=("residual", "dcgan"), default="residual",
        help="residual (SN-GAN/BigGAN) or DCGAN-style blocks (default residual)")
    add("--attention", type=_sides, default=(32,), metavar="SIDES",
        help="feature-map side(s) to attend at, e.g. 32 or 16,32, or none (default 32)")
    add("--ema-decay", type=float, default=None, metavar="DECAY",
        help="keep an EMA of the generator with this decay, e.g. 0.999 (default off)")
    add("--flip", action=argparse.BooleanOptionalAction, default=True,
        help="random left-right flips (default on)")
    arguments.add_common_training_args(
        p, out="runs/sagan", export=None, epochs=50, batch_size=64,
        d_lr=4e-4, g_lr=1e-4, beta1=0.0, beta2=0.9, loss="hinge",
        losses=("hinge", "non_saturating", "wasserstein", "least_squares"),
    )
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    import keras_gans as kg
    from keras_gans.cli import run_folder, runner

    def build():
        gan = kg.models.SAGAN(
            image_size=args.image_size, channels=args.channels, latent_dim=args.latent_dim,
            num_classes=args.num_classes, block=args.block, attention=args.attention,
            generator_width=args.width, discriminator_width=args.width,
            ema_decay=args.ema_decay, seed=args.seed,
        )
        return runner.compile_from_args(gan, args)

    def dataset(seed):
        return kg.data.image_dataset(
            args.data, image_size=args.image_size, channels=args.channels,
            batch_size=args.batch_size, flip=args.flip, with_labels=args.num_classes is not None,
            data_dir=args.data_dir, seed=seed,
        )

    def on_resume(gan):
        run_folder.check_image_shape(gan, args.image_size, args.channels)

    rows = args.num_classes or 8
    runner.train(args, build, dataset, model_class=kg.models.SAGAN, on_resume=on_resume,
                 num_samples=8 * rows)
    return 0


if __name__ == "__main__":
    errors.run_main(main)
