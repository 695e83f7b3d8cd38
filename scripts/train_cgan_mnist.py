#!/usr/bin/env python
"""Train a class-conditional GAN on MNIST (or any labelled image set).

The run folder gets a sample grid per epoch (one row per class, the same z
in every row), a loss plot, a CSV log and a checkpoint after every epoch
(`checkpoints/last.keras`); `--resume` continues from that checkpoint.
`--export` writes a SavedModel for TF Serving with
`serving_default(z, labels)` and `sample(seed, labels)` signatures.

Examples:
    python scripts/train_cgan_mnist.py --out runs/cgan_mnist
    python scripts/train_cgan_mnist.py --data /work/shared/data/mnist/mnist.npz \\
        --epochs 10 --out runs/cgan_mnist --export saved_models/mnist_cgan/1
    python scripts/train_cgan_mnist.py --out runs/cgan_mnist --epochs 20 --resume
    python scripts/train_cgan_mnist.py --strategy mirrored --batch-size 256   # all GPUs
"""

import os
import sys

if "keras_gans" not in sys.modules:  # Parse the arguments before Keras loads.
    os.environ["KERAS_GANS_DEFER_IMPORTS"] = "1"

from keras_gans.cli import arguments, errors  # noqa: E402


def build_parser():
    p = arguments.ArgumentParser(
        prog="train_cgan_mnist.py",
        description=(
            "Train a keras_gans ConditionalGAN (DCGAN body) on labelled images: by "
            "default MNIST from TensorFlow Datasets. Writes sample grids, a loss plot, "
            "a CSV log and a checkpoint per epoch to --out, and a TF Serving SavedModel "
            "to --export if given."
        ),
        epilog=(
            "--data accepts a TFDS name ('mnist', 'fashion_mnist'), an .npz file with "
            "x_train/y_train (Keras layout), or a folder with one subfolder of images "
            "per class. Example: %(prog)s --data mnist.npz --epochs 10 --export "
            "saved_models/mnist_cgan/1"
        ),
    )
    add = p.add_argument
    n = {"type": arguments.positive_int, "metavar": "N"}
    add("--data", metavar="SOURCE", default="mnist",
        help="TFDS name, .npz file or class-folder tree (default mnist, from TFDS)")
    add("--image-size", default=28, **n, help="image side (default 28)")
    add("--channels", type=int, choices=(1, 3), default=1, help="1 or 3 (default 1)")
    add("--num-classes", default=10, **n, help="number of classes (default 10)")
    add("--latent-dim", default=100, **n, help="size of z (default 100)")
    add("--width", default=64, **n, help="DCGAN ngf = ndf (default 64)")
    add("--label-mode", choices=("one_hot", "embedding"), default="one_hot",
        help="how the generator sees the label (default one_hot)")
    add("--discriminator-label-mode", choices=("channels", "projection"), default="channels",
        help="how the discriminator sees it (default channels)")
    arguments.add_common_training_args(
        p, out="runs/cgan_mnist", export=None, epochs=20, batch_size=64, seed=0,
    )
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    import keras_gans as kg
    from keras_gans.cli import run_folder, runner

    def build():
        gan = kg.ConditionalGAN(
            num_classes=args.num_classes, image_size=args.image_size, channels=args.channels,
            latent_dim=args.latent_dim, body="dcgan", label_mode=args.label_mode,
            discriminator_label_mode=args.discriminator_label_mode,
            generator_width=args.width, discriminator_width=args.width, seed=args.seed,
        )
        return runner.compile_from_args(gan, args)

    def dataset(seed):
        return kg.data.image_dataset(
            args.data, image_size=args.image_size, channels=args.channels,
            batch_size=args.batch_size, with_labels=True, seed=seed, data_dir=args.data_dir,
        )

    def on_resume(gan):
        run_folder.check_image_shape(gan, args.image_size, args.channels)

    # One row of 10 samples per class.
    runner.train(args, build, dataset, model_class=kg.ConditionalGAN, on_resume=on_resume,
                 num_samples=10 * args.num_classes)
    return 0


if __name__ == "__main__":
    errors.run_main(main)
