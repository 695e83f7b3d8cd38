#!/usr/bin/env python
"""Benchmark: does a ConditionalGAN draw the digit it is asked for?

1. Trains a small CNN classifier on the real MNIST training set and checks
   it on the real test set (it must reach 98.5%).
2. Trains a `ConditionalGAN` on MNIST (`mnist.npz`), timing it.
3. Generates 10,000 digits, 1,000 per requested label, and reports the
   fraction the classifier assigns to the requested label (target: 90%).

Everything is seeded; results are printed and written as JSON (with a PNG
grid of generated digits, one row per requested label, beside it).

Example:

    python benchmarks/cgan_mnist.py --data /work/shared/data/mnist/mnist.npz \\
        --epochs 4 --out benchmarks/results/cgan_mnist.json
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TARGET_LABEL_ACCURACY = 0.90
TARGET_CLASSIFIER_ACCURACY = 0.985


def parse_args(argv=None):
    default_data = os.path.join(
        os.environ.get("KERAS_GANS_DATA", "/work/shared/data"), "mnist", "mnist.npz"
    )
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=default_data, help=f"mnist.npz (default: {default_data})")
    p.add_argument("--epochs", type=int, default=4, help="CGAN epochs (default: 4)")
    p.add_argument("--batch-size", type=int, default=64, help="CGAN batch size (default: 64)")
    p.add_argument("--width", type=int, default=32, help="DCGAN ngf = ndf (default: 32)")
    p.add_argument("--latent-dim", type=int, default=100, help="size of z (default: 100)")
    p.add_argument("--label-mode", default="one_hot", choices=("one_hot", "embedding"))
    p.add_argument("--discriminator-label-mode", default="channels",
                   choices=("channels", "projection"))
    p.add_argument("--classifier-epochs", type=int, default=3, help="(default: 3)")
    p.add_argument("--samples", type=int, default=10_000, help="generated digits (default: 10000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write the results as JSON here")
    return p.parse_args(argv)


def train_classifier(x_train, y_train, x_test, y_test, epochs, seed):
    """A small convnet (Keras' "simple MNIST convnet" plus a hidden Dense
    layer), on images in [-1, 1]: about 99% after 3 epochs."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(10),
        ],
        name="mnist_classifier",
    )
    model.compile(
        keras.optimizers.Adam(1e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, batch_size=128, epochs=epochs, verbose=2)
    accuracy = float(model.evaluate(x_test, y_test, batch_size=500, verbose=0)[1])
    return model, accuracy


def main(argv=None):
    args = parse_args(argv)
    import keras

    import keras_gans.data as gan_data
    from keras_gans.images import to_unit_range
    from keras_gans.models.cgan import ConditionalGAN

    with np.load(args.data) as npz:
        x_train, y_train = npz["x_train"], npz["y_train"].astype("int32")
        x_test, y_test = npz["x_test"], npz["y_test"].astype("int32")

    def unit(x):
        return to_unit_range(x)[..., None]

    print("== classifier", flush=True)
    start, start_cpu = time.time(), time.process_time()
    classifier, classifier_accuracy = train_classifier(
        unit(x_train), y_train, unit(x_test), y_test, args.classifier_epochs, args.seed
    )
    classifier_minutes = (time.time() - start) / 60
    classifier_cpu_minutes = (time.process_time() - start_cpu) / 60
    print(f"classifier test accuracy {classifier_accuracy:.4f}", flush=True)

    print("== conditional GAN", flush=True)
    keras.utils.set_random_seed(args.seed)
    ds = gan_data.image_dataset(
        args.data, image_size=28, channels=1, batch_size=args.batch_size,
        with_labels=True, seed=args.seed,
    )
    gan = ConditionalGAN(
        num_classes=10, image_size=28, channels=1, latent_dim=args.latent_dim, body="dcgan",
        label_mode=args.label_mode, discriminator_label_mode=args.discriminator_label_mode,
        generator_width=args.width, discriminator_width=args.width, seed=args.seed,
    )
    gan.compile()
    wall, cpu = time.time(), time.process_time()
    history = gan.fit(ds, epochs=args.epochs, verbose=2)
    wall, cpu = (time.time() - wall) / 60, (time.process_time() - cpu) / 60

    labels = np.arange(args.samples) % 10
    images = gan.generate(labels=labels, seed=args.seed + 1)
    predicted = np.argmax(classifier.predict(images, batch_size=500, verbose=0), axis=-1)
    correct = predicted == labels
    per_class = [float(correct[labels == c].mean()) for c in range(10)]
    results = {
        "label_accuracy": float(correct.mean()),
        "label_accuracy_per_class": [round(a, 4) for a in per_class],
        "target_label_accuracy": TARGET_LABEL_ACCURACY,
        "classifier_test_accuracy": classifier_accuracy,
        "classifier_epochs": args.classifier_epochs,
        "classifier_wall_minutes": round(classifier_minutes, 2),
        "classifier_cpu_minutes": round(classifier_cpu_minutes, 2),
        "cgan_epochs": args.epochs,
        "cgan_steps": args.epochs * (len(x_train) // args.batch_size),
        "cgan_wall_minutes": round(wall, 2),
        "cgan_cpu_minutes": round(cpu, 2),
        "final_logs": {k: round(float(v[-1]), 4) for k, v in history.history.items()},
        "config": vars(args),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(results, indent=2))
    if args.out:
        from keras_gans.images import save_grid

        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
        # A row per requested digit: the first 10 samples of each label.
        order = np.argsort(labels, kind="stable").reshape(10, -1)[:, :10].ravel()
        save_grid(images[order], os.path.splitext(args.out)[0] + ".png", ncols=10)
    ok = (
        results["label_accuracy"] >= TARGET_LABEL_ACCURACY
        and classifier_accuracy >= TARGET_CLASSIFIER_ACCURACY
    )
    print("PASS" if ok else "BELOW TARGET", f"label accuracy {results['label_accuracy']:.4f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
