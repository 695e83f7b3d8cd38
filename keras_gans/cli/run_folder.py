"""Run folders: what a training script writes, and how `--resume` reads it.

A run folder holds::

    samples/epoch_0001.png ... final.png   sample grids (SampleGrid)
    losses.png                             per-step curves (LossPlot)
    steps.csv                              the value of every step's logs
    log.csv                                one row per epoch: the epoch's means
    checkpoints/last.keras (+ last.json)   the model, its optimizers and noise,
                                           and where training stands
    checkpoints/previous.keras             the checkpoint before it
    config.json                            the arguments the run started with
    tensorboard/                           with --tensorboard

A checkpoint is written after every epoch, or every `--checkpoint-every N`
steps, and at least every 30 minutes; always to a temporary file first,
then renamed over `last.keras` (after `last.keras` became
`previous.keras`), so that a process killed at any moment leaves a whole
checkpoint. Where training stands (the step, the epoch, the batch within
it, and the place in the data) is written inside the `.keras` file, so it
can never disagree with the weights; `last.json` repeats it for people and
tools. Weights that are NaN or infinite are never written (a
`DivergenceError` instead). On `--resume`, `steps.csv` and `log.csv` are cut
back to the checkpoint, so that every step and epoch appears once.
"""

import csv
import dataclasses
import importlib.util
import json
import os
import shutil
import signal
import time
import zipfile

from keras_gans.cli import startup

startup.import_library()  # Before Keras: without TensorFlow's start-up chatter.

import keras  # noqa: E402

from keras_gans import callbacks as gan_callbacks  # noqa: E402
from keras_gans.cli.strategies import run_dir  # noqa: E402

CHECKPOINT = os.path.join("checkpoints", "last.keras")
CHECKPOINT_STATE = os.path.join("checkpoints", "last.json")
PREVIOUS = os.path.join("checkpoints", "previous.keras")
CONFIG = "config.json"
LOG = "log.csv"
STEPS = "steps.csv"
PLOT = "losses.png"
TENSORBOARD = "tensorboard"
#: The zip entry of a checkpoint that says where training stands.
STATE_ENTRY = "keras_gans_run.json"
#: Test hook: SIGKILL the process at the point named ("step 7",
#: "checkpoint 2 saved"/"rotated"/"committed"), as a preempted machine would.
KILL_AT = "KERAS_GANS_TEST_KILL_AT"


def _kill_if_asked(point):
    if os.environ.get(KILL_AT) == point:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclasses.dataclass
class Position:
    """Where a run stands: what the model has been trained on.

    Attributes:
        step: batches trained in all.
        epoch: the epoch in progress (from 0), i.e. the epochs completed.
        batch: the batches of that epoch trained (0 at an epoch's start).
        stream_seed: the seed of the data stream being read: the
            dataset built with it, repeated, gives the batches in order.
        stream_batches: the batches read from that stream so far.
    """

    step: int = 0
    epoch: int = 0
    batch: int = 0
    stream_seed: int | None = None
    stream_batches: int = 0


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


# -- reading a run folder ------------------------------------------------------


def _read_csv(path):
    if not os.path.isfile(path):
        return [], []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), [r for r in reader if None not in r.values()]


def _write_csv(path, columns, rows):
    """Write `rows` (dicts) to `path` atomically."""
    with open(path + ".tmp", "w", newline="") as f:
        writer = csv.DictWriter(f, columns, restval="", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(path + ".tmp", path)


def _broken_checkpoint(path, out_dir, detail):
    previous = os.path.join(out_dir, PREVIOUS)
    other = (f", or resume from the checkpoint before it: mv {previous} {path}"
             if os.path.isfile(previous) else "")
    return ValueError(f"{path} is not a whole checkpoint ({detail}); start afresh with "
                      f"--overwrite{other}")


def read_state(out_dir):
    """Where the run in `out_dir` stands, as its last checkpoint says: a
    dict with `step`, `epoch`, `batch`, `epochs` (completed), `seed` and
    `stream` (`{"seed", "batches"}`), or `{}` without a checkpoint.
    Checkpoints of older versions (which wrote `last.json` with `epochs`
    alone) read as that many epochs done. Raises a one-line ValueError,
    naming the file and the fix, when the checkpoint is cut short or
    corrupt."""
    path = os.path.join(out_dir, CHECKPOINT)
    if not os.path.isfile(path):
        return {}
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()  # the CRC of every member
            if bad is not None:
                raise zipfile.BadZipFile(f"{bad} fails its CRC check")
            if STATE_ENTRY in archive.namelist():
                return json.loads(archive.read(STATE_ENTRY))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise _broken_checkpoint(path, out_dir, e) from None
    state_path = os.path.join(out_dir, CHECKPOINT_STATE)
    if os.path.isfile(state_path):
        with open(state_path) as f:
            epochs = int(json.load(f)["epochs"])
    else:
        _, rows = _read_csv(os.path.join(out_dir, LOG))
        epochs = max((int(r["epoch"]) + 1 for r in rows if r.get("epoch")), default=0)
    return {"epochs": epochs, "epoch": epochs, "batch": 0}


def completed_epochs(out_dir):
    """The epochs the last checkpoint in `out_dir` has completed (0 without one)."""
    return int(read_state(out_dir).get("epochs", 0))


def run_seed(args):
    """The seed of the run: the checkpoint's on `--resume`, else `--seed`,
    else a new one (recorded in config.json, so that a resume continues the
    same data order)."""
    if args.resume:
        seed = read_state(run_dir(args)).get("seed")
        if seed is None and os.path.isfile(os.path.join(run_dir(args), CONFIG)):
            with open(os.path.join(run_dir(args), CONFIG)) as f:
                seed = json.load(f).get("seed")
        if seed is not None:
            return int(seed)
    if args.seed is not None:
        return args.seed
    return int.from_bytes(os.urandom(4), "little") >> 1


def check_outputs(args):
    """Raise a one-line ImportError before training when `--export` needs
    TensorFlow, or `--tensorboard` TensorFlow and TensorBoard, and they are
    not installed."""
    if getattr(args, "tensorboard", False) and not all(
        importlib.util.find_spec(name) for name in ("tensorflow", "tensorboard")
    ):
        raise ImportError(
            "--tensorboard writes TensorFlow event files (with any backend), which needs "
            "TensorFlow and TensorBoard; pip install tensorflow tensorboard, or leave out "
            "--tensorboard"
        )
    if importlib.util.find_spec("tensorflow") is not None:
        return
    if getattr(args, "export", None):
        raise ImportError(
            f"--export {args.export}: SavedModel export needs TensorFlow, which is not "
            "installed; pip install tensorflow, or pass --no-export to train without it"
        )


def open_run(args):
    """Check the run folder before anything slow: on `--resume`, that it
    holds a whole checkpoint (returns its `Position`); otherwise that it
    holds no run, unless `--overwrite` (which removes the old run's files).
    Returns the `Position` to start from."""
    check_outputs(args)
    source = run_dir(args)
    path = os.path.join(source, CHECKPOINT)
    if args.resume:
        if not os.path.isfile(path):
            old = os.path.join(source, "checkpoint.keras")
            hint = f" (move an older run's {old} there)" if os.path.isfile(old) else ""
            raise FileNotFoundError(f"--resume: no checkpoint at {path}{hint}")
        state = read_state(source)
        stream = state.get("stream") or {}
        return Position(step=int(state.get("step", 0)), epoch=int(state["epoch"]),
                        batch=int(state.get("batch", 0)), stream_seed=stream.get("seed"),
                        stream_batches=int(stream.get("batches", 0)))
    if os.path.exists(path) and not args.overwrite:
        raise FileExistsError(
            f"{source} already holds a run ({path}); pass --resume to continue "
            f"it, --overwrite to start afresh, or another --out"
        )
    if args.overwrite:
        for name in (CHECKPOINT, CHECKPOINT_STATE, PREVIOUS, LOG, STEPS):
            if os.path.isfile(os.path.join(args.out, name)):
                os.remove(os.path.join(args.out, name))
        shutil.rmtree(os.path.join(args.out, TENSORBOARD), ignore_errors=True)
    return Position()


def write_config(args):
    """Write the arguments of a new run to `<args.out>/config.json`."""
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, CONFIG), "w") as f:
        json.dump(vars(args), f, indent=2, default=str)


def load_checkpoint(args, model_class=None):
    """The model of the run folder's last checkpoint (weights, optimizers,
    loss and step counts as compiled; `--jit` still applies), refusing one
    that is no `model_class` (when given)."""
    source = run_dir(args)
    path = os.path.join(source, CHECKPOINT)
    try:
        model = keras.models.load_model(path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise _broken_checkpoint(path, source, f"{type(e).__name__}: {e}") from None
    if model_class is not None and not isinstance(model, model_class):
        raise ValueError(
            f"{source} holds a {type(model).__name__} run, not a {model_class.__name__}"
        )
    if args.jit is not None:
        model.jit_compile = args.jit
    return model


def check_image_shape(gan, image_size, channels):
    """Raise a ValueError naming the flags to pass when a resumed `gan`
    makes other images than `--image-size`, `--channels` say."""
    shape = tuple(gan.generator.output_shape[1:])
    if shape != (image_size, image_size, channels):
        raise ValueError(
            f"the checkpoint makes {shape[0]}x{shape[1]}x{shape[2]} images; resume with "
            f"--image-size {shape[0]} --channels {shape[2]}"
        )


def trim_logs(out_dir, position):
    """Cut `steps.csv` and `log.csv` back to what the checkpoint at
    `position` has trained (a killed run may have logged past it). Returns
    the log's rows kept and the sums of the steps trained of the epoch in
    progress (`{"steps": n, "sums": {key: total}}`), from which `EpochLog`
    finishes that epoch's means."""
    steps_path = os.path.join(out_dir, STEPS)
    columns, rows = _read_csv(steps_path)
    kept = [r for r in rows if int(r["step"]) <= position.step]
    if len(kept) != len(rows):
        _write_csv(steps_path, columns, kept)
    partial = {"steps": 0, "sums": {}}
    previous_step = position.step - position.batch
    for row in kept:
        if int(row["epoch"]) == position.epoch and position.batch:
            count = int(row["step"]) - previous_step
            partial["steps"] += count
            for key in columns[2:]:
                if row[key] != "":
                    partial["sums"][key] = partial["sums"].get(key, 0.0) + count * float(row[key])
        previous_step = int(row["step"])
    log_path = os.path.join(out_dir, LOG)
    columns, rows = _read_csv(log_path)
    log_rows = [r for r in rows if int(r["epoch"]) < position.epoch]
    if len(log_rows) != len(rows):
        _write_csv(log_path, columns, log_rows)
    return log_rows, partial


# -- callbacks of a run folder ---------------------------------------------------


class EpochLog(keras.callbacks.Callback):
    """`log.csv`: one row per epoch of the epoch's logs, rewritten whole
    (atomically) each epoch, with a column for each log that any epoch has;
    unlike `keras.callbacks.CSVLogger`, no `val_*` columns that are always
    `NA` when there is no validation data.

    Args:
        path: the CSV file.
        rows: the rows of earlier epochs (dicts), kept first.
        partial: the steps and sums of the steps trained of the first epoch
            before this run resumed it (see `trim_logs`): its row averages
            them with this run's steps of it.
    """

    def __init__(self, path, rows=(), partial=None):
        super().__init__()
        self.path = os.fspath(path)
        self.rows = [dict(r) for r in rows]
        self.partial = partial if partial and partial["steps"] else None

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch}
        for key, value in (logs or {}).items():
            value = float(value)
            if self.partial:
                steps = self.params.get("steps") or 1
                before = self.partial["sums"].get(key)
                if before is not None:
                    value = (before + value * steps) / (self.partial["steps"] + steps)
            row[key] = f"{value:.8g}"
        self.partial = None
        self.rows.append(row)
        keys = sorted({k for r in self.rows for k in r} - {"epoch"})
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        _write_csv(self.path, ["epoch", *keys], self.rows)


class RunCheckpoint(keras.callbacks.Callback):
    """Write `checkpoints/last.keras` (with where training stands) after
    every epoch, or every `every_steps` steps, at least every
    `every_seconds`, and at the end of training; never from weights that
    are NaN or infinite (`DivergenceError`). Keeps `position` up to date.

    After an epoch in which it wrote a checkpoint mid-epoch, it ends `fit`
    at the end of that epoch (`restart_stream` True): the runner then
    starts the next epoch on a new data stream, so that a resume from a
    later mid-epoch checkpoint skips at most about an epoch of batches.

    Args:
        out_dir: the run folder.
        position: the `Position` training starts from, updated in place.
        steps_per_epoch: batches per epoch.
        state: more to record with each checkpoint (e.g. the run's seed).
        every_steps: steps between checkpoints (None: after every epoch).
        every_seconds: the longest wall time between two checkpoints.
    """

    def __init__(self, out_dir, position, steps_per_epoch, state=None, every_steps=None,
                 every_seconds=30 * 60):
        super().__init__()
        self.out_dir = os.fspath(out_dir)
        self.position = position
        self.steps_per_epoch = int(steps_per_epoch)
        self.state = dict(state or {})
        self.every_steps = every_steps
        self.every_seconds = every_seconds
        self.written = 0  # checkpoints written by this process
        self.written_step = position.step
        self._last_write = time.monotonic()
        self.begin_stream(position.stream_seed, position.stream_batches)

    def begin_stream(self, seed, batches=0):
        """Training now reads the stream of `seed`, `batches` into it."""
        self.position.stream_seed, self.position.stream_batches = seed, batches
        self.restart_stream = False
        self._mid_epoch = False

    def on_epoch_begin(self, epoch, logs=None):
        self.position.epoch = epoch
        self._seen = 0

    def on_train_batch_end(self, batch, logs=None):
        trained = batch + 1 - self._seen
        self._seen = batch + 1
        position = self.position
        position.step += trained
        position.batch += trained
        position.stream_batches += trained
        if position.batch < self.steps_per_epoch and self._due(trained):
            self.write()
            self._mid_epoch = True
        _kill_if_asked(f"step {position.step}")

    def on_epoch_end(self, epoch, logs=None):
        self.position.epoch, self.position.batch = epoch + 1, 0
        last = epoch + 1 >= self.params.get("epochs", epoch + 1)
        if self.every_steps is None or last or self._due(0):
            self.write()
        if self._mid_epoch and not last:
            self.restart_stream = True
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.position.step > self.written_step:
            self.write()

    def _due(self, trained):
        step, every = self.position.step, self.every_steps
        by_steps = every is not None and step // every > (step - trained) // every
        return by_steps or time.monotonic() - self._last_write >= self.every_seconds

    def write(self):
        """Write the checkpoint of the model as it is now."""
        position = self.position
        gan_callbacks.check_weights(self.model, f"at step {position.step}",
                                    "the last checkpoint was kept")
        state = {
            **self.state,
            "step": position.step,
            "epoch": position.epoch,
            "batch": position.batch,
            "epochs": position.epoch,
            "stream": {"seed": position.stream_seed, "batches": position.stream_batches},
            "steps_per_epoch": self.steps_per_epoch,
            "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        self.written += 1
        write_checkpoint(self.model, self.out_dir, state, label=f"checkpoint {self.written}")
        self.written_step = position.step
        self._last_write = time.monotonic()


def _durable_replace(source, target):
    with open(source, "rb") as f:
        os.fsync(f.fileno())  # the data on disk before the name points at it
    os.replace(source, target)


def write_checkpoint(model, out_dir, state, label="checkpoint"):
    """Save `model` with `state` to `<out_dir>/checkpoints/last.keras`,
    keeping the one it replaces as `previous.keras`. At every moment
    `last.keras` is a whole checkpoint: the new one is saved to a
    temporary file, the old one is linked (or copied) to `previous.keras`,
    and then the new one is renamed over it."""
    last = os.path.join(out_dir, CHECKPOINT)
    stem = last[: -len(".keras")]
    os.makedirs(os.path.dirname(last), exist_ok=True)
    model.save(stem + ".tmp.keras")
    with zipfile.ZipFile(stem + ".tmp.keras", "a") as archive:
        archive.writestr(STATE_ENTRY, json.dumps(state))
    _kill_if_asked(f"{label} saved")
    if os.path.isfile(last):
        previous, staging = os.path.join(out_dir, PREVIOUS), stem + ".previous.tmp"
        if os.path.exists(staging):
            os.remove(staging)
        try:
            os.link(last, staging)
        except OSError:  # a file system without hard links
            shutil.copyfile(last, staging)
        os.replace(staging, previous)
    _kill_if_asked(f"{label} rotated")
    _durable_replace(stem + ".tmp.keras", last)
    _kill_if_asked(f"{label} committed")
    with open(stem + ".json.tmp", "w") as f:
        json.dump(state, f, indent=2)
    os.replace(stem + ".json.tmp", stem + ".json")


def run_callbacks(args, position, steps_per_epoch, samples, seed):
    """The callbacks of a run folder, in order: `LossPlot` (per-step values
    to steps.csv, losses.png), `StopOnDivergence`, the `samples` grid,
    `RunCheckpoint` (before the log, so that the log never lists an epoch
    the checkpoint lacks), `EpochLog` (log.csv) and, with `--tensorboard`,
    Keras' `TensorBoard` and `TensorBoardGrids`. On resume, the logs are
    first cut back to the checkpoint (`trim_logs`)."""
    out = args.out
    rows, partial = trim_logs(out, position) if args.resume else ((), None)
    plot = gan_callbacks.LossPlot(os.path.join(out, PLOT), steps_path=os.path.join(out, STEPS))
    checkpoint = RunCheckpoint(out, position, steps_per_epoch, {"seed": seed},
                               every_steps=args.checkpoint_every)
    callbacks = [
        plot,
        # Between the plot and the checkpoint: the bad step is drawn, not saved.
        gan_callbacks.StopOnDivergence(),
        samples,
        checkpoint,
        EpochLog(os.path.join(out, LOG), rows, partial),
    ]
    if args.tensorboard:
        board = os.path.join(out, TENSORBOARD)
        callbacks += [keras.callbacks.TensorBoard(board, write_graph=False),
                      gan_callbacks.TensorBoardGrids(board, samples)]
    return callbacks


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
        rows.append(("loss plot", os.path.join(out_dir, PLOT) + " (each step: " + STEPS + ")"))
    rows.append(("checkpoint", os.path.join(out_dir, CHECKPOINT) + " (continue with --resume)"))
    rows.append(("log", os.path.join(out_dir, LOG)))
    rows.append(("arguments", os.path.join(out_dir, CONFIG)))
    if getattr(args, "tensorboard", False):
        rows.append(("tensorboard", os.path.join(out_dir, TENSORBOARD) + " (tensorboard --logdir)"))
    if export:
        rows.append(("export", f"{export} (TF Serving SavedModel)"))
    print("Outputs:")
    for name, where in rows:
        print(f"  {name + ':':<12} {where}")
