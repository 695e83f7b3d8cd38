#!/usr/bin/env python
"""Benchmark: does a BigGAN draw the digit it is asked for?

The measure of `benchmarks/cgan_mnist.py`, for BigGAN: train a `BigGAN` on
MNIST (28x28 digits padded to 32x32 with 2 black pixels a side, the
smallest BigGAN size), generate 10,000 digits, 1,000 per requested label,
crop them back to 28x28 and count the fraction that a separately trained
classifier (`evaluators/mnist.keras`, 99.0% on `x_test`, never seen by the
GAN) reads as the requested label. Both the raw generator and its EMA are
read. Training stops after `--steps` steps or `--minutes` of wall time,
whichever comes first (a CPU budget on a shared machine; the steps reached
are reported with wall and CPU time).

Example:

    nice -n 10 python benchmarks/biggan_mnist.py --minutes 18 \\
        --out benchmarks/biggan_mnist.json
"""

import argparse
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

TARGET_LABEL_ACCURACY = 0.985


def parse_args(argv=None):
    data = os.path.join(os.environ.get("KERAS_GANS_DATA", "/work/shared/data"), "mnist", "mnist.npz")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=data, help=f"mnist.npz (default {data})")
    p.add_argument("--classifier", default=os.path.join(ROOT, "evaluators", "mnist.keras"))
    p.add_argument("--steps", type=int, default=100_000, help="most training steps")
    p.add_argument("--minutes", type=float, default=18.0, help="most training wall minutes")
    p.add_argument("--batch-size", type=int, default=64,
                   help="images per D update; a step reads 2x (two D updates)")
    p.add_argument("--generator-width", type=int, default=8, help="ch of G (4ch at 32 px)")
    p.add_argument("--discriminator-width", type=int, default=8, help="ch of D (4ch at 32 px)")
    p.add_argument("--ema-decay", type=float, default=0.999)
    p.add_argument("--ema-start", type=int, default=500)
    p.add_argument("--samples", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="JSON results (a PNG grid beside it)")
    return p.parse_args(argv)


def stop_after(minutes):
    """A callback that ends `fit` once `minutes` of wall time have passed."""
    import keras

    class StopAfter(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.end = time.time() + 60 * minutes

        def on_train_batch_end(self, batch, logs=None):
            if time.time() > self.end:
                self.model.stop_training = True

    return StopAfter()


def timed_fit(gan, dataset, steps, minutes):
    """`gan.fit` for at most `steps` steps and `minutes`; returns the
    history's last logs, the steps run, and wall and CPU minutes."""
    wall, cpu = time.time(), time.process_time()
    history = gan.fit(dataset.repeat(), epochs=1, steps_per_epoch=steps, verbose=2,
                      callbacks=[stop_after(minutes)])
    import keras

    return {
        "steps": int(keras.ops.convert_to_numpy(gan.progress.steps)),
        "wall_minutes": round((time.time() - wall) / 60, 2),
        "cpu_minutes": round((time.process_time() - cpu) / 60, 2),
        "final_logs": {k: round(float(v[-1]), 4) for k, v in history.history.items()},
    }


def main(argv=None):
    args = parse_args(argv)
    import keras

    import keras_gans as kg

    with np.load(args.data) as npz:
        digits, labels = npz["x_train"], npz["y_train"].astype("int32")
    padded = np.pad(digits, ((0, 0), (2, 2), (2, 2)))[..., None]
    keras.utils.set_random_seed(args.seed)
    dataset = kg.data.image_dataset((padded, labels), image_size=32, channels=1,
                                    batch_size=2 * args.batch_size, with_labels=True,
                                    seed=args.seed)
    gan = kg.BigGAN(10, image_size=32, channels=1, generator_width=args.generator_width,
                    discriminator_width=args.discriminator_width, ema_decay=args.ema_decay,
                    ema_start=args.ema_start, seed=args.seed)
    gan.compile()  # the authors' setting: hinge, Adam (0, 0.999) 4e-4 / 1e-4, 2 D steps
    training = timed_fit(gan, dataset, args.steps, args.minutes)

    classifier = keras.models.load_model(args.classifier)
    requested = np.arange(args.samples) % 10
    results = {"training": training}
    for name, use_ema in (("raw", False), ("ema", True)):
        images = gan.generate(labels=requested, seed=args.seed + 1, use_ema=use_ema)
        logits = classifier.predict(images[:, 2:30, 2:30], batch_size=500, verbose=0)
        correct = np.argmax(logits, axis=-1) == requested
        results[name] = {
            "label_accuracy": round(float(correct.mean()), 4),
            "per_class": [round(float(correct[requested == c].mean()), 4) for c in range(10)],
        }
        print(name, results[name], flush=True)
    results.update(
        target_label_accuracy=TARGET_LABEL_ACCURACY, samples=args.samples,
        model=gan.get_config() | {"generator_parameters": gan.generator.count_params(),
                                  "discriminator_parameters": gan.discriminator.count_params()},
        config=vars(args), backend=keras.backend.backend(), keras=keras.__version__,
        cpus=os.cpu_count(),
    )
    print(json.dumps({k: v for k, v in results.items() if k != "model"}, indent=2))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2, default=str)
        # A row per requested digit, the EMA generator's first ten of each.
        grid = gan.generate(labels=np.repeat(np.arange(10), 10), seed=args.seed + 1)
        kg.images.save_grid(grid, os.path.splitext(args.out)[0] + ".png", ncols=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
