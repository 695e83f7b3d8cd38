"""`SelfAttention2D`: the self-attention block of SAGAN and BigGAN."""

import keras
from keras import layers, ops

from keras_gans.layers.spectral import spectral_norm


@keras.saving.register_keras_serializable(package="keras_gans")
class SelfAttention2D(keras.layers.Layer):
    """Self-attention over the positions of a feature map (Zhang et al. 2019).

    SAGAN's block, as BigGAN's `Attention` writes it: 1x1 convolutions
    without bias give queries and keys of C/8 channels and values of C/2;
    keys and values are 2x2 max-pooled, so each of the H*W positions attends
    over H*W/4; the attention weights are a softmax over those positions of
    the plain dot products (no 1/sqrt(d) scaling, as in both papers' code);
    a 1x1 convolution maps the attended values back to C channels, and the
    output is `x + gamma * o` with a learned scalar `gamma` that starts at 0,
    so a fresh block is the identity and the network learns how much to use
    it.

    The softmax runs in float32 under mixed precision (the logits grow with
    the channel count); everything else runs in the compute dtype. The
    attention is written as two matmuls rather than
    `keras.ops.dot_product_attention`: JAX's implementation needs values as
    wide as the keys (C/8 here, not C/2), and the workaround, C/2 split into
    four heads that all repeat the same query and key, would compute the
    same logits four times.

    Args:
        spectral_norm: wrap the four convolutions in
            `keras.layers.SpectralNormalization` (SAGAN and BigGAN do, in
            both networks).
        kernel_initializer: of the convolutions (SAGAN: Glorot; BigGAN:
            `"orthogonal"`).
        kernel_regularizer: of the convolutions (e.g. BigGAN's
            `keras_gans.regularizers.OffDiagonalOrthogonal` in the generator).
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`, `dtype`).

    Input: `(batch, height, width, channels)` with channels a multiple of 8
    and an even height and width. Output: the same shape.

    Example:

    >>> x = keras.random.normal((2, 16, 16, 64))
    >>> block = SelfAttention2D(spectral_norm=True)
    >>> tuple(block(x).shape)
    (2, 16, 16, 64)
    >>> bool(keras.ops.all(block(x) == x))  # gamma starts at 0
    True
    """

    def __init__(self, spectral_norm=False, kernel_initializer="glorot_uniform",
                 kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.spectral_norm = bool(spectral_norm)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"{self.name} takes (batch, height, width, channels) feature maps, "
                f"got shape {tuple(input_shape)}."
            )
        height, width, channels = input_shape[1:]
        if channels is None or channels % 8:
            raise ValueError(
                f"{self.name} needs a channel count divisible by 8 (queries and keys "
                f"get C/8 channels, values C/2), got {channels}: give the layer "
                "before it a multiple of 8 filters."
            )
        if any(side is not None and side % 2 for side in (height, width)):
            raise ValueError(
                f"{self.name} 2x2-pools its keys and values, so the feature map's "
                f"height and width must be even, got {height}x{width}."
            )
        self.channels = channels

        def conv(filters, name):
            conv = layers.Conv2D(
                filters, 1, use_bias=False, kernel_initializer=self.kernel_initializer,
                kernel_regularizer=self.kernel_regularizer, dtype=self.dtype_policy, name=name,
            )
            return spectral_norm(conv, enabled=self.spectral_norm)

        self.query_conv = conv(channels // 8, "query")
        self.key_conv = conv(channels // 8, "key")
        self.value_conv = conv(channels // 2, "value")
        self.output_conv = conv(channels, "output")
        for projection in (self.query_conv, self.key_conv, self.value_conv):
            projection.build(input_shape)
        self.output_conv.build((*input_shape[:3], channels // 2))
        self.gamma = self.add_weight(shape=(), initializer="zeros", name="gamma")

    def call(self, inputs, training=None):
        height, width = ops.shape(inputs)[1], ops.shape(inputs)[2]

        def positions(features):  # (batch, h, w, c) -> (batch, h * w, c)
            return ops.reshape(features, (ops.shape(features)[0], -1, features.shape[-1]))

        def pooled(features):
            return ops.max_pool(features, pool_size=2, strides=2)

        query = positions(self.query_conv(inputs, training=training))
        key = positions(pooled(self.key_conv(inputs, training=training)))
        value = positions(pooled(self.value_conv(inputs, training=training)))
        logits = ops.matmul(query, ops.transpose(key, (0, 2, 1)))  # (batch, hw, hw / 4)
        weights = ops.cast(ops.softmax(ops.cast(logits, "float32"), axis=-1), value.dtype)
        attended = ops.reshape(ops.matmul(weights, value), (-1, height, width, self.channels // 2))
        return inputs + self.gamma * self.output_conv(attended, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "spectral_norm": self.spectral_norm,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }
