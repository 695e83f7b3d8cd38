#!/usr/bin/env python
"""The plant DCGAN's recipe, chosen by measurement: Fréchet distances on flowers.

Every row trains a DCGAN on the same flower photos and is scored at several
step counts by the Fréchet distance (FD) between `--samples` generated
images and a held-out set of real ones, in the feature space of a
classifier that never saw the held-out images:

- **Split**: `--holdout` images (800) of `--data` (flowers128), drawn with
  `--split-seed`, are held out; the GANs and the evaluator train on the rest.
- **Evaluator**: `scripts/train_evaluator.py` trained on the training split
  at the measured side, its 128-d "features" layer; its accuracy on the
  held-out images is reported.
- **Floor / ceiling**: FD of `--samples` real training images (what a
  generator that reproduced its training set would score) and of as many
  images of uniform noise.
- **Rows** (`ROWS`): the PyTorch DCGAN example's recipe trained here in
  PyTorch (`torch_dcgan`: the networks of `../shared/bench/torch_dcgan.py`
  for any side, N(0, 0.02) initialisation, BCE, one G update per D update),
  and `scripts/train_dcgan_plants.py` models built by that script from its
  flags: `--recipe classic`, then the pieces of the new default added to it
  one by one, and `--recipe best`. Every Keras row keeps an EMA of its
  generator (which does not change training) and is scored both with the
  raw generator and with the average.

Every row trains at batch `--batch` with random flips, at the same widths
(`--width`, both networks); the scores of each (row, seed) are written to
`--out` as they come (re-running rows or seeds replaces just those), sample
grids of each row's first seed at its last step to
`benchmarks/quality_samples/plants_<side>_<row>.png` (G) and
`..._<row>_ema.png` (its EMA), and `--markdown` prints the tables of `--out`.

Examples:

    # The CPU measurement of benchmarks/plants_results.md (32x32, one seed;
    # the 2-core machine shared with other jobs allowed no more). On an
    # oversubscribed CPU, torch's two OpenMP threads wait on each other ten
    # times longer than one thread takes: one thread for the torch row.
    nice -n 10 python benchmarks/plants_quality.py --res 32 --width 16 --steps 100,200,400 \
        --rows classic,best --seeds 0
    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/plants_quality.py --res 32 --width 16 \
        --steps 100,200,400 --rows torch_dcgan,augment,augment_sn_hinge --seeds 0
    # The issue's measurement on a GPU machine with JAX and PyTorch but no
    # TensorFlow (the NumPy input path; JAX must not take the GPU's memory
    # from PyTorch's reference run in the same process):
    KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false python benchmarks/plants_quality.py \
        --res 128 --width 64 --steps 1000,2500,5000,10000 --seeds 0,1 \
        --rows torch_dcgan,classic,augment,augment_sn_hinge,best --evaluator-epochs 30
    python benchmarks/plants_quality.py --res 128 --markdown
"""

import argparse
import contextlib
import fcntl
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

AUGMENT = ["--augment", "color,translation,cutout"]
#: Each row: the flags of scripts/train_dcgan_plants.py (EMA on, to score the
#: average too), or None for the PyTorch reference.
ROWS = {
    "torch_dcgan": None,
    "classic": ["--recipe", "classic", "--ema-decay", "0.999"],
    "augment": ["--recipe", "classic", "--ema-decay", "0.999", *AUGMENT],
    "augment_sn_hinge": ["--recipe", "classic", "--ema-decay", "0.999", *AUGMENT,
                         "--spectral-norm", "--loss", "hinge"],
    "augment_r1": ["--recipe", "classic", "--ema-decay", "0.999", *AUGMENT, "--r1-gamma", "1"],
    "augment_resize": ["--recipe", "classic", "--ema-decay", "0.999", *AUGMENT,
                       "--upsample", "resize"],
    "best": ["--recipe", "best", "--ema-decay", "0.999"],
}
LABELS = {
    "torch_dcgan": "PyTorch DCGAN example (torch, BCE, N(0, 0.02) init, g_steps 1)",
    "classic": "--recipe classic",
    "augment": "classic + DiffAugment",
    "augment_sn_hinge": "classic + DiffAugment + SN in D (no BN) + hinge",
    "augment_r1": "classic + DiffAugment + R1 (gamma 1, every 16 steps)",
    "augment_resize": "classic + DiffAugment + resize-conv G",
    "best": "--recipe best",
}


def parse_args(argv=None):
    data_root = os.environ.get("KERAS_GANS_DATA", "/work/shared/data")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=os.path.join(data_root, "flowers128"),
                   help="image folder with class subfolders (default $KERAS_GANS_DATA/flowers128)")
    p.add_argument("--res", type=int, default=32, help="image side (default 32)")
    p.add_argument("--width", type=int, default=16,
                   help="both networks' width (ngf = ndf), the same for every row (default 16)")
    p.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    p.add_argument("--steps", default="500,1000,2500",
                   help="comma-separated step counts to score at; the last is the run's length")
    p.add_argument("--rows", default=",".join(ROWS),
                   help=f"comma-separated rows out of {','.join(ROWS)}, or none (default all)")
    p.add_argument("--seeds", default="0,1", help="comma-separated training seeds (default 0,1)")
    p.add_argument("--samples", type=int, default=1000, help="generated images per score")
    p.add_argument("--holdout", type=int, default=800, help="held-out real images (default 800)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the held-out split")
    p.add_argument("--evaluator", default=None,
                   help="evaluator .keras (default benchmarks/plants_evaluator_<res>.keras, "
                   "trained on the training split when missing)")
    p.add_argument("--evaluator-epochs", type=int, default=10)
    p.add_argument("--evaluator-width", type=int, default=32)
    p.add_argument("--out", default=None,
                   help="results JSON (default benchmarks/plants_results_<res>.json)")
    p.add_argument("--grids", default=os.path.join(ROOT, "benchmarks", "quality_samples"),
                   help="folder of the sample grids ('' for none)")
    p.add_argument("--markdown", action="store_true",
                   help="print the tables of --out (or of every plants_results_*.json) and exit")
    args = p.parse_args(argv)
    args.steps = sorted(int(s) for s in args.steps.split(","))
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.rows = [] if args.rows == "none" else [r.strip() for r in args.rows.split(",")]
    unknown = sorted(set(args.rows) - set(ROWS))
    if unknown:
        p.error(f"unknown rows {unknown}; choose from {list(ROWS)}")
    bench = os.path.join(ROOT, "benchmarks")
    args.evaluator = args.evaluator or os.path.join(bench, f"plants_evaluator_{args.res}.keras")
    args.out = args.out or os.path.join(bench, f"plants_results_{args.res}.json")
    return args


# -- data, evaluator, reference ------------------------------------------------------


def load_split(args):
    """`(train images, train labels, held-out images, held-out labels)`,
    uint8 at `args.res`, read as `image_dataset` reads a folder for training
    (centre crop, antialiased resize; PIL, so the same without TensorFlow)."""
    import keras_gans as kg

    folder = kg.data.image_dataset(args.data, image_size=args.res, with_labels=True,
                                   shuffle=False, drop_remainder=False, pipeline="numpy")
    images, labels = folder.images, folder.labels
    order = np.random.default_rng(args.split_seed).permutation(len(images))
    held, train = np.sort(order[: args.holdout]), np.sort(order[args.holdout :])
    return images[train], labels[train], images[held], labels[held]


def load_script(name):
    spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(ROOT, "scripts", name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def evaluator(args, split):
    """The evaluator, trained by `scripts/train_evaluator.py` on the training
    split (held-out images as its test set) unless it exists; and its report."""
    report = os.path.splitext(args.evaluator)[0] + ".json"
    if not os.path.isfile(args.evaluator):
        x_train, y_train, x_test, y_test = split
        with tempfile.TemporaryDirectory() as tmp:
            npz = os.path.join(tmp, "plants_split.npz")
            np.savez(npz, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
            load_script("train_evaluator.py").main([
                "--data", npz, "--out", args.evaluator, "--epochs", str(args.evaluator_epochs),
                "--width", str(args.evaluator_width), "--augment", "flip", "--seed", "0"])
    with open(report) as f:
        return json.load(f)


class Scorer:
    """FD (and KID) of images against the held-out set's statistics."""

    def __init__(self, path, heldout, samples):
        from keras_gans.metrics import FeatureExtractor, real_statistics

        self.extractor = FeatureExtractor(path, layer="features", batch_size=250)
        self.reference = real_statistics(heldout, self.extractor, keep_features=None)
        self.samples = samples

    def __call__(self, images):
        from keras_gans.metrics import evaluate

        result = evaluate(images, self.reference, self.extractor, metrics=("fid", "kid"),
                          num_samples=self.samples, batch_size=250)
        return {"fd": round(result["fid"], 3), "kid": round(result["kid"], 5)}


# -- training ------------------------------------------------------------------------


class Scores:
    """The scores of one run at its step counts, its training time (scoring
    left out) and its last grid."""

    def __init__(self, steps, score):
        self.steps, self.score = steps, score
        self.record = {"steps": [], "train_seconds": []}
        self.started, self.scoring = time.time(), 0.0

    def at(self, step, samplers):
        """Score each `name -> fn(n)` of `samplers` if `step` is a scored step."""
        if step not in self.steps:
            return
        t = time.time()
        self.record["steps"].append(step)
        self.record["train_seconds"].append(round(t - self.started - self.scoring, 1))
        for name, sample in samplers.items():
            for metric, value in self.score(sample(self.score.samples)).items():
                self.record.setdefault(f"{metric}_{name}", []).append(value)
        line = ", ".join(f"{k} {v[-1]}" for k, v in self.record.items() if k != "steps")
        print(f"   step {step}: {line}", flush=True)
        self.scoring += time.time() - t


def keras_run(args, row, seed, train, scores):
    """Train `scripts/train_dcgan_plants.py`'s model for a row; returns
    `{"": G's grid, "_ema": the EMA's}`."""
    import keras

    import keras_gans as kg

    script = load_script("train_dcgan_plants.py")
    flags = ROWS[row] + ["--image-size", str(args.res), "--generator-width", str(args.width),
                         "--discriminator-width", str(args.width), "--batch-size",
                         str(args.batch), "--seed", str(seed)]
    keras.utils.set_random_seed(seed)
    gan = script.build_gan(script.parse_args(flags))
    inputs = gan.sample_inputs(args.samples, seed=10_000 + seed)

    def sampler(use_ema):
        return lambda n: gan.generate(inputs={k: v[:n] for k, v in inputs.items()},
                                      use_ema=use_ema)

    samplers = {"g": sampler(False), "ema": sampler(True)}

    class Checkpoints(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch + 1 in scores.steps:
                # Keras' JAX fit holds the variables in its own state
                # mid-epoch: write them back before sampling.
                getattr(self.model, "jax_state_sync", lambda: None)()
                scores.at(batch + 1, samplers)

    stream = kg.data.repeat(kg.data.image_dataset(train, image_size=args.res, batch_size=args.batch,
                                                  flip=True, seed=seed, dtype="uint8"))
    history = gan.fit(stream, epochs=1, steps_per_epoch=max(args.steps), verbose=0,
                      callbacks=[Checkpoints()])
    scores.record["final_logs"] = {k: round(float(v[-1]), 4) for k, v in history.history.items()}
    return {"": samplers["g"](64), "_ema": samplers["ema"](64)}


def torch_networks(res, width, nz=100):
    """The networks of `../shared/bench/torch_dcgan.py` (the PyTorch DCGAN
    example's) for a side of `res` = 4 * 2**k, with `ngf = ndf = width`."""
    import torch.nn as nn

    n_up = int(np.log2(res // 4))
    ch = width * 2 ** (n_up - 1)
    g = [nn.ConvTranspose2d(nz, ch, 4, 1, 0, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True)]
    for _ in range(n_up - 1):
        g += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2),
              nn.ReLU(True)]
        ch //= 2
    g += [nn.ConvTranspose2d(ch, 3, 4, 2, 1, bias=False), nn.Tanh()]
    ch = width
    d = [nn.Conv2d(3, ch, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    for _ in range(n_up - 1):
        d += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2),
              nn.LeakyReLU(0.2, True)]
        ch *= 2
    d += [nn.Conv2d(ch, 1, 4, 1, 0, bias=False), nn.Flatten()]
    return nn.Sequential(*g), nn.Sequential(*d)


def torch_run(args, seed, train, scores, nz=100):
    """The PyTorch DCGAN example's training loop on the same images."""
    import torch
    import torch.nn as nn

    torch.manual_seed(seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    g, d = (net.to(device) for net in torch_networks(args.res, args.width, nz))

    def weights_init(m):  # the example's: N(0, 0.02) convolutions, N(1, 0.02) BN scales
        if "Conv" in type(m).__name__:
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif "BatchNorm" in type(m).__name__:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

    g.apply(weights_init)
    d.apply(weights_init)
    opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    noise = torch.randn(args.samples, nz, 1, 1, generator=torch.Generator().manual_seed(10_000 + seed))

    def sample(n):
        g.eval()  # BatchNorm's running statistics, as Keras' generate uses
        with torch.no_grad():
            images = g(noise[:n].to(device)).permute(0, 2, 3, 1).cpu().numpy()
        g.train()
        return images

    rng = np.random.default_rng(seed)
    ones = torch.ones(args.batch, 1, device=device)
    zeros = torch.zeros(args.batch, 1, device=device)
    batches = []
    for step in range(1, max(args.steps) + 1):
        if not batches:  # a new epoch: shuffled, flipped at random, whole batches
            order = rng.permutation(len(train))
            batches = [order[i : i + args.batch]
                       for i in range(0, len(order) - args.batch + 1, args.batch)][::-1]
        index = batches.pop()
        flip = rng.random(len(index)) < 0.5
        x = train[index].copy()
        x[flip] = x[flip, :, ::-1]
        real = torch.from_numpy(x).to(device).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        fake = g(torch.randn(args.batch, nz, 1, 1, device=device))
        loss_d = bce(d(real), ones) + bce(d(fake.detach()), zeros)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = bce(d(fake), ones)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        scores.at(step, {"g": sample})
    scores.record["final_logs"] = {"d_loss": round(loss_d.item(), 4), "g_loss": round(loss_g.item(), 4)}
    return {"": sample(64)}


# -- results -------------------------------------------------------------------------


@contextlib.contextmanager
def results_file(path):
    """The results dict of `path`, written back on exit; locked meanwhile,
    so that runs of several seeds in parallel processes can share it."""
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = {}
        if os.path.isfile(path):
            with open(path) as f:
                results = json.load(f)
        yield results
        with open(path, "w") as f:
            json.dump(results, f, indent=1)


def machine():
    import keras

    info = {"backend": keras.backend.backend(), "keras": keras.__version__,
            "python": platform.python_version(), "cpus": os.cpu_count()}
    with contextlib.suppress(ImportError):
        import torch

        info["torch"] = torch.__version__
        info["cuda"] = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return info


def save_grid(images, path):
    from keras_gans import images as image_utils

    os.makedirs(os.path.dirname(path), exist_ok=True)
    image_utils.save_grid(images, path, 8)
    return os.path.relpath(path, ROOT)


def main(argv=None):
    args = parse_args(argv)
    if args.markdown:
        print(markdown(args))
        return 0
    from keras_gans.images import to_unit_range

    split = load_split(args)
    train, heldout = split[0], split[2]
    report = evaluator(args, split)
    score = Scorer(args.evaluator, heldout, args.samples)
    with results_file(args.out) as results:
        if "floor" not in results:
            pick = np.random.default_rng(args.split_seed).choice(len(train), args.samples, False)
            noise = np.random.default_rng(args.split_seed).uniform(
                -1, 1, (args.samples,) + train.shape[1:]).astype("float32")
            results.update(
                res=args.res, width=args.width, batch=args.batch, samples=args.samples,
                holdout=args.holdout, train_images=len(train), machine=machine(),
                evaluator={k: report[k] for k in ("heldout_accuracy", "train_samples",
                                                  "heldout_samples", "epochs", "argv")},
                floor=score(to_unit_range(train[pick])), ceiling=score(noise), runs={})
        print(f"floor {results['floor']}, noise ceiling {results['ceiling']}, evaluator "
              f"held-out accuracy {report['heldout_accuracy']:.3f}", flush=True)
    for row in args.rows:
        for seed in args.seeds:
            print(f"== {row}, seed {seed}: {LABELS[row]}", flush=True)
            scores = Scores(args.steps, score)
            if ROWS[row] is None:
                grids = torch_run(args, seed, train, scores)
            else:
                grids = keras_run(args, row, seed, train, scores)
            if args.grids and seed == args.seeds[0]:
                scores.record["grids"] = [
                    save_grid(grid, os.path.join(args.grids, f"plants_{args.res}_{row}{tail}.png"))
                    for tail, grid in grids.items()]
            scores.record["flags"] = ROWS[row]
            with results_file(args.out) as results:
                results["runs"].setdefault(row, {})[str(seed)] = scores.record
    return 0


# -- tables --------------------------------------------------------------------------


def _cell(values):
    """Mean over seeds, then each seed's value."""
    if not values:
        return "-"
    return f"**{np.mean(values):.1f}** ({' / '.join(f'{v:.1f}' for v in values)})"


def table(results):
    """A Markdown table of one results file: FD per row and step count."""
    steps = sorted({s for runs in results["runs"].values() for r in runs.values()
                    for s in r["steps"]})
    lines = ["| row | network | " + " | ".join(f"FD @ {s}" for s in steps)
             + " | train s (last step) |",
             "|---|---|" + "---:|" * (len(steps) + 1)]
    for row in ROWS:
        runs = results["runs"].get(row)
        if not runs:
            continue
        for network in ("g", "ema"):
            key = f"fd_{network}"
            if not any(key in r for r in runs.values()):
                continue
            cells = [_cell([r[key][r["steps"].index(s)] for r in runs.values()
                            if s in r["steps"]]) for s in steps]
            seconds = " / ".join(f"{r['train_seconds'][-1]:.0f}" for r in runs.values())
            name = "G" if network == "g" else "EMA of G"
            lines.append(f"| {LABELS[row]} | {name} | " + " | ".join(cells) + f" | {seconds} |")
    return "\n".join(lines)


def markdown(args):
    import glob

    paths = [args.out] if os.path.isfile(args.out) else sorted(
        glob.glob(os.path.join(ROOT, "benchmarks", "plants_results_*.json")))
    out = []
    for path in paths:
        with open(path) as f:
            results = json.load(f)
        seeds = sorted({s for runs in results["runs"].values() for s in runs})
        out.append(f"### {results['res']}x{results['res']}, width {results['width']}, batch "
                   f"{results['batch']}, seeds {', '.join(seeds)}\n")
        out.append(f"Evaluator held-out accuracy {results['evaluator']['heldout_accuracy']:.3f} "
                   f"({results['evaluator']['heldout_samples']} images); floor (real training "
                   f"images) FD {results['floor']['fd']:.2f}; uniform noise FD "
                   f"{results['ceiling']['fd']:.1f}.\n")
        out.append(table(results) + "\n")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
