#!/usr/bin/env python
"""Benchmark: BigGAN's truncation trick, quality against variety.

Trains a `BigGAN` on the five flowers classes (flowers128 at `--image-size`
32 or 64), then, for each truncation threshold (0.25, 0.5, ..., 2.0, and
none), draws `--samples` images (classes uniform, the same seed) from the
EMA generator and scores them against the real flowers in the feature space
of `evaluators/flowers64.keras`: the Frechet distance (FD), and improved
precision (fidelity) and recall (variety, Kynkaanniemi et al. 2019). The
paper's trade-off: as the threshold falls, precision rises and recall falls.

Both sides go through the same view: real images are loaded at the training
size, and images of both sides are resized (bilinear) to the evaluator's
64x64. The floor is two disjoint real halves. Training stops after
`--steps` steps or `--minutes` of wall time (the budget on a shared CPU).
Writes JSON and a PNG plot (FD, precision and recall against the threshold).

Example:

    nice -n 10 python benchmarks/biggan_truncation.py --minutes 18 \\
        --out benchmarks/biggan_truncation.json   # and biggan_truncation.png
"""

import argparse
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from biggan_mnist import timed_fit  # noqa: E402

THRESHOLDS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, None)


def flowers_parser(description):
    """An argument parser with the flowers benchmarks' --data, --evaluator
    and --image-size."""
    data = os.path.join(os.environ.get("KERAS_GANS_DATA", "/work/shared/data"), "flowers128")
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data", default=data, help=f"class folders (default {data})")
    p.add_argument("--evaluator", default=os.path.join(ROOT, "evaluators", "flowers64.keras"))
    p.add_argument("--image-size", type=int, choices=(32, 64), default=32)
    return p


def parse_args(argv=None):
    p = flowers_parser(__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=100_000, help="most training steps")
    p.add_argument("--minutes", type=float, default=18.0, help="most training wall minutes")
    p.add_argument("--batch-size", type=int, default=32,
                   help="images per D update; a step reads 2x (two D updates)")
    p.add_argument("--generator-width", type=int, default=8)
    p.add_argument("--discriminator-width", type=int, default=8)
    p.add_argument("--ema-decay", type=float, default=0.999)
    p.add_argument("--ema-start", type=int, default=500)
    p.add_argument("--samples", type=int, default=2000, help="images per threshold")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "biggan_truncation.json"))
    return p.parse_args(argv)


def to_evaluator_view(images, size=64):
    """Images in [-1, 1] at any side -> float32 (n, 64, 64, 3), bilinear."""
    import tensorflow as tf

    images = tf.convert_to_tensor(np.asarray(images, "float32"))
    if images.shape[1] != size:
        images = tf.image.resize(images, (size, size), method="bilinear", antialias=True)
    return np.clip(images.numpy(), -1.0, 1.0)


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cut = [r for r in rows if r["truncation"] is not None]
    none = next(r for r in rows if r["truncation"] is None)
    x = [r["truncation"] for r in cut]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(x, [r["fd"] for r in cut], "o-", label="truncated")
    left.axhline(none["fd"], ls="--", color="gray", label="no truncation")
    left.set(xlabel="truncation threshold", ylabel="Frechet distance (flowers64 features)",
             title="FD (lower is better)")
    left.legend()
    for key, colour in (("precision", "tab:green"), ("recall", "tab:red")):
        right.plot(x, [r[key] for r in cut], "o-", color=colour, label=key)
        right.axhline(none[key], ls="--", color=colour, alpha=0.5, label=f"{key}, no truncation")
    right.set(xlabel="truncation threshold", ylabel="fraction", ylim=(0, 1),
              title="precision (fidelity) and recall (variety)")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv=None):
    args = parse_args(argv)
    import keras

    import keras_gans as kg
    from keras_gans.metrics import FeatureExtractor, evaluate, real_statistics

    keras.utils.set_random_seed(args.seed)
    reals = np.concatenate(list(kg.data.image_dataset(
        args.data, image_size=args.image_size, batch_size=256, shuffle=False,
        drop_remainder=False, cache=False)))
    num_classes = len([d for d in os.listdir(args.data) if os.path.isdir(os.path.join(args.data, d))])
    dataset = kg.data.image_dataset(args.data, image_size=args.image_size,
                                    batch_size=2 * args.batch_size, with_labels=True,
                                    seed=args.seed)
    gan = kg.BigGAN(num_classes, image_size=args.image_size, generator_width=args.generator_width,
                    discriminator_width=args.discriminator_width, ema_decay=args.ema_decay,
                    ema_start=args.ema_start, seed=args.seed)
    gan.compile()  # the authors' setting
    training = timed_fit(gan, dataset, args.steps, args.minutes)

    extractor = FeatureExtractor(args.evaluator, layer="features", batch_size=250)
    order = np.random.default_rng(args.seed).permutation(len(reals))
    half = len(reals) // 2
    reference = real_statistics(to_evaluator_view(reals[order[:half]]), extractor,
                                keep_features=None, batch_size=250)

    def scores(images):
        result = evaluate(to_evaluator_view(images), reference, extractor,
                          metrics=("fid", "precision_recall"), num_samples=len(images),
                          batch_size=250, keep_features=None, seed=args.seed)
        return {"fd": round(result["fid"], 3), "precision": round(result["precision"], 4),
                "recall": round(result["recall"], 4)}

    n = min(args.samples, len(reals) - half)
    floor = scores(reals[order[half:half + n]])
    print("floor (real halves)", floor, flush=True)
    labels = np.arange(n) % num_classes
    rows = []
    for threshold in THRESHOLDS:
        images = gan.generate(labels=labels, seed=args.seed + 1, truncation=threshold)
        rows.append({"truncation": threshold, **scores(images)})
        print(rows[-1], flush=True)
    results = {
        "rows": rows, "floor": floor, "samples": n, "reference_images": half,
        "training": training, "config": vars(args), "backend": keras.backend.backend(),
        "keras": keras.__version__, "cpus": os.cpu_count(),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    plot(rows, os.path.splitext(args.out)[0] + ".png")
    # A row per class at 0.5 and without truncation, the same z.
    grid_labels = np.repeat(np.arange(num_classes), 8)
    for threshold in (0.5, None):
        kg.images.save_grid(
            gan.generate(labels=grid_labels, seed=args.seed + 2, truncation=threshold),
            os.path.join(ROOT, "benchmarks", "quality_samples",
                         f"biggan_flowers{args.image_size}_truncation_{threshold or 'none'}.png"),
            ncols=8)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
