#!/usr/bin/env python
"""Train the original GAN (Goodfellow et al. 2014: multilayer perceptrons) on
MNIST digits, 28x28 grayscale.

`--loss minimax` is the paper's saturating generator loss, `non_saturating`
(the default) the heuristic the same paper recommends in practice.

Examples:
    python scripts/train_gan_mnist.py --data /path/to/mnist.npz --epochs 50
    python scripts/train_gan_mnist.py --loss minimax --out runs/mnist_minimax
    python scripts/train_gan_mnist.py            # TFDS mnist (downloads once)
    KERAS_BACKEND=jax python scripts/train_gan_mnist.py --strategy data_parallel  # all devices
"""

import os
import sys

if "keras_gans" not in sys.modules:  # Parse the arguments before Keras loads.
    os.environ["KERAS_GANS_DEFER_IMPORTS"] = "1"

from keras_gans.cli import arguments, errors  # noqa: E402

DATA_SHAPE = (28, 28, 1)


def build_parser():
    p = arguments.ArgumentParser(
        prog="train_gan_mnist.py",
        description="Train the 2014 MLP GAN on MNIST; writes sample grids, a loss plot, a "
        "checkpoint and a CSV log to --out and a TF Serving SavedModel to --export.",
    )
    p.add_argument("--data", metavar="SOURCE", default="mnist",
                   help="an mnist.npz file (x_train), a folder of digit images or a TFDS name (default mnist)")
    p.add_argument("--latent-dim", metavar="N", type=arguments.positive_int, default=100,
                   help="size of z (default 100)")
    arguments.add_common_training_args(
        p, out="runs/mnist_gan", export="saved_models/mnist_gan/1",
        epochs=50, batch_size=64, losses=("minimax", "non_saturating"),
    )
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    import keras_gans as kg
    from keras_gans.cli import runner

    def build():
        gan = kg.VanillaGAN(data_shape=DATA_SHAPE, latent_dim=args.latent_dim, seed=args.seed)
        return runner.compile_from_args(gan, args)

    def dataset(seed):  # Digits are not mirror-symmetric: no flips.
        return kg.data.image_dataset(
            args.data, image_size=DATA_SHAPE[0], channels=DATA_SHAPE[2],
            batch_size=args.batch_size, flip=False, data_dir=args.data_dir, seed=seed,
        )

    runner.train(args, build, dataset, model_class=kg.VanillaGAN)
    return 0


if __name__ == "__main__":
    errors.run_main(main)
