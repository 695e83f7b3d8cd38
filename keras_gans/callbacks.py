"""Callbacks that show training: sample grids and loss curves."""

import os

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
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.draw()

    def draw(self):
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        keys = self.keys or [k for k in self.history if k.endswith("loss")]
        fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
        for key in keys:
            values = self.history.get(key, [])
            ax.plot(range(1, len(values) + 1), values, label=key, marker="." if len(values) < 30 else None)
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
        plt.close(fig)
