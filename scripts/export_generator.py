#!/usr/bin/env python
"""Export a trained generator as a TF Serving SavedModel.

Writes `<base>/<model name>/<integer version>/` (saved_model.pb, variables/),
prints its signatures, and the commands that serve and query it. (A
CycleGAN's two generators export together: `train_cyclegan.py --export`.)

Example:
    python scripts/export_generator.py --model runs/plants_dcgan/checkpoints/last.keras \\
        --out saved_models/plants_dcgan/2
"""

import os
import sys

if "keras_gans" not in sys.modules:  # Parse the arguments before Keras loads.
    os.environ["KERAS_GANS_DEFER_IMPORTS"] = "1"

from keras_gans.cli import arguments, errors  # noqa: E402


def build_parser():
    p = arguments.ArgumentParser(
        prog="export_generator.py",
        description="Export the generator of a .keras checkpoint as a TF Serving SavedModel "
        "with 'serving_default' (z -> uint8 images) and 'sample' (seed -> images) signatures.",
    )
    p.add_argument("--model", required=True, help="a .keras checkpoint (or a run folder)")
    p.add_argument("--out", required=True, type=arguments.export_dir,
                   help="the version folder to write, saved_models/<name>/<version>")
    p.add_argument("--overwrite", action="store_true", help="replace an existing export at --out")
    return p


def _spec(spec):
    shape = ",".join("?" if d is None else str(d) for d in spec.shape)
    return f"{spec.dtype.name}[{shape}]"


def describe(path):
    """One line per signature: `name(inputs) -> outputs`."""
    import tensorflow as tf

    model = tf.saved_model.load(path)
    lines = []
    for name, fn in sorted(model.signatures.items()):
        inputs = ", ".join(f"{k}: {_spec(v)}" for k, v in sorted(fn.structured_input_signature[1].items()))
        outputs = ", ".join(f"{k}: {_spec(v)}" for k, v in sorted(fn.structured_outputs.items()))
        lines.append(f"{name}({inputs}) -> {outputs}")
    return lines


def main(argv=None):
    args = build_parser().parse_args(argv)
    from keras_gans.cli.run_folder import find_model

    kind, path = find_model(args.model)
    if kind != "keras":
        raise ValueError(f"{args.model} is already a SavedModel; --model takes a .keras checkpoint")
    if os.path.isdir(args.out) and os.listdir(args.out) and not args.overwrite:
        raise FileExistsError(f"{args.out} exists; pass --overwrite or use the next version number")

    import keras

    import keras_gans as kg

    gan = keras.models.load_model(path, compile=False)
    if isinstance(gan, kg.CycleGAN):
        raise ValueError(
            f"{path} holds a CycleGAN, whose two generators export together: use "
            f"keras_gans.export_cyclegan.export_translator(gan, {args.out!r}), or rerun its "
            f"train_cyclegan.py command with --resume --export {args.out}"
        )
    if not hasattr(gan, "generator"):
        raise ValueError(f"{path} holds a {type(gan).__name__}, not a keras_gans GAN")
    kg.export.export_generator(gan, args.out)

    out = os.path.abspath(args.out)
    base, name = os.path.split(os.path.dirname(out))
    print(f"Exported the generator of {path} to {out}")
    print("Signatures:")
    for line in describe(out):
        print(f"  {line}")
    print("Serve it with TF Serving (REST on port 8501):")
    print(f"  docker run --rm -p 8501:8501 -v {os.path.join(base, name)}:/models/{name} "
          f"-e MODEL_NAME={name} tensorflow/serving")
    if gan.num_classes is None:
        request = '{"signature_name": "sample", "inputs": {"num_samples": 4, "seed": 0}}'
    else:
        request = '{"signature_name": "sample", "inputs": {"seed": 0, "labels": [0, 1, 2, 3]}}'
    print(f"  curl -d '{request}' http://localhost:8501/v1/models/{name}:predict")
    return 0


if __name__ == "__main__":
    errors.run_main(main)
