"""Callbacks that show training: sample grids, loss curves and FID/KID."""

import math
import os
import sys

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

    Example:

    ```python
    gan.fit(ds, epochs=50, callbacks=[kg.callbacks.SampleGrid("runs/x/samples")])
    ```
    """

    def __init__(self, directory, every_n_epochs=1, num_samples=64, seed=0, ncols=None):
        super().__init__()
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be >= 1, got {every_n_epochs}.")
        self.directory = os.fspath(directory)
        self.every_n_epochs = int(every_n_epochs)
        self.num_samples = int(num_samples)
        self.seed = seed
        self.ncols = ncols
        self._inputs = None
        self.saved = []

    def _grid_inputs(self):
        if self._inputs is None:
            self._inputs = self.model.grid_inputs(self.num_samples, self.seed)
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


class LossPlot(keras.callbacks.Callback):
    """Redraw a PNG of the loss curves at the end of every epoch.

    Args:
        path: the PNG file to (over)write.
        keys: which logs to plot; default every log whose name ends in
            "loss" (d_loss, g_loss, and validation losses).

    Example:

    ```python
    gan.fit(ds, epochs=50, callbacks=[kg.callbacks.LossPlot("runs/x/losses.png")])
    ```
    """

    def __init__(self, path, keys=None):
        super().__init__()
        self.path = os.fspath(path)
        self.keys = keys
        self.epochs = []  # 1-based epoch numbers, one per recorded epoch
        self.history = {}  # key -> one value per recorded epoch, NaN where absent

    def record(self, epoch, logs):
        """Add one epoch's logs (`epoch` counted from 0, as Keras does).
        Values that are missing or not numbers are kept as NaN, so every
        curve stays aligned with its epochs (and shows a gap there)."""
        recorded = len(self.epochs)
        self.epochs.append(int(epoch) + 1)
        for key, value in logs.items():
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
            self.history.setdefault(key, [math.nan] * recorded).append(value)
        for values in self.history.values():
            if len(values) == recorded:
                values.append(math.nan)

    def on_epoch_end(self, epoch, logs=None):
        self.record(epoch, logs or {})
        self.draw()

    def draw(self):
        # A Figure with its own Agg canvas: no pyplot, so a notebook's
        # matplotlib backend and open figures are left alone.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        keys = self.keys or [k for k in self.history if k.endswith("loss")]
        fig = Figure(figsize=(7, 4), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        for key in keys:
            values = self.history.get(key, [])
            marker = "." if len(values) < 30 else None
            ax.plot(self.epochs[: len(values)], values, label=key, marker=marker)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        if keys:
            ax.legend()
        fig.tight_layout()
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        fig.savefig(self.path)


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
