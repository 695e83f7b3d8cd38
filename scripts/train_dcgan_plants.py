#!/usr/bin/env python
"""Train the plant DCGAN on photos of flowers and plants (128x128 by default).

The generator is updated twice per discriminator update (--g-steps 2), which
keeps the generator from falling behind on photos. Random left-right flips
(--flip) double the data for free.

Examples:
    python scripts/train_dcgan_plants.py --data /path/to/flowers128 --epochs 50
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


def build_parser():
    p = arguments.ArgumentParser(
        prog="train_dcgan_plants.py",
        description="Train a DCGAN on plant photos; writes sample grids, a loss plot, a "
        "checkpoint and a CSV log to --out and a TF Serving SavedModel to --export.",
    )
    p.add_argument("--data", metavar="SOURCE", default="tf_flowers",
                   help="a folder of images (searched recursively) or a TFDS name (default tf_flowers)")
    p.add_argument("--image-size", type=arguments.positive_int, default=128, metavar="N",
                   help="image side: 32, 64, 128, 256, ... (default 128)")
    p.add_argument("--channels", type=int, choices=(1, 3), default=3, help="1 or 3 (default 3)")
    p.add_argument("--latent-dim", metavar="N", type=arguments.positive_int, default=128, help="size of z (default 128)")
    p.add_argument("--generator-width", metavar="N", type=arguments.positive_int, default=64,
                   help="channels of the generator's last hidden stage, doubling towards z (default 64)")
    p.add_argument("--discriminator-width", metavar="N", type=arguments.positive_int, default=64,
                   help="channels of the discriminator's first stage, doubling per stage (default 64)")
    p.add_argument("--flip", action=argparse.BooleanOptionalAction, default=True,
                   help="random left-right flips (default on)")
    arguments.add_common_training_args(
        p, out="runs/plants_dcgan", export="saved_models/plants_dcgan/1",
        epochs=50, batch_size=64, g_steps=2,
    )
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    import keras_gans as kg
    from keras_gans.cli import run_folder, runner

    def build():
        gan = kg.DCGAN(
            image_size=args.image_size, channels=args.channels, latent_dim=args.latent_dim,
            generator_width=args.generator_width,
            discriminator_width=args.discriminator_width, seed=args.seed,
        )
        return runner.compile_from_args(gan, args)

    def dataset(seed):
        return kg.data.image_dataset(
            args.data, image_size=args.image_size, channels=args.channels,
            batch_size=args.batch_size, flip=args.flip, data_dir=args.data_dir, seed=seed,
        )

    def on_resume(gan):
        run_folder.check_image_shape(gan, args.image_size, args.channels)

    runner.train(args, build, dataset, model_class=kg.DCGAN, on_resume=on_resume)
    return 0


if __name__ == "__main__":
    errors.run_main(main)
