#!/usr/bin/env python
"""Train a ProGAN (Karras et al. 2018): from 4x4 up to --image-size, fading
each new resolution in.

The schedule is counted in real images: 4x4 for --images-per-stage, then each
doubling fades in over --fade-images (default the same) and is held for
--images-per-stage. Without --epochs the run lasts the whole schedule (the
last resolution faded in and held once). The run folder is the other
scripts' (samples/, losses.png, steps.csv, log.csv, checkpoints/); samples/
also gets one grid per resolution, stage_<k>_<r>x<r>.png, written as the
stage ends (every grid is drawn at --image-size). --resume continues in the
same stage at the same fade-in.

Examples:
    python scripts/train_progan.py --data ../shared/data/flowers128 --image-size 64 \\
        --images-per-stage 20000 --flip --out runs/progan_flowers
    python scripts/train_progan.py --data ../shared/data/mnist/mnist.npz --image-size 32 \\
        --channels 1 --images-per-stage 60000 --out runs/progan_mnist
    python scripts/train_progan.py --out runs/progan_flowers --resume ...   # the same flags
"""

import math
import os
import sys

if "keras_gans" not in sys.modules:  # Parse the arguments before Keras loads.
    os.environ["KERAS_GANS_DEFER_IMPORTS"] = "1"

from keras_gans.cli import arguments, errors  # noqa: E402


def build_parser():
    p = arguments.ArgumentParser(
        prog="train_progan.py",
        description="Train a keras_gans ProGAN, growing from 4x4 to --image-size; writes "
        "sample grids (one per resolution too), a loss plot, a CSV log and checkpoints to "
        "--out, and a TF Serving SavedModel to --export if given.",
    )
    add = p.add_argument
    n = {"type": arguments.positive_int, "metavar": "N"}
    add("--data", metavar="SOURCE", default="tf_flowers",
        help="a folder of images, an .npz file (x_train) or a TFDS name (default tf_flowers)")
    add("--image-size", default=64, **n,
        help="the final resolution: 8, 16, 32, 64, ... (default 64)")
    add("--channels", type=int, choices=(1, 3), default=3, help="1 or 3 (default 3)")
    add("--images-per-stage", default=600_000, **n,
        help="real images to train 4x4 for, and to hold each later resolution for "
        "(default 600000, the paper's code)")
    add("--fade-images", default=None, **n,
        help="real images over which each new resolution fades in (default "
        "--images-per-stage)")
    add("--latent-dim", default=512, **n, help="size of z (default 512)")
    add("--max-filters", default=512, **n,
        help="the most channels of any layer; resolution r has min(16384 / r, this) "
        "(default 512)")
    add("--flip", action="store_true", help="flip images left-right at random (the paper's "
        "mirror augmentation)")
    arguments.add_common_training_args(
        p, out="runs/progan", export=None, epochs=None, batch_size=16,
        lr=1e-3, beta1=0.0, beta2=0.99, loss="wasserstein",
        losses=("wasserstein", "non_saturating"),
    )
    for action in p._actions:
        if action.dest == "epochs":
            action.help = ("total epochs; --resume trains up to this count (default: as many "
                           "as the whole schedule takes)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    import keras_gans as kg
    from keras_gans.cli import runner
    from keras_gans.growing import GrowthSchedule
    from keras_gans.models.progan import ProGAN

    schedule = GrowthSchedule(args.image_size, hold_images=args.images_per_stage,
                              fade_images=args.fade_images)

    def build():
        gan = ProGAN(image_size=args.image_size, channels=args.channels,
                     latent_dim=args.latent_dim, max_filters=args.max_filters,
                     images_per_stage=args.images_per_stage, fade_images=args.fade_images,
                     seed=args.seed)
        # compile_from_args gives the flags' optimizers and loss; the penalties
        # are the family's (WGAN-GP + drift, or R1 with --loss non_saturating).
        return runner.compile_from_args(gan, args)

    def dataset(seed):
        return kg.data.image_dataset(
            args.data, image_size=args.image_size, channels=args.channels,
            batch_size=args.batch_size, flip=args.flip, data_dir=args.data_dir, seed=seed,
        )

    def on_resume(gan):
        given = {"--image-size": (gan.image_size, args.image_size),
                 "--channels": (gan.channels, args.channels),
                 "--images-per-stage": (gan.images_per_stage, args.images_per_stage),
                 "--fade-images": (gan.fade_images, args.fade_images or args.images_per_stage)}
        wrong = [f"{flag} {saved}" for flag, (saved, flag_value) in given.items()
                 if saved != flag_value]
        if wrong:
            raise ValueError(f"the checkpoint grows by another schedule; resume with "
                             f"{' '.join(wrong)}")

    # One pass counted here (the runner counts its own): the epochs of the schedule.
    steps = args.steps_per_epoch or runner.batches_per_pass(dataset(0))
    images_per_epoch = steps * args.batch_size
    if args.epochs is None:
        args.epochs = math.ceil(schedule.total_images / images_per_epoch)
    print(f"Growth, {images_per_epoch:,} images an epoch, {args.epochs} epochs:")
    for line in schedule.describe(images_per_epoch):
        print(f"  {line}")
    runner.train(args, build, dataset, model_class=ProGAN, on_resume=on_resume)
    return 0


if __name__ == "__main__":
    errors.run_main(main)
