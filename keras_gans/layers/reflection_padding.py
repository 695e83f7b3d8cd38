"""`ReflectionPadding2D`: pad feature maps by mirroring their borders."""

import keras
from keras import ops


def _pair(padding):
    if isinstance(padding, int):
        return (padding, padding)
    padding = tuple(int(p) for p in padding)
    if len(padding) != 2:
        raise ValueError(f"padding must be an int or (rows, cols), got {padding!r}.")
    return padding


@keras.saving.register_keras_serializable(package="keras_gans")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads `(batch, height, width, channels)` maps by reflecting their edges.

    CycleGAN's ResNet generator pads this way before its convolutions:
    zero padding would give the borders of a translated image a dark frame.
    A border pixel is not repeated (`ops.pad(mode="reflect")`), so each
    padding must be smaller than the map's side.

    Args:
        padding: int, or `(rows, cols)`: how many pixels to add on each side.
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`).

    Example:

    >>> x = keras.ops.reshape(keras.ops.arange(9.0), (1, 3, 3, 1))
    >>> ReflectionPadding2D(1)(x).shape
    (1, 5, 5, 1)
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pair(padding)

    def call(self, inputs):
        rows, cols = self.padding
        return ops.pad(inputs, [[0, 0], [rows, rows], [cols, cols], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        rows, cols = self.padding
        return (
            batch,
            None if height is None else height + 2 * rows,
            None if width is None else width + 2 * cols,
            channels,
        )

    def get_config(self):
        return {**super().get_config(), "padding": list(self.padding)}
