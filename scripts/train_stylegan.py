#!/usr/bin/env python
"""Train a StyleGAN (StyleGAN2's form by default): a mapping network, styled
convolutions with per-layer noise, style mixing and lazy R1.

The run folder is the other scripts' (samples/, losses.png, steps.csv,
log.csv, checkpoints/); at the end samples/ also gets the style-mixing grid
(style_mix.png: coarse styles from the columns' seeds) and the truncation
grid (truncation.png: psi 1 down to 0), drawn as scripts/style_mix.py draws
them. --export writes a SavedModel with the mapping and synthesis
signatures (`keras_gans.export_stylegan`).

--architecture stylegan is the original form: AdaIN, ProGAN's discriminator
and ProGAN's growth (--images-per-stage, --fade-images; set --epochs to
cover the schedule), R1 every step, learning rate 1e-3 unless given.

With lazy R1 (every --r1-interval > 1 steps) the discriminator's learning
rate is scaled by k / (k + 1) unless a rate is given, as in StyleGAN2's
code, and the generator's likewise with lazy path length regularization
(--path-length-weight 2, every --path-length-interval 4 steps), and so is
beta_2 unless --beta2 is given (raised to that power: 0.99 becomes 0.9906
for R1 every 16 steps).

Examples:
    python scripts/train_stylegan.py --data ../shared/data/flowers128 --image-size 64 \\
        --flip --augment color,translation --out runs/stylegan_flowers
    python scripts/train_stylegan.py --data ../shared/data/mnist/mnist.npz --image-size 32 \\
        --channels 1 --latent-dim 128 --w-dim 128 --max-filters 128 --out runs/stylegan_mnist
    python scripts/train_stylegan.py --architecture stylegan --data ../shared/data/mnist/mnist.npz \
        --image-size 32 --channels 1 --images-per-stage 60000 --epochs 7 --out runs/stylegan1_mnist
    python scripts/train_stylegan.py --out runs/stylegan_flowers --resume ...   # the same flags
"""

import os
import sys

if "keras_gans" not in sys.modules:  # Parse the arguments before Keras loads.
    os.environ["KERAS_GANS_DEFER_IMPORTS"] = "1"

from keras_gans.cli import arguments, errors  # noqa: E402


def _probability(text):
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"expected a probability in [0, 1], got {text}")
    return value


def build_parser():
    p = arguments.ArgumentParser(
        prog="train_stylegan.py",
        description="Train a keras_gans StyleGAN; writes sample grids, the style-mixing and "
        "truncation grids, a loss plot, a CSV log and checkpoints to --out, and a TF Serving "
        "SavedModel (with mapping and synthesis signatures) to --export if given.",
    )
    add = p.add_argument
    n = {"type": arguments.positive_int, "metavar": "N"}
    add("--data", metavar="SOURCE", default="tf_flowers",
        help="a folder of images, an .npz file (x_train) or a TFDS name (default tf_flowers)")
    add("--architecture", choices=("stylegan2", "stylegan"), default="stylegan2",
        help="stylegan2: modulated convolutions, skip generator, residual discriminator "
        "(default); stylegan: the original AdaIN form, growing from 4x4")
    add("--image-size", default=64, **n, help="resolution: 8, 16, 32, 64, ... (default 64)")
    add("--channels", type=int, choices=(1, 3), default=3, help="1 or 3 (default 3)")
    add("--latent-dim", default=512, **n, help="size of z (default 512)")
    add("--w-dim", default=512, **n, help="size of w (default 512)")
    add("--mapping-layers", default=8, **n, help="depth of the mapping network (default 8)")
    add("--max-filters", default=512, **n,
        help="the most channels of any layer; resolution r has min(16384 / r, this) "
        "(default 512)")
    add("--images-per-stage", default=600_000, **n,
        help="--architecture stylegan: real images per resolution's hold (default 600000)")
    add("--fade-images", default=None, **n,
        help="--architecture stylegan: real images per fade-in (default --images-per-stage)")
    add("--mixing", type=_probability, default=0.9, metavar="P",
        help="style mixing probability per batch (default 0.9; 0: off)")
    add("--r1-gamma", type=float, default=10.0, metavar="GAMMA",
        help="R1 penalty weight on reals (default 10; 0: off)")
    add("--r1-interval", default=None, **n,
        help="apply R1 every N steps (default 16, lazy, for stylegan2; 1 for stylegan)")
    add("--path-length-weight", type=float, default=0.0, metavar="W",
        help="StyleGAN2's path length regularization weight (the paper's 2; default 0: off)")
    add("--path-length-interval", default=4, **n,
        help="apply path length regularization every N steps (default 4, lazy)")
    add("--augment", default=None, metavar="POLICY",
        help="DiffAugment policy for both sides of D, e.g. color,translation,cutout "
        "(default off)")
    add("--ada-target", type=float, default=None, metavar="T",
        help="adaptive augmentation (StyleGAN2-ADA) towards this r_t, e.g. 0.6; needs --augment")
    add("--ema-decay", type=float, default=0.999, metavar="DECAY",
        help="the generator EMA's decay (default 0.999, with StyleGAN2-ADA's ramp-up)")
    add("--flip", action="store_true", help="flip images left-right at random")
    arguments.add_common_training_args(
        p, out="runs/stylegan", export=None, epochs=50, batch_size=32,
        lr=2e-3, beta1=0.0, beta2=0.99, loss="non_saturating",
        losses=("non_saturating", "hinge", "wasserstein"),
    )
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    from keras_gans.cli import runner  # first: loads Keras without TensorFlow's chatter

    import keras

    import keras_gans as kg
    from keras_gans.export_stylegan import export_stylegan
    from keras_gans.models.stylegan import StyleGAN

    growth = {}
    if args.architecture == "stylegan":
        growth = {"images_per_stage": args.images_per_stage, "fade_images": args.fade_images}

    def build():
        gan = StyleGAN(
            image_size=args.image_size, channels=args.channels, latent_dim=args.latent_dim,
            w_dim=args.w_dim, mapping_layers=args.mapping_layers, architecture=args.architecture,
            max_filters=args.max_filters, style_mixing=args.mixing, r1_gamma=args.r1_gamma,
            r1_interval=args.r1_interval, path_length_weight=args.path_length_weight,
            path_length_interval=args.path_length_interval, ema_decay=args.ema_decay,
            augment=args.augment,
            ada_target=args.ada_target, seed=args.seed, **growth,
        )
        if not args.lr_given:  # the family's rate, with StyleGAN2's lazy-R1 adjustment
            args.d_lr = float(keras.ops.convert_to_numpy(
                gan.default_optimizer("d_optimizer").learning_rate))
            args.g_lr = float(keras.ops.convert_to_numpy(
                gan.default_optimizer("g_optimizer").learning_rate))
        return runner.compile_from_args(gan, args)

    def dataset(seed):
        return kg.data.image_dataset(
            args.data, image_size=args.image_size, channels=args.channels,
            batch_size=args.batch_size, flip=args.flip, data_dir=args.data_dir, seed=seed,
        )

    def on_resume(gan):
        if gan.architecture != args.architecture:
            raise ValueError(f"the checkpoint is a {gan.architecture}; resume with "
                             f"--architecture {gan.architecture}")
        saved, given = (gan.image_size, gan.channels), (args.image_size, args.channels)
        if saved != given:
            raise ValueError(f"the checkpoint makes {saved[0]}x{saved[0]}x{saved[1]} images; "
                             f"resume with --image-size {saved[0]} --channels {saved[1]}")

    gan = runner.train(args, build, dataset, model_class=StyleGAN, on_resume=on_resume,
                       export=export_stylegan)
    samples = os.path.join(args.out, "samples")
    gan.style_mix([1, 2, 3, 4], [5, 6, 7, 8, 9], path=os.path.join(samples, "style_mix.png"))
    gan.truncation_grid([1, 2, 3, 4], path=os.path.join(samples, "truncation.png"))
    print(f"Style-mixing and truncation grids: {samples}/style_mix.png, truncation.png")
    return 0


if __name__ == "__main__":
    errors.run_main(main)
