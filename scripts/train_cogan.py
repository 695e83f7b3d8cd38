#!/usr/bin/env python
"""Train a CoGAN (coupled GANs, Liu & Tuzel 2016) on two unpaired image domains.

The two generators share their first layers and the two discriminators
their last, so that one latent vector gives a pair: the same content in
both domains, learnt without a single pair to learn from. The run folder
gets a grid of pairs per epoch (per block of columns, a row of domain A
above the row of B, from fixed latents), a loss plot, a CSV log and a
checkpoint (`checkpoints/last.keras`; `--resume` continues from it).
`--export` writes a SavedModel for TF Serving whose signatures return
`images_a` and `images_b`.

Examples:
    # the paper's MNIST domains: digits and the edge maps of other digits
    python scripts/train_cogan.py --mnist-pair edges --data /work/shared/data/mnist/mnist.npz
    # two folders (or .npz files, or TFDS names), RGB at 64 px, with flips
    python scripts/train_cogan.py --data-a daisies/ --data-b sunflowers/ --image-size 64 \\
        --channels 3 --flip --out runs/cogan_flowers --export saved_models/cogan_flowers/1
    # the control: nothing shared, so the pairs do not correspond
    python scripts/train_cogan.py --mnist-pair negative --data mnist.npz \\
        --shared-generator-layers 0 --shared-discriminator-layers 0 --out runs/cogan_untied
"""

import os
import sys

if "keras_gans" not in sys.modules:  # Parse the arguments before Keras loads.
    os.environ["KERAS_GANS_DEFER_IMPORTS"] = "1"

from keras_gans.cli import arguments, errors  # noqa: E402

PROG = "train_cogan.py"


def build_parser():
    p = arguments.ArgumentParser(
        prog=PROG,
        description=(
            "Train a keras_gans CoGAN (DCGAN bodies; the generators share their first "
            "layers, the discriminators their last) on two unpaired image domains. Writes "
            "grids of generated pairs, a loss plot, a CSV log and a checkpoint per epoch to "
            "--out, and a TF Serving SavedModel (images_a, images_b) to --export if given."
        ),
        epilog=(
            "Data (one of): --data-a SOURCE --data-b SOURCE (each a folder, an .npz file "
            "or a TFDS name, shuffled apart); or --mnist-pair edges|negative --data "
            "mnist.npz (CoGAN's MNIST domains: digits from one half of x_train, edge maps "
            "or negatives of the other half). Example: %(prog)s --mnist-pair edges --data "
            "mnist.npz --epochs 10"
        ),
    )
    add = p.add_argument
    n = {"type": arguments.positive_int, "metavar": "N"}
    count = {"type": int, "metavar": "N"}
    data = p.add_argument_group("data")
    data.add_argument("--data-a", metavar="SOURCE", help="domain A: a folder, .npz or TFDS name")
    data.add_argument("--data-b", metavar="SOURCE", help="domain B: a folder, .npz or TFDS name")
    data.add_argument("--mnist-pair", choices=("edges", "negative"),
                      help="CoGAN's MNIST domains from --data: digits and edge maps or negatives")
    data.add_argument("--data", metavar="NPZ", help="mnist.npz (x_train, y_train) for --mnist-pair")
    data.add_argument("--flip", action="store_true",
                      help="random left-right flips (not for digits; default off)")
    add("--image-size", type=int, choices=(28, 32, 64), default=28, help="image side (default 28)")
    add("--channels", type=int, choices=(1, 3), default=1, help="channels of both domains (default 1)")
    add("--latent-dim", default=100, **n, help="size of z (default 100)")
    add("--width", default=64, **n, help="DCGAN ngf = ndf (default 64)")
    add("--shared-generator-layers", default=None, **count,
        help="the generators' shared first layers (default: all but the last; 0: none)")
    add("--shared-discriminator-layers", default=None, **count,
        help="the discriminators' shared last layers (default: all but the first; 0: none)")
    arguments.add_common_training_args(
        p, out="runs/cogan", export=None, epochs=10, batch_size=64, seed=0,
        losses=("non_saturating", "least_squares"),
    )

    def check_data(parser, args):
        if args.mnist_pair and (args.data_a or args.data_b):
            parser.error("give --mnist-pair (with --data) or --data-a/--data-b, not both")
        if args.mnist_pair:
            if not args.data:
                parser.error("--mnist-pair needs --data mnist.npz")
            if (args.image_size, args.channels) != (28, 1):
                parser.error("--mnist-pair makes 28x28 grayscale digits: leave --image-size "
                             "and --channels at 28 and 1")
        elif args.data:
            parser.error("--data is the mnist.npz of --mnist-pair; for other data give "
                         "--data-a and --data-b")
        elif not (args.data_a and args.data_b):
            parser.error("give both --data-a and --data-b (one source per domain), or "
                         "--mnist-pair with --data")

    p.add_check(check_data)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    import keras_gans as kg
    from keras_gans.cli import runner

    if args.mnist_pair:  # NumPy arrays, drawn once: the halves do not change with the seed.
        (domain_a, _), (domain_b, _) = kg.data.mnist_domains(args.data, pair=args.mnist_pair)
    else:
        domain_a, domain_b = args.data_a, args.data_b

    def build():
        gan = kg.models.CoGAN(
            image_size=args.image_size, channels=args.channels, latent_dim=args.latent_dim,
            generator_width=args.width, discriminator_width=args.width,
            shared_generator_layers=args.shared_generator_layers,
            shared_discriminator_layers=args.shared_discriminator_layers, seed=args.seed,
        )
        return runner.compile_from_args(gan, args)

    def dataset(seed):  # CycleGAN's random resize-and-crop is no part of CoGAN: no jitter.
        return kg.data.unpaired_dataset(
            domain_a, domain_b, image_size=args.image_size, channels=args.channels,
            batch_size=args.batch_size, jitter=False, flip=args.flip, seed=seed,
            data_dir=args.data_dir,
        )

    def on_resume(gan):
        if (gan.image_size, gan.channels) != (args.image_size, (args.channels,) * 2):
            raise ValueError(f"the checkpoint makes {gan.image_size}x{gan.image_size} images "
                             f"with {gan.channels} channels; resume with --image-size "
                             f"{gan.image_size} --channels {gan.channels[0]}")

    # 32 pairs: 8 columns, blocks of a row of A above a row of B.
    runner.train(args, build, dataset, model_class=kg.models.CoGAN, on_resume=on_resume,
                 num_samples=32)
    return 0


if __name__ == "__main__":
    errors.run_main(main, prog=PROG)
