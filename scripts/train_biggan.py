#!/usr/bin/env python
"""Train a BigGAN (Brock et al. 2019) on labelled images.

The run folder gets a sample grid per epoch (one row per class, the same z
in every row), a loss plot, CSV logs and checkpoints; `--resume` continues
from the last one. `--export` writes a SavedModel for TF Serving with
`serving_default(z, labels)` and `sample(seed, labels, truncation)`.

The defaults are the authors' (ajbrock/BigGAN-PyTorch): hinge loss, Adam
with betas (0, 0.999) at 4e-4 (D) and 1e-4 (G), two D updates per G update,
each on its own `--batch-size` real images (a step reads `d_steps x
batch_size` images, as the authors' loader), orthogonal regularization of G
(beta 1e-4) and an EMA of G (0.9999, from step 20,000). `--accumulate N`
averages the gradients of N updates into each applied one (Keras' optimizer
`gradient_accumulation_steps`): an effective batch of N x batch-size images
per update on a small device.

Examples:
    python scripts/train_biggan.py --data ../shared/data/flowers128 --num-classes 5 \\
        --image-size 64 --epochs 100 --out runs/biggan_flowers
    python scripts/train_biggan.py --data mnist.npz --num-classes 10 --image-size 32 \\
        --channels 1 --batch-size 128 --export saved_models/biggan_mnist/1
    python scripts/train_biggan.py --data imagenette --num-classes 10 --accumulate 8 --resume
"""

import argparse
import os
import sys

if "keras_gans" not in sys.modules:  # Parse the arguments before Keras loads.
    os.environ["KERAS_GANS_DEFER_IMPORTS"] = "1"

from keras_gans.cli import arguments, errors  # noqa: E402

SIZES = (32, 64, 128, 256)  # keras_gans.models.biggan.SIZES, without importing Keras


def attention_sides(text):
    """argparse type: comma-separated sides, or "none"."""
    if text.strip().lower() == "none":
        return ()
    try:
        sides = tuple(int(side) for side in text.split(","))
    except ValueError:
        sides = ()
    if not sides or min(sides) < 4:
        raise argparse.ArgumentTypeError(f"expected sides like 64 or 32,64 or none, got {text!r}")
    return sides


def build_parser():
    p = arguments.ArgumentParser(
        prog="train_biggan.py",
        description=(
            "Train a keras_gans BigGAN on labelled images (class subfolders, an .npz with "
            "labels or a TFDS name). Writes sample grids (a row per class), a loss plot, CSV "
            "logs and checkpoints to --out, and a TF Serving SavedModel to --export if given."
        ),
        epilog=(
            "Each of the --d-steps discriminator updates sees its own --batch-size real "
            "images (a step reads d-steps x batch-size); the generator update draws "
            "batch-size fakes. "
            "Example: %(prog)s --data flowers/ --num-classes 5 --image-size 64 --epochs 100"
        ),
    )
    add = p.add_argument
    n = {"type": arguments.positive_int, "metavar": "N"}
    add("--data", metavar="SOURCE", default="tf_flowers",
        help="class-folder tree, .npz with x_train/y_train, or TFDS name (default tf_flowers)")
    add("--num-classes", default=5, **n, help="number of classes of --data (default 5)")
    add("--image-size", type=int, choices=SIZES, default=128, help="image side (default 128)")
    add("--channels", type=int, choices=(1, 3), default=3, help="1 or 3 (default 3)")
    add("--latent-dim", default=120, **n,
        help="size of z, split into one chunk per generator block plus one (default 120)")
    add("--shared-dim", default=128, **n, help="size of the shared class embedding (default 128)")
    add("--generator-width", default=64, **n, help="the generator's channel multiplier ch (default 64)")
    add("--discriminator-width", default=64, **n,
        help="the discriminator's channel multiplier ch (default 64)")
    add("--attention", type=attention_sides, default=None, metavar="SIDES",
        help="feature-map sides to attend at, e.g. 64 or 32,64, or none (default: 64, none at 32 px)")
    add("--orthogonal-strength", type=float, default=1e-4, metavar="BETA",
        help="beta of G's orthogonal regularization; 0: off (default 1e-4)")
    add("--ema-decay", type=float, default=0.9999, metavar="D",
        help="decay of the generator's moving average; 0: none (default 0.9999)")
    add("--ema-start", type=int, default=20_000, metavar="STEP",
        help="step at which the average starts; before it, it copies G (default 20000)")
    add("--accumulate", default=1, **n,
        help="updates whose mean gradient each optimizer applies as one (default 1)")
    add("--grid-truncation", type=arguments.positive_float, default=None, metavar="T",
        help="draw the sample grids' latents with the truncation trick at T, e.g. 0.5 "
        "(default: none)")
    add("--flip", action=argparse.BooleanOptionalAction, default=False,
        help="random left-right flips (default off, as the authors' code)")
    arguments.add_common_training_args(
        p, out="runs/biggan", export=None, epochs=100, batch_size=64, seed=0,
        d_lr=4e-4, g_lr=1e-4, beta1=0.0, beta2=0.999, d_steps=2, loss="hinge",
        losses=("hinge", "non_saturating", "least_squares", "wasserstein"),
    )

    def check(parser, args):
        if not 0 <= args.ema_decay < 1:
            parser.error(f"--ema-decay must lie in [0, 1), got {args.ema_decay}")

    p.add_check(check)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    import keras_gans as kg
    from keras_gans.cli import run_folder, runner
    from keras_gans.models.biggan import BigGAN

    def optimizer(gan, learning_rate, name):
        base = runner.optimizer_from_args(args, learning_rate, name, gan.default_optimizer(name))
        if args.accumulate == 1:
            return base
        return type(base).from_config(
            {**base.get_config(), "gradient_accumulation_steps": args.accumulate})

    def build():
        gan = BigGAN(
            args.num_classes, image_size=args.image_size, channels=args.channels,
            latent_dim=args.latent_dim, shared_dim=args.shared_dim,
            generator_width=args.generator_width, discriminator_width=args.discriminator_width,
            attention=args.attention, orthogonal_strength=args.orthogonal_strength,
            ema_decay=args.ema_decay or None, ema_start=args.ema_start, seed=args.seed,
        )
        gan.compile(
            d_optimizer=optimizer(gan, args.d_lr, "d_optimizer"),
            g_optimizer=optimizer(gan, args.g_lr, "g_optimizer"),
            loss=args.loss, d_steps=args.d_steps, g_steps=args.g_steps,
            jit_compile="auto" if args.jit is None else args.jit,
        )
        return gan

    def dataset(seed):  # A step's batch: one real batch per discriminator update.
        return kg.data.image_dataset(
            args.data, image_size=args.image_size, channels=args.channels,
            batch_size=args.batch_size * args.d_steps, with_labels=True, flip=args.flip, seed=seed,
            data_dir=args.data_dir,
        )

    def on_resume(gan):
        run_folder.check_image_shape(gan, args.image_size, args.channels)
        if gan.num_classes != args.num_classes:
            raise ValueError(f"the checkpoint has {gan.num_classes} classes; resume with "
                             f"--num-classes {gan.num_classes}")

    def samples(directory):  # One row of 10 samples per class.
        return kg.callbacks.SampleGrid(directory, 1, 10 * args.num_classes,
                                       truncation=args.grid_truncation)

    runner.train(args, build, dataset, model_class=BigGAN, on_resume=on_resume, samples=samples)
    return 0


if __name__ == "__main__":
    errors.run_main(main)
