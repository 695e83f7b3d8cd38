"""Style modulation: StyleGAN's `AdaIN` and StyleGAN2's `ModulatedConv2D` / `ModulatedToRGB`.

Each takes `[x, w]`: the features and the intermediate latent w that
styles them. The layer owns only the affine map from w to its style, not
w, so a generator can feed each layer a different w (style mixing,
truncation per layer).
"""

import keras
from keras import ops

from keras_gans.layers.equalized import EqualizedConv2D, EqualizedDense


def _feature_and_latent_shapes(layer, input_shape):
    """Checks that `layer` is given `[x, w]`; returns their shapes."""
    shapes = input_shape if isinstance(input_shape, (list, tuple)) else ()
    if len(shapes) != 2 or not all(isinstance(s, (list, tuple)) for s in shapes):
        raise ValueError(
            f"{type(layer).__name__} takes [x, w]: (batch, height, width, channels) features "
            f"and a (batch, w_dim) latent; got inputs of shape {input_shape}."
        )
    x_shape, w_shape = shapes
    if len(x_shape) != 4 or len(w_shape) != 2:
        raise ValueError(
            f"{type(layer).__name__} takes [x, w] of shapes (batch, height, width, channels) "
            f"and (batch, w_dim); got {tuple(x_shape)} and {tuple(w_shape)}."
        )
    return x_shape, w_shape


def _per_channel(values):
    """(batch, channels) -> (batch, 1, 1, channels), to scale NHWC maps."""
    return values[:, None, None, :]


@keras.saving.register_keras_serializable(package="keras_gans")
class AdaIN(keras.layers.Layer):
    """Adaptive instance normalization, StyleGAN's style modulation.

    Each sample's channels are normalized over height and width (instance
    normalization: `GroupNormalization(groups=-1)`, in float32 under mixed
    precision), then styled: `x * (1 + y_s) + y_b`, with `[y_s, y_b]` an
    equalized dense map of w (gain 1, bias 0, as StyleGAN's `style_mod`; the
    `1 +` makes a fresh layer's scale start around 1).

    Args:
        epsilon: added to the variance (1e-8 as in StyleGAN).
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`, `dtype`).

    Call arguments:
        inputs: `[x, w]`, features `(batch, height, width, channels)` and
            a latent `(batch, w_dim)`.

    Example:

    >>> x, w = keras.random.normal((2, 8, 8, 32)), keras.random.normal((2, 64))
    >>> AdaIN()([x, w]).shape
    (2, 8, 8, 32)
    """

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)
        self.normalize = keras.layers.GroupNormalization(
            groups=-1, center=False, scale=False, epsilon=self.epsilon,
            dtype=self.dtype_policy, name="instance_norm",
        )

    def build(self, input_shape):
        x_shape, w_shape = _feature_and_latent_shapes(self, input_shape)
        self.normalize.build(x_shape)
        self.style = EqualizedDense(2 * x_shape[-1], gain=1.0, dtype=self.dtype_policy, name="style")
        self.style.build(w_shape)

    def call(self, inputs):
        x, w = inputs
        scale, shift = ops.split(self.style(w), 2, axis=-1)
        return self.normalize(x) * (1 + _per_channel(scale)) + _per_channel(shift)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="keras_gans")
class ModulatedConv2D(EqualizedConv2D):
    """StyleGAN2's modulated convolution, with optional weight demodulation.

    The style `s = affine(w)` (an equalized dense map, gain 1, bias init 1)
    scales the kernel's input channels per sample: `K'[b, :, :, i, o] =
    s[b, i] * K[:, :, i, o]` with `K` the equalized kernel of
    `EqualizedConv2D` (`kernel * gain / sqrt(fan_in)`). With `demodulate`,
    each sample's output channel is rescaled to the norm `gain`:
    `K''[b, ..., o] = gain * K'[b, ..., o] / sqrt(sum_{k, i} K'[b, k, i, o]**2
    + 1e-8)` (unit norm at `gain=1`), which undoes the style's scale on the
    output statistics as AdaIN's normalization did, without normalizing the
    features.

    No per-sample kernel is built (that needs a grouped convolution, which
    `keras.ops` lacks on some backends): scaling the input by s, convolving
    with the shared K and scaling the output by the per-sample demodulation
    coefficients is the same linear map, the coefficients computed in
    float32 from `s**2 @ sum_k K**2`.

    Upsampling (`upsample=True`) resizes the scaled input 2x bilinearly
    before the convolution. StyleGAN2 uses a stride-2 transposed convolution
    followed by a [1, 3, 3, 1] blur; zero insertion then that blur is
    bilinear interpolation (weights 3/4, 1/4 at half-pixel centres), and the
    blur commutes with the convolution, so the two agree up to the borders
    (edge replication here, zero padding there) and a flip of the learned
    kernel, at the cost of convolving at the output resolution (as the
    transposed convolution does). Demodulation is unchanged.

    The gain (sqrt(2) by default) stands for StyleGAN2's sqrt(2) after the
    leaky ReLU: lrelu is positively homogeneous, so scaling the output before
    the noise, bias and activation is the same up to the learned noise
    strength's and bias's scales (see `keras_gans.layers.equalized`).

    Args:
        filters: output channels.
        kernel_size: odd int (3 in StyleGAN2's synthesis layers).
        demodulate: apply weight demodulation (StyleGAN2's synthesis layers
            do; its toRGB layers do not, see `ModulatedToRGB`).
        upsample: upsample the input 2x first (the first convolution of
            each synthesis block).
        activation, gain, lr_multiplier, use_bias, bias_init: as in
            `EqualizedConv2D`. StyleGAN2 adds noise between the convolution
            and the activation: keep `activation=None` there, and put a
            `NoiseInjection` and a leaky ReLU after this layer.
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`, `dtype`).

    Call arguments:
        inputs: `[x, w]`, features `(batch, height, width, channels)` and
            a latent `(batch, w_dim)`.

    Example:

    >>> x, w = keras.random.normal((2, 8, 8, 32)), keras.random.normal((2, 64))
    >>> ModulatedConv2D(16, 3, upsample=True)([x, w]).shape
    (2, 16, 16, 16)
    """

    def __init__(self, filters, kernel_size=3, demodulate=True, upsample=False, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        self.demodulate = bool(demodulate)
        self.upsample = bool(upsample)

    def build(self, input_shape):
        x_shape, w_shape = _feature_and_latent_shapes(self, input_shape)
        super().build(x_shape)
        self.style = EqualizedDense(
            x_shape[-1], gain=1.0, bias_init=1.0, dtype=self.dtype_policy, name="style"
        )
        self.style.build(w_shape)

    def call(self, inputs):
        x, w = inputs
        styles = self.style(w)
        x = x * _per_channel(styles)
        if self.upsample:
            height, width = x.shape[1:3]
            x = ops.image.resize(
                x, (2 * height, 2 * width), interpolation="bilinear", data_format="channels_last"
            )
        kernel = self.equalized_kernel
        outputs = self._convolve(x, kernel)
        if self.demodulate:
            # sum_{k, i} (s_i K_kio)^2 = (s^2 @ sum_k K^2)_o, per sample.
            squared_norms = ops.matmul(
                ops.square(ops.cast(styles, "float32")), ops.sum(ops.square(kernel), axis=(0, 1))
            )
            coefficients = self.gain * ops.rsqrt(squared_norms + 1e-8)
            outputs = outputs * _per_channel(ops.cast(coefficients, outputs.dtype))
        return self._bias_and_activation(outputs)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape[0]
        if self.upsample:
            height, width = (None if d is None else 2 * d for d in (height, width))
        return (batch, height, width, self.filters)

    def get_config(self):
        return {**super().get_config(), "demodulate": self.demodulate, "upsample": self.upsample}


@keras.saving.register_keras_serializable(package="keras_gans")
class ModulatedToRGB(ModulatedConv2D):
    """StyleGAN2's toRGB: a modulated 1x1 convolution without demodulation, gain 1.

    The skip-architecture generator sums these per-resolution outputs (the
    previous one upsampled) into the image; without demodulation the
    style's scale reaches the image, linearly. Same as
    `ModulatedConv2D(channels, 1, demodulate=False, gain=1)`.

    Args:
        channels: image channels (3 for RGB).
        **kwargs: `upsample`, `activation`, `lr_multiplier`, `use_bias`,
            `bias_init` of `ModulatedConv2D`, and `keras.layers.Layer`'s
            (e.g. `name`).

    Call arguments:
        inputs: `[x, w]` as in `ModulatedConv2D`.

    Example:

    >>> x, w = keras.random.normal((2, 8, 8, 32)), keras.random.normal((2, 64))
    >>> ModulatedToRGB(3)([x, w]).shape
    (2, 8, 8, 3)
    """

    _FIXED = {"kernel_size": 1, "demodulate": False, "gain": 1.0}

    def __init__(self, channels=3, **kwargs):
        super().__init__(channels, **self._FIXED, **kwargs)

    def get_config(self):
        config = super().get_config()
        for name in self._FIXED:
            del config[name]
        config["channels"] = config.pop("filters")
        return config
