#!/usr/bin/env python
"""Train a small CNN classifier to serve as a domain-specific feature extractor.

InceptionV3's ImageNet weights are the standard for FID, but they need a
download and say little about 28x28 digits. A small classifier trained on the
real data set gives meaningful features offline: its penultimate Dense layer
is named "features" and its last layer "logits", so that

    FeatureExtractor("evaluators/mnist.keras", layer="features", logits_layer="logits")

works for FID / KID / precision-recall and the Inception Score.

Images are fed in the library's convention, float in [-1, 1].

Examples (the commands of the shipped evaluators, as their .json records):
    python scripts/train_evaluator.py --data /work/shared/data/mnist/mnist.npz \\
        --out evaluators/mnist.keras --epochs 3
    python scripts/train_evaluator.py --data /work/shared/data/flowers128 \\
        --image-size 64 --width 16 --out evaluators/flowers64.keras --epochs 10
"""

import json
import os
import sys
import time

import numpy as np

if "keras_gans" not in sys.modules:  # Check the arguments and the data before Keras loads.
    os.environ["KERAS_GANS_DEFER_IMPORTS"] = "1"

from keras_gans.cli import arguments, errors, startup  # noqa: E402


class CliError(ValueError):
    """A user-facing error: `errors.run_main` prints it as one line, exit status 2."""


def parse_args(argv=None):
    p = arguments.ArgumentParser(
        prog="train_evaluator.py",
        description=(
            "Train a small convolutional classifier on a labelled image data set and "
            "save it as a .keras file with a penultimate Dense layer named 'features' "
            "and a 'logits' output, for keras_gans.metrics.FeatureExtractor(path, "
            "layer='features', logits_layer='logits'). Prints and saves (as JSON next "
            "to the model) its held-out accuracy."
        ),
        epilog=(
            "Data: an .npz with x_train, y_train, x_test, y_test (MNIST layout; x_test "
            "is the held-out set), or a folder with one subfolder of images per class "
            "(a stratified --holdout fraction is held out). Example: %(prog)s --data "
            "mnist.npz --out evaluators/mnist.keras"
        ),
    )
    p.add_argument("--data", required=True, help="path to an MNIST-style .npz or to an image folder with class subfolders")
    p.add_argument("--out", required=True, help="output model path, must end in .keras (a .json with metrics is written beside it)")
    p.add_argument("--image-size", type=int, default=None, help="resize images to SIZE x SIZE (default: native size for .npz, 64 for folders)")
    p.add_argument("--epochs", type=int, default=3, help="training epochs (default: 3)")
    p.add_argument("--batch-size", type=int, default=128, help="batch size (default: 128)")
    p.add_argument("--learning-rate", type=float, default=2e-3, help="Adam learning rate, decayed by cosine to 0 (default: 2e-3)")
    p.add_argument("--feature-dim", type=int, default=128, help="width of the 'features' layer (default: 128)")
    p.add_argument("--width", type=int, default=32, help="filters of the first conv block, doubled per block (default: 32)")
    p.add_argument("--convs-per-block", type=int, default=1, help="3x3 conv layers per resolution block; blocks halve the size down to 8x8 (default: 1)")
    p.add_argument("--holdout", type=float, default=0.1, help="held-out fraction per class for folders (default: 0.1)")
    p.add_argument("--max-train-samples", type=int, default=None, help="use at most N training images (quick runs)")
    p.add_argument("--augment", choices=("auto", "none", "flip"), default="auto",
                   help="training augmentation: 'flip' = random horizontal flips and small shifts; "
                        "'auto' = flip for folders, none for .npz (digits must not be mirrored)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--verbose", type=int, choices=(0, 1, 2), default=2, help="Keras fit verbosity (default: 2, one line per epoch)")
    args = p.parse_args(argv)
    if not args.out.endswith(".keras"):
        p.error(f"--out must end in .keras, got {args.out!r}")
    for name in ("epochs", "batch_size", "feature_dim", "width", "convs_per_block"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.image_size is not None and args.image_size < 8:
        p.error("--image-size must be >= 8")
    if not 0.0 < args.holdout < 1.0:
        p.error("--holdout must be in (0, 1)")
    return args


# -- data -----------------------------------------------------------------------


def _resize(images, size):
    from PIL import Image

    if images.shape[1:3] == (size, size):
        return images
    out = []
    for img in images:
        squeeze = img.shape[-1] == 1
        pil = Image.fromarray(img[..., 0] if squeeze else img).resize((size, size), Image.BILINEAR)
        arr = np.asarray(pil)
        out.append(arr[..., None] if squeeze else arr)
    return np.stack(out)


def load_npz(path, image_size):
    try:
        with np.load(path) as z:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in z]
            if missing:
                raise CliError(f"{path} lacks the arrays {missing} (expected x_train, y_train, x_test, y_test)")
            x_train, y_train, x_test, y_test = (z[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    except (OSError, ValueError) as e:
        raise CliError(f"cannot read {path} as .npz: {e}") from None
    if x_train.ndim == 3:
        x_train, x_test = x_train[..., None], x_test[..., None]
    if image_size is not None:
        x_train, x_test = _resize(x_train, image_size), _resize(x_test, image_size)
    classes = [str(c) for c in np.unique(np.concatenate([y_train, y_test]))]
    return (x_train, y_train.astype(np.int64)), (x_test, y_test.astype(np.int64)), classes


def load_folder(path, image_size, holdout, seed):
    # Read the folder as image_dataset() reads it for a GAN, and as the
    # metrics read real data: the same files (hidden ones such as
    # .ipynb_checkpoints/ or macOS ._x.jpg left out), centre-cropped to a
    # square and resized once. Imported here: the library loads Keras.
    startup.import_library()
    from keras_gans.data import load_image, scan_image_folder

    try:
        folder = scan_image_folder(path)
    except ValueError as e:  # no images at all
        raise CliError(str(e)) from None
    classes = folder.class_names
    # Labels are the class subfolders; loose files in `path` have none.
    triples = [(f, label, orientation) for f, label, orientation
               in zip(folder.files, folder.labels, folder.orientations) if label >= 0]
    images, labels, skipped = [], [], list(folder.skipped)
    for f, label, orientation in triples:
        image = load_image(f, (image_size, image_size), 3, orientation)
        if image is None:
            skipped.append(f)
        else:
            images.append(image)
            labels.append(label)
    if skipped:
        print(f"train_evaluator.py: skipped {len(skipped)} image files that do not decode, e.g. {skipped[0]}",
              file=sys.stderr, flush=True)
    if len(set(labels)) < 2:
        raise CliError(f"{path} must contain at least 2 class subfolders with images; found {len(set(labels))}")
    images = np.stack(images)
    labels = np.asarray(labels, np.int64)
    # Stratified hold-out: the same fraction of every class.
    rng = np.random.default_rng(seed)
    test_mask = np.zeros(len(labels), bool)
    for c in range(len(classes)):
        idx = np.flatnonzero(labels == c)
        if not len(idx):  # every file of the class failed to decode
            continue
        n_test = max(1, int(round(holdout * len(idx))))
        test_mask[rng.choice(idx, n_test, replace=False)] = True
    return (images[~test_mask], labels[~test_mask]), (images[test_mask], labels[test_mask]), classes


# -- model ----------------------------------------------------------------------


def build_model(keras, input_shape, num_classes, width, feature_dim, augment, convs_per_block=1):
    inputs = keras.Input(input_shape, name="images")
    x = inputs
    if augment:
        # Active only in training; at inference these layers pass images through.
        x = keras.layers.RandomFlip("horizontal")(x)
        x = keras.layers.RandomTranslation(0.1, 0.1, fill_mode="reflect")(x)
    size, filters, block = input_shape[0], width, 0
    while True:
        block += 1
        for j in range(convs_per_block):
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"block{block}_conv{j + 1}")(x)
            # momentum 0.9: moving statistics settle within a short run.
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"block{block}_bn{j + 1}")(x)
            x = keras.layers.ReLU(name=f"block{block}_relu{j + 1}")(x)
        if size <= 8:
            break
        x = keras.layers.MaxPooling2D(name=f"block{block}_pool")(x)
        size //= 2
        filters = min(filters * 2, 256)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dense(feature_dim, activation="relu", name="features")(x)
    x = keras.layers.Dropout(0.3, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="evaluator")


def main(argv=None):
    args = parse_args(argv)
    data = args.data
    if not os.path.exists(data):
        raise CliError(f"data not found: {data}")
    is_folder = os.path.isdir(data)
    if not is_folder and not data.endswith(".npz"):
        raise CliError(f"--data must be an .npz file or a folder of class subfolders, got {data}")

    wall0, cpu0 = time.time(), time.process_time()
    if is_folder:
        (x_train, y_train), (x_test, y_test), classes = load_folder(data, args.image_size or 64, args.holdout, args.seed)
    else:
        (x_train, y_train), (x_test, y_test), classes = load_npz(data, args.image_size)
    if args.max_train_samples:
        rng = np.random.default_rng(args.seed)
        keep = rng.permutation(len(x_train))[: args.max_train_samples]
        x_train, y_train = x_train[keep], y_train[keep]
    print(f"data: {len(x_train)} train / {len(x_test)} held-out images of shape {x_train.shape[1:]}, {len(classes)} classes", flush=True)

    startup.import_library()  # late, so that argument and data errors are instant
    import keras

    keras.utils.set_random_seed(args.seed)
    from keras_gans.images import to_unit_range

    x_train, x_test = to_unit_range(x_train), to_unit_range(x_test)  # the library's [-1, 1]
    augment = args.augment == "flip" or (args.augment == "auto" and is_folder)
    model = build_model(keras, x_train.shape[1:], len(classes), args.width, args.feature_dim, augment, args.convs_per_block)
    steps = args.epochs * int(np.ceil(len(x_train) / args.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, steps)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, shuffle=True, verbose=args.verbose)
    # The held-out set is only measured, never used for model selection.
    _, accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)

    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    # Re-wrap the graph in an uncompiled Model so the file carries no
    # optimizer state (it would double the size for no use at inference).
    keras.Model(model.inputs, model.outputs, name="evaluator").save(args.out)
    wall, cpu = time.time() - wall0, time.process_time() - cpu0
    report = {
        "data": os.path.abspath(data),
        "classes": classes,
        "image_shape": list(x_train.shape[1:]),
        "input_range": [-1.0, 1.0],
        "feature_layer": "features",
        "logits_layer": "logits",
        "train_samples": int(len(x_train)),
        "heldout_samples": int(len(x_test)),
        "heldout": "x_test" if not is_folder else f"stratified {args.holdout:.0%} per class, seed {args.seed}",
        "heldout_accuracy": float(accuracy),
        "epochs": args.epochs,
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "keras_backend": keras.backend.backend(),
        "argv": sys.argv[1:] if argv is None else list(argv),
    }
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(report, f, indent=2)
    print(
        f"held-out accuracy: {accuracy:.4f} ({len(x_test)} images); saved {args.out} "
        f"({os.path.getsize(args.out) / 1e6:.2f} MB); wall {wall / 60:.1f} min, CPU {cpu / 60:.1f} min"
    )
    return 0


if __name__ == "__main__":
    errors.run_main(main, prog="train_evaluator.py")
