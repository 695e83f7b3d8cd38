#!/usr/bin/env python
"""Score a trained generator: FID, KID, Inception Score, precision and recall.

--generator is a `.keras` checkpoint (or a run folder: its
checkpoints/last.keras) or an exported SavedModel folder (or a TF Serving
model folder: its highest version). A checkpoint is sampled with
`GAN.generate` from seeded latent vectors; a SavedModel through its `sample`
signature (num_samples, seed) in chunks, with TensorFlow alone. Conditional
models get class labels drawn uniformly (seeded); a conditional SavedModel
needs --num-classes.

--data is the real data: a folder of images (searched recursively), an
`.npz` file (the `x_<split>` array, e.g. mnist.npz's x_train) or a
TensorFlow Datasets name (read from --data-dir when given, e.g. a folder
prepared on another machine). Images of any size are resized to the
extractor's input.

--extractor is "inception" (InceptionV3 pool3 features and ImageNet logits,
the standard; its weights are downloaded once, or read from
--inception-weights on a machine without internet) or a `.keras` classifier
such as evaluators/mnist.keras (trained by scripts/train_evaluator.py):
--layer names its feature layer (default "features"), and the Inception
Score uses its class logits (the "logits" layer, or its output; a softmax
output is turned into log-probabilities).

Real-data statistics are cached in --cache-dir (default
~/.cache/keras_gans) keyed by data, extractor and sample count.

Examples:
    python scripts/evaluate.py --generator runs/mnist_gan --data mnist.npz \\
        --extractor evaluators/mnist.keras --num-samples 10000 --out results.json
    python scripts/evaluate.py --generator saved_models/plants_dcgan/1 --data flowers128/ \\
        --extractor evaluators/flowers64.keras --metrics fid,kid
    python scripts/evaluate.py --generator runs/plants_dcgan --data flowers128/ --metrics fid,kid \\
        --inception-weights inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

if "keras_gans" not in sys.modules:  # Load it below, without the start-up chatter.
    os.environ["KERAS_GANS_DEFER_IMPORTS"] = "1"

from keras_gans.cli import startup  # noqa: E402

startup.import_library()  # Its --help names the weights files: Keras loads first, quietly.

from keras_gans.cli import arguments, errors  # noqa: E402
from keras_gans.cli.run_folder import find_model  # noqa: E402
from keras_gans.metrics.features import INCEPTION_WEIGHTS_FILES  # noqa: E402

PROG = "evaluate.py"
METRIC_NAMES = {"fid": "fid", "kid": "kid", "is": "is", "pr": "precision_recall",
                "precision_recall": "precision_recall", "inception_score": "is"}
DEFAULT_CACHE = os.path.join("~", ".cache", "keras_gans")


def build_parser():
    p = arguments.ArgumentParser(
        prog=PROG,
        description="FID, KID, Inception Score and precision/recall of a generator against real images.",
    )
    p.add_argument("--generator", required=True,
                   help="a .keras checkpoint, a run folder, or a SavedModel (version) folder")
    p.add_argument("--data", required=True,
                   help="real images: a folder, an .npz file (x_<split>), or a TFDS name")
    p.add_argument("--split", default="train",
                   help="the .npz array suffix or TFDS split (default train)")
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="TensorFlow Datasets directory for a TFDS --data, e.g. one prepared "
                   "elsewhere (default ~/tensorflow_datasets)")
    p.add_argument("--extractor", default="inception",
                   help="'inception' (needs the ImageNet weights: a download, or "
                   "--inception-weights) or a .keras classifier, e.g. evaluators/mnist.keras "
                   "(default inception)")
    p.add_argument("--inception-weights", default=None, metavar="PATH",
                   help=f"a local InceptionV3 weights file for --extractor inception, for machines "
                   f"without internet: {INCEPTION_WEIGHTS_FILES[False]}, or {INCEPTION_WEIGHTS_FILES[True]} (with "
                   "the top) when IS is among --metrics, as by default (default: download once "
                   "into ~/.keras)")
    p.add_argument("--layer", default=None,
                   help="feature layer of a .keras extractor (default 'features' if it has one, "
                   "else its output)")
    p.add_argument("--logits-layer", default=None,
                   help="class logits layer of a .keras extractor, for IS (default 'logits', "
                   "else its output)")
    p.add_argument("--num-samples", type=arguments.positive_int, default=10_000,
                   help="generated images (default 10000)")
    p.add_argument("--max-real", type=arguments.positive_int, default=None,
                   help="use at most this many real images, a seeded subset (default all)")
    p.add_argument("--metrics", type=_metrics, default=("fid", "kid", "is", "precision_recall"),
                   help="comma-separated: fid, kid, is, pr (default all)")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    p.add_argument("--seed", type=int, default=0, help="seed of latents, labels and subsets (default 0)")
    p.add_argument("--batch-size", type=arguments.positive_int, default=64,
                   help="generation and feature batch size (default 64)")
    p.add_argument("--cache-dir", default=DEFAULT_CACHE,
                   help=f"real-statistics cache (default {DEFAULT_CACHE}); 'none' disables it")
    p.add_argument("--num-classes", type=arguments.positive_int, default=None,
                   help="classes of a conditional SavedModel (a .keras model knows its own)")
    p.add_argument("--image-size", type=arguments.positive_int, default=None,
                   help="TFDS only: resize real images to this side (default: the extractor's input)")
    return p


def _metrics(text):
    import argparse

    names = []
    for token in text.split(","):
        token = token.strip().lower()
        if not token:
            continue
        if token not in METRIC_NAMES:
            raise argparse.ArgumentTypeError(f"unknown metric {token!r}; choose from fid, kid, is, pr")
        if METRIC_NAMES[token] not in names:
            names.append(METRIC_NAMES[token])
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated metrics, e.g. fid,kid")
    return tuple(names)


# -- generators -------------------------------------------------------------------


def _uniform_labels(rng, num_classes, n):
    return rng.integers(0, int(num_classes), n).astype("int32")


def keras_sampler(path, args):
    """fn(n) over seeded latents (and labels) of a .keras GAN, and a description."""
    import keras

    gan = keras.models.load_model(path, compile=False)
    if not hasattr(gan, "sample_inputs"):
        raise ValueError(f"{path} holds a {type(gan).__name__}, not a keras_gans GAN")
    if not gan.latents:
        raise ValueError(
            f"{path} holds a {type(gan).__name__}, which translates images rather than "
            "sampling them; evaluate its translations with keras_gans.metrics.evaluate"
        )
    chunk = [0]
    num_classes = gan.num_classes

    def sample(n):  # Each chunk's inputs from --seed and the chunk's index.
        inputs = gan.sample_inputs(n, seed=(args.seed * 1_000_003 + chunk[0]) % 2**31)
        chunk[0] += 1
        return gan.generate(inputs=inputs, batch_size=args.batch_size)

    kind = type(gan).__name__ + (f", {num_classes} classes" if num_classes else "")
    return sample, kind


def saved_model_sampler(path, args):
    """fn(n) through a SavedModel's `sample` signature, chunk by chunk: each
    chunk gets its own seed (derived from --seed and the chunk index)."""
    import tensorflow as tf

    model = tf.saved_model.load(path)
    if "sample" not in model.signatures:
        raise ValueError(f"{path} has no 'sample' signature (not exported by keras_gans?)")
    sample_fn = model.signatures["sample"]
    conditional = "labels" in sample_fn.structured_input_signature[1]
    if conditional and args.num_classes is None:
        raise ValueError(f"{path} is a conditional generator: pass --num-classes N")
    if not conditional and args.num_classes is not None:
        raise ValueError(f"{path} is not conditional: --num-classes does not apply")
    rng = np.random.default_rng(args.seed)
    chunk = [0]

    def sample(n):
        seed = tf.constant((args.seed * 1_000_003 + chunk[0]) % 2**31, tf.int32)
        chunk[0] += 1
        if conditional:
            labels = tf.constant(_uniform_labels(rng, args.num_classes, n))
            images = sample_fn(seed=seed, labels=labels)["images"]
        else:
            images = sample_fn(num_samples=tf.constant(n, tf.int32), seed=seed)["images"]
        return images.numpy()  # uint8, 0..255

    kind = "SavedModel" + (f", {args.num_classes} classes" if conditional else "")
    return sample, kind


# -- real data --------------------------------------------------------------------


def real_source(args, extractor):
    """`(data, dataset_id)` for `keras_gans.metrics.real_statistics`."""
    data = os.path.expanduser(args.data)
    if os.path.isdir(data):
        return data, None
    if os.path.isfile(data):
        if not data.endswith(".npz"):
            raise ValueError(f"--data {args.data}: expected a folder, an .npz file or a TFDS name")
        key = f"x_{args.split}"
        with np.load(data) as z:
            if key not in z:
                raise ValueError(f"{args.data} has no array {key!r} (arrays: {', '.join(z.files)}); "
                                 "choose one with --split")
            return z[key], None
    from keras_gans import data as gan_data

    if os.sep in args.data or args.data.endswith((".npz", ".keras")) or not gan_data.is_tfds_name(args.data):
        raise FileNotFoundError(f"--data: no such folder or file: {args.data}")
    size = args.image_size or (extractor.image_size[0] if extractor.image_size else 64)
    ds = gan_data.image_dataset(
        args.data, image_size=size, channels=3 if extractor.channels == 3 else 1,
        batch_size=args.batch_size, shuffle=False, drop_remainder=False, dtype="uint8",
        split=args.split, cache=False, data_dir=args.data_dir,
    )
    return ds, f"tfds:{args.data}:{args.split}:{size}"


# -- main ------------------------------------------------------------------------


def make_extractor(args, needs_logits):
    from keras_gans.metrics import InceptionFeatureExtractor
    from keras_gans.metrics import WeightsUnavailableError
    from keras_gans.metrics import resolve_extractor

    fname = INCEPTION_WEIGHTS_FILES[bool(needs_logits)]
    if args.inception_weights:
        try:
            return InceptionFeatureExtractor(
                weights=args.inception_weights, logits=needs_logits, batch_size=args.batch_size
            )
        except (OSError, ValueError) as e:
            need = f"pass {fname}" + (" (the Inception Score needs the top)" if needs_logits else "")
            raise ValueError(
                f"--inception-weights {args.inception_weights} does not load into InceptionV3 "
                f"({type(e).__name__}: {errors.one_line(e, 200)}); {need}"
            ) from e
    try:
        return resolve_extractor(
            args.extractor, layer=args.layer, logits=needs_logits,
            logits_layer=args.logits_layer, batch_size=args.batch_size,
        )
    except WeightsUnavailableError as e:
        # The fix last, whole; the download's own error, cut short, before it.
        cause = e.__cause__ or e
        raise ValueError(
            f"the InceptionV3 ImageNet weights could not be downloaded ({type(cause).__name__}: "
            f"{errors.one_line(cause, 200)}); offline, download {fname} elsewhere and pass "
            "--inception-weights PATH, or pass --extractor PATH.keras, a classifier with a "
            "'features' layer such as evaluators/mnist.keras"
        ) from e


def format_table(results):
    rows = [("FID", "fid", None), ("KID", "kid", "kid_std"), ("IS", "is", "is_std"),
            ("precision", "precision", None), ("recall", "recall", None)]
    lines = [f"{'metric':<10} {'value':>12} {'std':>10}"]
    for label, key, std in rows:
        if key in results:
            std_text = f"{results[std]:10.4g}" if std and std in results else f"{'':>10}"
            lines.append(f"{label:<10} {results[key]:12.4f} {std_text}")
    return "\n".join(lines)


def main(argv=None):
    args = build_parser().parse_args(argv)
    kind, path = find_model(args.generator)
    if args.extractor.lower() != "inception" and not os.path.exists(args.extractor):
        raise FileNotFoundError(f"--extractor: no such model file: {args.extractor}")
    if args.inception_weights:
        if args.extractor.lower() != "inception":
            raise ValueError(
                f"--inception-weights applies to --extractor inception, not {args.extractor}"
            )
        if not os.path.isfile(args.inception_weights):
            raise FileNotFoundError(f"--inception-weights: no such file: {args.inception_weights}")
    if not os.path.exists(os.path.expanduser(args.data)) and (
        os.sep in args.data or args.data.endswith((".npz", ".keras"))
    ):
        raise FileNotFoundError(f"--data: no such folder or file: {args.data}")

    from keras_gans.metrics import evaluate

    start = time.time()
    extractor = make_extractor(args, needs_logits="is" in args.metrics)
    real, dataset_id = real_source(args, extractor)
    sample, model_kind = (saved_model_sampler if kind == "savedmodel" else keras_sampler)(path, args)
    cache_dir = None if str(args.cache_dir).lower() in ("", "none") else args.cache_dir
    results = evaluate(
        sample, real, extractor, metrics=args.metrics, num_samples=args.num_samples,
        batch_size=args.batch_size, cache_dir=cache_dir, seed=args.seed,
        dataset_id=dataset_id, max_real_samples=args.max_real,
    )
    print(f"{path} ({model_kind}) vs {args.data}: {args.num_samples} samples, seed {args.seed}, "
          f"extractor {args.extractor}")
    print(format_table(results))
    if args.out:
        report = {
            "generator": path,
            "generator_kind": model_kind,
            "data": args.data,
            "split": args.split,
            "extractor": args.extractor,
            "layer": extractor.layer,
            "logits_layer": extractor.logits_layer,
            "num_samples": args.num_samples,
            "max_real": args.max_real,
            "seed": args.seed,
            "metrics": results,
            "wall_seconds": round(time.time() - start, 2),
        }
        directory = os.path.dirname(os.path.abspath(args.out))
        os.makedirs(directory, exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)
        print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    errors.run_main(main, prog=PROG)
