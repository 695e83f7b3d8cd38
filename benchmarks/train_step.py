"""Images/second of the library's DCGAN training steps through `fit()`.

The architecture equals `../shared/bench/torch_dcgan.py` (z of 100, widths 64,
4x4 kernels, BatchNorm, no biases, Adam 2e-4/0.5, non-saturating loss), so the
numbers compare with that reference taken on the same machine.

usage:
    python benchmarks/train_step.py --backend tensorflow --res 64 --batch 32 --steps 30
    python benchmarks/train_step.py --backend jax --res 128 --batch 128 --precision mixed_bfloat16
    python benchmarks/train_step.py --data ../shared/data/flowers128 ...   # real images via image_dataset
    python benchmarks/train_step.py --sequential ...   # the same networks as user-built keras.Sequential
    python benchmarks/train_step.py ... --torch-reference ../shared/bench/torch_dcgan.py

Prints one line per measurement: `keras-gans backend=.. res=.. batch=.. precision=.. data=.. img/s=..`.
Both synthetic data (8 random uint8 batches, cycled) and `--data PATH` go
through `kg.data.image_dataset(..., dtype="uint8")`: tf.data with TensorFlow,
the NumPy PyDataset without it (`--pipeline`); batches are scaled to [-1, 1]
on the device by the trainer.
"""

import argparse
import os
import subprocess
import sys
import time


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["tensorflow", "jax", "torch"], default=None,
                   help="Keras backend (default: $KERAS_BACKEND or tensorflow)")
    p.add_argument("--res", type=int, default=64, choices=[32, 64, 128])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=30, help="timed steps")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation)")
    p.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16", "mixed_float16"])
    p.add_argument("--data", default="synthetic", help="'synthetic' or an image folder / .npz / TFDS name")
    p.add_argument("--jit", default="auto", choices=["auto", "true", "false"])
    p.add_argument("--pipeline", default="auto", choices=["auto", "tf", "numpy"], help="image_dataset pipeline for --data")
    p.add_argument("--steps-per-execution", type=int, default=1)
    p.add_argument("--no-reuse-fakes", action="store_true", help="regenerate fakes for the G update")
    p.add_argument("--sequential", action="store_true",
                   help="the same networks written as a user would, as keras.Sequential models "
                        "(the keras.io pattern), under kg.GAN instead of kg.DCGAN")
    p.add_argument("--torch-reference", default=None,
                   help="path of torch_dcgan.py: also run it (same res, batch, steps) in this run")
    p.add_argument("--torch-mode", default="eager", help="mode(s) for the reference, comma-separated")
    return p


def parse_args(argv=None):
    return build_parser().parse_args(argv)


def select_backend(args):
    """Set KERAS_BACKEND from --backend; call before importing Keras."""
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def data_label(args):
    return "synthetic" if args.data == "synthetic" else os.path.basename(os.path.normpath(args.data))


def sequential_networks(res, width=64):
    """torch_dcgan.py's networks as a keras.io example writes them: two
    `keras.Sequential` models of stock layers (no library builders)."""
    import keras
    from keras import layers

    def norm():  # PyTorch's BatchNorm2d momentum and epsilon
        return layers.BatchNormalization(momentum=0.9, epsilon=1e-5)

    ups = int(res).bit_length() - 3  # 4 -> res
    generator = keras.Sequential([keras.Input((100,)), layers.Reshape((1, 1, 100)),
                                  layers.Conv2DTranspose(width * 2 ** (ups - 1), 4, use_bias=False),
                                  norm(), layers.ReLU()])
    for i in range(ups - 1, 0, -1):
        generator.add(layers.Conv2DTranspose(width * 2 ** (i - 1), 4, 2, "same", use_bias=False))
        generator.add(norm())
        generator.add(layers.ReLU())
    generator.add(layers.Conv2DTranspose(3, 4, 2, "same", use_bias=False, activation="tanh"))
    discriminator = keras.Sequential([keras.Input((res, res, 3)),
                                      layers.Conv2D(width, 4, 2, "same", use_bias=False),
                                      layers.LeakyReLU(0.2)])
    for i in range(1, ups):
        discriminator.add(layers.Conv2D(width * 2 ** i, 4, 2, "same", use_bias=False))
        discriminator.add(norm())
        discriminator.add(layers.LeakyReLU(0.2))
    discriminator.add(layers.Conv2D(1, 4, use_bias=False))
    discriminator.add(layers.Flatten())
    return generator, discriminator


def build_gan(args):
    """The benchmarked DCGAN, compiled as `args` say (sets the dtype policy)."""
    import keras
    import keras_gans as kg

    if args.precision != "float32":
        keras.config.set_dtype_policy(args.precision)
    if args.sequential:
        generator, discriminator = sequential_networks(args.res)
        gan = kg.GAN(generator, discriminator, latent_dim=100, seed=0)
    else:
        gan = kg.DCGAN(image_size=args.res, channels=3, latent_dim=100, seed=0)
    jit = {"auto": "auto", "true": True, "false": False}[args.jit]
    gan.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        loss="non_saturating",
        jit_compile=jit,
        steps_per_execution=args.steps_per_execution,
        reuse_fakes=not args.no_reuse_fakes,
    )
    return gan


def build_dataset(args):
    """Endless uint8 batches: `args.data`, or 8 random batches cycled."""
    import numpy as np

    import keras_gans as kg

    if args.data == "synthetic":
        # A few distinct random batches, cycled; fed exactly like real data.
        rng = np.random.default_rng(0)
        n = args.batch * 8
        source = rng.integers(0, 256, (n, args.res, args.res, 3), dtype=np.uint8)
    else:
        source = args.data
    # uint8 batches, scaled to [-1, 1] on the device by the trainer.
    return kg.data.image_dataset(source, image_size=args.res, batch_size=args.batch, seed=0,
                                 dtype="uint8", pipeline=args.pipeline).repeat()


def main(argv=None):
    args = parse_args(argv)
    select_backend(args)
    import keras

    gan = build_gan(args)
    ds = build_dataset(args)

    def run(steps):
        return gan.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0)

    run(max(args.warmup, args.steps_per_execution))
    start = time.perf_counter()
    history = run(args.steps)
    seconds = time.perf_counter() - start
    label = data_label(args)
    print(
        f"keras-gans backend={keras.backend.backend()} res={args.res} batch={args.batch} "
        f"precision={args.precision} data={label} jit={gan.jit_compile} "
        f"spe={args.steps_per_execution} reuse_fakes={gan.reuse_fakes} "
        f"models={'sequential' if args.sequential else 'kg.DCGAN'} "
        f"img/s={args.steps * args.batch / seconds:.1f} d_loss={history.history['d_loss'][-1]:.3f}",
        flush=True,
    )
    if args.torch_reference:
        for mode in args.torch_mode.split(","):
            cmd = [sys.executable, args.torch_reference, "--res", str(args.res), "--batch", str(args.batch),
                   "--steps", str(args.steps), "--warmup", str(args.warmup), "--mode", mode]
            out = subprocess.run(cmd, capture_output=True, text=True)
            print(out.stdout.strip() or out.stderr.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
