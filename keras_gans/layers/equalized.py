"""Equalized learning rate (Karras et al. 2018): `EqualizedDense`, `EqualizedConv2D`.

Adam divides each step by the gradient's running scale, so a weight's step
is about the learning rate whatever its size: a weight initialized small
(He init, std gain/sqrt(fan_in)) learns relatively faster than a large one,
and layers of different fan-in train at different speeds. ProGAN stores
every weight as N(0, 1) and multiplies it by gain/sqrt(fan_in) at run time
instead: the function is the same as with He init, but an Adam step of lr
now moves the effective weight by lr * gain/sqrt(fan_in), the same relative
change in every layer. StyleGAN adds a learning-rate multiplier (0.01 in
its mapping network): the stored weight starts at N(0, 1/lr_multiplier) and
the run-time scale is multiplied by lr_multiplier, so the effective weight
is unchanged at init and its steps shrink by lr_multiplier.

Where the papers differ. ProGAN and StyleGAN put the gain sqrt(2) into the
weight scale; StyleGAN2's code keeps 1/sqrt(fan_in) there and multiplies the
leaky ReLU's output by sqrt(2). Leaky ReLU is positively homogeneous
(lrelu(c * z) = c * lrelu(z) for c > 0), so the two differ only in the
bias: sqrt(2) * lrelu(Wx + b) = lrelu(sqrt(2) Wx + sqrt(2) b), the ProGAN
form with its bias scaled by sqrt(2) (a bias that starts at zero and learns
sqrt(2) times faster). These layers keep the ProGAN form (the gain in the
weight scale) for every family; `"leaky_relu"` is Keras's, slope 0.2 as in
the papers.
"""

import math

import keras
from keras import ops


def _positive(name, value):
    value = float(value)
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}.")
    return value


class _Equalized(keras.layers.Layer):
    """What every equalized layer shares: the N(0, 1/lr_multiplier) kernel,
    its run-time scale, the lr_multiplier-scaled bias and the activation.

    The kernel and bias are read without autocasting (`autocast=False`):
    the scale is applied in the variables' float32 and the product cast to
    the compute dtype, so `mixed_bfloat16` rounds the effective weight once.
    """

    def __init__(
        self,
        activation=None,
        gain=math.sqrt(2.0),
        lr_multiplier=1.0,
        use_bias=True,
        bias_init=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.activation = keras.activations.get(activation)
        self.gain = _positive("gain", gain)
        self.lr_multiplier = _positive("lr_multiplier", lr_multiplier)
        self.use_bias = bool(use_bias)
        self.bias_init = float(bias_init)

    def _add_equalized_weights(self, kernel_shape):
        """Creates `kernel` (fan-in: all but its last axis) and `bias`."""
        fan_in = math.prod(kernel_shape[:-1])
        # The run-time factor of the stored kernel.
        self.scale = self.gain * self.lr_multiplier / math.sqrt(fan_in)
        self.kernel = self.add_weight(
            shape=kernel_shape,
            initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier),
            autocast=False,
            name="kernel",
        )
        self.bias = None
        if self.use_bias:
            # Stored as bias_init / lr_multiplier so that the effective bias
            # starts at bias_init (StyleGAN2's code stores bias_init itself;
            # the same wherever it uses bias_init != 0, at lr_multiplier 1).
            self.bias = self.add_weight(
                shape=kernel_shape[-1:],
                initializer=keras.initializers.Constant(self.bias_init / self.lr_multiplier),
                autocast=False,
                name="bias",
            )

    @property
    def equalized_kernel(self):
        """The effective kernel, `kernel * scale`, in the variable dtype (float32)."""
        return self.kernel * self.scale

    def _bias_and_activation(self, outputs):
        if self.bias is not None:
            outputs = outputs + ops.cast(self.bias * self.lr_multiplier, outputs.dtype)
        return self.activation(outputs)

    def get_config(self):
        return {
            **super().get_config(),
            "activation": keras.activations.serialize(self.activation),
            "gain": self.gain,
            "lr_multiplier": self.lr_multiplier,
            "use_bias": self.use_bias,
            "bias_init": self.bias_init,
        }


@keras.saving.register_keras_serializable(package="keras_gans")
class EqualizedDense(_Equalized):
    """A dense layer with equalized learning rate (see the module docstring).

    `outputs = activation(inputs @ (kernel * scale) + bias * lr_multiplier)`
    with `kernel ~ N(0, 1/lr_multiplier)` and
    `scale = gain * lr_multiplier / sqrt(fan_in)`, applied to the last axis
    like `keras.layers.Dense` (ProGAN's dense layers flatten their input
    first: put a `Flatten` before this one).

    Args:
        units: output features.
        activation: a Keras activation (e.g. `"leaky_relu"`, slope 0.2) or
            None for a linear output.
        gain: the effective weight's std times sqrt(fan_in): sqrt(2) (He) by
            default, 1 for the papers' last layers and StyleGAN's style
            affines.
        lr_multiplier: learning-rate multiplier, 0.01 in StyleGAN's mapping
            network.
        use_bias: whether to add a bias.
        bias_init: the effective bias at init (1 for StyleGAN2's style
            affines, so that styles start around 1).
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`, `dtype`).

    Example:

    >>> mapping = EqualizedDense(512, activation="leaky_relu", lr_multiplier=0.01)
    >>> mapping(keras.random.normal((4, 512))).shape
    (4, 512)
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)

    def build(self, input_shape):
        self._add_equalized_weights((input_shape[-1], self.units))

    def call(self, inputs):
        kernel = ops.cast(self.equalized_kernel, self.compute_dtype)
        return self._bias_and_activation(ops.matmul(inputs, kernel))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _odd_kernel_size(kernel_size):
    kernel_size = int(kernel_size)
    if kernel_size < 1 or kernel_size % 2 == 0:
        # "same" padding is symmetric only for odd sizes (as in the papers).
        raise ValueError(f"kernel_size must be a positive odd int (1, 3, ...), got {kernel_size}.")
    return kernel_size


@keras.saving.register_keras_serializable(package="keras_gans")
class EqualizedConv2D(_Equalized):
    """A 2D convolution with equalized learning rate (see the module docstring).

    Stride 1, "same" padding, NHWC (`channels_last`) whatever Keras' image
    data format: ProGAN resamples with separate layers (nearest-neighbour
    upsampling, average pooling). `outputs = activation(conv(inputs,
    kernel * scale) + bias * lr_multiplier)` with `kernel ~ N(0,
    1/lr_multiplier)` and `scale = gain * lr_multiplier / sqrt(k * k *
    in_channels)`.

    Args:
        filters: output channels.
        kernel_size: odd int (1 for toRGB/fromRGB, 3 otherwise).
        activation, gain, lr_multiplier, use_bias, bias_init: as in
            `EqualizedDense` (gain 1 for ProGAN's linear toRGB).
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`, `dtype`).

    Example:

    >>> conv = EqualizedConv2D(64, 3, activation="leaky_relu")
    >>> conv(keras.random.normal((2, 8, 8, 32))).shape
    (2, 8, 8, 64)
    """

    def __init__(self, filters, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = _odd_kernel_size(kernel_size)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"{type(self).__name__} takes (batch, height, width, channels) images, "
                f"got shape {tuple(input_shape)}."
            )
        k = self.kernel_size
        self._add_equalized_weights((k, k, input_shape[-1], self.filters))

    def call(self, inputs):
        return self._bias_and_activation(self._convolve(inputs, self.equalized_kernel))

    def _convolve(self, inputs, kernel):
        """Stride-1 "same" convolution of NHWC `inputs`, in the compute dtype."""
        kernel = ops.cast(kernel, self.compute_dtype)
        return ops.conv(inputs, kernel, padding="same", data_format="channels_last")

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size}
