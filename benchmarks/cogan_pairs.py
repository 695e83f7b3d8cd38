#!/usr/bin/env python
"""Benchmark: do CoGAN's pairs correspond, without pairs to learn from?

CoGAN trains on two domains with no pairs between them; one latent vector
should still give the same content in both. On MNIST that is measurable:

1. The domains (`keras_gans.data.mnist_domains`): digits from one half of
   `x_train`, and negatives (or edge maps) of the other half.
2. A CoGAN trains for `--steps` batches, timed (wall and CPU).
3. 10,000 pairs from seeded latents are classified: domain A by
   `evaluators/mnist.keras` (a separate MNIST classifier, 99.0% on
   `x_test`); a negative is turned back first (`-x` in [-1, 1]) and
   classified by it too; an edge map by a second classifier trained on the
   edge maps of `x_train` (`scripts/train_evaluator.py`, held out: the edge
   maps of `x_test`). The **agreement** is how often both images of a pair
   get the same digit.
4. Beside it: the agreement that the two domains' digit frequencies alone
   would give (`chance`: sum over digits of p_a(k) p_b(k)), and the control
   run with no layer shared (`--runs negative_untied`, expected near 10%).
   The real test digits paired with their own negative or edge map give the
   classifiers' ceiling; each generated A image paired with its own
   negative or edge map gives the ceiling of this generator (`ceiling_
   generated_a`: the agreement if B rendered exactly A's image).

`--runs d2s_tied` trains the second pair of domains, daisies and
sunflowers (`cyclegan128/daisy2sunflower`, trainA and trainB) at 64 px;
it has no agreement to measure, only its grid.

Each run adds its results to `--out` (JSON; runs already there are
replaced) and its grid of 32 pairs to `--grids/cogan_<run>.png`: per
block of 8 columns, a row of domain A above the row of B. `--reuse`
measures the model an earlier run saved (`<work>/<run>.keras`) instead of
training one, keeping that run's training record (times, logs, command)
from `--out` where it is there (null where it is not).

Example:

    nice -n 5 python benchmarks/cogan_pairs.py --runs negative_tied negative_untied \\
        --steps 3000 --out benchmarks/cogan_results.json
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

DATA = os.environ.get("KERAS_GANS_DATA", "/work/shared/data")
RUNS = ("negative_tied", "negative_untied", "edges_tied", "edges_untied", "d2s_tied")
GRID_PAIRS = 32


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", nargs="+", choices=RUNS, default=list(RUNS[:4]))
    p.add_argument("--mnist", default=os.path.join(DATA, "mnist", "mnist.npz"))
    p.add_argument("--photos", default=os.path.join(DATA, "cyclegan128", "daisy2sunflower"))
    p.add_argument("--steps", type=int, default=3000, help="MNIST training steps (default 3000)")
    p.add_argument("--photo-steps", type=int, default=1500, help="daisy2sunflower steps (default 1500)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--width", type=int, default=32, help="ngf = ndf (default 32)")
    p.add_argument("--latent-dim", type=int, default=100)
    p.add_argument("--shared-generator-layers", type=int, default=None,
                   help="of the tied runs (default: all but the last); names them <run>_g<N>")
    p.add_argument("--samples", type=int, default=10_000, help="pairs classified (default 10000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--evaluator", default=os.path.join(ROOT, "evaluators", "mnist.keras"))
    p.add_argument("--work", default=os.path.join(ROOT, "runs", "cogan_bench"),
                   help="where the trained models (<run>.keras) and the edge classifier go")
    p.add_argument("--reuse", action="store_true",
                   help="measure <work>/<run>.keras, saved by an earlier run, without training")
    p.add_argument("--edge-evaluator", default=None,
                   help="the edge-map classifier (default <work>/mnist_edges.keras); trained by "
                   "scripts/train_evaluator.py if missing")
    p.add_argument("--edge-evaluator-epochs", type=int, default=2)
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "cogan_results.json"))
    p.add_argument("--grids", default=os.path.join(ROOT, "benchmarks", "quality_samples"))
    return p.parse_args(argv)


def to_unit(images):
    return images.astype("float32") / 127.5 - 1.0


def edge_evaluator(args):
    """The edge-map classifier (trained once, by scripts/train_evaluator.py,
    on the edge maps of x_train) and its held-out accuracy."""
    from keras_gans.data import edge_map

    path = args.edge_evaluator or os.path.join(args.work, "mnist_edges.keras")
    if not os.path.exists(path):
        with np.load(args.mnist) as npz:
            edges = {key: edge_map(npz[key]) if key.startswith("x_") else npz[key]
                     for key in ("x_train", "y_train", "x_test", "y_test")}
        data = os.path.splitext(path)[0] + "_data.npz"
        np.savez(data, **edges)
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "train_evaluator.py"),
                        "--data", data, "--out", path, "--epochs",
                        str(args.edge_evaluator_epochs), "--seed", str(args.seed)], check=True)
        os.remove(data)
    with open(os.path.splitext(path)[0] + ".json") as f:
        record = json.load(f)
    return path, record


def predict_digits(model, images):
    return np.argmax(model.predict(images, batch_size=500, verbose=0), axis=-1)


def build_gan(run, args, image_size, channels):
    from keras_gans.models.cogan import CoGAN

    untied = run.endswith("_untied")
    return CoGAN(image_size=image_size, channels=channels, latent_dim=args.latent_dim,
                 generator_width=args.width, discriminator_width=args.width,
                 shared_generator_layers=0 if untied else args.shared_generator_layers,
                 shared_discriminator_layers=0 if untied else None, seed=args.seed)


def train(gan, ds, steps):
    """Fit for `steps` batches (log lines every 250); wall and CPU minutes."""
    import keras_gans.data as gan_data

    gan.compile()
    per_epoch = min(250, steps)
    wall, cpu = time.time(), time.process_time()
    history = gan.fit(gan_data.repeat(ds), epochs=steps // per_epoch, steps_per_epoch=per_epoch,
                      verbose=2)
    minutes = (time.time() - wall) / 60, (time.process_time() - cpu) / 60
    logs = {k: round(float(v[-1]), 4) for k, v in history.history.items()}
    return minutes, logs


def run_mnist(run, args):
    import keras

    import keras_gans.data as gan_data
    from keras_gans.data.domains import TRANSFORMS
    from keras_gans.images import to_uint8

    pair = run.split("_")[0]
    keras.utils.set_random_seed(args.seed)
    (images_a, _), (images_b, _) = gan_data.mnist_domains(args.mnist, pair=pair, seed=args.seed)
    ds = gan_data.unpaired_dataset(images_a, images_b, image_size=28, channels=1,
                                   batch_size=args.batch_size, jitter=False, flip=False,
                                   seed=args.seed)
    gan, (wall, cpu), logs = trained_gan(run, args, 28, (1, 1), ds, args.steps)

    digits = keras.models.load_model(args.evaluator)
    if pair == "negative":
        classify_b, b_model = (lambda x: predict_digits(digits, -x)), "evaluators/mnist.keras on -x"
        ceiling_note = "x_test digits and their own negatives"
    else:
        path, record = edge_evaluator(args)
        edges = keras.models.load_model(path)
        classify_b = lambda x: predict_digits(edges, x)  # noqa: E731
        b_model = (f"edge-map classifier ({os.path.relpath(path, ROOT)}, held-out accuracy "
                   f"{record['heldout_accuracy']:.4f} on the edge maps of x_test)")
        ceiling_note = "x_test digits and their own edge maps"

    generated_a, generated_b = gan.generate(args.samples, seed=args.seed + 1)
    predicted_a, predicted_b = predict_digits(digits, generated_a), classify_b(generated_b)
    frequencies = [np.bincount(p, minlength=10) / len(p) for p in (predicted_a, predicted_b)]

    with np.load(args.mnist) as npz:
        x_test, y_test = npz["x_test"][..., None], npz["y_test"]
    real_b = to_unit(TRANSFORMS[pair](x_test))
    real_a_digits, real_b_digits = predict_digits(digits, to_unit(x_test)), classify_b(real_b)
    own_b_of_a = classify_b(to_unit(TRANSFORMS[pair](to_uint8(generated_a))))
    save_grid(gan, run, args)
    return {
        "agreement": float(np.mean(predicted_a == predicted_b)),
        "chance_from_frequencies": float(frequencies[0] @ frequencies[1]),
        "digit_frequencies_a": [round(float(f), 4) for f in frequencies[0]],
        "digit_frequencies_b": [round(float(f), 4) for f in frequencies[1]],
        "ceiling_real_pairs": float(np.mean(real_a_digits == real_b_digits)),
        "ceiling_note": ceiling_note,
        "ceiling_generated_a": float(np.mean(predicted_a == own_b_of_a)),
        "b_accuracy_on_real_test": float(np.mean(real_b_digits == y_test)),
        "classifier_a": "evaluators/mnist.keras",
        "classifier_b": b_model,
        "pairs": args.samples,
        "steps": steps_taken(gan),
        "epochs_of_pairs": round(steps_taken(gan) * args.batch_size / len(images_a), 2),
        "train_wall_minutes": wall,
        "train_cpu_minutes": cpu,
        "final_logs": logs,
        **model_record(gan),
    }


def run_photos(run, args):
    import keras

    import keras_gans.data as gan_data

    keras.utils.set_random_seed(args.seed)
    ds = gan_data.unpaired_dataset(os.path.join(args.photos, "trainA"),
                                   os.path.join(args.photos, "trainB"), image_size=64, channels=3,
                                   batch_size=args.batch_size, jitter=False, flip=True,
                                   seed=args.seed)
    gan, (wall, cpu), logs = trained_gan(run, args, 64, (3, 3), ds, args.photo_steps)
    save_grid(gan, run, args)
    return {"steps": steps_taken(gan), "data": "daisy2sunflower trainA (688) vs trainB "
            "(660), 64 px, random flips", "train_wall_minutes": wall, "train_cpu_minutes": cpu,
            "final_logs": logs, **model_record(gan)}


def trained_gan(run, args, image_size, channels, ds, steps):
    """The run's CoGAN, trained for `steps` and saved to `<work>/<run>.keras`
    (or, with `--reuse`, loaded from there); its wall and CPU minutes of
    training (None when reused) and its last epoch's logs."""
    import keras

    path = os.path.join(args.work, f"{run_name(run, args)}.keras")
    if args.reuse:
        return keras.models.load_model(path), (None, None), None
    gan = build_gan(run, args, image_size, channels)
    minutes, logs = train(gan, ds, steps)
    gan.save(path)
    return gan, tuple(round(m, 2) for m in minutes), logs


def run_name(run, args):
    """The run's key in the results and its grid's name: `<run>_g<N>` for a
    tied run with another split than the paper's."""
    if run.endswith("_tied") and args.shared_generator_layers is not None:
        return f"{run}_g{args.shared_generator_layers}"
    return run


def steps_taken(gan):
    import keras

    return int(keras.ops.convert_to_numpy(gan.progress.steps))


def model_record(gan):
    from keras_gans.models.cogan import layer_count

    return {"width": gan.generator_width, "latent_dim": gan.latent_dim,
            "shared_generator_layers": gan.shared_generator_layers,
            "shared_discriminator_layers": gan.shared_discriminator_layers,
            "layers": layer_count(gan.image_size)}


def save_grid(gan, run, args):
    from keras_gans.images import save_grid as write

    images, ncols = gan.grid_images(gan.grid_inputs(GRID_PAIRS, seed=args.seed))
    write(images, os.path.join(args.grids, f"cogan_{run_name(run, args)}.png"), ncols)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.work, exist_ok=True)
    import keras

    results = {}
    if os.path.exists(args.out):
        with open(args.out) as f:
            results = json.load(f)
    for run in args.runs:
        print(f"== {run}", flush=True)
        record = run_photos(run, args) if run.startswith("d2s") else run_mnist(run, args)
        run = run_name(run, args)
        record.update(seed=args.seed, batch_size=args.batch_size, backend=keras.backend.backend(),
                      keras=keras.__version__, cpus=os.cpu_count(),
                      load_average_after=round(os.getloadavg()[0], 1),
                      command="python benchmarks/cogan_pairs.py " + " ".join(argv or sys.argv[1:]),
                      date=time.strftime("%Y-%m-%d"))
        if args.reuse:  # Measured again: keep how the saved model was trained.
            trained = {k: v for k, v in results.get(run, {}).items() if k.startswith("train")
                       or k in ("final_logs", "command", "date")}
            record.update(trained, measured_again_by=record["command"])
        results[run] = record
        print(json.dumps(record, indent=2), flush=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
