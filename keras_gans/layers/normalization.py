"""ProGAN's normalizations: `PixelNorm` and `MinibatchStdDev`."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_gans")
class PixelNorm(keras.layers.Layer):
    """Pixelwise feature normalization: `x / sqrt(mean(x**2, channels) + epsilon)`.

    ProGAN normalizes every generator pixel's feature vector to unit mean
    square after each convolution, which keeps the generator's and the
    discriminator's magnitudes from escalating; StyleGAN normalizes z with
    it. This is `keras.ops.rms_normalization` on the last axis (NHWC images
    or vectors), which computes in float32 under mixed precision.

    Args:
        epsilon: added to the mean square (1e-8 as in the papers).
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`).

    Example:

    >>> z = PixelNorm()(keras.random.normal((4, 512)))
    >>> round(float(keras.ops.mean(z[0] ** 2)), 3)
    1.0
    """

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        return ops.rms_normalization(inputs, axis=-1, epsilon=self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="keras_gans")
class MinibatchStdDev(keras.layers.Layer):
    """Appends the minibatch standard deviation as extra channels (ProGAN, StyleGAN).

    The discriminator sees a statistic of a group of samples, so a
    generator that collapses to few outputs (small variation within a
    group) is easy to tell from real data. As in the papers' code, the batch
    is split into `batch / group_size` groups, sample `n` in group
    `n mod (batch / group_size)`; per group, the standard deviation over the
    group of every feature and pixel is averaged to one value per group and
    channel group (the channels split into `num_channels` groups, StyleGAN2's
    parameter), and appended as `num_channels` constant maps to every sample
    of the group. Computed in float32 under mixed precision.

    The group must divide the batch (the per-device batch under data
    parallelism); a batch smaller than `group_size` is one group, as in
    StyleGAN2 (`min(group_size, batch)`). A batch that does not split fails
    with an error naming both sizes and the fix whenever the batch is known
    while tracing: always on JAX and PyTorch, and on TensorFlow for a fixed
    batch size (keras_gans' datasets drop the last partial batch). A
    TensorFlow step traced for a dynamic batch (`fit` on NumPy arrays, whose
    last batch is smaller) fails at run time with TensorFlow's reshape
    error instead: `keras.ops` has no run-time assertion.

    Args:
        group_size: samples per group (4 in the papers).
        num_channels: statistics appended (1 in the papers); must divide the
            input's channels.
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`).

    Example:

    >>> MinibatchStdDev(group_size=4)(keras.random.normal((8, 4, 4, 16))).shape
    (8, 4, 4, 17)
    """

    def __init__(self, group_size=4, num_channels=1, **kwargs):
        super().__init__(**kwargs)
        self.group_size = int(group_size)
        self.num_channels = int(num_channels)
        if self.group_size < 1 or self.num_channels < 1:
            raise ValueError(
                f"group_size and num_channels must be >= 1, got {group_size} and {num_channels}."
            )

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"MinibatchStdDev takes (batch, height, width, channels) features, "
                f"got shape {tuple(input_shape)}."
            )
        if input_shape[-1] % self.num_channels:
            raise ValueError(
                f"MinibatchStdDev(num_channels={self.num_channels}) must divide the "
                f"{input_shape[-1]} input channels; choose a divisor of {input_shape[-1]}."
            )

    def _group(self, batch):
        if batch is None:  # Only known at run time (a dynamic TensorFlow batch).
            return None
        group = min(self.group_size, batch)
        if batch % group:
            raise ValueError(
                f"MinibatchStdDev(group_size={self.group_size}) splits the batch into groups "
                f"of {self.group_size}, but the (per-device) batch has {batch} samples. Use a "
                f"batch size that is a multiple of {self.group_size} (drop the last partial "
                f"batch), or a group_size that divides {batch}."
            )
        return group

    def call(self, inputs):
        _, height, width, channels = inputs.shape
        batch = ops.shape(inputs)[0]
        group = self._group(inputs.shape[0])
        if group is None:
            group = ops.minimum(self.group_size, batch)
        # [G, M, H, W, F, C/F]: sample g * M + m is member g of group m.
        features = ops.reshape(
            ops.cast(inputs, "float32"),
            (group, -1, height, width, self.num_channels, channels // self.num_channels),
        )
        # The epsilon keeps the gradient finite where the group agrees.
        stddev = ops.sqrt(ops.var(features, axis=0) + 1e-8)
        stddev = ops.mean(stddev, axis=(1, 2, 4))  # [M, F]
        stddev = ops.tile(stddev, (group, 1))  # [N, F], sample n gets group n mod M.
        stddev = ops.broadcast_to(
            stddev[:, None, None, :], (batch, height, width, self.num_channels)
        )
        return ops.concatenate([inputs, ops.cast(stddev, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + self.num_channels)

    def get_config(self):
        return {
            **super().get_config(),
            "group_size": self.group_size,
            "num_channels": self.num_channels,
        }
