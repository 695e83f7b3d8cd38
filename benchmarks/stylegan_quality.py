#!/usr/bin/env python
"""StyleGAN2's sample quality on a CPU budget (MNIST at 32x32, or the
flowers at 64x64), scored as `benchmarks/progan_quality.py` scores ProGAN,
beside its numbers.

The data, the evaluator (`evaluators/mnist.keras` on the centre 28x28 crop
of the 32x32 padded digits; `evaluators/flowers64.keras` for the flowers),
the reference (a seeded subset of `x_test`; a seeded 1,000 of the flowers)
and the metrics (FID and KID in the evaluator's feature space) are
`progan_quality.py`'s, through its helpers, so the Frechet distances here
sit beside ProGAN's and its DCGAN's in `progan_results.json` at the numbers
of images listed there. StyleGAN2 trains with its `compile()` defaults
(non-saturating loss, lazy R1 10 every 16 steps, Adam 2e-3 (0, 0.99), style
mixing 0.9, EMA 0.999 with ramp-up) until it has seen `--images` real
images or `--train-seconds` of wall time have passed, whichever is first;
the images it saw are reported. `--sagan` trains a SAGAN (`quality.py`'s:
DCGAN's channels, attention at 16x16, a bare `compile()`) on the same
number of images and scores it the same way.

Scored, with every metric of `quality.py` (FID, KID, IS, precision/recall):
the EMA generator (what `generate` uses), the raw one, and the EMA
generator truncated at psi 0.7 (diversity traded for fidelity). Grids:
`benchmarks/quality_samples/stylegan_<dataset>_{samples,style_mix,truncation}.png`.

Example:

    nice -n 10 python benchmarks/stylegan_quality.py --train-seconds 600
    python benchmarks/stylegan_quality.py --dataset flowers64 --images 9040 --sagan \
        --train-seconds 3600 --out benchmarks/stylegan_flowers64.json
    python benchmarks/stylegan_quality.py --markdown > benchmarks/stylegan_results.md
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

BENCHMARKS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCHMARKS)

import progan_quality  # noqa: E402  (its data, view and scoring; puts the repository on sys.path)
import quality  # noqa: E402

CONFIGS = {
    "mnist32": {"image_size": 32, "channels": 1, "latent_dim": 128, "w_dim": 128,
                "mapping_layers": 8, "max_filters": 32, "fmap_base": 8192, "batch_size": 16,
                "samples": 5000},
    # progan_quality.py's flowers: its ProGAN and DCGAN rows use 1,000 samples.
    "flowers64": {"image_size": 64, "channels": 3, "latent_dim": 128, "w_dim": 128,
                  "mapping_layers": 8, "max_filters": 32, "fmap_base": 8192, "batch_size": 16,
                  "samples": 1000},
}
NETWORK_KEYS = ("image_size", "channels", "latent_dim", "w_dim", "mapping_layers",
                "max_filters", "fmap_base")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=sorted(CONFIGS), default="mnist32")
    p.add_argument("--images", type=int, default=None,
                   help="stop after this many real images (default: the time budget only)")
    p.add_argument("--sagan", action="store_true",
                   help="also train and score a SAGAN on the same number of images")
    p.add_argument("--train-seconds", type=float, default=600.0,
                   help="stop training at the first step after this wall time (default 600)")
    p.add_argument("--samples", type=int, default=None,
                   help="samples per score (default 5,000 for MNIST, 1,000 for the flowers)")
    p.add_argument("--data-root", default=os.environ.get("KERAS_GANS_DATA", "/work/shared/data"))
    p.add_argument("--evaluators", default=os.path.join(quality.ROOT, "evaluators"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join(BENCHMARKS, "stylegan_results.json"))
    p.add_argument("--samples-dir", default=os.path.join(BENCHMARKS, "quality_samples"))
    p.add_argument("--checkpoint", default=None,
                   help="also save the trained model there (.keras)")
    p.add_argument("--markdown", action="store_true",
                   help="print an existing --out file as Markdown and exit")
    return p.parse_args(argv)


def budget(args, images=None):
    """A callback ending `fit` at `images` real images (`--images` if None)
    or after `--train-seconds` of wall time."""
    import keras

    limit = args.images if images is None else images

    class Budget(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.time()

        def on_train_batch_end(self, batch, logs=None):
            seen = int(keras.ops.convert_to_numpy(self.model.progress.images))
            if time.time() - self.start > args.train_seconds or (limit and seen >= limit):
                self.model.stop_training = True

    return Budget()


def fit(gan, data, args, images=None):
    """Train `gan` on `data` within the budget; what it saw, in numbers."""
    import keras
    import keras_gans as kg

    c = CONFIGS[args.dataset]
    ds = kg.data.image_dataset(data, image_size=c["image_size"], channels=c["channels"],
                               batch_size=c["batch_size"], flip=args.dataset == "flowers64",
                               seed=args.seed).repeat()
    t = time.time()
    history = gan.fit(ds, epochs=10_000, steps_per_epoch=100, verbose=2,
                      callbacks=[budget(args, images)])
    return {"train_seconds": round(time.time() - t, 1),
            "images": int(keras.ops.convert_to_numpy(gan.progress.images)),
            "steps": int(keras.ops.convert_to_numpy(gan.progress.steps)),
            "final_logs": {k: round(float(v[-1]), 4) for k, v in history.history.items()},
            "parameters": {"generator": gan.generator.count_params(),
                           "discriminator": gan.discriminator.count_params()}}


def train(data, args):
    import keras
    from keras_gans.models.stylegan import StyleGAN

    keras.utils.set_random_seed(args.seed)
    c = CONFIGS[args.dataset]
    gan = StyleGAN(**{k: c[k] for k in NETWORK_KEYS}, seed=args.seed)
    gan.compile()
    result = fit(gan, data, args)
    result["config"] = (f"StyleGAN2({', '.join(f'{k}={c[k]}' for k in NETWORK_KEYS)}, "
                        f"batch_size={c['batch_size']}), compile() defaults")
    return gan, result


def train_sagan(data, args, images):
    """`quality.py`'s SAGAN on the same data, for `images` real images."""
    import keras

    keras.utils.set_random_seed(args.seed)
    c = CONFIGS[args.dataset]
    gan = quality.family_gan("sagan", c["image_size"], c["channels"], c["latent_dim"], args.seed)
    result = fit(gan, data, args, images)
    result["config"] = quality.family_config("sagan", c["image_size"], c["channels"],
                                             c["latent_dim"]) + f", batch {c['batch_size']}"
    return gan, result


def sampler(gan, n, seed, view, **options):
    """fn(count) over fixed seeded latents, as the evaluator sees the images."""
    z = np.random.default_rng(seed).standard_normal((n, gan.latent_dim)).astype("float32")
    position = 0

    def fn(count):
        nonlocal position
        images = gan.generate(z=z[position:position + count], seed=position, **options)
        position += count
        return view(images)

    return fn


def progan_rows_near(dataset, path=os.path.join(BENCHMARKS, "progan_results.json")):
    """ProGAN's and its DCGAN's stage rows from progan_results.json, for the
    table beside this run."""
    with open(path) as f:
        stages = json.load(f)["datasets"][dataset]["stages"]
    return [{"images": row["images"], "resolution": row["resolution"],
             "progan_ema_fid": row["ema"]["fid"], "progan_raw_fid": row["raw"]["fid"],
             "dcgan_images": row["dcgan_images"], "dcgan_fid": row["dcgan"]["fid"]}
            for row in stages]


def run(args):
    n = args.samples
    dataset = args.dataset
    view = progan_quality.evaluator_view(dataset)
    data, reference_images, _, extractor = progan_quality.load(dataset, args, n)
    reference = quality.real_reference(reference_images, extractor, args.seed)
    gan, result = train(data, args)
    print(f"   trained {result['train_seconds']} s, {result['images']:,} images", flush=True)
    if args.checkpoint:
        gan.save(args.checkpoint)
    scores = {}
    for name, options in (("ema", {}), ("raw", {"use_ema": False}),
                          ("ema_psi_0.7", {"truncation_psi": 0.7})):
        scores[name] = progan_quality.scored(sampler(gan, n, args.seed + 1, view, **options),
                                             reference, extractor, n, args.seed, quality.METRICS)
        print(f"   {name}: FID {scores[name]['fid']:.2f}", flush=True)
    result["scores"] = scores
    result["beside"] = progan_rows_near(dataset)
    if args.samples_dir:
        os.makedirs(args.samples_dir, exist_ok=True)
        base = os.path.join(args.samples_dir, f"stylegan_{dataset}")
        quality.save_samples(gan.generate(64, seed=0), f"{base}_samples.png")
        gan.style_mix([1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11], path=f"{base}_style_mix.png")
        gan.truncation_grid([1, 2, 3, 4, 5], path=f"{base}_truncation.png")
        result["grids"] = [f"{base}_{kind}.png" for kind in ("samples", "style_mix", "truncation")]
    if args.sagan:
        sagan, result["sagan"] = train_sagan(data, args, result["images"])
        print(f"   SAGAN trained {result['sagan']['train_seconds']} s, "
              f"{result['sagan']['images']:,} images", flush=True)
        result["sagan"]["score"] = progan_quality.scored(
            sampler(sagan, n, args.seed + 1, view), reference, extractor, n, args.seed,
            quality.METRICS)
        print(f"   SAGAN: FID {result['sagan']['score']['fid']:.2f}", flush=True)
        if args.samples_dir:
            path = os.path.join(args.samples_dir, f"sagan_{dataset}_samples.png")
            quality.save_samples(sagan.generate(64, seed=0), path)
            result["sagan"]["grid"] = path
    return result


def markdown(results):
    r = results["result"]
    dataset = results.get("dataset", "mnist32")
    title = {"mnist32": "MNIST 32x32", "flowers64": "the flowers at 64x64"}[dataset]
    space = {"mnist32": "MNIST", "flowers64": "flowers64"}[dataset]
    out = [f"Command: `{results['command']}`; machine: {results['machine']}; wall "
           f"{results['wall_seconds']} s (training {r['train_seconds']} s).", "",
           f"StyleGAN2 on {title} ({r['config']}), {r['images']:,} real images "
           f"({r['steps']:,} steps) in the training budget; FID / KID in the {space} "
           f"evaluator's feature space, {results['samples']} samples:", "",
           "| generator | FID | KID | IS | precision | recall |", "|---|---|---|---|---|---|"]
    for name, score in r["scores"].items():
        out.append(f"| StyleGAN2, {name.replace('_', ' ')} | {score['fid']:.2f} | "
                   + " | ".join(f"{score[k]:.4f}" if k in score else "-"
                                for k in ("kid", "is", "precision", "recall")) + " |")
    if "sagan" in r:
        sagan = r["sagan"]
        score = sagan["score"]
        out.append(f"| SAGAN, {sagan['images']:,} images, {sagan['train_seconds']} s | "
                   f"{score['fid']:.2f} | " + " | ".join(
                       f"{score[k]:.4f}" if k in score else "-"
                       for k in ("kid", "is", "precision", "recall")) + " |")
        out += ["", f"SAGAN: {sagan['config']}."]
    out += ["", "Beside them, from `progan_results.json` (same data, evaluator and reference):",
            "", "| images | ProGAN resolution | ProGAN EMA FID | ProGAN raw FID | DCGAN images | "
            "DCGAN FID |", "|---|---|---|---|---|---|"]
    for row in r["beside"]:
        out.append(f"| {row['images']:,} | {row['resolution']} | {row['progan_ema_fid']:.2f} | "
                   f"{row['progan_raw_fid']:.2f} | {row['dcgan_images']:,} | "
                   f"{row['dcgan_fid']:.2f} |")
    return "\n".join(out)


def main(argv=None):
    args = parse_args(argv)
    if args.samples is None:
        args.samples = CONFIGS[args.dataset]["samples"]
    if args.markdown:
        with open(args.out) as f:
            print(markdown(json.load(f)))
        return 0
    import tensorflow as tf

    t = time.time()
    load = [round(x, 1) for x in os.getloadavg()]
    result = run(args)
    results = {"command": "python " + " ".join(sys.argv), "seed": args.seed,
               "dataset": args.dataset,
               "samples": args.samples, "wall_seconds": round(time.time() - t, 1),
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "tensorflow": tf.__version__, "gpus": 0,
                           "load_average_at_start": load},
               "result": result}
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
