"""`NoiseInjection`: StyleGAN's per-pixel noise with a learned per-channel strength."""

import keras
from keras import ops

from keras_gans.saving import SavesSeedState


@keras.saving.register_keras_serializable(package="keras_gans")
class NoiseInjection(SavesSeedState, keras.layers.Layer):
    """Adds `scale[c] * noise[b, h, w]`: one N(0, 1) map per sample, scaled per channel.

    StyleGAN feeds the synthesis network fresh noise after every
    convolution so that stochastic detail (hair, grain) need not be made up
    from w. The per-channel scale starts at 0, so a fresh layer is the
    identity and the network learns how much noise each channel takes
    (StyleGAN2's code learns a single scale; a per-channel one contains it).

    Noise is added in training and inference alike. It is drawn in float32
    (the same draws under any dtype policy) from the layer's own
    `SeedGenerator`, whose state is saved with the weights, so a model
    loaded from a `.keras` checkpoint continues the stream; or from a
    generator given to `call`; or it is given (`noise=`), e.g. one fixed
    draw for a grid that should change only with w.

    Args:
        seed: seed of the layer's own `SeedGenerator`.
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`, `dtype`).

    Call arguments:
        inputs: features `(batch, height, width, channels)`.
        noise: optional noise `(batch or 1, height, width, 1)` to add
            instead of a fresh draw.
        seed: optional `keras.random.SeedGenerator` (or seed) to draw from
            instead of the layer's own (a model passing its own generator).

    Example:

    >>> noise = NoiseInjection(seed=0)
    >>> x = keras.random.normal((2, 8, 8, 16))
    >>> bool(keras.ops.all(noise(x) == x))  # the scale starts at 0
    True
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed_generator")

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"NoiseInjection takes (batch, height, width, channels) features, "
                f"got shape {tuple(input_shape)}."
            )
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="scale")

    def call(self, inputs, noise=None, seed=None):
        if noise is None:
            batch, height, width = ops.shape(inputs)[:3]
            seed = self.seed_generator if seed is None else seed
            noise = keras.random.normal((batch, height, width, 1), seed=seed)
        elif len(noise.shape) != 4 or noise.shape[-1] != 1 or tuple(noise.shape[1:3]) != tuple(inputs.shape[1:3]):
            raise ValueError(
                f"NoiseInjection's noise must have shape (batch or 1, {inputs.shape[1]}, "
                f"{inputs.shape[2]}, 1) for features of shape {tuple(inputs.shape)}; "
                f"got {tuple(noise.shape)}."
            )
        return inputs + ops.cast(noise, inputs.dtype) * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
