#!/usr/bin/env python
"""Draw StyleGAN's style-mixing and truncation grids from a checkpoint
(`.keras`) or an exported SavedModel folder (`keras_gans.export_stylegan`).

mix.png: the first row holds the column seeds' images, the first column the
row seeds'; each cell is its row's image with the styles of --layers (default
the coarse half) from its column. truncation.png: the row seeds at each
--psi (columns). From a checkpoint the noise is one fixed draw (the grids
change only with the styles); a SavedModel draws its own noise per call.

Examples:
    python scripts/style_mix.py runs/stylegan_flowers/checkpoints/last.keras --out grids/
    python scripts/style_mix.py saved_models/stylegan/1 --rows 1,2,3 --cols 4,5,6,7 \\
        --layers 0,1,2,3 --psi 1,0.7,0.4,0 --out grids/
"""

import os
import sys

if "keras_gans" not in sys.modules:  # Parse the arguments before Keras loads.
    os.environ["KERAS_GANS_DEFER_IMPORTS"] = "1"

from keras_gans.cli import arguments, errors  # noqa: E402


def _ints(text):
    return [int(part) for part in text.split(",") if part.strip()]


def _floats(text):
    return [float(part) for part in text.split(",") if part.strip()]


def build_parser():
    p = arguments.ArgumentParser(
        prog="style_mix.py",
        description="Write a StyleGAN's style-mixing grid (mix.png) and truncation grid "
        "(truncation.png) from a .keras checkpoint or a SavedModel from export_stylegan.")
    add = p.add_argument
    add("model", help="a .keras checkpoint or a SavedModel version folder")
    add("--rows", type=_ints, default=[1, 2, 3, 4], metavar="SEEDS",
        help="seeds of the rows (the fine styles), comma-separated (default 1,2,3,4)")
    add("--cols", type=_ints, default=[5, 6, 7, 8, 9], metavar="SEEDS",
        help="seeds of the columns (the --layers styles) (default 5,6,7,8,9)")
    add("--layers", type=_ints, default=None, metavar="LAYERS",
        help="style layers the columns give, e.g. 0,1,2,3 (default the coarse half)")
    add("--psi", type=_floats, default=[1.0, 0.75, 0.5, 0.25, 0.0], metavar="PSIS",
        help="truncation psis of the truncation grid's columns (default 1,0.75,0.5,0.25,0)")
    add("--out", default=".", metavar="DIR", help="folder for mix.png and truncation.png")
    return p


def _from_saved_model(path):
    """`(styles(seeds), w_avg, synthesize(ws))` served by a SavedModel."""
    import numpy as np
    import tensorflow as tf

    model = tf.saved_model.load(path)
    mapping, synthesis = model.signatures["mapping"], model.signatures["synthesis"]
    latent_dim = mapping.structured_input_signature[1]["z"].shape[-1]
    num_ws = synthesis.structured_input_signature[1]["ws"].shape[1]

    def mapped(seeds):
        # z as keras_gans draws it for generate(1, seed=s).
        z = np.concatenate([np.random.default_rng(s).standard_normal((1, latent_dim))
                            for s in seeds]).astype("float32")
        return mapping(z=tf.constant(z))

    def styles(seeds):
        return np.repeat(mapped(seeds)["w"].numpy()[:, None], num_ws, axis=1)

    def synthesize(ws):
        images = synthesis(ws=tf.constant(ws, tf.float32))["images"].numpy()
        return images.astype("float32") / 127.5 - 1.0

    return styles, mapped([0])["w_avg"].numpy()[0], synthesize


def _from_checkpoint(path):
    import keras

    gan = keras.models.load_model(path, compile=False)
    if not hasattr(gan, "mapped_styles"):
        raise ValueError(f"{path} holds a {type(gan).__name__}, not a StyleGAN.")
    w_avg = keras.ops.convert_to_numpy(gan.sampling_generator().w_avg)
    return gan.mapped_styles, w_avg, lambda ws: gan.generate(ws=ws, noise="const", seed=0)


def main(argv=None):
    args = build_parser().parse_args(argv)
    if not os.path.exists(args.model):
        raise FileNotFoundError(f"No checkpoint or SavedModel at {args.model}.")
    from keras_gans.cli import startup

    startup.import_library()  # Keras and keras_gans without TensorFlow's start-up chatter
    from keras_gans.models.stylegan import style_mixing_grid, truncation_grid

    saved_model = os.path.isdir(args.model)
    styles, w_avg, synthesize = (_from_saved_model if saved_model else _from_checkpoint)(
        args.model)

    os.makedirs(args.out, exist_ok=True)
    mix, truncation = (os.path.join(args.out, name) for name in ("mix.png", "truncation.png"))
    style_mixing_grid(styles(args.rows), styles(args.cols), synthesize, args.layers, mix)
    truncation_grid(styles(args.rows), w_avg, synthesize, args.psi, path=truncation)
    print(f"Wrote {mix} and {truncation}.")
    return 0


if __name__ == "__main__":
    errors.run_main(main)
