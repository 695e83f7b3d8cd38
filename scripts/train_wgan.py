#!/usr/bin/env python
"""Train a Wasserstein GAN: WGAN-GP (Gulrajani et al. 2017; the default) or
the original WGAN with weight clipping (Arjovsky et al. 2017), DCGAN bodies.

Each generator update follows `--d-steps` critic updates (5), each on its
own `--batch-size` real images: a step reads `d_steps x batch_size` images.
`--variant` sets the paper's defaults: wgan-gp trains with a gradient
penalty (`--gp-weight`, 10), Adam 1e-4 with betas (0, 0.9) and a layer-norm
critic; wgan clips every critic weight to +-`--clip` (0.01) after each
critic update and trains with RMSprop 5e-5 (`--paper-schedule`: 100 critic
updates on the first 25 and every 500th step). `--help` after `--variant`
shows that variant's defaults.

Examples:
    python scripts/train_wgan.py --data ../shared/data/flowers128 --image-size 64 --epochs 50
    python scripts/train_wgan.py --variant wgan --data mnist.npz --image-size 32 --channels 1
"""

import argparse
import os
import sys

if "keras_gans" not in sys.modules:  # Parse the arguments before Keras loads.
    os.environ["KERAS_GANS_DEFER_IMPORTS"] = "1"

from keras_gans.cli import arguments, errors  # noqa: E402

VARIANTS = {
    "wgan-gp": dict(out="runs/wgan_gp", optimizer="adam", lr=1e-4, beta1=0.0, beta2=0.9),
    "wgan": dict(out="runs/wgan", optimizer="rmsprop", lr=5e-5),
}


def build_parser(variant="wgan-gp"):
    p = arguments.ArgumentParser(
        prog="train_wgan.py",
        description="Train a WGAN-GP or a WGAN (DCGAN bodies) on an image folder, an .npz "
        "file or a TFDS name; writes sample grids, a loss plot, checkpoints and a CSV log to "
        "--out, and a TF Serving SavedModel to --export if given.",
    )
    add = p.add_argument
    n = {"type": arguments.positive_int, "metavar": "N"}
    add("--variant", choices=list(VARIANTS), default="wgan-gp",
        help="wgan-gp (gradient penalty) or wgan (weight clipping); sets the defaults of the "
        "other flags (default wgan-gp)")
    add("--data", metavar="SOURCE", default="tf_flowers",
        help="an image folder, an .npz file or a TFDS name (default tf_flowers)")
    add("--image-size", default=64, **n, help="image side: 28, 32, 64, 128 (default 64)")
    add("--channels", type=int, choices=(1, 3), default=3, help="1 or 3 (default 3)")
    add("--latent-dim", default=128, **n, help="size of z (default 128)")
    add("--width", default=64, **n, help="ngf = ndf of the DCGAN bodies (default 64)")
    add("--gp-weight", type=arguments.positive_float, default=10.0, metavar="LAMBDA",
        help="wgan-gp: the gradient penalty's weight (default 10)")
    add("--critic-norm", choices=("layer", "none"), default="layer",
        help="wgan-gp: the critic's normalization (default layer)")
    add("--clip", type=arguments.positive_float, default=0.01, metavar="C",
        help="wgan: clip critic weights to [-C, C] (default 0.01)")
    add("--paper-schedule", action="store_true",
        help="wgan: 100 critic updates on the first 25 and every 500th step")
    add("--flip", action=argparse.BooleanOptionalAction, default=True,
        help="random left-right flips (default on)")
    defaults = VARIANTS[variant]
    arguments.add_common_training_args(
        p, out=defaults["out"], export=None, epochs=50, batch_size=64, d_steps=5,
        loss="wasserstein", losses=("wasserstein",),
        **{k: v for k, v in defaults.items() if k != "out"},
    )
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--variant", choices=list(VARIANTS), default="wgan-gp")
    args = build_parser(first.parse_known_args(argv)[0].variant).parse_args(argv)
    import keras_gans as kg
    from keras_gans.cli import run_folder, runner

    family = kg.models.WGANGP if args.variant == "wgan-gp" else kg.models.WGAN

    def build():
        shape = dict(image_size=args.image_size, channels=args.channels,
                     latent_dim=args.latent_dim, generator_width=args.width,
                     discriminator_width=args.width, seed=args.seed)
        if family is kg.models.WGAN:
            gan = kg.models.WGAN(clip_value=args.clip, paper_schedule=args.paper_schedule, **shape)
        else:
            gan = kg.models.WGANGP(
                critic_norm=None if args.critic_norm == "none" else "layer", **shape)
        if family is kg.models.WGANGP:
            return runner.compile_from_args(
                gan, args, penalties=[kg.losses.GradientPenalty(args.gp_weight)])
        return runner.compile_from_args(gan, args)

    def dataset(seed):  # A step's batch: one real batch per critic update.
        return kg.data.image_dataset(
            args.data, image_size=args.image_size, channels=args.channels,
            batch_size=args.batch_size * args.d_steps, flip=args.flip, data_dir=args.data_dir,
            seed=seed,
        )

    def on_resume(gan):
        run_folder.check_image_shape(gan, args.image_size, args.channels)

    runner.train(args, build, dataset, model_class=family, on_resume=on_resume)
    return 0


if __name__ == "__main__":
    errors.run_main(main)
