"""Small helpers that keep the training scripts in `scripts/` thin.

- `ArgumentParser`: argparse that reports a bad argument in one line.
- `run_main(main)`: runs a script's `main(argv)`; expected errors (a missing
  file, a bad value, an unknown or undownloadable dataset, a missing
  package) become one line on stderr and exit status 2, Ctrl-C exits with
  130; anything else keeps its traceback. Set `KERAS_GANS_TRACEBACK=1` to
  see the traceback of an expected error too.
- `add_common_training_args(parser, ...)`: the flags the GAN training
  scripts share: `add_run_args` (epochs, batch size, run folder, export,
  resume, --strategy, ...; train_cyclegan.py has these alone) and
  `add_gan_args` (optimizer, loss, steps).
- `compile_from_args(gan, args)`: compile with those flags.
- `strategy_scope(args)`: the `--strategy` scope to build, compile and fit in.
- `resume_or_build(args, build)`: a fresh model, or the run folder's last
  checkpoint and the epoch to continue from; first, `check_export(args)`
  refuses an `--export` that could not be written after training.
- `training_callbacks(out_dir, ...)`: sample grids, a loss plot, the
  per-epoch checkpoint and the CSV log of a run folder.
- `find_model(path)`: a `.keras` file, a run folder or a SavedModel.
- `fit(model, dataset, args, initial_epoch)`: `model.fit` with all of the
  above; `print_outputs(args)` says where the files went.

A run folder holds::

    samples/epoch_0001.png ... final.png   SampleGrid
    losses.png                             LossPlot
    checkpoints/last.keras (+ last.json)   the model after the last epoch
    log.csv                                one row per epoch (CSVLogger)
    config.json                            the arguments the run started with
"""

import argparse
import atexit
import contextlib
import csv
import importlib.util
import json
import os
import shutil
import sys
import tempfile

import keras

from keras_gans import data as gan_data
from keras_gans import distribute

#: Errors a user can fix from the command line: reported in one line.
EXPECTED_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
    ValueError,
    ImportError,
    gan_data.DatasetDownloadError,
)

CHECKPOINT = os.path.join("checkpoints", "last.keras")
CHECKPOINT_STATE = os.path.join("checkpoints", "last.json")
CONFIG = "config.json"

#: `--strategy` choices: the names of every backend. A name of another
#: backend than the current one fails in `strategy_scope`, saying which.
STRATEGIES = list(dict.fromkeys(n for names in distribute.STRATEGIES.values() for n in names))


def _one_line(error, limit=1000):
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- argument parsing ---------------------------------------------------------


class ArgumentParser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` whose errors are one line (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def positive_int(text):
    """argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text):
    """argparse type: a float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def export_dir(text):
    """argparse type: a TF Serving version folder `<base>/<model>/<int>`,
    checked before training rather than after it."""
    version = os.path.basename(os.path.normpath(text))
    if not version.isdigit():
        raise argparse.ArgumentTypeError(
            f"{text!r} must end in an integer version folder (TF Serving's "
            f"<model>/<version>/ layout), e.g. {os.path.join(text, '1')!r}"
        )
    return text


def add_run_args(parser, *, out, export, epochs=50, batch_size=64, seed=None):
    """Add the flags of a run folder, the data and the devices, which every
    training script shares; the keyword arguments are the script's
    defaults (`export=None`: no export unless --export is given)."""
    add = parser.add_argument
    n, d = {"type": positive_int, "metavar": "N"}, {"metavar": "DIR"}
    add("--epochs", default=epochs, **n,
        help=f"total epochs; --resume trains up to this count (default {epochs})")
    add("--batch-size", default=batch_size, **n,
        help=f"images per batch over all devices: the global batch, split evenly across "
        f"the devices of --strategy (default {batch_size})")
    add("--steps-per-epoch", default=None, **n,
        help="batches per epoch, repeating the data as needed (default: one pass)")
    add("--seed", type=int, default=seed, metavar="INT",
        help="seed of weights, noise, shuffling and flips "
        + ("(default: not reproducible)" if seed is None else f"(default {seed})"))
    add("--out", default=out, **d,
        help="run folder: samples/, losses.png, checkpoints/last.keras, log.csv, "
        f"config.json (default {out})")
    add("--resume", action="store_true",
        help="continue the run in --out from checkpoints/last.keras (weights, optimizer "
        "state, epoch count)")
    add("--overwrite", action="store_true", help="start afresh in an --out that holds a run")
    add("--export", type=export_dir, default=export, **d,
        help="write a TF Serving SavedModel <model>/<version> after training "
        + (f"(default {export})" if export else "(default: no export)"))
    add("--no-export", dest="export", action="store_const", const=None, help="skip the export")
    add("--jit", action=argparse.BooleanOptionalAction, default=None,
        help="XLA-compile the train step (default: compile's 'auto': on with TensorFlow "
        "and JAX, off under a TensorFlow --strategy)")
    add("--strategy", choices=STRATEGIES, default="none", metavar="NAME",
        help="devices to train on: none (one device); mirrored (all local GPUs), "
        "multi_worker (a cluster described by TF_CONFIG) or tpu with "
        "KERAS_BACKEND=tensorflow; data_parallel (all devices) with KERAS_BACKEND=jax "
        "(default none)")
    add("--verbose", type=int, choices=(0, 1, 2), default=None,
        help="Keras fit verbosity (default: a progress bar on a terminal, else 2: one "
        "line per epoch)")
    add("--data-dir", default=None, **d,
        help="TensorFlow Datasets directory (default ~/tensorflow_datasets)")
    return parser


def add_gan_args(
    parser,
    *,
    g_steps=1,
    loss="non_saturating",
    losses=("minimax", "non_saturating", "least_squares", "hinge"),
    lr=2e-4,
    beta1=0.5,
):
    """Add the flags of `compile_from_args` (steps per batch, Adam, loss)."""
    add = parser.add_argument
    n = {"type": positive_int, "metavar": "N"}
    add("--d-steps", default=1, **n, help="discriminator updates per batch (default 1)")
    add("--g-steps", default=g_steps, **n, help=f"generator updates per batch (default {g_steps})")
    add("--lr", type=positive_float, default=lr,
        help=f"Adam learning rate of both networks (default {lr:g})")
    add("--beta1", type=float, default=beta1, help=f"Adam beta_1 (default {beta1:g})")
    add("--loss", choices=list(losses), default=loss, help=f"GAN loss (default {loss})")
    return parser


def add_common_training_args(
    parser,
    *,
    out,
    export,
    epochs=50,
    batch_size=64,
    seed=None,
    **gan_args,
):
    """Add the flags the GAN training scripts share: `add_run_args` and
    `add_gan_args` (whose keyword arguments `gan_args` takes). The keyword
    arguments are the script's defaults."""
    add_run_args(parser, out=out, export=export, epochs=epochs, batch_size=batch_size, seed=seed)
    return add_gan_args(parser, **gan_args)


def compile_from_args(gan, args):
    """`gan.compile` with the common flags: Adam(--lr, --beta1) for each
    network, --loss, --d-steps, --g-steps and --jit. Returns `gan`."""
    gan.compile(
        d_optimizer=keras.optimizers.Adam(args.lr, beta_1=args.beta1),
        g_optimizer=keras.optimizers.Adam(args.lr, beta_1=args.beta1),
        loss=args.loss,
        d_steps=args.d_steps,
        g_steps=args.g_steps,
        jit_compile="auto" if args.jit is None else args.jit,
    )
    return gan


def strategy_scope(args):
    """`keras_gans.distribute.strategy_scope(args.strategy)`: build (or
    load), compile and fit the model inside it. `args.batch_size` is the
    global batch: it must split evenly over the devices, and this says how
    it does. A strategy of another backend raises a one-line ValueError."""
    strategy = distribute.get_strategy(args.strategy)
    if strategy is None:
        return contextlib.nullcontext()
    devices = distribute.num_replicas(strategy)
    if args.batch_size % devices:
        raise ValueError(
            f"--batch-size {args.batch_size} is the global batch and must split evenly "
            f"over the {devices} devices of --strategy {args.strategy}; use a multiple "
            f"of {devices}"
        )
    print(f"--strategy {args.strategy}: {devices} device(s), {args.batch_size // devices} "
          f"image(s) each of a global batch of {args.batch_size}.")
    if not distribute.is_chief(strategy):
        discard_worker_outputs(args)
    return strategy.scope()


def discard_worker_outputs(args):
    """Point a non-chief worker's writes at a scratch folder, removed at exit.

    Every worker of a cluster runs the whole script, but only the chief
    writes `--out` and `--export`; the others keep reading the chief's run
    folder (`args.run_dir`) to resume, and write their copies to scratch.
    """
    scratch = tempfile.mkdtemp(prefix="keras_gans_worker_")
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    args.run_dir = args.out
    args.out = os.path.join(scratch, "run")
    if getattr(args, "export", None):
        args.export = os.path.join(scratch, "export")
    print(f"This worker is not the chief: the chief writes {args.run_dir}; this "
          f"worker's copies go to {scratch} (removed at exit).")
    return scratch


def run_dir(args):
    """The run folder to read (resume) from: the chief's `--out` on every worker."""
    return getattr(args, "run_dir", None) or args.out


# -- running a script ---------------------------------------------------------


def run_main(main, argv=None, prog=None):
    """Run `main(argv)` and exit with its status, reporting expected errors
    in one line.

    `EXPECTED_ERRORS` print `<prog>: error: <message>` and exit 2; Ctrl-C
    prints `<prog>: interrupted` (plus the interrupt's message, if any) and
    exits 130. Other exceptions propagate with their traceback.
    """
    prog = prog or os.path.basename(sys.argv[0] or "keras_gans")
    try:
        status = main(argv)
    except KeyboardInterrupt as e:
        detail = f": {_one_line(e)}" if str(e) else ""
        print(f"{prog}: interrupted{detail}", file=sys.stderr)
        sys.exit(130)
    except EXPECTED_ERRORS as e:
        if os.environ.get("KERAS_GANS_TRACEBACK"):
            raise
        print(f"{prog}: error: {_one_line(e)}", file=sys.stderr)
        sys.exit(2)
    sys.exit(status or 0)


def fit_verbosity(verbose=None):
    """`verbose`, or by default progress bars on a terminal and one line
    per epoch in logs (CI, files)."""
    if verbose is not None:
        return verbose
    return 1 if sys.stdout.isatty() else 2


def repeat_for_steps(dataset, steps_per_epoch):
    """Repeat a finite dataset when `steps_per_epoch` is set, so that `fit`
    never runs out of batches. A closing `prefetch_to_device` stage stays
    last: the repeat goes before it, as tf.data requires."""
    return gan_data.repeat(dataset) if steps_per_epoch else dataset


def find_model(path):
    """What `path` holds: `("keras", file)` for a `.keras` file or a run
    folder (its `checkpoints/last.keras`), `("savedmodel", folder)` for a
    SavedModel folder or a TF Serving model folder (its highest version)."""
    path = os.fspath(path)
    if os.path.isfile(path):
        if not path.endswith(".keras"):
            raise ValueError(f"{path} is not a .keras file or a SavedModel folder")
        return "keras", path
    if not os.path.isdir(path):
        raise FileNotFoundError(f"No such model file or folder: {path}")
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return "savedmodel", path
    if os.path.isfile(os.path.join(path, CHECKPOINT)):
        return "keras", os.path.join(path, CHECKPOINT)
    versions = [d for d in os.listdir(path) if d.isdigit()
                and os.path.isfile(os.path.join(path, d, "saved_model.pb"))]
    if versions:
        return "savedmodel", os.path.join(path, max(versions, key=int))
    raise ValueError(
        f"{path} holds neither saved_model.pb, nor version folders with one, nor {CHECKPOINT}"
    )


# -- run folders: resume, callbacks -------------------------------------------


def _read_log(path):
    if not os.path.isfile(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def completed_epochs(out_dir):
    """Epochs the checkpoint in `out_dir` has trained: from
    `checkpoints/last.json`, else from the rows of `log.csv`."""
    state = os.path.join(out_dir, CHECKPOINT_STATE)
    if os.path.isfile(state):
        with open(state) as f:
            return int(json.load(f)["epochs"])
    rows = _read_log(os.path.join(out_dir, "log.csv"))
    return max((int(r["epoch"]) + 1 for r in rows if r.get("epoch")), default=0)


def check_export(args):
    """Raise a one-line ImportError before training when `args.export` asks
    for a SavedModel and TensorFlow, which writes it, is not installed."""
    if getattr(args, "export", None) and importlib.util.find_spec("tensorflow") is None:
        raise ImportError(
            f"--export {args.export}: SavedModel export needs TensorFlow, which is not "
            "installed; pip install tensorflow, or pass --no-export to train without it"
        )


def resume_or_build(args, build, model_class=None):
    """The model to train and the epoch to start at.

    First `check_export(args)`: an export that would fail after training
    fails now.

    With `args.resume`, loads `<args.out>/checkpoints/last.keras` (weights,
    optimizers, loss and step counts as compiled; `--jit` still applies),
    refusing one that is no `model_class` (when given).
    Otherwise calls `build()` (which returns a compiled model), refusing to
    start over an existing run unless `args.overwrite`, and writes the
    arguments to `<args.out>/config.json`. Call it inside `strategy_scope`.

    Returns:
        `(model, initial_epoch)`.
    """
    check_export(args)
    source = run_dir(args)
    path = os.path.join(source, CHECKPOINT)
    if args.resume:
        if not os.path.isfile(path):
            old = os.path.join(source, "checkpoint.keras")
            hint = f" (move an older run's {old} there)" if os.path.isfile(old) else ""
            raise FileNotFoundError(f"--resume: no checkpoint at {path}{hint}")
        model = keras.models.load_model(path)
        if model_class is not None and not isinstance(model, model_class):
            raise ValueError(
                f"{source} holds a {type(model).__name__} run, not a {model_class.__name__}"
            )
        if args.jit is not None:
            model.jit_compile = args.jit
        return model, completed_epochs(source)
    if os.path.exists(path) and not args.overwrite:
        raise FileExistsError(
            f"{source} already holds a run ({path}); pass --resume to continue "
            f"it, --overwrite to start afresh, or another --out"
        )
    if args.overwrite:
        for name in (CHECKPOINT, CHECKPOINT_STATE, "log.csv"):
            if os.path.isfile(os.path.join(args.out, name)):
                os.remove(os.path.join(args.out, name))
    model = build()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, CONFIG), "w") as f:
        json.dump(vars(args), f, indent=2, default=str)
    return model, 0


def check_image_shape(gan, image_size, channels):
    """Raise a ValueError naming the flags to pass when a resumed `gan`
    makes other images than `--image-size`, `--channels` say."""
    shape = tuple(gan.generator.output_shape[1:])
    if shape != (image_size, image_size, channels):
        raise ValueError(
            f"the checkpoint makes {shape[0]}x{shape[1]}x{shape[2]} images; resume with "
            f"--image-size {shape[0]} --channels {shape[2]}"
        )


class LastCheckpoint(keras.callbacks.Callback):
    """Save the model to `path` after every epoch, atomically (written next
    to it, then renamed: an interrupted save keeps the previous one), and
    the number of epochs trained to a `.json` beside it."""

    def __init__(self, path):
        super().__init__()
        self.path = os.fspath(path)

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        stem = self.path[: -len(".keras")]
        self.model.save(stem + ".tmp.keras")
        os.replace(stem + ".tmp.keras", self.path)
        with open(stem + ".json.tmp", "w") as f:
            json.dump({"epochs": epoch + 1}, f)
        os.replace(stem + ".json.tmp", stem + ".json")


def training_callbacks(
    out_dir, resume=False, num_samples=64, sample_seed=0, every_n_epochs=1, samples=None
):
    """The callbacks of a run folder: `SampleGrid` (samples/), `LossPlot`
    (losses.png, continued from log.csv on resume), `LastCheckpoint`
    (checkpoints/last.keras) and `CSVLogger` (log.csv, appended to on
    resume). The checkpoint comes before the log, so the log never lists an
    epoch that the checkpoint lacks.

    `samples` replaces the `SampleGrid` (and `num_samples`, `sample_seed`,
    `every_n_epochs`), e.g. with a `TranslationGrid` writing to samples/."""
    from keras_gans import callbacks as gan_callbacks

    log = os.path.join(out_dir, "log.csv")
    plot = gan_callbacks.LossPlot(os.path.join(out_dir, "losses.png"))
    if resume:  # Continue the curves (CSVLogger writes "NA" for missing values).
        for row in _read_log(log):
            if row.get("epoch"):
                plot.record(int(row["epoch"]), {k: v for k, v in row.items() if k != "epoch"})
    os.makedirs(out_dir, exist_ok=True)
    if samples is None:
        samples = gan_callbacks.SampleGrid(
            os.path.join(out_dir, "samples"), every_n_epochs, num_samples, sample_seed
        )
    return [
        samples,
        plot,
        LastCheckpoint(os.path.join(out_dir, CHECKPOINT)),
        keras.callbacks.CSVLogger(log, append=resume),
    ]


def fit(model, dataset, args, initial_epoch=0, **callback_options):
    """Train `model` on `dataset` into the run folder `args.out`, from
    `initial_epoch` to `args.epochs` (`args.steps_per_epoch` batches each, or
    one pass over the data), with the `training_callbacks` (given
    `callback_options`, e.g. `num_samples=`, `samples=`). `args.verbose`, or
    progress bars on a terminal and one line per epoch otherwise. Ctrl-C
    says how to resume. Returns the `History`, or None when the run has
    trained `args.epochs` epochs already. Call it inside `strategy_scope`."""
    if initial_epoch >= args.epochs:
        print(f"{run_dir(args)} has trained {initial_epoch} epochs already; raise --epochs to continue.")
        return None
    if initial_epoch:
        print(f"Resuming {run_dir(args)} at epoch {initial_epoch + 1} of {args.epochs}.")
    checkpoint = os.path.join(args.out, CHECKPOINT)
    try:
        return model.fit(
            repeat_for_steps(dataset, args.steps_per_epoch),
            epochs=args.epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=args.steps_per_epoch,
            verbose=fit_verbosity(getattr(args, "verbose", None)),
            shuffle=False,  # image_dataset shuffles; tf.data ignores it anyway.
            callbacks=training_callbacks(args.out, resume=args.resume, **callback_options),
        )
    except KeyboardInterrupt:
        if os.path.isfile(checkpoint):
            raise KeyboardInterrupt(f"continue with --resume (checkpoint {checkpoint})") from None
        raise


def print_outputs(args, trained=True):
    """Print where the run of `args` (`--out`, `--export`) put its files;
    `trained=False` when it had trained all its epochs before."""
    if run_dir(args) != args.out:  # Not the chief: its copies are gone.
        print(f"Outputs: written by the chief worker to {run_dir(args)}")
        return
    out_dir, export = args.out, getattr(args, "export", None)
    rows = []
    if trained:
        rows.append(("samples", os.path.join(out_dir, "samples", "") + " (epoch_NNNN.png, final.png)"))
        rows.append(("loss plot", os.path.join(out_dir, "losses.png")))
    rows.append(("checkpoint", os.path.join(out_dir, CHECKPOINT) + " (continue with --resume)"))
    rows.append(("log", os.path.join(out_dir, "log.csv")))
    rows.append(("arguments", os.path.join(out_dir, CONFIG)))
    if export:
        rows.append(("export", f"{export} (TF Serving SavedModel)"))
    print("Outputs:")
    for name, where in rows:
        print(f"  {name + ':':<11} {where}")
