#!/usr/bin/env python
"""Benchmark: BigGAN beside a class-conditional SAGAN on the five flowers
classes, the Frechet distance per class and overall, at one budget of real
images.

Both models train on flowers128 at `--image-size` (32 px by default) with
their labels, for the same number of real images: BigGAN with its authors'
setting (`compile()`: hinge, two D updates of `--batch-size` fresh reals per
step, Adam (0, 0.999), an EMA of G), then SAGAN with `num_classes` (its
conditional form: conditional BatchNorm in G, a projection head in D;
`compile()`: hinge, Adam (0, 0.9), D 4e-4 / G 1e-4, one D update per step)
until it has read as many images. Scored in the feature space of
`evaluators/flowers64.keras` (both sides resized bilinearly to 64x64): for
each class, `--samples-per-class` images drawn with that label against all
the real photos of the class; overall, the union against all the photos.
The floor of each row: two disjoint halves of that class's photos (of the
same size as the generated set, where the class has enough). BigGAN is read
through its EMA (what `generate` uses) and its raw generator.

Example:

    nice -n 5 python benchmarks/biggan_flowers.py --images 38400 --minutes 20 \\
        --out benchmarks/biggan_flowers.json
"""

import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from biggan_mnist import stop_after  # noqa: E402
from biggan_truncation import flowers_parser, to_evaluator_view  # noqa: E402


def parse_args(argv=None):
    p = flowers_parser(__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=38_400,
                   help="real images each model reads (default 38,400: 600 BigGAN steps)")
    p.add_argument("--minutes", type=float, default=20.0, help="most training wall minutes each")
    p.add_argument("--batch-size", type=int, default=32, help="images per D update")
    p.add_argument("--generator-width", type=int, default=8, help="BigGAN's ch of G (default 8)")
    p.add_argument("--discriminator-width", type=int, default=8, help="BigGAN's ch of D")
    p.add_argument("--ema-start", type=int, default=100, help="BigGAN's EMA start step")
    p.add_argument("--samples-per-class", type=int, default=400)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "biggan_flowers.json"))
    return p.parse_args(argv)


def train(gan, dataset, images, minutes):
    """Fit until `images` real images or `minutes`; what it took."""
    import keras

    class Images(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(keras.ops.convert_to_numpy(self.model.progress.images)) >= images:
                self.model.stop_training = True

    wall, cpu = time.time(), time.process_time()
    history = gan.fit(dataset.repeat(), epochs=1, steps_per_epoch=10 ** 7, verbose=2,
                      callbacks=[Images(), stop_after(minutes)])
    return {"steps": int(keras.ops.convert_to_numpy(gan.progress.steps)),
            "images": int(keras.ops.convert_to_numpy(gan.progress.images)),
            "wall_minutes": round((time.time() - wall) / 60, 2),
            "cpu_minutes": round((time.process_time() - cpu) / 60, 2),
            "parameters": {"generator": gan.generator.count_params(),
                           "discriminator": gan.discriminator.count_params()},
            "final_logs": {k: round(float(v[-1]), 4) for k, v in history.history.items()}}


def main(argv=None):
    args = parse_args(argv)
    import keras

    import keras_gans as kg
    import quality
    from keras_gans.metrics import FeatureExtractor, evaluate, real_statistics

    keras.utils.set_random_seed(args.seed)
    pairs = list(kg.data.image_dataset(args.data, image_size=args.image_size, batch_size=256,
                                       with_labels=True, shuffle=False, drop_remainder=False,
                                       cache=False))
    reals = np.concatenate([np.asarray(x) for x, _ in pairs])
    labels = np.concatenate([np.asarray(y) for _, y in pairs]).astype("int32")
    classes = sorted(d for d in os.listdir(args.data) if os.path.isdir(os.path.join(args.data, d)))
    k = len(classes)

    def dataset(batch):
        return kg.data.image_dataset(args.data, image_size=args.image_size, batch_size=batch,
                                     with_labels=True, seed=args.seed)

    models, training = {}, {}
    biggan = kg.BigGAN(k, image_size=args.image_size, generator_width=args.generator_width,
                       discriminator_width=args.discriminator_width, ema_decay=0.999,
                       ema_start=args.ema_start, seed=args.seed)
    biggan.compile()  # two D updates of batch_size fresh reals per step
    training["biggan"] = train(biggan, dataset(2 * args.batch_size), args.images, args.minutes)
    models["biggan_ema"], models["biggan_raw"] = biggan, biggan
    print("BigGAN", training["biggan"], flush=True)

    keras.utils.set_random_seed(args.seed)
    g_widths, d_widths = quality.sagan_widths(args.image_size)
    sagan = kg.SAGAN(image_size=args.image_size, num_classes=k, latent_dim=128,
                     attention=(16,), generator_width=g_widths, discriminator_width=d_widths,
                     seed=args.seed)
    sagan.compile()
    training["sagan"] = train(sagan, dataset(args.batch_size), training["biggan"]["images"],
                              args.minutes)
    models["sagan"] = sagan
    print("SAGAN", training["sagan"], flush=True)

    extractor = FeatureExtractor(args.evaluator, layer="features", batch_size=250)
    rng = np.random.default_rng(args.seed)

    def fd(images, real):
        stats = real_statistics(to_evaluator_view(real), extractor, keep_features=None,
                                batch_size=250)
        return round(evaluate(to_evaluator_view(images), stats, extractor, metrics=("fid",),
                              num_samples=len(images), batch_size=250, keep_features=None,
                              seed=args.seed)["fid"], 3)

    n = args.samples_per_class
    drawn = {}
    for name, gan in models.items():
        use_ema = False if name == "biggan_raw" else None
        drawn[name] = {c: gan.generate(labels=np.full(n, c), seed=args.seed + 1 + c,
                                       use_ema=use_ema) for c in range(k)}
    rows = []
    for c, name in enumerate(classes + ["all"]):
        real = reals if name == "all" else reals[labels == c]
        order = rng.permutation(len(real))
        half = min(len(real) // 2, n * (k if name == "all" else 1))
        row = {"class": name, "real_images": len(real),
               "floor": fd(real[order[:half]], real[order[half:2 * half]]), "floor_size": half}
        for model in models:
            images = np.concatenate(list(drawn[model].values())) if name == "all" \
                else drawn[model][c]
            row[model] = fd(images, real)
        rows.append(row)
        print(row, flush=True)

    results = {"rows": rows, "classes": classes, "training": training,
               "samples_per_class": n, "config": vars(args),
               "backend": keras.backend.backend(), "keras": keras.__version__,
               "cpus": os.cpu_count(), "load_average_at_end": os.getloadavg()}
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    grid_labels = np.repeat(np.arange(k), 8)
    for name, gan in (("biggan", biggan), ("sagan", sagan)):
        kg.images.save_grid(
            gan.generate(labels=grid_labels, seed=args.seed + 2),
            os.path.join(ROOT, "benchmarks", "quality_samples",
                         f"{name}_flowers{args.image_size}_classes.png"), ncols=8)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
