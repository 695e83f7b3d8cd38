"""`ConditionalBatchNormalization`: BatchNorm whose affine map depends on a condition."""

import keras
from keras import layers, ops

from keras_gans.layers.spectral import spectral_norm


@keras.saving.register_keras_serializable(package="keras_gans")
class ConditionalBatchNormalization(keras.layers.Layer):
    """Class-conditional BatchNorm, as in BigGAN's generator (`ccbn`).

    `x` is batch-normalized without an affine map of its own, then scaled
    and shifted per sample by linear functions of a condition vector `c`:
    `bn(x) * (1 + c @ W_gain) + c @ W_bias`. In BigGAN, `c` is the shared
    class embedding joined with the block's chunk of the latent; with
    one-hot labels for `c` this is de Vries et al.'s conditional BatchNorm.
    The maps have no bias (BigGAN's `bn_linear` with shared embeddings has
    none), and with the default zero kernels the layer starts as plain
    BatchNorm.

    With `spectral_norm=True` the maps are spectral-normalized as in BigGAN.
    Keras' `SpectralNormalization` leaves an all-zero kernel alone but
    scales any other to unit spectral norm, so a zero start lasts only until
    the first update; BigGAN starts them orthogonal instead
    (`kernel_initializer="orthogonal"`).

    Under mixed precision, Keras' BatchNormalization computes its
    statistics in float32; the affine map runs in the compute dtype.

    Args:
        momentum: of the moving statistics (0.9 = PyTorch's 0.1).
        epsilon: added to the variance (PyTorch's 1e-5).
        spectral_norm: spectral-normalize the gain and bias maps.
        kernel_initializer: of both maps (default zeros: plain BN at first).
        kernel_regularizer: of both maps (e.g. BigGAN's orthogonal penalty).
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`, `dtype`).

    Call arguments:
        inputs: `[x, c]`: features `(batch, ..., channels)` and conditions
            `(batch, condition_dim)`.
        training: use and update batch statistics (`True`) or use the
            moving ones.

    Example:

    >>> x = keras.random.normal((4, 8, 8, 32))
    >>> c = keras.random.normal((4, 148))  # e.g. a 128-d embedding + 20 latents
    >>> cbn = ConditionalBatchNormalization()
    >>> tuple(cbn([x, c], training=True).shape)
    (4, 8, 8, 32)
    """

    def __init__(self, momentum=0.9, epsilon=1e-5, spectral_norm=False,
                 kernel_initializer="zeros", kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.spectral_norm = bool(spectral_norm)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        shapes_given = len(input_shape) == 2 and all(
            isinstance(shape, (list, tuple)) for shape in input_shape
        )
        if not shapes_given or len(input_shape[1]) != 2:
            raise ValueError(
                f"{self.name} takes [features, conditions] with conditions of shape "
                f"(batch, condition_dim), got input shapes {input_shape}."
            )
        x_shape, c_shape = input_shape
        channels = x_shape[-1]
        self.batch_norm = layers.BatchNormalization(
            momentum=self.momentum, epsilon=self.epsilon, center=False, scale=False,
            dtype=self.dtype_policy, name="batch_norm",
        )
        self.batch_norm.build(x_shape)

        def linear(name):
            dense = layers.Dense(
                channels, use_bias=False, kernel_initializer=self.kernel_initializer,
                kernel_regularizer=self.kernel_regularizer, dtype=self.dtype_policy, name=name,
            )
            dense = spectral_norm(dense, enabled=self.spectral_norm)
            dense.build(c_shape)
            return dense

        self.gain = linear("gain")
        self.bias = linear("bias")

    def call(self, inputs, training=None):
        x, conditions = inputs
        normalized = self.batch_norm(x, training=training)
        # (batch, channels) -> (batch, 1, ..., 1, channels), to scale every position.
        per_sample = (-1,) + (1,) * (len(x.shape) - 2) + (x.shape[-1],)
        gain = ops.reshape(self.gain(conditions, training=training), per_sample)
        bias = ops.reshape(self.bias(conditions, training=training), per_sample)
        return normalized * (1 + gain) + bias

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "spectral_norm": self.spectral_norm,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }
