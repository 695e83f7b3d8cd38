"""Callbacks that show and guard training: sample grids, per-step loss
curves, FID/KID, divergence checks and TensorBoard images."""

import csv
import math
import os
import sys
import warnings

import numpy as np

import keras

from keras_gans import images as image_utils


class SampleGrid(keras.callbacks.Callback):
    """Save a PNG grid of generated samples every `every_n_epochs` epochs.

    The model's inputs (latent vectors, and labels for conditional models)
    are drawn once from `seed`, so successive grids show how the same
    samples evolve, and the same seed gives the same grid for the same
    weights. Files are `epoch_0001.png`, ... and `final.png` at the end.

    Args:
        directory: folder for the PNG files (created if missing).
        every_n_epochs: save every n-th epoch.
        num_samples: images in the grid.
        seed: seed of the fixed inputs.
        ncols: images per row (default: the model's choice, e.g. a square,
            or one row per class for conditional models).
        truncation: draw the latents with the truncation trick: entries
            beyond +-truncation are resampled (BigGAN; None: off).

    Example:

    ```python
    gan.fit(ds, epochs=50, callbacks=[kg.callbacks.SampleGrid("runs/x/samples")])
    ```
    """

    def __init__(self, directory, every_n_epochs=1, num_samples=64, seed=0, ncols=None,
                 truncation=None):
        super().__init__()
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be >= 1, got {every_n_epochs}.")
        self.directory = os.fspath(directory)
        self.every_n_epochs = int(every_n_epochs)
        self.num_samples = int(num_samples)
        self.seed = seed
        self.ncols = ncols
        self.truncation = truncation
        self._inputs = None
        self.saved = []

    def _grid_inputs(self):
        if self._inputs is None:
            self._inputs = self.model.grid_inputs(self.num_samples, self.seed, self.truncation)
        return self._inputs

    def save(self, filename):
        """Render the grid with the model's current weights to `filename`."""
        images, ncols = self.model.grid_images(self._grid_inputs())
        path = image_utils.save_grid(images, os.path.join(self.directory, filename), self.ncols or ncols)
        self.saved.append(path)
        return path

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs == 0:
            self.save(f"epoch_{epoch + 1:04d}.png")

    def on_train_end(self, logs=None):
        self.save("final.png")


class TranslationGrid(SampleGrid):
    """Save a PNG grid of translations of fixed test images every n epochs.

    Each row is `a, G(a), F(G(a))` for a test image of domain A, then
    `b, F(b), G(F(b))` for one of B: translation and reconstruction side by
    side. Files are `epoch_0001.png`, ... and `final.png`, as `SampleGrid`.

    Args:
        directory: folder for the PNG files (created if missing).
        images_a: test images of domain A, `(n, H, W, C)` uint8 or [-1, 1].
        images_b: test images of domain B.
        every_n_epochs: save every n-th epoch.

    Example:

    ```python
    test = kg.data.unpaired_dataset("daisy2sunflower/", image_size=128,
                                    batch_size=4, training=False)
    a, b = next(iter(test))
    gan.fit(ds, epochs=100, callbacks=[TranslationGrid("runs/x/grids", a, b)])
    ```
    """

    def __init__(self, directory, images_a, images_b, every_n_epochs=1):
        images_a = image_utils.to_unit_range(keras.ops.convert_to_numpy(images_a))
        images_b = image_utils.to_unit_range(keras.ops.convert_to_numpy(images_b))
        super().__init__(
            directory, every_n_epochs, num_samples=3 * (len(images_a) + len(images_b)), ncols=3
        )
        self._inputs = (images_a, images_b)


class LossPlot(keras.callbacks.Callback):
    """Redraw a PNG of the training curves, step by step, after every epoch.

    The top panel shows the losses, the bottom one D(x) and D(G(z))
    (`d_real`, `d_fake`) or the critic scores (`real_score`, `fake_score`),
    when the model logs them: each step's value faint, a smoothed line over
    it, and dotted lines where epochs end. A run of one epoch is a curve.

    Keras' batch-end logs are running means over the epoch (the trackers are
    `keras.metrics.Mean`), so the value of each step is recovered from them:
    after `k` batches with mean `m_k`, the batches since the previous log
    (at `j`, mean `m_j`) have mean `(k m_k - j m_j) / (k - j)` - one batch,
    or one execution of `steps_per_execution` batches. That needs no change
    to the model, and holds for every log that is such a mean (compiled
    Keras metrics are too). Logs that appear only at the end of an epoch
    (validation losses, `fid`) are drawn as points there.

    Args:
        path: the PNG file to (over)write.
        keys: the logs of the top panel; default every log whose name ends
            in "loss".
        score_keys: the logs of the bottom panel; default those of
            `SCORE_KEYS` that the model logs.
        steps_path: a CSV file (`step,epoch,<logs>`) that each step's values
            are appended to, and read back from when it exists, so that a
            resumed run continues its curves.

    Example:

    ```python
    plot = kg.callbacks.LossPlot("runs/x/losses.png", steps_path="runs/x/steps.csv")
    gan.fit(ds, epochs=50, callbacks=[plot])
    plot.values["d_loss"][:3]    # the first three steps' discriminator losses
    ```
    """

    #: What the bottom panel shows by default.
    SCORE_KEYS = ("d_real", "d_fake", "real_score", "fake_score")
    #: Above this many steps, each curve is drawn from bins of steps: their
    #: means smoothed, and their range as a faint band.
    MAX_POINTS = 2000

    def __init__(self, path, keys=None, score_keys=None, steps_path=None):
        super().__init__()
        self.path = os.fspath(path)
        self.keys = keys
        self.score_keys = score_keys
        self.steps_path = None if steps_path is None else os.fspath(steps_path)
        self.steps = []  # the global step of each record, counted from 1
        self.epochs = []  # the epoch (from 0, as Keras counts) of each record
        self.values = {}  # key -> one value per record, NaN where absent
        self.epoch_ends = {}  # epoch -> its last step
        self.epoch_values = {}  # key -> {epoch: value}, logs of epoch ends only
        self._columns = None
        if self.steps_path and os.path.isfile(self.steps_path):
            self._read_steps()

    # -- recording ------------------------------------------------------------

    def record_step(self, step, epoch, values):
        """Add the values of one step (or one execution of several)."""
        self._record(step, epoch, values)
        if self.steps_path:
            self._append_row(step, epoch, values)

    def _record(self, step, epoch, values):
        recorded = len(self.steps)
        self.steps.append(int(step))
        self.epochs.append(int(epoch))
        for key, value in values.items():
            self.values.setdefault(key, [math.nan] * recorded).append(_float(value))
        for series in self.values.values():
            if len(series) == recorded:
                series.append(math.nan)

    def record_epoch(self, epoch, logs):
        """Mark the end of `epoch` at the last step recorded, with the logs
        that only the end of an epoch has (e.g. `val_d_loss`, `fid`)."""
        if not self.steps:
            return
        self.epoch_ends[int(epoch)] = self.steps[-1]
        for key, value in logs.items():
            if key not in self.values and not math.isnan(_float(value)):
                self.epoch_values.setdefault(key, {})[int(epoch)] = _float(value)

    def _append_row(self, step, epoch, values):
        new_file = self._columns is None
        if new_file:
            self._columns = ["step", "epoch", *sorted(values)]
            os.makedirs(os.path.dirname(self.steps_path) or ".", exist_ok=True)
        with open(self.steps_path, "w" if new_file else "a", newline="") as f:
            writer = csv.writer(f)
            if new_file:
                writer.writerow(self._columns)
            writer.writerow([step, epoch] + [_format(values.get(k)) for k in self._columns[2:]])

    def _read_steps(self):
        with open(self.steps_path, newline="") as f:
            reader = csv.reader(f)
            self._columns = next(reader, None)
            if not self._columns:
                self._columns = None
                return
            for row in reader:
                if len(row) != len(self._columns):
                    continue  # a last line cut short by a crash
                try:
                    step, epoch = int(row[0]), int(row[1])
                except ValueError:
                    continue
                if self.epochs and epoch != self.epochs[-1]:
                    self.epoch_ends[self.epochs[-1]] = self.steps[-1]
                values = {k: _float(v) for k, v in zip(self._columns[2:], row[2:]) if v != ""}
                self._record(step, epoch, values)

    # -- Keras hooks ----------------------------------------------------------

    def on_epoch_begin(self, epoch, logs=None):
        if self.epochs and self.epochs[-1] < epoch:  # resumed where an epoch ended
            self.epoch_ends.setdefault(self.epochs[-1], self.steps[-1])
        self._epoch = epoch
        self._epoch_start = self.steps[-1] if self.steps else 0
        self._previous = (0, {})  # batches seen in this epoch and their means

    def on_train_batch_end(self, batch, logs=None):
        seen, means = batch + 1, {k: _float(v) for k, v in (logs or {}).items()}
        before, previous = self._previous
        if seen <= before:  # steps_per_execution: the batch index of its last step
            return
        values = {k: (seen * m - before * previous.get(k, 0.0)) / (seen - before)
                  for k, m in means.items()}
        self._previous = (seen, means)
        self.record_step(self._epoch_start + seen, self._epoch, values)

    def on_epoch_end(self, epoch, logs=None):
        self.record_epoch(epoch, logs or {})
        self.draw()

    # -- drawing --------------------------------------------------------------

    def draw(self):
        """Write the PNG from the values recorded so far."""
        # A Figure with its own Agg canvas: no pyplot, so a notebook's
        # matplotlib backend and open figures are left alone.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        logged = [*self.values, *self.epoch_values]
        loss_keys = self.keys or [k for k in logged if k.endswith("loss")]
        score_keys = self.score_keys or [k for k in self.SCORE_KEYS if k in logged]
        panels = [(loss_keys, "loss")] + ([(score_keys, "D output")] if score_keys else [])
        fig = Figure(figsize=(8, 3 + 2.5 * len(panels)), dpi=100)
        FigureCanvasAgg(fig)
        axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
        ends = sorted(self.epoch_ends.values())
        ends = ends[:: max(1, len(ends) // 50)]  # at most ~50 lines
        steps = np.asarray(self.steps, dtype=np.float64)
        for ax, (keys, label) in zip(axes, panels):
            for end in ends:
                ax.axvline(end + 0.5, color="0.6", linewidth=0.6, linestyle=":", zorder=0)
            for i, key in enumerate(keys):
                color = f"C{i % 10}"
                if key in self.values:
                    _draw_series(ax, steps, np.asarray(self.values[key]), key, color,
                                 self.MAX_POINTS)
                at_ends = self.epoch_values.get(key, {})
                if at_ends:
                    x = [self.epoch_ends.get(e, np.nan) for e in at_ends]
                    ax.plot(x, list(at_ends.values()), "o", color=color, markersize=4,
                            label=None if key in self.values else key)
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
            if keys:
                ax.legend(loc="best", fontsize="small")
        axes[-1].set_xlabel("step (dotted: ends of epochs)")
        fig.tight_layout()
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        fig.savefig(self.path)


def _float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _format(value):
    return "" if value is None else f"{_float(value):.7g}"


def _smooth(values):
    """An exponential moving average over about 1/20 of the points, skipping
    NaN and debiased at the start (as TensorBoard smooths)."""
    span = max(1.0, len(values) / 20)
    keep = 1 - 2 / (span + 1)
    smoothed, average, weight = np.full(len(values), np.nan), 0.0, 0.0
    for i, value in enumerate(values):
        if np.isfinite(value):
            average, weight = keep * average + (1 - keep) * value, keep * weight + (1 - keep)
            smoothed[i] = average / weight
    return smoothed


def _draw_series(ax, steps, values, label, color, max_points):
    """One curve: the values faint (or their range in bins of steps, when
    there are more than `max_points`), and smoothed over them."""
    if len(values) > max_points:
        bins = np.array_split(np.arange(len(values)), max_points)
        x = np.array([steps[b].mean() for b in bins])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # bins of NaN only
            low, high, mean = (np.array([f(values[b]) for b in bins])
                               for f in (np.nanmin, np.nanmax, np.nanmean))
        ax.fill_between(x, low, high, color=color, alpha=0.2, linewidth=0)
    else:
        x, mean = steps, values
        ax.plot(x, mean, color=color, alpha=0.3, linewidth=0.8)
    ax.plot(x, _smooth(mean), color=color, label=label, linewidth=1.5,
            marker="." if len(x) < 30 else None)


# -- divergence -------------------------------------------------------------------


class DivergenceError(ArithmeticError):
    """Training produced a loss or a weight that is NaN or infinite.

    Attributes:
        what: what went bad, e.g. "d_loss is nan, g_loss is inf".
        step: the steps this `fit` had trained when it was seen (counted
            from 1), or None where no step was counted.
        epoch: the epoch (from 0, as Keras counts), or None.
        batch: the batch within the epoch (from 0), or None.
    """

    def __init__(self, message, what, step=None, epoch=None, batch=None):
        super().__init__(message)
        self.what, self.step, self.epoch, self.batch = what, step, epoch, batch


#: What `StopOnDivergence` suggests.
DIVERGENCE_ADVICE = "try a lower learning rate, or resume from the last good checkpoint"


def nonfinite_logs(logs):
    """`"key is nan, ..."` for the logs that are NaN or infinite, else ""."""
    return ", ".join(f"{key} is {_float(value)}" for key, value in (logs or {}).items()
                     if not np.isfinite(_float(value)))


def check_weights(model, where="", advice=DIVERGENCE_ADVICE, step=None, epoch=None):
    """Raise a `DivergenceError` naming the first variable of `model` or of
    its optimizer(s) that holds a NaN or an infinity; for instance before a
    checkpoint overwrites a good one. Checked on the device, one scalar
    fetched.

    Args:
        model: a Keras model.
        where: the position to name, e.g. "at step 120".
        advice: what the message suggests.
        step, epoch: the position, for the error's attributes.

    Example:

    ```python
    kg.callbacks.check_weights(gan, "before saving")
    gan.save("gan.keras")
    ```
    """
    variables = list(model.weights)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        variables += list(optimizer.variables)
    variables = [v for v in variables if "float" in str(v.dtype)]
    if not variables:
        return
    finite = keras.ops.convert_to_numpy(
        keras.ops.stack([keras.ops.all(keras.ops.isfinite(v)) for v in variables])
    )
    if finite.all():
        return
    bad = variables[int(np.argmin(finite))]
    what = f"{getattr(bad, 'path', bad.name)} holds NaN or infinite values"
    where = f" {where}" if where else ""
    raise DivergenceError(f"training diverged{where}: {what}; {advice}", what, step, epoch)


class StopOnDivergence(keras.callbacks.Callback):
    """Stop training at the first step whose logs are NaN or infinite, by
    raising a `DivergenceError` that names the step, the logs that went bad
    and what to try.

    Unlike `keras.callbacks.TerminateOnNaN`, which stops quietly at the end
    of the step, the error ends `fit` at once: no callback's `on_epoch_end`
    runs on the bad weights, so no checkpoint or sample grid is written from
    them. At the end of each epoch it also checks the weights (see
    `check_weights`), which can go bad while the logs stay finite. Put it
    before checkpointing callbacks in the list. The logs are Python numbers
    at that point already (the progress bar reads them too); the model is
    not touched between epochs.

    Args:
        check_weights_each_epoch: also check every weight at epoch ends.
        advice: what the message suggests.

    Example:

    ```python
    try:
        gan.fit(ds, epochs=50, callbacks=[kg.callbacks.StopOnDivergence(),
                                          keras.callbacks.ModelCheckpoint("gan.keras")])
    except kg.callbacks.DivergenceError as e:
        print(e)   # training diverged at step 1234 (epoch 3, batch 17): d_loss is nan; ...
    ```
    """

    def __init__(self, check_weights_each_epoch=True, advice=DIVERGENCE_ADVICE):
        super().__init__()
        self.check_weights_each_epoch = check_weights_each_epoch
        self.advice = advice
        self.step = 0

    def on_train_begin(self, logs=None):
        self.step = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._batch = epoch, -1

    def on_train_batch_end(self, batch, logs=None):
        self.step += batch - self._batch  # steps_per_execution: several at once
        self._batch = batch
        what = nonfinite_logs(logs)
        if what:
            raise DivergenceError(
                f"training diverged at step {self.step} (epoch {self._epoch + 1}, batch "
                f"{batch + 1}): {what}; {self.advice}",
                what, self.step, self._epoch, batch,
            )

    def on_epoch_end(self, epoch, logs=None):
        where = f"at the end of epoch {epoch + 1} (step {self.step})"
        what = nonfinite_logs(logs)
        if what:
            raise DivergenceError(f"training diverged {where}: {what}; {self.advice}",
                                  what, self.step, epoch)
        if self.check_weights_each_epoch:
            check_weights(self.model, where, self.advice, self.step, epoch)


# -- TensorBoard ------------------------------------------------------------------


class TensorBoardGrids(keras.callbacks.Callback):
    """Write each new PNG of a grid callback (`SampleGrid`,
    `TranslationGrid`) to TensorBoard as an image, at its epoch. Needs
    TensorFlow (its `tf.summary` works with every Keras backend). Put it
    after the grid callback.

    Args:
        log_dir: the TensorBoard folder; images go to `log_dir/samples`.
        grid: the callback whose `saved` files to write.
        name: the image's tag.

    Example:

    ```python
    grid = kg.callbacks.SampleGrid("runs/x/samples")
    gan.fit(ds, epochs=10, callbacks=[grid, kg.callbacks.TensorBoardGrids("runs/x/tb", grid),
                                      keras.callbacks.TensorBoard("runs/x/tb")])
    ```
    """

    def __init__(self, log_dir, grid, name="samples"):
        super().__init__()
        self.log_dir, self.grid, self.name = os.fspath(log_dir), grid, name
        self._writer = None
        self._written = len(grid.saved)

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf
        from PIL import Image

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, self.name))
        with self._writer.as_default():
            for path in self.grid.saved[self._written :]:
                with Image.open(path) as image:
                    pixels = np.asarray(image.convert("RGB"))
                tf.summary.image(self.name, pixels[None], step=epoch + 1)
        self._writer.flush()
        self._written = len(self.grid.saved)

    def on_train_end(self, logs=None):
        self._written = len(self.grid.saved)  # final.png repeats the last epoch's grid


# -- FID during training --------------------------------------------------------


_SKIPPED_MODES = ("omit", "nan", "last")


class FIDCallback(keras.callbacks.Callback):
    """Log the FID (and KID) of the generator every `every_n_epochs` epochs.

    At the end of an evaluated epoch, `num_samples` images are generated
    (from fixed, seeded latent vectors, so successive values differ only
    because the weights did; the model's own noise stream is not touched)
    and compared with the real data in the extractor's feature space. The
    values are written into the epoch's `logs` as `fid` (and `kid`,
    `kid_std`), so they appear in the progress bar and in the `History`
    that `fit` returns.

    Real-data statistics are computed once, at the start of training, and
    reused for every evaluation (and across `fit` calls); with `cache_dir`
    they are also cached on disk via `keras_gans.metrics.real_statistics`.

    The generator's inputs come from the model (`sample_inputs`, seeded by
    `seed`): conditional models get labels drawn uniformly. CycleGANs, which
    translate rather than sample, are not supported.

    Skipped epochs: by default (`skipped="omit"`) an epoch that is not
    evaluated has no `fid` key, so `history.history["fid"]` holds one value
    per *evaluated* epoch (this callback's `history` dict pairs them with
    their epochs). `skipped="nan"` logs NaN instead and `"last"` repeats the
    latest value, which keeps one value per epoch; choose one of these with
    `CSVLogger` and `every_n_epochs > 1`, because `CSVLogger` fixes its
    columns at the first epoch (and `"last"` for `EarlyStopping` /
    `ModelCheckpoint` monitoring "fid", which warn on epochs without it;
    their patience then counts epochs, not evaluations).

    Callback order: Keras runs callbacks in list order and adds `History`
    and the progress bar after yours, so those always see `fid`. Other
    callbacks that read it (`CSVLogger`, `EarlyStopping(monitor="fid")`,
    `ModelCheckpoint(monitor="fid")`, `LossPlot`) must come *after* the
    `FIDCallback` in the list.

    Args:
        real_data: real images: an array (uint8 0..255 or float in
            [-1, 1]), an image folder, a `tf.data.Dataset` (e.g. the
            training data; `(images, labels)` elements are fine), or
            precomputed `FeatureStatistics` / their `.npz` path.
        every_n_epochs: evaluate after every n-th epoch.
        num_samples: generated images per evaluation.
        extractor: `None` or `"inception"` (InceptionV3, ImageNet weights,
            which need a download once), a `.keras` classifier path (its
            "features" layer, e.g. `evaluators/mnist.keras`), a
            `keras.Model`, or a `keras_gans.metrics.FeatureExtractor`.
        kid: also log the Kernel Inception Distance (`kid`, `kid_std`).
        batch_size: generation and feature-extraction batch size.
        cache_dir: directory for cached real statistics (`None`: in memory
            only).
        seed: seed of the latent vectors, labels and KID subsets.
        verbose: "auto" (default): a progress bar over the sampling batches
            on a terminal (1), one summary line per evaluation otherwise
            (2, so that log files get no per-batch lines); 0 is silent.
        max_real_samples: use at most this many real images; required for
            an infinite (repeated) dataset.
        dataset_id: names `real_data` for the disk cache when it is a
            dataset (datasets cannot be fingerprinted).
        skipped: what epochs that are not evaluated log: "omit", "nan" or
            "last" (see above).
        metric_options: per-metric keyword arguments for
            `keras_gans.metrics.evaluate`, e.g. `{"kid": {"subset_size": 500}}`.

    Raises:
        WeightsUnavailableError: (at construction) the InceptionV3 weights
            are not available, e.g. offline; pass a `.keras` extractor.

    Example:

    ```python
    fid = kg.callbacks.FIDCallback(x_test, every_n_epochs=5, num_samples=5000,
                                   extractor="evaluators/mnist.keras", kid=True)
    history = gan.fit(ds, epochs=20, callbacks=[fid])
    history.history["fid"]     # one value per evaluated epoch (5, 10, 15, 20)
    fid.history                # {"epoch": [5, 10, 15, 20], "fid": [...], ...}

    # With a CSV log: one row per epoch, NaN where FID was not computed.
    fid = kg.callbacks.FIDCallback(x_test, every_n_epochs=5, skipped="nan",
                                   extractor="evaluators/mnist.keras")
    gan.fit(ds, epochs=20, callbacks=[fid, keras.callbacks.CSVLogger("log.csv")])
    ```
    """

    def __init__(
        self,
        real_data,
        every_n_epochs=1,
        num_samples=5000,
        extractor=None,
        kid=False,
        batch_size=64,
        cache_dir=None,
        seed=0,
        verbose="auto",
        max_real_samples=None,
        dataset_id=None,
        skipped="omit",
        metric_options=None,
    ):
        super().__init__()
        if int(every_n_epochs) < 1:
            raise ValueError(f"every_n_epochs must be >= 1, got {every_n_epochs}.")
        if int(num_samples) < 2:
            raise ValueError(f"num_samples must be >= 2, got {num_samples}.")
        if skipped not in _SKIPPED_MODES:
            raise ValueError(f"skipped must be one of {_SKIPPED_MODES}, got {skipped!r}.")
        if real_data is None:
            raise ValueError("FIDCallback needs `real_data`.")
        self.real_data = real_data
        self.every_n_epochs = int(every_n_epochs)
        self.num_samples = int(num_samples)
        self.kid = bool(kid)
        self.batch_size = int(batch_size)
        self.cache_dir = cache_dir
        self.seed = int(seed)
        if verbose == "auto":
            verbose = 1 if sys.stdout.isatty() else 2
        self.verbose = int(verbose)
        self.max_real_samples = max_real_samples
        self.dataset_id = dataset_id
        self.skipped = skipped
        self.metric_options = metric_options
        # Resolved now, so that a missing model or offline weights fail
        # before training starts rather than after the first epoch.
        from keras_gans.metrics import resolve_extractor

        self.extractor = resolve_extractor(extractor, batch_size=self.batch_size)
        self.metrics = ("fid", "kid") if self.kid else ("fid",)
        self.real_statistics = None
        self.history = {}
        self._inputs = None

    # -- real statistics, once ------------------------------------------------

    def _check_finite(self, data):
        cardinality = getattr(data, "cardinality", None)
        if self.max_real_samples is None and callable(cardinality) and hasattr(data, "element_spec"):
            if int(cardinality()) == -1:  # tf.data.INFINITE_CARDINALITY
                raise ValueError(
                    "FIDCallback: real_data is an infinite (repeated) dataset; pass "
                    "max_real_samples=N (or the dataset before .repeat())."
                )

    def compute_real_statistics(self):
        """Real-data feature statistics (computed on the first call only)."""
        if self.real_statistics is None:
            from keras_gans.metrics import real_statistics

            self._check_finite(self.real_data)
            if self.verbose:
                print("FIDCallback: computing real-data feature statistics", flush=True)
            self.real_statistics = real_statistics(
                self.real_data,
                self.extractor,
                cache_dir=self.cache_dir,
                max_samples=self.max_real_samples,
                keep_features=10_000 if self.kid else 0,
                dataset_id=self.dataset_id,
                batch_size=self.batch_size,
                seed=self.seed,
            )
        return self.real_statistics

    def set_model(self, model):
        super().set_model(model)
        self._inputs = None  # latents (and labels) are drawn for this model

    def on_train_begin(self, logs=None):
        if not getattr(self.model, "latents", None) or not hasattr(self.model, "sample_inputs"):
            raise ValueError(
                f"FIDCallback samples with generate(); {type(self.model).__name__} "
                "draws no latent vectors (CycleGAN translates: evaluate "
                "translate(images) with keras_gans.metrics.evaluate instead)."
            )
        self.compute_real_statistics()

    # -- generated images -----------------------------------------------------

    def _latents(self):
        # Fixed inputs, drawn once from the seed (labels uniformly, for
        # conditional models), so the model's SeedGenerator (the training
        # noise) is left alone.
        if self._inputs is None:
            self._inputs = self.model.sample_inputs(self.num_samples, seed=self.seed)
        return self._inputs

    def _sampler(self, progbar):
        inputs = self._latents()
        position = 0

        def sample(n):
            nonlocal position
            part = {name: value[position : position + n] for name, value in inputs.items()}
            images = self.model.generate(inputs=part, batch_size=self.batch_size)
            position += len(images)
            if progbar is not None:
                progbar.update(position)
            return images

        return sample

    def evaluate(self):
        """FID (and KID) of the model's current generator; a dict of floats."""
        from keras_gans.metrics import evaluate

        real = self.compute_real_statistics()
        progbar = None
        if self.verbose:
            progbar = keras.utils.Progbar(self.num_samples, verbose=self.verbose, unit_name="image")
        return evaluate(
            self._sampler(progbar),
            real,
            self.extractor,
            metrics=self.metrics,
            num_samples=self.num_samples,
            batch_size=self.batch_size,
            seed=self.seed,
            keep_features=10_000 if self.kid else 0,
            metric_options=self.metric_options,
        )

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            logs = {}
        keys = ("fid", "kid", "kid_std") if self.kid else ("fid",)
        if (epoch + 1) % self.every_n_epochs == 0:
            results = self.evaluate()
            self.history.setdefault("epoch", []).append(epoch + 1)
            for key in keys:
                self.history.setdefault(key, []).append(results[key])
                logs[key] = results[key]
        elif self.skipped == "nan":
            logs.update({key: float("nan") for key in keys})
        elif self.skipped == "last":
            logs.update({key: self.history.get(key, [float("nan")])[-1] for key in keys})
