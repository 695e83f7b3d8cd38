#!/usr/bin/env python
"""Train a CycleGAN on two unpaired image domains, or translate with one.

Training writes to the run folder: translation grids (rows a -> G(a) ->
F(G(a)) and b -> F(b) -> G(F(b)) on fixed test images), a loss plot, a CSV
log and a `.keras` checkpoint after every epoch. The learning rate is
constant for the first half of the epochs and decays linearly to zero over
the second half (a `LinearDecay` schedule inside the optimizers, so a
resumed run keeps its place on it).

Examples:
    # the paper's setting, from TensorFlow Datasets:
    python scripts/train_cyclegan.py --tfds cycle_gan/horse2zebra --out runs/h2z
    # a folder with trainA/ trainB/ (testA/ testB/) subfolders:
    python scripts/train_cyclegan.py --data datasets/daisy2sunflower --image-size 128 \\
        --epochs 100 --out runs/d2s --export saved_models/daisy2sunflower/1
    # two folders of images:
    python scripts/train_cyclegan.py --data-a photos/ --data-b paintings/ --out runs/p2p
    # translate a folder with a trained model (.keras or SavedModel):
    python scripts/train_cyclegan.py --translate daisies/ --model runs/d2s/checkpoint.keras \\
        --output sunflowers/ --direction a_to_b
"""

import argparse
import csv
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # Keep TensorFlow's start-up noise out.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROG = "train_cyclegan.py"


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One clear line instead of argparse's usage dump.
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse_args(argv=None):
    p = _Parser(
        prog=PROG,
        description=(
            "Train a keras_gans CycleGAN (ResNet generators, 70x70 PatchGANs, "
            "least-squares, cycle and identity losses, image pools) on two unpaired "
            "image domains; or, with --translate, map a folder of images with a "
            "trained model."
        ),
        epilog=(
            "Data (one of): --data-a DIR --data-b DIR; --data DIR with trainA/ and "
            "trainB/ (and testA/, testB/ for the grids); --tfds NAME (default "
            "cycle_gan/horse2zebra, downloaded on first use). Images are resized "
            "(centre crop) to --image-size. Example: %(prog)s --data "
            "datasets/daisy2sunflower --image-size 128 --epochs 100"
        ),
    )
    data = p.add_argument_group("data")
    data.add_argument("--data-a", default=None, metavar="DIR", help="folder of domain A images")
    data.add_argument("--data-b", default=None, metavar="DIR", help="folder of domain B images")
    data.add_argument("--data", default=None, metavar="DIR",
                      help="folder with trainA/ and trainB/ (testA/, testB/) subfolders")
    data.add_argument("--tfds", default="cycle_gan/horse2zebra",
                      help="TFDS cycle_gan config, used when no folder is given "
                           "(default: cycle_gan/horse2zebra)")
    train = p.add_argument_group("training")
    train.add_argument("--out", default="runs/cyclegan", help="run folder (default: runs/cyclegan)")
    train.add_argument("--image-size", type=int, choices=(128, 256), default=256,
                       help="image side (default: 256, as in the paper)")
    train.add_argument("--epochs", type=int, default=200,
                       help="total epochs; the rate decays over the second half (default: 200)")
    train.add_argument("--batch-size", type=int, default=1, help="batch size (default: 1)")
    train.add_argument("--steps-per-epoch", type=int, default=None,
                       help="batches per epoch (default: one pass over the larger domain)")
    train.add_argument("--learning-rate", type=float, default=2e-4, help="Adam rate (default: 2e-4)")
    train.add_argument("--filters", type=int, default=64, help="generator ngf and PatchGAN ndf (default: 64)")
    train.add_argument("--residual-blocks", type=int, default=None,
                       help="generator residual blocks (default: 6 at 128 px, 9 at 256)")
    train.add_argument("--cycle-weight", type=float, default=10.0, help="lambda (default: 10)")
    train.add_argument("--identity-weight", type=float, default=None,
                       help="identity loss weight; 0 disables (default: 0.5 * lambda)")
    train.add_argument("--pool-size", type=int, default=50, help="image history per domain (default: 50)")
    train.add_argument("--grid-images", type=int, default=4, help="test images per domain in the grids (default: 4)")
    train.add_argument("--grid-every", type=int, default=1, help="save a grid every N epochs (default: 1)")
    train.add_argument("--export", default=None, metavar="DIR",
                       help="after training, export a SavedModel (signatures a_to_b, b_to_a) to DIR")
    train.add_argument("--resume", action="store_true",
                       help="continue from OUT/checkpoint.keras up to --epochs in total "
                            "(the decay schedule keeps the original run's length)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument("--verbose", type=int, choices=(0, 1, 2), default=2,
                       help="Keras fit verbosity (default: 2, one line per epoch)")
    translate = p.add_argument_group("translation (--translate)")
    translate.add_argument("--translate", default=None, metavar="DIR",
                           help="translate the images in DIR instead of training")
    translate.add_argument("--model", default=None,
                           help="a trained model: a .keras file or an exported SavedModel folder")
    translate.add_argument("--output", default=None, metavar="DIR", help="where to write the PNGs")
    translate.add_argument("--direction", choices=("a_to_b", "b_to_a"), default="a_to_b",
                           help="(default: a_to_b)")
    args = p.parse_args(argv)
    if args.translate is not None:
        if not args.model or not args.output:
            p.error("--translate needs --model and --output")
        return args
    if (args.data_a is None) != (args.data_b is None):
        p.error("give both --data-a and --data-b (one folder per domain), or --data, or --tfds")
    if args.data and args.data_a:
        p.error("give either --data or --data-a/--data-b, not both")
    for name in ("epochs", "batch_size", "filters", "grid_every", "grid_images"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.steps_per_epoch is not None and args.steps_per_epoch < 1:
        p.error("--steps-per-epoch must be >= 1")
    if args.pool_size < 0:
        p.error("--pool-size must be >= 0")
    return args


# -- training ---------------------------------------------------------------------


def _datasets(args):
    """The training stream and fixed test images `(a, b)` for the grids."""
    from keras_gans.data import unpaired_dataset

    if args.data_a:
        sources = (args.data_a, args.data_b)
    elif args.data:
        sources = (args.data, None)
    else:
        sources = (args.tfds, None)
    train = unpaired_dataset(
        *sources, image_size=args.image_size, batch_size=args.batch_size, seed=args.seed
    )
    try:
        test = unpaired_dataset(
            *sources, image_size=args.image_size, batch_size=args.grid_images, training=False
        )
    except FileNotFoundError:  # A --data folder without testA/ testB/.
        test = unpaired_dataset(
            *(os.path.join(args.data, f"train{d}") for d in "AB"),
            image_size=args.image_size, batch_size=args.grid_images, training=False,
        )
    test_a, test_b = next(iter(test))
    return train, (test_a.numpy(), test_b.numpy())


def _completed_epochs(log_path):
    if not os.path.exists(log_path):
        return 0
    with open(log_path, newline="") as f:
        rows = list(csv.DictReader(f))
    return int(rows[-1]["epoch"]) + 1 if rows else 0


def train(args):
    import keras

    from keras_gans.callbacks import LossPlot
    from keras_gans.models.cyclegan import CycleGAN, TranslationGrid

    checkpoint = os.path.join(args.out, "checkpoint.keras")
    log_path = os.path.join(args.out, "log.csv")
    keras.utils.set_random_seed(args.seed)
    ds, (test_a, test_b) = _datasets(args)
    steps_per_epoch = args.steps_per_epoch or int(ds.cardinality())
    if steps_per_epoch < 1:
        raise CliError("could not count the batches per epoch; pass --steps-per-epoch")
    ds = ds.repeat()  # Epochs are counted in steps; the stream never ends.

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
        gan = CycleGAN(
            image_size=args.image_size, generator_filters=args.filters,
            discriminator_filters=args.filters, num_residual_blocks=args.residual_blocks,
            cycle_weight=args.cycle_weight, identity_weight=args.identity_weight,
            pool_size=args.pool_size, seed=args.seed,
        )
        gan.compile(learning_rate=args.learning_rate, total_steps=args.epochs * steps_per_epoch)
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "config.json"), "w") as f:
            json.dump(vars(args), f, indent=2)

    callbacks = [
        TranslationGrid(os.path.join(args.out, "grids"), test_a, test_b, args.grid_every),
        LossPlot(os.path.join(args.out, "losses.png")),
        keras.callbacks.ModelCheckpoint(checkpoint),
        keras.callbacks.CSVLogger(log_path, append=args.resume),
    ]
    start = time.time()
    gan.fit(
        ds, epochs=args.epochs, initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
        callbacks=callbacks, verbose=args.verbose,
    )
    minutes = (time.time() - start) / 60
    print(f"Trained {args.epochs - initial_epoch} epoch(s) of {steps_per_epoch} steps in "
          f"{minutes:.1f} min; run folder {args.out}", flush=True)
    if args.export:
        from keras_gans.export_cyclegan import export_translator

        print(f"Exported to {export_translator(gan, args.export)}", flush=True)


# -- translation --------------------------------------------------------------------


def _load_translator(path, direction):
    """A function uint8 images -> uint8 images, and the image size it takes."""
    if path.endswith(".keras"):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No model file at {path}")
        import keras

        import keras_gans.models.cyclegan  # noqa: F401  (registers the classes)

        gan = keras.saving.load_model(path)
        return (lambda images: gan.translate(images, direction)), gan.image_size
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise FileNotFoundError(f"{path} is neither a .keras file nor a SavedModel folder")
    import tensorflow as tf

    signature = tf.saved_model.load(path).signatures[direction]
    size = signature.structured_input_signature[1]["image"].shape[1]
    return (lambda images: signature(image=tf.constant(images))["image"].numpy()), size


def _load_image(path, size):
    """One image as uint8 RGB, centre-cropped to a square and resized."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side))
        return np.asarray(image.resize((size, size), Image.BICUBIC))


def translate(args, batch_size=8):
    import numpy as np

    from keras_gans.data import scan_image_folder
    from keras_gans.images import save_image

    folder = scan_image_folder(args.translate)
    translator, size = _load_translator(args.model, args.direction)
    os.makedirs(args.output, exist_ok=True)
    start = time.time()
    for i in range(0, len(folder.files), batch_size):
        paths = folder.files[i : i + batch_size]
        images = np.stack([_load_image(p, size) for p in paths])
        for path, image in zip(paths, translator(images)):
            name = os.path.splitext(os.path.basename(path))[0] + ".png"
            save_image(image, os.path.join(args.output, name))
    print(f"Translated {len(folder.files)} images ({args.direction}) to {args.output} in "
          f"{time.time() - start:.1f} s", flush=True)


def main(argv=None):
    args = parse_args(argv)
    try:
        from keras_gans.data import DatasetDownloadError
    except ImportError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    try:
        translate(args) if args.translate is not None else train(args)
    except (CliError, FileNotFoundError, NotADirectoryError, ValueError,
            DatasetDownloadError, ImportError) as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
