#!/usr/bin/env python
"""Generate a PNG grid of samples from a trained generator.

--model is a `.keras` checkpoint (or a run folder: its checkpoints/last.keras)
or an exported SavedModel folder (or a TF Serving model folder: its highest
version). A SavedModel is run through its `sample` signature with TensorFlow
alone; a checkpoint through `GAN.generate`. Both are reproducible with
--seed, but they draw noise differently, so the same seed gives different
images from the two formats. (A CycleGAN translates rather than samples:
`train_cyclegan.py --translate`.)

Examples:
    python scripts/sample.py --model runs/plants_dcgan/checkpoints/last.keras --out grid.png
    python scripts/sample.py --model saved_models/plants_dcgan/1 --num-samples 16 --seed 3
    python scripts/sample.py --model runs/cgan_mnist --labels 0,1,2 --out digits.png
"""

import argparse
import os
import sys

import numpy as np

if "keras_gans" not in sys.modules:  # Parse the arguments before Keras loads.
    os.environ["KERAS_GANS_DEFER_IMPORTS"] = "1"

from keras_gans.cli import arguments, errors  # noqa: E402


def build_parser():
    p = arguments.ArgumentParser(
        prog="sample.py",
        description="Write a grid of generated images from a .keras checkpoint or a SavedModel.",
    )
    p.add_argument("--model", required=True,
                   help="a .keras checkpoint, a run folder, or a SavedModel (version) folder")
    p.add_argument("--num-samples", type=arguments.positive_int, default=64, help="images in the grid (default 64)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("--out", default="grid.png", help="PNG file to write (default grid.png)")
    p.add_argument("--ncols", type=arguments.positive_int, default=None,
                   help="images per row (default: a square, or one row per class)")
    p.add_argument("--truncation", type=arguments.positive_float, default=None, metavar="T",
                   help="resample latent entries beyond +-T (the truncation trick; default off)")
    p.add_argument("--labels", type=_labels, default=None,
                   help="conditional models: class ids, e.g. 0,1,2, repeated to fill --num-samples "
                   "(default for .keras: every class in turn)")
    return p


def _labels(text):
    try:
        labels = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        labels = []
    if not labels:
        raise argparse.ArgumentTypeError(f"expected comma-separated class ids, got {text!r}")
    return labels


def _fill(labels, n):
    return np.resize(np.asarray(labels, "int32"), n)


def _translate_instead(path):
    return ValueError(
        f"{path} holds a CycleGAN, which translates images rather than sampling them; use "
        f"python scripts/train_cyclegan.py --translate DIR --model {path} --output OUT_DIR"
    )


def from_saved_model(path, args):
    import tensorflow as tf

    model = tf.saved_model.load(path)
    if "sample" not in model.signatures:
        if "a_to_b" in model.signatures:  # export_cyclegan's translator
            raise _translate_instead(path)
        raise ValueError(f"{path} has no 'sample' signature (not exported by keras_gans?)")
    sample = model.signatures["sample"]
    inputs = sample.structured_input_signature[1]
    seed = tf.constant(args.seed, tf.int32)
    if "labels" in inputs:
        if args.labels is None:
            raise ValueError(f"{path} is a conditional generator: pass --labels, e.g. --labels 0,1,2")
        labels = tf.constant(_fill(args.labels, args.num_samples))
        images = sample(seed=seed, labels=labels)["images"]
    else:
        if args.labels is not None:
            raise ValueError(f"{path} is not conditional: --labels does not apply")
        images = sample(num_samples=tf.constant(args.num_samples, tf.int32), seed=seed)["images"]
    return images.numpy(), None


def from_keras(path, args):
    import keras

    import keras_gans as kg  # find_model's import registered the model classes.

    gan = keras.models.load_model(path, compile=False)
    if isinstance(gan, kg.CycleGAN):
        raise _translate_instead(path)
    if not hasattr(gan, "sample_inputs"):
        raise ValueError(f"{path} holds a {type(gan).__name__}, not a keras_gans GAN")
    if args.labels is not None and gan.num_classes is None:
        raise ValueError(f"{path} is not conditional: --labels does not apply")
    if args.labels is None:
        # The model's own grid (one row per class, pairs side by side, ...).
        return gan.grid_images(gan.grid_inputs(args.num_samples, args.seed, args.truncation))
    labels = None if args.labels is None else _fill(args.labels, args.num_samples)
    return gan.generate(args.num_samples, seed=args.seed, labels=labels,
                        truncation=args.truncation), None


def main(argv=None):
    args = build_parser().parse_args(argv)
    from keras_gans.cli.run_folder import find_model

    kind, path = find_model(args.model)
    load = from_saved_model if kind == "savedmodel" else from_keras
    images, ncols = load(path, args)

    from keras_gans import images as image_utils

    image_utils.save_grid(images, args.out, args.ncols or ncols)
    n, h, w = images.shape[:3]
    print(f"Wrote {args.out}: {n} samples of {h}x{w} from {path} (seed {args.seed})")
    return 0


if __name__ == "__main__":
    errors.run_main(main)
