#!/usr/bin/env python
"""Train a class-conditional GAN on MNIST (or any labelled image set).

The run folder gets a sample grid per epoch (one row per class, the same z
in every row), a loss plot, a CSV log and a `.keras` checkpoint after every
epoch; `--resume` continues from that checkpoint. `--export` writes a
SavedModel for TF Serving with `serving_default(z, labels)` and
`sample(seed, labels)` signatures.

Examples:
    python scripts/train_cgan_mnist.py --out runs/cgan_mnist
    python scripts/train_cgan_mnist.py --data /work/shared/data/mnist/mnist.npz \\
        --epochs 10 --out runs/cgan_mnist --export saved_models/mnist_cgan/1
    python scripts/train_cgan_mnist.py --out runs/cgan_mnist --epochs 20 --resume
"""

import argparse
import csv
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # Keep TensorFlow's start-up noise out.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One clear line instead of argparse's usage dump.
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse_args(argv=None):
    p = _Parser(
        prog="train_cgan_mnist.py",
        description=(
            "Train a keras_gans ConditionalGAN (DCGAN body) on labelled images: by "
            "default MNIST from TensorFlow Datasets. Writes sample grids, a loss plot, "
            "a CSV log and a .keras checkpoint per epoch to --out."
        ),
        epilog=(
            "--data accepts a TFDS name ('mnist', 'fashion_mnist'), an .npz file with "
            "x_train/y_train (Keras layout), or a folder with one subfolder of images "
            "per class. Example: %(prog)s --data mnist.npz --epochs 10 --export "
            "saved_models/mnist_cgan/1"
        ),
    )
    p.add_argument("--data", default="mnist",
                   help="TFDS name, .npz file or class-folder tree (default: mnist, from TFDS)")
    p.add_argument("--out", default="runs/cgan_mnist", help="run folder (default: runs/cgan_mnist)")
    p.add_argument("--epochs", type=int, default=20, help="total epochs (default: 20)")
    p.add_argument("--batch-size", type=int, default=64, help="batch size (default: 64)")
    p.add_argument("--steps-per-epoch", type=int, default=None,
                   help="batches per epoch (default: one pass over the data)")
    p.add_argument("--image-size", type=int, default=28, help="image side (default: 28)")
    p.add_argument("--channels", type=int, choices=(1, 3), default=1, help="(default: 1)")
    p.add_argument("--num-classes", type=int, default=10, help="number of classes (default: 10)")
    p.add_argument("--latent-dim", type=int, default=100, help="size of z (default: 100)")
    p.add_argument("--width", type=int, default=64, help="DCGAN ngf = ndf (default: 64)")
    p.add_argument("--label-mode", choices=("one_hot", "embedding"), default="one_hot",
                   help="how the generator sees the label (default: one_hot)")
    p.add_argument("--discriminator-label-mode", choices=("channels", "projection"),
                   default="channels", help="how the discriminator sees it (default: channels)")
    p.add_argument("--export", default=None, metavar="DIR",
                   help="after training, export a SavedModel to DIR, e.g. saved_models/mnist_cgan/1")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.keras up to --epochs in total")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--verbose", type=int, choices=(0, 1, 2), default=2,
                   help="Keras fit verbosity (default: 2, one line per epoch)")
    args = p.parse_args(argv)
    for name in ("epochs", "batch_size", "image_size", "num_classes", "latent_dim", "width"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.steps_per_epoch is not None and args.steps_per_epoch < 1:
        p.error("--steps-per-epoch must be >= 1")
    return args


def _completed_epochs(log_path):
    """Epochs finished by an earlier run, read from its CSV log."""
    if not os.path.exists(log_path):
        return 0
    with open(log_path, newline="") as f:
        rows = list(csv.DictReader(f))
    return int(rows[-1]["epoch"]) + 1 if rows else 0


def run(args):
    import keras

    import keras_gans.data as gan_data
    from keras_gans import callbacks as gan_callbacks
    from keras_gans.models.cgan import ConditionalGAN

    checkpoint = os.path.join(args.out, "checkpoint.keras")
    log_path = os.path.join(args.out, "log.csv")
    keras.utils.set_random_seed(args.seed)
    ds = gan_data.image_dataset(
        args.data, image_size=args.image_size, channels=args.channels,
        batch_size=args.batch_size, with_labels=True, seed=args.seed,
    )
    if args.steps_per_epoch:
        ds = ds.repeat()

    initial_epoch = 0
    if args.resume:
        if not os.path.exists(checkpoint):
            raise CliError(f"--resume: no checkpoint at {checkpoint}")
        gan = keras.saving.load_model(checkpoint)
        initial_epoch = _completed_epochs(log_path)
        if initial_epoch >= args.epochs:
            raise CliError(
                f"--resume: {initial_epoch} epochs already done; pass --epochs > {initial_epoch}"
            )
        print(f"Resuming from {checkpoint} after epoch {initial_epoch}.", flush=True)
    else:
        gan = ConditionalGAN(
            num_classes=args.num_classes, image_size=args.image_size, channels=args.channels,
            latent_dim=args.latent_dim, body="dcgan", label_mode=args.label_mode,
            discriminator_label_mode=args.discriminator_label_mode,
            generator_width=args.width, discriminator_width=args.width, seed=args.seed,
        )
        gan.compile()
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "config.json"), "w") as f:
            json.dump(vars(args), f, indent=2)

    callbacks = [
        gan_callbacks.SampleGrid(os.path.join(args.out, "samples"), num_samples=10 * args.num_classes),
        gan_callbacks.LossPlot(os.path.join(args.out, "losses.png")),
        keras.callbacks.ModelCheckpoint(checkpoint),
        keras.callbacks.CSVLogger(log_path, append=args.resume),
    ]
    start = time.time()
    gan.fit(
        ds, epochs=args.epochs, initial_epoch=initial_epoch,
        steps_per_epoch=args.steps_per_epoch, callbacks=callbacks, verbose=args.verbose,
    )
    print(f"Trained in {(time.time() - start) / 60:.1f} min; run folder {args.out}", flush=True)
    if args.export:
        from keras_gans.export import export_generator

        print(f"Exported to {export_generator(gan, args.export)}", flush=True)


def main(argv=None):
    args = parse_args(argv)
    try:
        from keras_gans.data import DatasetDownloadError
    except ImportError as e:
        print(f"train_cgan_mnist.py: error: {e}", file=sys.stderr)
        return 1
    try:
        run(args)
    except (CliError, FileNotFoundError, NotADirectoryError, ValueError,
            DatasetDownloadError, ImportError) as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"train_cgan_mnist.py: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("train_cgan_mnist.py: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
