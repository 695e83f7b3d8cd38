#!/usr/bin/env python
"""Sample quality of every model family, trained for a fixed budget.

For each model it reports FID, KID, Inception Score (over the evaluator's
classes) and precision/recall in the feature space of a classifier trained by
`scripts/train_evaluator.py` (its "features" layer; `evaluators/mnist.keras`
for MNIST models, `evaluators/flowers64.keras` for flowers), next to

- the **floor**: two disjoint real splits of the same size (what a perfect
  generator would score with this many samples), and
- the **ceiling**: the same generator before training (freshly initialised,
  same seed).

Models (`--models`, comma-separated; default all):

- `vanilla_mnist`: `VanillaGAN` (MLPs) on MNIST 28x28x1.
- `dcgan_mnist`: `DCGAN(28, 1)` on MNIST.
- `dcgan_flowers64`: `DCGAN(64, 3)` on flowers128 resized to 64x64.
- `cgan_mnist`: `ConditionalGAN` on MNIST (labels drawn uniformly for
  evaluation); skipped when the class does not import.
- `cyclegan_d2s`: `CycleGAN` daisy -> sunflower at 64x64 (the evaluator's
  size); FID of translated testA against real trainB. Floor: real testB vs
  trainB; also reported: untranslated testA vs trainB ("identity").
  Skipped when the class does not import.
- The families side by side, each trained for the same number of real
  images (`images` of the budget, not steps: a WGAN step reads 5 batches),
  DCGAN widths 32 (WGAN and WGAN-GP share the DCGAN bodies; SAGAN gets
  DCGAN's channels at each feature-map side), the papers' settings from a
  bare `compile()` (DCGAN: as above):
  `dcgan_mnist_matched`, `wgan_mnist`, `wgangp_mnist`, `sagan_mnist` (SAGAN
  on MNIST padded to 32x32, scored on the centre 28x28), and
  `dcgan_flowers32`, `wgan_flowers32`, `wgangp_flowers32`, `sagan_flowers32`
  (flowers128 at 32x32; samples and real sets alike are upsampled
  bilinearly to the evaluator's 64x64 for scoring).

Real references: MNIST: a seeded subset of `x_test`; floor split: a subset of
`x_train` of the same size. Flowers: the 4,317 images resized to 64x64
(centre crop, antialiased, as the GAN sees them), split at random into two
disjoint halves of `--samples` images each (A: reference, B: floor); the
32 px entries take the same split of the images at 32x32.

Example:

    python benchmarks/quality.py --budget cpu --out benchmarks/quality_results.json
    python benchmarks/quality.py --models dcgan_mnist --budget gpu
"""

import argparse
import json
import os
import platform
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

FAMILIES = ("dcgan", "wgan", "wgangp", "sagan")
# Their MNIST entries (dcgan_mnist above trains for an epoch; this DCGAN
# for the families' budget) and flowers entries.
FAMILY_MNIST = ("dcgan_mnist_matched",) + tuple(f"{f}_mnist" for f in FAMILIES[1:])
FAMILY_FLOWERS = tuple(f"{f}_flowers32" for f in FAMILIES)
MODELS = ("vanilla_mnist", "dcgan_mnist", "dcgan_flowers64", "cgan_mnist", "cyclegan_d2s",
          *FAMILY_MNIST, *FAMILY_FLOWERS)
METRICS = ("fid", "kid", "is", "precision_recall")

# The families' entries train for a number of real images, not steps (a
# WGAN step reads 5 batches of 64): on the CPU budget 5,120 (16 WGAN steps,
# 80 of the others), what SAGAN's ~3 s step under load allows.
FAMILY_IMAGES = 5120
# GPU (not run yet): about 10 MNIST epochs, 139 flowers epochs; a multiple
# of 320, so that the WGANs' steps read whole batches.
FAMILY_IMAGES_GPU = 1870 * 320

# Per model and budget: training length and evaluation sample count. The CPU
# budget targets about 20-25 minutes in all on a 2-core machine for the first
# five models; the eight family entries took another 27 under load.
BUDGETS = {
    "cpu": {
        "vanilla_mnist": {"epochs": 2, "batch_size": 128, "samples": 5000},
        "dcgan_mnist": {"epochs": 1, "batch_size": 64, "samples": 5000},
        "dcgan_flowers64": {"epochs": 3, "batch_size": 64, "g_steps": 2, "samples": 2000},
        "cgan_mnist": {"epochs": 1, "batch_size": 64, "steps_per_epoch": 500, "samples": 5000},
        "cyclegan_d2s": {"epochs": 1, "batch_size": 1, "steps_per_epoch": 300, "samples": None},
        **{name: {"images": FAMILY_IMAGES, "batch_size": 64, "samples": 2000} for name in FAMILY_MNIST},
        **{f"{f}_flowers32": {"images": FAMILY_IMAGES, "batch_size": 64, "samples": 1000,
                              **({"g_steps": 2} if f == "dcgan" else {})} for f in FAMILIES},
    },
    "gpu": {
        "vanilla_mnist": {"epochs": 30, "batch_size": 128, "samples": 10000},
        "dcgan_mnist": {"epochs": 10, "batch_size": 128, "samples": 10000},
        "dcgan_flowers64": {"epochs": 100, "batch_size": 64, "g_steps": 2, "samples": 2000},
        "cgan_mnist": {"epochs": 10, "batch_size": 128, "samples": 10000},
        "cyclegan_d2s": {"epochs": 40, "batch_size": 1, "samples": None},
        **{name: {"images": FAMILY_IMAGES_GPU, "batch_size": 64, "samples": 10000}
           for name in FAMILY_MNIST},
        **{name: {"images": FAMILY_IMAGES_GPU, "batch_size": 64, "samples": 2000,
                  **({"g_steps": 2} if name.startswith("dcgan") else {})} for name in FAMILY_FLOWERS},
    },
    # A few steps of each: checks that the script runs, not the models.
    "smoke": {
        "vanilla_mnist": {"epochs": 1, "batch_size": 64, "steps_per_epoch": 5, "samples": 300},
        "dcgan_mnist": {"epochs": 1, "batch_size": 64, "steps_per_epoch": 5, "samples": 300},
        "dcgan_flowers64": {"epochs": 1, "batch_size": 32, "steps_per_epoch": 3, "g_steps": 2, "samples": 300},
        "cgan_mnist": {"epochs": 1, "batch_size": 64, "steps_per_epoch": 5, "samples": 300},
        "cyclegan_d2s": {"epochs": 1, "batch_size": 1, "steps_per_epoch": 5, "samples": None},
        **{name: {"images": 640, "batch_size": 64, "samples": 300} for name in FAMILY_MNIST},
        **{f"{f}_flowers32": {"images": 640, "batch_size": 64, "samples": 300} for f in FAMILIES},
    },
}


def parse_args(argv=None):
    data_root = os.environ.get("KERAS_GANS_DATA", "/work/shared/data")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", choices=sorted(BUDGETS), default="cpu",
                   help="training length and sample counts (default cpu)")
    p.add_argument("--models", default=",".join(MODELS),
                   help=f"comma-separated subset of {','.join(MODELS)} (default all)")
    p.add_argument("--data-root", default=data_root,
                   help=f"folder with mnist/mnist.npz, flowers128/, cyclegan128/ (default {data_root})")
    p.add_argument("--evaluators", default=os.path.join(ROOT, "evaluators"),
                   help="folder with mnist.keras and flowers64.keras")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "quality_results.json"))
    p.add_argument("--markdown", action="store_true",
                   help="print the tables of an existing --out file as Markdown and exit")
    p.add_argument("--samples-dir", default=os.path.join(ROOT, "benchmarks", "quality_samples"),
                   help="where to write one sample grid PNG per model ('' to skip)")
    args = p.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown:
        p.error(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    return args


# -- helpers -------------------------------------------------------------------


def extractor_for(evaluators, name):
    from keras_gans.metrics import FeatureExtractor

    return FeatureExtractor(
        os.path.join(evaluators, name), layer="features", logits_layer="logits", batch_size=250
    )


def score(images, reference, extractor, num_samples, seed):
    """All metrics of `images` (array or fn(n)) against reference statistics."""
    from keras_gans.metrics import evaluate

    t = time.time()
    result = evaluate(
        images, reference, extractor, metrics=METRICS, num_samples=num_samples,
        batch_size=250, seed=seed,
    )
    result["eval_seconds"] = round(time.time() - t, 1)
    return result


def sampler(gan, num_samples, seed, view=None):
    """fn(n) over fixed seeded latents (and uniform labels for conditional
    models): the same inputs for the untrained and the trained generator.
    `view` maps generated images to what the evaluator takes; `fn.raw(n)`
    skips it (for the sample grids)."""
    inputs = gan.sample_inputs(num_samples, seed=seed)
    pos = 0

    def raw(n):
        nonlocal pos
        out = gan.generate(inputs={k: v[pos : pos + n] for k, v in inputs.items()})
        pos += len(out)
        return out

    def fn(n):
        return view(raw(n)) if view else raw(n)

    def reset():
        nonlocal pos
        pos = 0

    fn.reset, fn.raw = reset, raw
    return fn


def real_reference(real, extractor, seed):
    from keras_gans.metrics import real_statistics

    return real_statistics(real, extractor, keep_features=None, batch_size=250, seed=seed)


def save_samples(images, path, ncols=None):
    from keras_gans import images as image_utils

    os.makedirs(os.path.dirname(path), exist_ok=True)
    image_utils.save_grid(images, path, ncols)
    if os.path.getsize(path) > 200_000:  # keep committed grids small: 256 colours
        from PIL import Image

        with Image.open(path) as image:
            quantized = image.convert("RGB").quantize(256)
        quantized.save(path, optimize=True)
    return os.path.relpath(path, ROOT)


def adam():
    import keras

    return keras.optimizers.Adam(2e-4, beta_1=0.5)


def load_mnist(data_root, n, seed):
    path = os.path.join(data_root, "mnist", "mnist.npz")
    with np.load(path) as z:
        x_train, y_train, x_test = z["x_train"], z["y_train"], z["x_test"]
    rng = np.random.default_rng(seed)
    ref = x_test[np.sort(rng.choice(len(x_test), n, replace=False))]
    floor = x_train[np.sort(rng.choice(len(x_train), n, replace=False))]
    return path, x_train, y_train, ref, floor


def folder_uint8(path, size):
    """All images of a folder as uint8 (N, size, size, 3), preprocessed as
    `image_dataset` does for training (centre crop, antialiased resize)."""
    import keras_gans as kg

    ds = kg.data.image_dataset(
        path, image_size=size, channels=3, batch_size=256, shuffle=False,
        drop_remainder=False, dtype="uint8", cache=False,
    )
    return np.concatenate([np.asarray(b) for b in ds])


# -- the models ----------------------------------------------------------------


def reals_per_step(gan, batch_size):
    """Real images one training step reads: with fresh reals (WGAN's
    algorithm) each of the `d_steps` critic updates reads its own batch."""
    return batch_size * (gan.d_steps if gan.fresh_reals else 1)


def run_gan(name, build, dataset, cfg, extractor, reference, floor_images, seed, samples_dir,
            fit_kwargs=None, view=None):
    """Ceiling (untrained), train, trained score, floor; one result dict.

    `dataset` is a dataset, or fn(batch_size) -> an endless one when `cfg`
    sets a budget of real `images` rather than epochs: the batch is then
    `reals_per_step` and the step count `images // batch`, so models whose
    step reads several batches see as many real images as the others.
    `view` maps generated images to what the evaluator takes (the reference
    and floor are given already so mapped); `floor_images` may be the floor's
    score itself."""
    import keras

    n = cfg["samples"]
    keras.utils.set_random_seed(seed)
    gan = build()
    fn = sampler(gan, n, seed + 1, view)
    ceiling = score(fn, reference, extractor, n, seed)
    if "images" in cfg:
        batch = reals_per_step(gan, cfg["batch_size"])
        cfg.update(epochs=1, steps_per_epoch=cfg["images"] // batch, dataset_batch=batch)
        dataset = dataset(batch)
    elif cfg.get("steps_per_epoch"):
        dataset = dataset.repeat()
    t = time.time()
    history = gan.fit(
        dataset, epochs=cfg["epochs"], steps_per_epoch=cfg.get("steps_per_epoch"), verbose=2,
        **(fit_kwargs or {}),
    )
    train_seconds = time.time() - t
    fn.reset()
    trained = score(fn, reference, extractor, n, seed)
    floor = floor_images if isinstance(floor_images, dict) else score(floor_images, reference, extractor, n, seed)
    result = {
        "floor": floor,
        "trained": trained,
        "ceiling": ceiling,
        "train_seconds": round(train_seconds, 1),
        "final_logs": {k: round(float(v[-1]), 4) for k, v in history.history.items()},
        "samples": n,
        "images_seen": int(keras.ops.convert_to_numpy(gan.progress.images)),
    }
    if samples_dir:
        fn.reset()
        result["sample_grid"] = save_samples(fn.raw(64 if gan.generator.output.shape[1] <= 32 else 16),
                                             os.path.join(samples_dir, f"{name}.png"))
    return result


def vanilla_mnist(args, cfg):
    import keras_gans as kg

    path, _, _, ref, floor = load_mnist(args.data_root, cfg["samples"], args.seed)
    extractor = extractor_for(args.evaluators, "mnist.keras")
    reference = real_reference(ref, extractor, args.seed)
    ds = kg.data.image_dataset(path, image_size=28, channels=1, batch_size=cfg["batch_size"], seed=args.seed)

    def build():
        gan = kg.VanillaGAN(data_shape=(28, 28, 1), latent_dim=100, seed=args.seed)
        gan.compile(d_optimizer=adam(), g_optimizer=adam(), loss="non_saturating")
        return gan

    config = "VanillaGAN(data_shape=(28,28,1), latent_dim=100), non_saturating, Adam(2e-4, b1=0.5) x2"
    return config, run_gan("vanilla_mnist", build, ds, cfg, extractor, reference, floor, args.seed, args.samples_dir)


def dcgan_mnist(args, cfg):
    import keras_gans as kg

    path, _, _, ref, floor = load_mnist(args.data_root, cfg["samples"], args.seed)
    extractor = extractor_for(args.evaluators, "mnist.keras")
    reference = real_reference(ref, extractor, args.seed)
    ds = kg.data.image_dataset(path, image_size=28, channels=1, batch_size=cfg["batch_size"], seed=args.seed)

    def build():
        gan = kg.DCGAN(image_size=28, channels=1, latent_dim=100, generator_width=32,
                       discriminator_width=32, seed=args.seed)
        gan.compile(d_optimizer=adam(), g_optimizer=adam(), loss="non_saturating")
        return gan

    config = ("DCGAN(image_size=28, channels=1, latent_dim=100, widths 32/32), non_saturating, "
              "Adam(2e-4, b1=0.5) x2")
    return config, run_gan("dcgan_mnist", build, ds, cfg, extractor, reference, floor, args.seed, args.samples_dir)


def dcgan_flowers64(args, cfg):
    import keras_gans as kg

    folder = os.path.join(args.data_root, "flowers128")
    everything = folder_uint8(folder, 64)
    n = cfg["samples"]
    if 2 * n > len(everything):
        raise ValueError(f"--samples {n} needs {2 * n} flower images; there are {len(everything)}")
    perm = np.random.default_rng(args.seed).permutation(len(everything))
    ref, floor = everything[perm[:n]], everything[perm[n : 2 * n]]
    extractor = extractor_for(args.evaluators, "flowers64.keras")
    reference = real_reference(ref, extractor, args.seed)
    ds = kg.data.image_dataset(folder, image_size=64, channels=3, batch_size=cfg["batch_size"],
                               flip=True, seed=args.seed)

    def build():
        gan = kg.DCGAN(image_size=64, channels=3, latent_dim=128, generator_width=32,
                       discriminator_width=32, seed=args.seed)
        gan.compile(d_optimizer=adam(), g_optimizer=adam(), loss="non_saturating",
                    g_steps=cfg.get("g_steps", 1))
        return gan

    config = (f"DCGAN(image_size=64, channels=3, latent_dim=128, widths 32/32), non_saturating, "
              f"g_steps={cfg.get('g_steps', 1)} (as scripts/train_dcgan_plants.py), "
              "Adam(2e-4, b1=0.5) x2, random flips; data: all 4317 flowers128 images at 64x64")
    return config, run_gan("dcgan_flowers64", build, ds, cfg, extractor, reference, floor, args.seed,
                           args.samples_dir)


def _import_cgan():
    try:
        from keras_gans.models.cgan import ConditionalGAN
    except Exception as e:  # noqa: BLE001 - any import failure means "skip"
        return None, f"{type(e).__name__}: {e}"
    return ConditionalGAN, None


def _import_cyclegan():
    try:
        from keras_gans.models.cyclegan import CycleGAN
    except Exception as e:  # noqa: BLE001
        return None, f"{type(e).__name__}: {e}"
    return CycleGAN, None


def cgan_mnist(args, cfg):
    import keras_gans as kg

    ConditionalGAN, error = _import_cgan()
    if ConditionalGAN is None:
        return None, {"skipped": f"keras_gans.models.cgan.ConditionalGAN does not import ({error})"}
    path, _, _, ref, floor = load_mnist(args.data_root, cfg["samples"], args.seed)
    extractor = extractor_for(args.evaluators, "mnist.keras")
    reference = real_reference(ref, extractor, args.seed)
    ds = kg.data.image_dataset(path, image_size=28, channels=1, batch_size=cfg["batch_size"],
                               with_labels=True, seed=args.seed)

    def build():
        gan = ConditionalGAN(num_classes=10, image_size=28, channels=1, latent_dim=100,
                             generator_width=32, discriminator_width=32,
                             discriminator_label_mode="projection", seed=args.seed)
        gan.compile(d_optimizer=adam(), g_optimizer=adam(), loss="non_saturating")
        return gan

    config = ("ConditionalGAN(num_classes=10, image_size=28, channels=1, latent_dim=100, dcgan body "
              "widths 32/32, one_hot generator labels, projection discriminator), non_saturating, "
              "Adam(2e-4, b1=0.5) x2; evaluated with uniform seeded labels")
    return config, run_gan("cgan_mnist", build, ds, cfg, extractor, reference, floor, args.seed,
                           args.samples_dir)


def cyclegan_d2s(args, cfg):
    import keras
    import keras_gans as kg

    CycleGAN, error = _import_cyclegan()
    if CycleGAN is None:
        return None, {"skipped": f"keras_gans.models.cyclegan.CycleGAN does not import ({error})"}
    root = os.path.join(args.data_root, "cyclegan128", "daisy2sunflower")
    size = 64
    test_a = folder_uint8(os.path.join(root, "testA"), size)
    test_b = folder_uint8(os.path.join(root, "testB"), size)
    train_b = folder_uint8(os.path.join(root, "trainB"), size)
    extractor = extractor_for(args.evaluators, "flowers64.keras")
    reference = real_reference(train_b, extractor, args.seed)
    ds = kg.data.unpaired_dataset(root, image_size=size, batch_size=cfg["batch_size"], seed=args.seed)
    steps = cfg.get("steps_per_epoch")
    if steps:
        ds = ds.repeat()
    total_steps = cfg["epochs"] * (steps or max(len(os.listdir(os.path.join(root, d))) for d in ("trainA", "trainB")))

    keras.utils.set_random_seed(args.seed)
    gan = CycleGAN(image_size=size, generator_filters=16, discriminator_filters=16,
                   num_residual_blocks=4, seed=args.seed)
    gan.compile(total_steps=total_steps)
    n = len(test_a)
    ceiling = score(gan.translate(test_a), reference, extractor, n, args.seed)
    identity = score(test_a, reference, extractor, n, args.seed)
    t = time.time()
    history = gan.fit(ds, epochs=cfg["epochs"], steps_per_epoch=steps, verbose=2)
    train_seconds = time.time() - t
    translated = gan.translate(test_a)
    trained = score(translated, reference, extractor, n, args.seed)
    floor = score(test_b, reference, extractor, len(test_b), args.seed)
    result = {
        "floor": floor,
        "trained": trained,
        "ceiling": ceiling,
        "identity": identity,
        "train_seconds": round(train_seconds, 1),
        "final_logs": {k: round(float(v[-1]), 4) for k, v in history.history.items()},
        "samples": n,
        "floor_samples": len(test_b),
        "reference_samples": len(train_b),
        "steps": total_steps,
    }
    if args.samples_dir:
        grid, ncols = gan.grid_images((test_a[:3], test_b[:3]))
        result["sample_grid"] = save_samples(grid, os.path.join(args.samples_dir, "cyclegan_d2s.png"), ncols)
    config = ("CycleGAN(image_size=64, generator_filters=16, discriminator_filters=16, "
              "num_residual_blocks=4), least_squares, cycle 10, identity 5, pool 50, "
              "Adam(2e-4, b1=0.5) with linear decay over the second half; batch 1; "
              "daisy2sunflower resized 128 -> 64 (jitter 72 -> 64, flips)")
    return config, result


# -- the families side by side, at one budget of real images -------------------

#: DCGAN's ngf = ndf, which WGAN and WGAN-GP share (they use the DCGAN
#: bodies); SAGAN gets the same channels at each feature-map side.
WIDTH = 32


def sagan_widths(image_size):
    """SAGAN's explicit (generator, discriminator) widths with the channels
    DCGAN has at each feature-map side (at 32 px: G 4W/2W/W at 4/8/16 px and
    W/2 in its last block, D W/2W/4W at 16/8/4 px and 4W in its extra 4x4
    block)."""
    doublings = int(np.log2(image_size // 4))
    generator = tuple(WIDTH * 2 ** (doublings - 1 - i) for i in range(doublings)) + (WIDTH // 2,)
    discriminator = tuple(WIDTH * 2 ** i for i in range(doublings)) + (WIDTH * 2 ** (doublings - 1),)
    return generator, discriminator


def family_gan(family, image_size, channels, latent_dim, seed, g_steps=1):
    """A compiled `family` model: the paper's setting (a bare `compile()`)
    for WGAN, WGAN-GP and SAGAN; DCGAN as the rows above train it."""
    import keras_gans as kg

    if family == "dcgan":
        gan = kg.DCGAN(image_size=image_size, channels=channels, latent_dim=latent_dim,
                       generator_width=WIDTH, discriminator_width=WIDTH, seed=seed)
        gan.compile(d_optimizer=adam(), g_optimizer=adam(), loss="non_saturating", g_steps=g_steps)
        return gan
    if family == "sagan":
        # Attention at 16x16, where both networks have a map (the default,
        # 32, is the image side here: only the generator would attend).
        g_widths, d_widths = sagan_widths(image_size)
        gan = kg.SAGAN(image_size=image_size, channels=channels, latent_dim=latent_dim,
                       attention=(16,), generator_width=g_widths, discriminator_width=d_widths,
                       seed=seed)
    else:
        wgan = {"wgan": kg.WGAN, "wgangp": kg.WGANGP}[family]
        gan = wgan(image_size=image_size, channels=channels, latent_dim=latent_dim,
                   generator_width=WIDTH, discriminator_width=WIDTH, seed=seed)
    gan.compile()
    return gan


def family_config(family, image_size, channels, latent_dim, g_steps=1):
    """What `family_gan` builds, in words (for the results file)."""
    shape = f"image_size={image_size}, channels={channels}, latent_dim={latent_dim}"
    if family == "dcgan":
        return (f"DCGAN({shape}, widths {WIDTH}/{WIDTH}), non_saturating, g_steps={g_steps}, "
                "Adam(2e-4, b1=0.5) x2")
    if family == "sagan":
        g_widths, d_widths = sagan_widths(image_size)
        return (f"SAGAN({shape}, residual blocks, G widths {g_widths}, D widths {d_widths}, "
                "attention at 16x16 in both, spectral norm in both), bare compile(): hinge, "
                "Adam(D 4e-4, G 1e-4, b=(0, 0.9)), 1 D update per G update")
    if family == "wgan":
        return (f"WGAN({shape}, DCGAN bodies widths {WIDTH}/{WIDTH}, critic with BatchNorm), "
                "bare compile(): wasserstein, clip 0.01, RMSprop(5e-5), 5 critic updates per G "
                "update, each on fresh reals")
    return (f"WGANGP({shape}, DCGAN bodies widths {WIDTH}/{WIDTH}, layer-norm critic), bare "
            "compile(): wasserstein + gradient penalty 10, Adam(1e-4, b=(0, 0.9)), 5 critic "
            "updates per G update, each on fresh reals")


def pad_to_32(digits):
    """uint8 28x28 digits -> (n, 32, 32, 1), 2 black pixels a side (SAGAN's
    blocks need a power-of-two side)."""
    return np.pad(digits, ((0, 0), (2, 2), (2, 2)))[..., None]


def centre_28(images):
    """32 px digits -> the evaluator's 28x28 (the inverse of `pad_to_32`)."""
    return images[:, 2:30, 2:30]


_SCORED_REALS = {}


def scored_reals(key, load, evaluator, n, seed):
    """`(extractor, reference statistics, floor score)` of a dataset whose
    `load()` gives `(reference, floor)` images; computed once per run, as
    every family's entry of that dataset shares them."""
    if key not in _SCORED_REALS:
        extractor = extractor_for(evaluator, key[0])
        reference_images, floor_images = load()
        reference = real_reference(reference_images, extractor, seed)
        _SCORED_REALS[key] = extractor, reference, score(floor_images, reference, extractor, n, seed)
    return _SCORED_REALS[key]


def family_mnist(family):
    """The runner of `<family>_mnist`: 28x28 MNIST (SAGAN: padded to 32x32,
    its samples scored on the centre 28x28) against `dcgan_mnist`'s reals."""

    def run(args, cfg):
        import keras_gans as kg

        n = cfg["samples"]
        path, x_train, _, ref, floor = load_mnist(args.data_root, n, args.seed)
        extractor, reference, floor = scored_reals(
            ("mnist.keras", n, args.seed), lambda: (ref, floor), args.evaluators, n, args.seed)
        size, data, view = (32, pad_to_32(x_train), centre_28) if family == "sagan" else (28, path, None)

        def dataset(batch_size):
            return kg.data.image_dataset(data, image_size=size, channels=1, batch_size=batch_size,
                                         seed=args.seed).repeat()

        def build():
            return family_gan(family, size, 1, 100, args.seed)

        config = family_config(family, size, 1, 100)
        if family == "sagan":
            config += "; MNIST padded to 32x32, samples scored on the centre 28x28"
        name = FAMILY_MNIST[FAMILIES.index(family)]
        return config, run_gan(name, build, dataset, cfg, extractor, reference, floor,
                               args.seed, args.samples_dir, view=view)

    return run


def upsample_64(images):
    """32 px images (uint8 or [-1, 1]) -> [-1, 1] at 64x64, bilinear: what
    `evaluators/flowers64.keras` takes. Reals and samples both go through it."""
    import keras

    from keras_gans.images import to_unit_range

    x = keras.ops.image.resize(to_unit_range(images), (64, 64), interpolation="bilinear")
    return np.clip(keras.ops.convert_to_numpy(x), -1.0, 1.0)


def family_flowers32(family):
    """The runner of `<family>_flowers32`: the 4,317 flowers128 photos at
    32x32 (random flips), scored at 64x64 after `upsample_64`, against the
    same halves as `dcgan_flowers64` (also at 32 px, upsampled)."""

    def run(args, cfg):
        import keras_gans as kg

        folder = os.path.join(args.data_root, "flowers128")
        n = cfg["samples"]

        def halves():  # dcgan_flowers64's split, at 32 px
            everything = folder_uint8(folder, 32)
            perm = np.random.default_rng(args.seed).permutation(len(everything))
            return upsample_64(everything[perm[:n]]), upsample_64(everything[perm[n : 2 * n]])

        extractor, reference, floor = scored_reals(
            ("flowers64.keras", n, args.seed), halves, args.evaluators, n, args.seed)

        def dataset(batch_size):
            return kg.data.image_dataset(folder, image_size=32, channels=3, batch_size=batch_size,
                                         flip=True, seed=args.seed).repeat()

        g_steps = cfg.get("g_steps", 1)

        def build():
            return family_gan(family, 32, 3, 128, args.seed, g_steps=g_steps)

        config = (family_config(family, 32, 3, 128, g_steps) + "; random flips; data: all 4317 "
                  "flowers128 images at 32x32, scored (samples and reals alike) upsampled "
                  "bilinearly to 64x64")
        return config, run_gan(f"{family}_flowers32", build, dataset, cfg, extractor, reference,
                               floor, args.seed, args.samples_dir, view=upsample_64)

    return run


RUNNERS = {
    "vanilla_mnist": vanilla_mnist,
    "dcgan_mnist": dcgan_mnist,
    "dcgan_flowers64": dcgan_flowers64,
    "cgan_mnist": cgan_mnist,
    "cyclegan_d2s": cyclegan_d2s,
    **{name: family_mnist(family) for name, family in zip(FAMILY_MNIST, FAMILIES)},
    **{name: family_flowers32(family) for name, family in zip(FAMILY_FLOWERS, FAMILIES)},
}


def fmt(result, key):
    v = result.get(key)
    if v is None:
        return "-"
    return f"{v:.4f}" if key == "kid" else f"{v:.3f}" if key in ("precision", "recall") else f"{v:.2f}"


ROW_LABELS = {
    "floor": "floor: real vs real",
    "trained": "trained generator",
    "ceiling": "untrained generator",
    "identity": "untranslated testA",
}


def markdown(results):
    """Markdown tables (one per model) of a results dict."""
    out = []
    for name, r in results["models"].items():
        out.append(f"### {name}\n")
        if "skipped" in r:
            out.append(f"Skipped: {r['skipped']}\n")
            continue
        out.append("| | FID | KID (std) | IS (std) | precision | recall | eval s |")
        out.append("|---|---:|---:|---:|---:|---:|---:|")
        for row in ("floor", "trained", "ceiling", "identity"):
            if row not in r:
                continue
            m = r[row]
            out.append(
                f"| {ROW_LABELS[row]} | {m['fid']:.2f} | {m['kid']:.4f} ({m['kid_std']:.4f}) | "
                f"{m['is']:.2f} ({m['is_std']:.2f}) | {m['precision']:.3f} | {m['recall']:.3f} | "
                f"{m['eval_seconds']} |"
            )
        b = r["budget"]
        steps = r.get("steps") or (b.get("steps_per_epoch") and b["epochs"] * b["steps_per_epoch"])
        out.append("")
        out.append(f"- model: {r['config']}")
        if "images" in b:
            out.append(
                f"- training: {r['images_seen']} real images: {b['steps_per_epoch']} steps of "
                f"{b['dataset_batch']} reals (batch {b['batch_size']}); train {r['train_seconds']} s, "
                f"model total {r['wall_seconds']} s wall"
            )
        else:
            out.append(
                f"- training: {b['epochs']} epoch(s)"
                + (f" of {b['steps_per_epoch']} steps" if b.get("steps_per_epoch") else " (full passes)")
                + f", batch {b['batch_size']}" + (f" ({steps} steps)" if steps else "")
                + f"; train {r['train_seconds']} s, model total {r['wall_seconds']} s wall"
            )
        samples = r["samples"]
        extra = ""
        if "floor_samples" in r:
            extra = f" (floor {r['floor_samples']}, reference {r['reference_samples']})"
        out.append(f"- samples per row: {samples}{extra}; seed {r['seed']}")
        out.append(f"- final training logs: {r['final_logs']}")
        out.append(f"- command: `{r['command']}`")
        if r.get("sample_grid"):
            out.append(f"- samples: ![{name}]({os.path.relpath(os.path.join(ROOT, r['sample_grid']), os.path.join(ROOT, 'benchmarks'))})")
        out.append("")
    return "\n".join(out)


def main(argv=None):
    args = parse_args(argv)
    if args.markdown:
        with open(args.out) as f:
            print(markdown(json.load(f)))
        return 0
    import keras
    import tensorflow as tf

    results = {
        "command": "python benchmarks/quality.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "budget": args.budget,
        "seed": args.seed,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
            "gpus": len(tf.config.list_physical_devices("GPU")),
        },
        "models": {},
    }
    if os.path.exists(args.out):  # keep other models' results when re-running a subset
        with open(args.out) as f:
            previous = json.load(f)
        if previous.get("budget") == args.budget:
            results["models"].update(previous.get("models", {}))
    start = time.time()
    for name in args.models:
        cfg = dict(BUDGETS[args.budget][name])
        print(f"== {name} ({args.budget} budget: {cfg})", flush=True)
        t = time.time()
        config, result = RUNNERS[name](args, cfg)
        result.update(budget=cfg, config=config, wall_seconds=round(time.time() - t, 1),
                      seed=args.seed, command=f"python benchmarks/quality.py --budget {args.budget} --models {name}")
        results["models"][name] = result
        if "skipped" in result:
            print(f"   skipped: {result['skipped']}", flush=True)
        else:
            for row in ("floor", "trained", "ceiling", "identity"):
                if row in result:
                    r = result[row]
                    print(f"   {row:8s} FID {fmt(r, 'fid'):>8s}  KID {fmt(r, 'kid'):>10s}  IS {fmt(r, 'is'):>6s}  "
                          f"P {fmt(r, 'precision')}  R {fmt(r, 'recall')}", flush=True)
            print(f"   train {result['train_seconds']} s, total {result['wall_seconds']} s", flush=True)
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    results["wall_seconds_this_run"] = round(time.time() - start, 1)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"Wrote {args.out} ({results['wall_seconds_this_run']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
