#!/usr/bin/env python
"""ProGAN's sample quality on a CPU budget, after each stage of its growth,
beside a DCGAN trained on the same number of real images.

Two datasets (`--datasets`, default both):

- `mnist32`: MNIST padded to 32x32 (2 black pixels a side), grown 4 -> 32.
  Scored with `evaluators/mnist.keras` (28x28) on the centre 28x28 crop,
  against a seeded 5,000 subset of `x_test`.
- `flowers64`: the 4,317 flowers128 photos at 64x64 (random flips), grown
  4 -> 64. Scored with `evaluators/flowers64.keras` against a seeded
  random `samples` of the photos (1,000 in the CPU budget); as many others
  are the floor.

For each, in the evaluator's feature space (as `benchmarks/quality.py`):

- **per stage**, at the end of each resolution's hold (the model just
  before it grows, and at the end of training): FID and KID of the EMA
  generator (what `generate` uses) and of the raw generator, their images
  upscaled (nearest) to the final size; beside them the **level floor**:
  the floor's real images box-downscaled to that resolution and upscaled
  back (the best a generator of that resolution can score), and a DCGAN
  after the same number of real images;
- **at the end**, every metric of `quality.py` (FID, KID, IS,
  precision/recall) for the floor (real vs real), ProGAN (EMA and raw) and
  the DCGAN.

The DCGAN is `benchmarks/quality.py`'s (widths 32, non-saturating loss,
Adam 2e-4/0.5, batch 64; the flowers' with `g_steps=2`) on the same
(padded) data. Grids per stage: `benchmarks/quality_samples/
progan_<dataset>_<k>_<r>x<r>.png` (EMA generator, fixed seeded z, shown at
the final size).

Example:

    nice -n 5 python benchmarks/progan_quality.py --out benchmarks/progan_results.json
    python benchmarks/progan_quality.py --markdown > benchmarks/progan_results.md
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

BENCHMARKS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCHMARKS)

import quality  # noqa: E402  (its helpers; puts the repository on sys.path)

ROOT = quality.ROOT
DATASETS = ("mnist32", "flowers64")
STAGE_METRICS = ("fid", "kid")

# ProGAN's schedule and widths, the DCGAN's settings and the samples scored.
# The CPU budget keeps each training run under ~25 minutes on the shared
# 2-core machine; both models see `schedule.total_images` real images.
BUDGETS = {
    "cpu": {
        "mnist32": {"progan": {"images_per_stage": 10_000, "batch_size": 16, "max_filters": 32,
                               "fmap_base": 8192, "latent_dim": 128},
                    "dcgan": {"batch_size": 64, "width": 32, "latent_dim": 100, "g_steps": 1},
                    "samples": 5000, "grid": 64},
        # Sized for a 2-core machine shared by seven processes: a stage's
        # retrace, the evaluations and the 64x64 steps cost several times
        # what they do alone.
        "flowers64": {"progan": {"images_per_stage": 1_000, "batch_size": 16, "max_filters": 32,
                                 "fmap_base": 512, "latent_dim": 128},
                      "dcgan": {"batch_size": 64, "width": 32, "latent_dim": 128, "g_steps": 2},
                      "samples": 1000, "grid": 16},
    },
    # A few steps per stage: checks that the script runs, not the models.
    "smoke": {
        "mnist32": {"progan": {"images_per_stage": 64, "batch_size": 16, "max_filters": 8,
                               "fmap_base": 8192, "latent_dim": 16},
                    "dcgan": {"batch_size": 64, "width": 8, "latent_dim": 16, "g_steps": 1},
                    "samples": 300, "grid": 16},
        "flowers64": {"progan": {"images_per_stage": 64, "batch_size": 16, "max_filters": 8,
                                 "fmap_base": 512, "latent_dim": 16},
                      "dcgan": {"batch_size": 64, "width": 8, "latent_dim": 16, "g_steps": 2},
                      "samples": 300, "grid": 16},
    },
}


def parse_args(argv=None):
    data_root = os.environ.get("KERAS_GANS_DATA", "/work/shared/data")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", choices=sorted(BUDGETS), default="cpu")
    p.add_argument("--datasets", default=",".join(DATASETS),
                   help=f"comma-separated subset of {','.join(DATASETS)} (default both)")
    p.add_argument("--data-root", default=data_root)
    p.add_argument("--evaluators", default=os.path.join(ROOT, "evaluators"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join(BENCHMARKS, "progan_results.json"))
    p.add_argument("--samples-dir", default=os.path.join(BENCHMARKS, "quality_samples"),
                   help="where the per-stage grids go ('' to skip)")
    p.add_argument("--markdown", action="store_true",
                   help="print the tables of an existing --out file as Markdown and exit")
    args = p.parse_args(argv)
    args.datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    unknown = sorted(set(args.datasets) - set(DATASETS))
    if unknown:
        p.error(f"unknown dataset(s) {unknown}; choose from {list(DATASETS)}")
    return args


# -- data and how the evaluator sees images -------------------------------------------


def pad_mnist(digits):
    """uint8 28x28 digits -> (n, 32, 32, 1), 2 black pixels a side."""
    return np.pad(digits, ((0, 0), (2, 2), (2, 2)))[..., None]


def lowered(images, resolution):
    """Images at the final size (uint8 or [-1, 1]) as a generator of
    `resolution` could make them: box-downscaled, then nearest-upscaled."""
    from keras_gans.images import to_unit_range

    x = to_unit_range(images)
    n, size = len(x), x.shape[1]
    factor = size // resolution
    x = x.reshape(n, resolution, factor, resolution, factor, x.shape[-1]).mean(axis=(2, 4))
    return np.repeat(np.repeat(x, factor, axis=1), factor, axis=2)


def evaluator_view(dataset):
    """Images of any stage's size -> what the dataset's evaluator takes."""
    final = 32 if dataset == "mnist32" else 64

    def view(images):
        # Clipped, as the uint8 export and the grids clip (ProGAN has no tanh).
        images = np.clip(images, -1.0, 1.0)
        factor = final // images.shape[1]
        images = np.repeat(np.repeat(images, factor, axis=1), factor, axis=2)
        return images[:, 2:30, 2:30] if dataset == "mnist32" else images

    return view


def load(dataset, args, n):
    """`(training images, reference, floor, extractor)` of `dataset`; the
    reference and floor as the evaluator sees them, the training images at
    the final size (uint8)."""
    if dataset == "mnist32":
        _, x_train, _, reference, floor = quality.load_mnist(args.data_root, n, args.seed)
        extractor = quality.extractor_for(args.evaluators, "mnist.keras")
        return pad_mnist(x_train), reference[..., None], pad_mnist(floor), extractor
    everything = quality.folder_uint8(os.path.join(args.data_root, "flowers128"), 64)
    perm = np.random.default_rng(args.seed).permutation(len(everything))
    extractor = quality.extractor_for(args.evaluators, "flowers64.keras")
    return everything, everything[perm[:n]], everything[perm[n : 2 * n]], extractor


# -- training with snapshots -------------------------------------------------------------


def snapshots_at_stage_ends(directory):
    """A callback saving the ProGAN as each stage ends (put it before
    `Growth`) and at the end of training; `.saved` lists `(stage, images,
    path)`."""
    import keras

    class Snapshots(keras.callbacks.Callback):
        saved = []

        def save(self):
            gan = self.model
            path = os.path.join(directory, f"progan_stage_{gan.stage}.keras")
            gan.save(path)
            self.saved.append((gan.stage, gan.images_seen(), path))

        def on_train_batch_end(self, batch, logs=None):
            gan = self.model
            if gan.schedule.stage_of(gan.scheduled_phase()) != gan.stage:
                self.save()

        def on_train_end(self, logs=None):
            self.save()

    return Snapshots()


def snapshots_at_images(directory, counts, batch_size):
    """A callback saving a model after the first step that reaches each of
    `counts` real images; `.saved` lists `(images, path)`."""
    import keras

    class Snapshots(keras.callbacks.Callback):
        saved = []

        def on_train_batch_end(self, batch, logs=None):
            seen = (len(self.saved) and self.saved[-1][0]) or 0
            images = int(keras.ops.convert_to_numpy(self.model.progress.images))
            for count in counts:
                if seen < count <= images:
                    path = os.path.join(directory, f"dcgan_{count}.keras")
                    self.model.save(path)
                    self.saved.append((images, path))

    return Snapshots()


def train_progan(dataset, cfg, data, args, work):
    import keras
    import keras_gans as kg
    from keras_gans.growing import Growth
    from keras_gans.models.progan import ProGAN

    p = cfg["progan"]
    keras.utils.set_random_seed(args.seed)
    gan = ProGAN(image_size=data.shape[1], channels=data.shape[-1], latent_dim=p["latent_dim"],
                 max_filters=p["max_filters"], fmap_base=p["fmap_base"],
                 images_per_stage=p["images_per_stage"], seed=args.seed)
    gan.compile()
    total = gan.schedule.total_images
    steps = total // p["batch_size"]
    ds = kg.data.image_dataset(data, image_size=data.shape[1], channels=data.shape[-1],
                               batch_size=p["batch_size"], flip=dataset == "flowers64",
                               seed=args.seed).repeat()
    epochs = 5  # log lines; the last stage's hold may run a few steps over
    snapshots = snapshots_at_stage_ends(work)
    t = time.time()
    history = gan.fit(ds, epochs=epochs, steps_per_epoch=-(-steps // epochs), verbose=2,
                      callbacks=[snapshots, Growth()])
    return {"train_seconds": round(time.time() - t, 1), "steps": -(-steps // epochs) * epochs,
            "images": gan.images_seen(), "schedule": gan.schedule.describe(),
            "final_logs": {k: round(float(v[-1]), 4) for k, v in history.history.items()},
            "parameters": {"generator": gan.generator.count_params(),
                           "discriminator": gan.discriminator.count_params()}}, snapshots.saved


def train_dcgan(dataset, cfg, data, args, work, image_counts):
    import keras
    import keras_gans as kg

    d = cfg["dcgan"]
    keras.utils.set_random_seed(args.seed)
    gan = kg.DCGAN(image_size=data.shape[1], channels=data.shape[-1], latent_dim=d["latent_dim"],
                   generator_width=d["width"], discriminator_width=d["width"], seed=args.seed)
    gan.compile(d_optimizer=quality.adam(), g_optimizer=quality.adam(), loss="non_saturating",
                g_steps=d["g_steps"])
    steps = -(-image_counts[-1] // d["batch_size"])  # ceil: at least ProGAN's images
    ds = kg.data.image_dataset(data, image_size=data.shape[1], channels=data.shape[-1],
                               batch_size=d["batch_size"], flip=dataset == "flowers64",
                               seed=args.seed).repeat()
    snapshots = snapshots_at_images(work, image_counts, d["batch_size"])
    t = time.time()
    history = gan.fit(ds, epochs=1, steps_per_epoch=steps, verbose=2, callbacks=[snapshots])
    return {"train_seconds": round(time.time() - t, 1), "steps": steps,
            "images": steps * d["batch_size"],
            "final_logs": {k: round(float(v[-1]), 4) for k, v in history.history.items()},
            "parameters": {"generator": gan.generator.count_params(),
                           "discriminator": gan.discriminator.count_params()}}, snapshots.saved


# -- scoring ---------------------------------------------------------------------------------


def sampler(gan, n, seed, view, use_ema=None):
    """fn(n) over fixed seeded latents, as the evaluator sees the images."""
    z = np.random.default_rng(seed).standard_normal((n, gan.latent_dim)).astype("float32")
    position = 0

    def fn(count):
        nonlocal position
        images = gan.generate(z=z[position : position + count], use_ema=use_ema)
        position += count
        return view(images)

    return fn


def scored(images, reference, extractor, n, seed, metrics=STAGE_METRICS):
    from keras_gans.metrics import evaluate

    t = time.time()
    result = evaluate(images, reference, extractor, metrics=metrics, num_samples=n,
                      batch_size=250, seed=seed)
    result["eval_seconds"] = round(time.time() - t, 1)
    return result


def run(dataset, args, cfg):
    import keras

    n = cfg["samples"]
    view = evaluator_view(dataset)
    data, reference_images, floor_images, extractor = load(dataset, args, n)
    reference = quality.real_reference(reference_images, extractor, args.seed)
    result = {"samples": n, "training_images": len(data)}
    with tempfile.TemporaryDirectory(prefix="progan_quality_") as work:
        result["progan"], stage_models = train_progan(dataset, cfg, data, args, work)
        counts = [images for _, images, _ in stage_models]
        result["dcgan"], dcgan_models = train_dcgan(dataset, cfg, data, args, work, counts)
        print(f"   trained: ProGAN {result['progan']['train_seconds']} s, DCGAN "
              f"{result['dcgan']['train_seconds']} s", flush=True)
        stages, gan, dcgan = [], None, None  # the last snapshots are the trained models
        for (stage, images, path), (dcgan_images, dcgan_path) in zip(stage_models, dcgan_models):
            gan, dcgan = keras.models.load_model(path), keras.models.load_model(dcgan_path)
            size = gan.resolution
            row = {"stage": stage, "resolution": size, "images": images,
                   "dcgan_images": dcgan_images}
            row["level_floor"] = scored(view(lowered(floor_images, size)), reference, extractor,
                                        n, args.seed)
            row["ema"] = scored(sampler(gan, n, args.seed + 1, view), reference, extractor, n,
                                args.seed)
            row["raw"] = scored(sampler(gan, n, args.seed + 1, view, use_ema=False), reference,
                                extractor, n, args.seed)
            row["dcgan"] = scored(sampler(dcgan, n, args.seed + 1, view), reference, extractor,
                                  n, args.seed)
            print(f"   {size}x{size} after {images:,} images: FID EMA {row['ema']['fid']:.2f}, "
                  f"raw {row['raw']['fid']:.2f}, level floor {row['level_floor']['fid']:.2f}; "
                  f"DCGAN {row['dcgan']['fid']:.2f}", flush=True)
            if args.samples_dir:
                grid = gan.grid_images(gan.grid_inputs(cfg["grid"], seed=0))[0]
                row["grid"] = quality.save_samples(grid, os.path.join(
                    args.samples_dir, f"progan_{dataset}_{stage}_{size}x{size}.png"))
            stages.append(row)
        result["stages"] = stages
        from keras_gans.images import to_unit_range

        final = {"floor": view(to_unit_range(floor_images)),
                 "progan_ema": sampler(gan, n, args.seed + 1, view),
                 "progan_raw": sampler(gan, n, args.seed + 1, view, use_ema=False),
                 "dcgan": sampler(dcgan, n, args.seed + 1, view)}
        result["final"] = {name: scored(images, reference, extractor, n, args.seed,
                                        quality.METRICS) for name, images in final.items()}
    return result


# -- report -------------------------------------------------------------------------------------


ROWS = {"floor": "floor: real vs real", "progan_ema": "ProGAN, EMA generator",
        "progan_raw": "ProGAN, raw generator", "dcgan": "DCGAN, same images"}


def markdown(results):
    out = []
    for dataset, r in results["datasets"].items():
        p, d = r["progan"], r["dcgan"]
        out += [f"### {dataset}", "",
                f"- command: `{r['command']}`; machine: {r['machine']}; wall "
                f"{r['wall_seconds']} s (load average at the end {r['load_average_at_end']})",
                f"- ProGAN: {p['config']}; {p['steps']} steps, {p['images']:,} real images, "
                f"train {p['train_seconds']} s wall; parameters G {p['parameters']['generator']:,}, "
                f"D {p['parameters']['discriminator']:,}",
                f"- schedule: {'; '.join(p['schedule'])}",
                f"- DCGAN: {d['config']}; {d['steps']} steps, {d['images']:,} real images, "
                f"train {d['train_seconds']} s wall; parameters G {d['parameters']['generator']:,}, "
                f"D {d['parameters']['discriminator']:,}",
                f"- {r['samples']} samples per row; final ProGAN logs {p['final_logs']}", "",
                "| stage | images | FID level floor | FID ProGAN EMA | FID ProGAN raw | FID DCGAN "
                "| KID ProGAN EMA | KID ProGAN raw | KID DCGAN |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for row in r["stages"]:
            size = row["resolution"]
            out.append(
                f"| {row['stage']}: {size}x{size} | {row['images']:,} | "
                f"{row['level_floor']['fid']:.2f} | {row['ema']['fid']:.2f} | "
                f"{row['raw']['fid']:.2f} | {row['dcgan']['fid']:.2f} | {row['ema']['kid']:.4f} | "
                f"{row['raw']['kid']:.4f} | {row['dcgan']['kid']:.4f} |")
        out += ["", "| at the end | FID | KID (std) | IS (std) | precision | recall |",
                "|---|---:|---:|---:|---:|---:|"]
        for name, m in r["final"].items():
            out.append(f"| {ROWS[name]} | {m['fid']:.2f} | {m['kid']:.4f} ({m['kid_std']:.4f}) | "
                       f"{m['is']:.2f} ({m['is_std']:.2f}) | {m['precision']:.3f} | "
                       f"{m['recall']:.3f} |")
        grids = [row["grid"] for row in r["stages"] if row.get("grid")]
        if grids:
            out += [""] + [f"![{os.path.basename(g)}]({os.path.relpath(os.path.join(ROOT, g), BENCHMARKS)})"
                           for g in grids]
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
        "command": "python benchmarks/progan_quality.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "budget": args.budget, "seed": args.seed,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "tensorflow": tf.__version__, "keras": keras.__version__,
                    "backend": keras.backend.backend(),
                    "gpus": len(tf.config.list_physical_devices("GPU")),
                    "load_average_at_start": [round(x, 1) for x in os.getloadavg()]},
        "datasets": {},
    }
    if os.path.exists(args.out):  # keep the other dataset's results
        with open(args.out) as f:
            previous = json.load(f)
        if previous.get("budget") == args.budget:
            for entry in previous.get("datasets", {}).values():  # each keeps its provenance
                entry.setdefault("command", previous.get("command"))
                entry.setdefault("machine", previous.get("machine"))
            results["datasets"].update(previous.get("datasets", {}))
    start = time.time()
    for dataset in args.datasets:
        cfg = BUDGETS[args.budget][dataset]
        print(f"== {dataset} ({args.budget} budget: {cfg})", flush=True)
        t = time.time()
        result = run(dataset, args, cfg)
        p, d = cfg["progan"], cfg["dcgan"]
        result["progan"]["config"] = (
            f"ProGAN(latent_dim={p['latent_dim']}, max_filters={p['max_filters']}, "
            f"fmap_base={p['fmap_base']}, images_per_stage={p['images_per_stage']}), WGAN-GP + "
            f"drift, Adam(1e-3, 0, 0.99), EMA 0.999 restarted at each growth (ema_stage_rampup "
            f"0.25), batch {p['batch_size']}")
        result["dcgan"]["config"] = (
            f"DCGAN(latent_dim={d['latent_dim']}, widths {d['width']}), non_saturating, "
            f"g_steps {d['g_steps']}, Adam(2e-4, 0.5), batch {d['batch_size']}")
        result["command"], result["machine"] = results["command"], results["machine"]
        result["wall_seconds"] = round(time.time() - t, 1)
        result["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
        results["datasets"][dataset] = result
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    results["wall_seconds_this_run"] = round(time.time() - start, 1)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"Wrote {args.out} ({results['wall_seconds_this_run']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
