#!/usr/bin/env python
"""Train a CycleGAN on two unpaired image domains, or translate with one.

Training writes to the run folder: translation grids in samples/ (rows
a -> G(a) -> F(G(a)) and b -> F(b) -> G(F(b)) on fixed test images), a loss
plot, a CSV log and a checkpoint after every epoch (`checkpoints/last.keras`;
`--resume` continues from it). The learning rate is constant for the first
half of the epochs and decays linearly to zero over the second half (a
`LinearDecay` schedule inside the optimizers, so a resumed run keeps its
place on it; resumed with another --epochs, the schedule is redrawn for the
new total).

Examples:
    # the paper's setting, from TensorFlow Datasets:
    python scripts/train_cyclegan.py --tfds cycle_gan/horse2zebra --out runs/h2z
    # a folder with trainA/ trainB/ (testA/ testB/) subfolders:
    python scripts/train_cyclegan.py --data datasets/daisy2sunflower --image-size 128 \\
        --epochs 100 --out runs/d2s --export saved_models/daisy2sunflower/1
    # two folders of images, on all local GPUs (--batch-size is the global batch):
    python scripts/train_cyclegan.py --data-a photos/ --data-b paintings/ --out runs/p2p \\
        --strategy mirrored --batch-size 4
    # translate a folder with a trained model (a run folder, .keras file or SavedModel):
    python scripts/train_cyclegan.py --translate daisies/ --model runs/d2s/checkpoints/last.keras \\
        --output sunflowers/ --direction a_to_b
"""

import os
import sys
import time

if "keras_gans" not in sys.modules:  # Parse the arguments before Keras loads.
    os.environ["KERAS_GANS_DEFER_IMPORTS"] = "1"

from keras_gans.cli import arguments, errors  # noqa: E402

PROG = "train_cyclegan.py"


def build_parser():
    p = arguments.ArgumentParser(
        prog=PROG,
        description=(
            "Train a keras_gans CycleGAN (ResNet generators, 70x70 PatchGANs, "
            "least-squares, cycle and identity losses, image pools) on two unpaired "
            "image domains; or, with --translate, map a folder of images with a "
            "trained model. The learning rate decays linearly to zero over the second "
            "half of --epochs. --export writes a TF Serving SavedModel with signatures "
            "a_to_b and b_to_a (uint8 image in, uint8 image out)."
        ),
        epilog=(
            "Data (one of): --data-a DIR --data-b DIR; --data DIR with trainA/ and "
            "trainB/ (and testA/, testB/ for the grids); --tfds NAME (default "
            "cycle_gan/horse2zebra, downloaded on first use). Images are resized "
            "(centre crop) to --image-size. Example: %(prog)s --data "
            "datasets/daisy2sunflower --image-size 128 --epochs 100"
        ),
    )
    n = {"type": arguments.positive_int, "metavar": "N"}
    data = p.add_argument_group("data")
    data.add_argument("--data-a", default=None, metavar="DIR", help="folder of domain A images")
    data.add_argument("--data-b", default=None, metavar="DIR", help="folder of domain B images")
    data.add_argument("--data", default=None, metavar="DIR",
                      help="folder with trainA/ and trainB/ (testA/, testB/) subfolders")
    data.add_argument("--tfds", default="cycle_gan/horse2zebra", metavar="NAME",
                      help="TFDS cycle_gan config, used when no folder is given "
                           "(default cycle_gan/horse2zebra)")
    train = p.add_argument_group("training")
    train.add_argument("--image-size", type=int, choices=(128, 256), default=256,
                       help="image side (default 256, as in the paper)")
    train.add_argument("--learning-rate", "--lr", type=arguments.positive_float, default=2e-4,
                       metavar="LR", help="Adam rate of the four optimizers (default 2e-4)")
    train.add_argument("--filters", default=64, **n,
                       help="generator ngf and PatchGAN ndf (default 64)")
    train.add_argument("--residual-blocks", default=None, **n,
                       help="generator residual blocks (default 6 at 128 px, 9 at 256)")
    train.add_argument("--cycle-weight", type=float, default=10.0, help="lambda (default 10)")
    train.add_argument("--identity-weight", type=float, default=None,
                       help="identity loss weight; 0 disables (default 0.5 * lambda)")
    train.add_argument("--pool-size", type=int, default=50, metavar="N",
                       help="image history per domain; 0 disables (default 50)")
    train.add_argument("--grid-images", default=4, **n,
                       help="test images per domain in the grids (default 4)")
    train.add_argument("--grid-every", default=1, **n, help="save a grid every N epochs (default 1)")
    arguments.add_run_args(train, out="runs/cyclegan", export=None, epochs=200, batch_size=1, seed=0)
    translate = p.add_argument_group("translation (--translate)")
    translate.add_argument("--translate", default=None, metavar="DIR",
                           help="translate the images in DIR instead of training")
    translate.add_argument("--model", default=None, metavar="PATH",
                           help="a trained model: a run folder, a .keras file or an exported "
                                "SavedModel folder")
    translate.add_argument("--output", default=None, metavar="DIR", help="where to write the PNGs")
    translate.add_argument("--direction", choices=("a_to_b", "b_to_a"), default="a_to_b",
                           help="(default a_to_b)")
    return p


def parse_args(argv=None):
    p = build_parser()
    args = p.parse_args(argv)
    if args.translate is not None:
        if not args.model or not args.output:
            p.error("--translate needs --model and --output")
        return args
    if (args.data_a is None) != (args.data_b is None):
        p.error("give both --data-a and --data-b (one folder per domain), or --data, or --tfds")
    if args.data and args.data_a:
        p.error("give either --data or --data-a/--data-b, not both")
    if args.pool_size < 0:
        p.error("--pool-size must be >= 0")
    return args


# -- training ---------------------------------------------------------------------


def _sources(args):
    if args.data_a:
        return args.data_a, args.data_b
    return (args.data or args.tfds), None


def _train_batches(args, seed):
    """One pass of training pairs, shuffled and augmented by `seed`."""
    import keras_gans as kg

    return kg.data.unpaired_dataset(*_sources(args), batch_size=args.batch_size, seed=seed,
                                    image_size=args.image_size, data_dir=args.data_dir)


def _test_images(args):
    """Fixed test images `(a, b)` for the grids."""
    import keras_gans as kg

    options = {"image_size": args.image_size, "data_dir": args.data_dir,
               "batch_size": args.grid_images, "training": False}
    try:
        test = kg.data.unpaired_dataset(*_sources(args), **options)
    except FileNotFoundError:  # A --data folder without testA/ testB/.
        if not args.data:
            raise
        test = kg.data.unpaired_dataset(
            *(os.path.join(args.data, f"train{d}") for d in "AB"), **options
        )
    test_a, test_b = next(iter(test))
    return test_a.numpy(), test_b.numpy()


def train(args):
    import keras_gans as kg
    from keras_gans.cli import runner
    from keras_gans.export_cyclegan import export_translator

    def build():  # After the data: its batches set the schedule's length.
        gan = kg.CycleGAN(
            image_size=args.image_size, generator_filters=args.filters,
            discriminator_filters=args.filters, num_residual_blocks=args.residual_blocks,
            cycle_weight=args.cycle_weight, identity_weight=args.identity_weight,
            pool_size=args.pool_size, seed=args.seed,
        )
        gan.compile(
            learning_rate=args.learning_rate,
            total_steps=args.epochs * args.steps_per_epoch,
            jit_compile="auto" if args.jit is None else args.jit,
        )
        return gan

    def on_resume(gan):
        if gan.image_size != args.image_size:
            raise ValueError(
                f"the checkpoint translates {gan.image_size}x{gan.image_size} images; "
                f"resume with --image-size {gan.image_size}"
            )
        if gan.set_total_steps(args.epochs * args.steps_per_epoch):
            print(f"The learning rate now decays to zero over epochs {args.epochs // 2 + 1}-"
                  f"{args.epochs} (--epochs {args.epochs}).")

    def grids(directory):
        return kg.callbacks.TranslationGrid(directory, *_test_images(args), args.grid_every)

    runner.train(args, build, lambda seed: _train_batches(args, seed), model_class=kg.CycleGAN,
                 on_resume=on_resume, samples=grids, export=export_translator)


# -- translation --------------------------------------------------------------------


def _load_translator(path, direction):
    """A function uint8 images -> uint8 images, and the image size it takes."""
    from keras_gans.cli.run_folder import find_model  # first: loads Keras quietly

    import keras

    import keras_gans as kg

    kind, path = find_model(path)
    if kind == "keras":
        gan = keras.saving.load_model(path)
        if not isinstance(gan, kg.CycleGAN):
            raise ValueError(f"{path} holds a {type(gan).__name__}, not a CycleGAN")
        return (lambda images: gan.translate(images, direction)), gan.image_size
    import tensorflow as tf

    signatures = tf.saved_model.load(path).signatures
    if direction not in signatures:
        raise ValueError(f"{path} has no {direction!r} signature: not a CycleGAN export")
    signature = signatures[direction]
    size = signature.structured_input_signature[1]["image"].shape[1]
    return (lambda images: signature(image=tf.constant(images))["image"].numpy()), size


def _load_image(path, size):
    """One image as uint8 RGB, centre-cropped to a square and resized."""
    import numpy as np
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image).convert("RGB")  # upright
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side))
        return np.asarray(image.resize((size, size), Image.BICUBIC))


def translate(args, batch_size=8):
    import numpy as np

    import keras_gans as kg
    from keras_gans.images import save_image

    folder = kg.data.scan_image_folder(args.translate)
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
    if args.translate is not None:
        translate(args)
    else:
        train(args)
    return 0


if __name__ == "__main__":
    errors.run_main(main, prog=PROG)
