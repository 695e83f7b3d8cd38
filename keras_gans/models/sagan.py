"""SAGAN (Zhang et al. 2019): self-attention GANs, and the blocks BigGAN builds on.

SAGAN is the residual SN-GAN (Miyato et al. 2018) with a self-attention
block in both networks (`keras_gans.layers.SelfAttention2D`), spectral
normalization on every weight layer of *both* networks, the hinge loss and
two-timescale Adam (D 4e-4, G 1e-4, betas (0, 0.9)), one D update per G
update. As in the authors' code (brain-research/self-attention-gan):

- **Generator**: z -> spectral-normalized dense -> 4x4 map of `widths[0]`
  channels -> one up-block per doubling -> BatchNorm -> ReLU -> conv3x3 ->
  tanh. The residual up-block is BN -> ReLU -> 2x nearest upsampling ->
  conv3x3 -> BN -> ReLU -> conv3x3, plus a 1x1 convolution of the upsampled
  input (BigGAN's `GBlock` is the same block).
- **Discriminator**: one down-block per halving and a last one that keeps
  the 4x4 size -> ReLU -> sum over positions -> dense logit. The residual
  down-block is ReLU -> conv3x3 -> ReLU -> conv3x3 -> 2x2 average pooling,
  plus a 1x1 convolution (then pooling) of the input; the first block is
  SN-GAN's "optimized" one, without the leading ReLU and pooling its
  shortcut before the 1x1 convolution.
- **Widths** at 128 px with `width=ch`: the generator's 16ch (4x4), 16ch,
  8ch, 4ch, 2ch, ch; the discriminator's ch, 2ch, 4ch, 8ch, 16ch, 16ch. At
  smaller sizes the generator keeps the last stages and the discriminator the
  first (64 px: 16ch..ch and ch..16ch).
- **Attention** at the feature maps of the sides in `attention` (32 by
  default, as in the paper's best model): in the generator after the block
  that outputs that side, in the discriminator after the block that outputs
  it. A network without such a map skips it: at 32 px the discriminator's
  maps start at 16x16, so `attention=(32,)` attends in the generator only
  (BigGAN's CIFAR setting has no attention in D either).
- **Class conditioning** (`num_classes`): conditional BatchNorm in every
  generator block, its gains and biases linear in a learned class embedding
  (one table for all blocks, as BigGAN shares it; SAGAN's code keeps a
  gain/bias table per class and BatchNorm, which is that with one-hot
  inputs), and the projection discriminator (`models.cgan.projection_logits`)
  with a spectral-normalized class embedding. Fakes get labels drawn
  uniformly, as both authors' code draws them.

Where this differs from the authors' code: Keras' `SpectralNormalization`
stores W / sigma in the kernel and, on TensorFlow and PyTorch, takes the
gradient as if that were the parameter (see `keras_gans.layers.spectral`);
the conditional BatchNorm maps are spectral-normalized too (BigGAN does
this; SAGAN's per-class tables have no spectral norm); sum pooling is
Keras' average pooling times the number of positions.

**For other families**: the blocks are functions that add layers to a
functional graph, and take a `BlockLayers` saying how their weight layers
are made (spectral norm, initializer, regularizer, BatchNorm settings) and,
in the generator, a condition vector per block. BigGAN reuses them with
`BlockLayers(kernel_initializer="orthogonal", kernel_regularizer=...)` and
its hierarchical latents as the per-block conditions:

>>> z = keras.Input((20,)); c = keras.Input((148,))
>>> x = keras.layers.Reshape((4, 4, 64))(keras.layers.Dense(4 * 4 * 64)(z))
>>> x = generator_blocks(x, (64, 32), conditions=[c, c], attention=(16,),
...                      block_layers=BlockLayers(kernel_initializer="orthogonal"))
>>> generator_output(x, 3).shape
(None, 16, 16, 3)
"""

import dataclasses
import math

import keras
from keras import layers

from keras_gans.gan import GAN
from keras_gans.layers import ConditionalBatchNormalization, SelfAttention2D, spectral_norm
from keras_gans.models.cgan import ClassConditional, encode_labels, labels_input, projection_logits

BLOCKS = ("residual", "dcgan")


@dataclasses.dataclass(frozen=True)
class BlockLayers:
    """How the blocks make their weight layers.

    Args:
        spectral_norm: wrap every convolution, dense layer, embedding and
            conditional BatchNorm map in `keras.layers.SpectralNormalization`
            (SAGAN and BigGAN do, in both networks).
        kernel_initializer: the kernels' initializer, by name or config
            (SAGAN: "glorot_uniform", its Xavier; BigGAN: "orthogonal").
        kernel_regularizer: of every kernel (e.g. BigGAN's
            `keras_gans.regularizers.OffDiagonalOrthogonal` in the generator).
        momentum: BatchNorm's moving-average momentum (PyTorch's 0.1).
        epsilon: BatchNorm's epsilon (PyTorch's and SAGAN's 1e-5).

    Example:

    >>> conv = BlockLayers().conv(64, 3, name="d_conv")
    >>> type(conv).__name__, conv.name
    ('SpectralNormalization', 'd_conv_sn')
    """

    spectral_norm: bool = True
    kernel_initializer: object = "glorot_uniform"
    kernel_regularizer: object = None
    momentum: float = 0.9
    epsilon: float = 1e-5

    def _kernels(self):
        return {"kernel_initializer": self.kernel_initializer,
                "kernel_regularizer": self.kernel_regularizer}

    def conv(self, filters, kernel_size, name, strides=1, transpose=False):
        """A "same"-padded `Conv2D` (or `Conv2DTranspose`) with a bias."""
        conv_class = layers.Conv2DTranspose if transpose else layers.Conv2D
        conv = conv_class(filters, kernel_size, strides, "same", name=name, **self._kernels())
        return spectral_norm(conv, enabled=self.spectral_norm)

    def dense(self, units, name, use_bias=True, dtype=None):
        """A `Dense` layer."""
        dense = layers.Dense(units, use_bias=use_bias, name=name, dtype=dtype, **self._kernels())
        return spectral_norm(dense, enabled=self.spectral_norm)

    def embedding(self, num_classes, dim, name):
        """A function mapping int labels `(batch,)` to the rows of a learned
        `(num_classes, dim)` table (the projection discriminator's class
        vectors).

        With spectral norm the table is the kernel of a bias-free `Dense` on
        one-hot labels, the same matrix with the same spectral norm: Keras'
        `SpectralNormalization` casts a wrapped `Embedding`'s output to the
        labels' int dtype (Keras 3.15), which rounds every vector to zero.
        """
        if not self.spectral_norm:
            return layers.Embedding(num_classes, dim, embeddings_initializer=self.kernel_initializer,
                                    embeddings_regularizer=self.kernel_regularizer, name=name)
        one_hot = layers.CategoryEncoding(num_classes, "one_hot", name=f"{name}_one_hot")
        table = self.dense(dim, name, use_bias=False)
        return lambda labels: table(one_hot(labels))

    def normalize(self, x, condition=None, name="bn"):
        """BatchNorm of `x`; conditional BatchNorm when a `condition` vector
        `(batch, d)` is given (its gain and bias are linear in it)."""
        if condition is None:
            return layers.BatchNormalization(momentum=self.momentum, epsilon=self.epsilon,
                                             name=name)(x)
        norm = ConditionalBatchNormalization(self.momentum, self.epsilon, self.spectral_norm,
                                             name=name, **self._kernels())
        return norm([x, condition])

    def attend(self, x, name):
        """A `SelfAttention2D` block on the map `x`."""
        return SelfAttention2D(self.spectral_norm, name=name, **self._kernels())(x)


# -- blocks ---------------------------------------------------------------------------


def residual_up_block(x, filters, condition=None, block_layers=BlockLayers(), name="g_block"):
    """The SAGAN/BigGAN generator block: twice the side, `filters` channels.

    BN -> ReLU -> 2x nearest upsampling -> conv3x3 -> BN -> ReLU -> conv3x3,
    plus a 1x1 convolution of the upsampled input.

    Args:
        x: a feature map `(batch, h, w, c)` in a functional graph.
        filters: output channels.
        condition: `(batch, d)` vectors for conditional BatchNorm (a class
            embedding; BigGAN's embedding joined with the block's latent
            chunk), or None for plain BatchNorm.
        block_layers: a `BlockLayers`.
        name: prefix of the block's layer names.

    Returns:
        The map `(batch, 2h, 2w, filters)`.

    Example:

    >>> x = residual_up_block(keras.Input((4, 4, 32)), 16)
    >>> x.shape
    (None, 8, 8, 16)
    """
    h = layers.ReLU(name=f"{name}_relu1")(block_layers.normalize(x, condition, f"{name}_bn1"))
    h = layers.UpSampling2D(2, name=f"{name}_up")(h)
    h = block_layers.conv(filters, 3, f"{name}_conv1")(h)
    h = layers.ReLU(name=f"{name}_relu2")(block_layers.normalize(h, condition, f"{name}_bn2"))
    h = block_layers.conv(filters, 3, f"{name}_conv2")(h)
    shortcut = layers.UpSampling2D(2, name=f"{name}_shortcut_up")(x)
    shortcut = block_layers.conv(filters, 1, f"{name}_shortcut")(shortcut)
    return layers.Add(name=f"{name}_add")([h, shortcut])


def residual_down_block(x, filters, downsample=True, preactivation=True,
                        block_layers=BlockLayers(), name="d_block"):
    """The SAGAN/BigGAN discriminator block: `filters` channels, half the side.

    ReLU -> conv3x3 -> ReLU -> conv3x3 -> 2x2 average pooling, plus a 1x1
    convolution and pooling of the input (an identity shortcut when neither
    the side nor the channels change). Without `preactivation` (SN-GAN's
    optimized first block, which sees the image) the leading ReLU is left out
    and the shortcut pools before its convolution.

    Args:
        x: a feature map (or the images) in a functional graph.
        filters: output channels.
        downsample: halve the side (average pooling); False keeps it.
        preactivation: start with a ReLU (every block but the first).
        block_layers: a `BlockLayers`.
        name: prefix of the block's layer names.

    Example:

    >>> residual_down_block(keras.Input((32, 32, 3)), 16, preactivation=False).shape
    (None, 16, 16, 16)
    """
    h = layers.ReLU(name=f"{name}_relu1")(x) if preactivation else x
    h = block_layers.conv(filters, 3, f"{name}_conv1")(h)
    h = block_layers.conv(filters, 3, f"{name}_conv2")(layers.ReLU(name=f"{name}_relu2")(h))
    if downsample:
        h = layers.AveragePooling2D(2, name=f"{name}_pool")(h)

    def pool_shortcut(shortcut):
        return layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(shortcut)

    shortcut = x
    if downsample and not preactivation:
        shortcut = pool_shortcut(shortcut)
    if downsample or x.shape[-1] != filters:
        shortcut = block_layers.conv(filters, 1, f"{name}_shortcut")(shortcut)
    if downsample and preactivation:
        shortcut = pool_shortcut(shortcut)
    return layers.Add(name=f"{name}_add")([h, shortcut])


def dcgan_up_block(x, filters, condition=None, block_layers=BlockLayers(), name="g_block"):
    """A DCGAN-style generator block: BN -> ReLU -> 4x4 transposed
    convolution of stride 2 (the layers of a DCGAN stage, with BN first so
    that the blocks stack like the residual ones). Arguments as
    `residual_up_block`'s.

    Example:

    >>> dcgan_up_block(keras.Input((4, 4, 32)), 16).shape
    (None, 8, 8, 16)
    """
    h = layers.ReLU(name=f"{name}_relu")(block_layers.normalize(x, condition, f"{name}_bn"))
    return block_layers.conv(filters, 4, f"{name}_deconv", strides=2, transpose=True)(h)


def dcgan_down_block(x, filters, downsample=True, preactivation=True,
                     block_layers=BlockLayers(), name="d_block"):
    """A DCGAN-style discriminator block: LeakyReLU(0.2) -> 4x4 convolution
    of stride 2 (3x3 of stride 1 when not downsampling); the first block
    starts with the convolution. No BatchNorm: spectral normalization takes
    its place, as in SN-GAN's standard CNN. Arguments as
    `residual_down_block`'s.

    Example:

    >>> dcgan_down_block(keras.Input((32, 32, 3)), 16, preactivation=False).shape
    (None, 16, 16, 16)
    """
    h = layers.LeakyReLU(0.2, name=f"{name}_lrelu")(x) if preactivation else x
    if downsample:
        return block_layers.conv(filters, 4, f"{name}_conv", strides=2)(h)
    return block_layers.conv(filters, 3, f"{name}_conv")(h)


UP_BLOCKS = {"residual": residual_up_block, "dcgan": dcgan_up_block}
DOWN_BLOCKS = {"residual": residual_down_block, "dcgan": dcgan_down_block}


def _check_block(block):
    if block not in BLOCKS:
        raise ValueError(f"block must be one of {BLOCKS}, got {block!r}.")


def _check_attention(attention, sides, network):
    missing = sorted(set(attention) - set(sides))
    if missing:
        raise ValueError(
            f"The {network} has feature maps of sides {sorted(set(sides))}, so it cannot "
            f"attend at {missing}: choose `attention` among those."
        )


# -- stacks and heads -----------------------------------------------------------------


def generator_blocks(x, widths, conditions=None, attention=(), block="residual",
                     block_layers=BlockLayers(), name="g"):
    """Generator up-blocks from the map `x`, attending at the given sides.

    Args:
        x: the first feature map (e.g. 4x4) in a functional graph.
        widths: the output channels of each block; each doubles the side.
        conditions: None (plain BatchNorm), one `(batch, d)` tensor for every
            block, or a list of one per block (BigGAN's hierarchical latents).
        attention: sides after whose block a `SelfAttention2D` runs (once
            per side); each must be a block's output side.
        block: "residual" or "dcgan".
        block_layers: a `BlockLayers`.
        name: prefix of the layer names (`<name>_block1`, `<name>_attention32`).

    Returns:
        The last block's (or attention's) output map.

    Example:

    >>> x = generator_blocks(keras.Input((4, 4, 32)), (32, 16, 8), attention=(16,))
    >>> x.shape
    (None, 32, 32, 8)
    """
    _check_block(block)
    if not isinstance(conditions, (list, tuple)):
        conditions = [conditions] * len(widths)
    if len(conditions) != len(widths):
        raise ValueError(f"Got {len(conditions)} conditions for {len(widths)} generator blocks.")
    _check_attention(attention, [x.shape[1] * 2 ** i for i in range(1, len(widths) + 1)],
                     "generator")
    for index, (filters, condition) in enumerate(zip(widths, conditions), start=1):
        x = UP_BLOCKS[block](x, filters, condition, block_layers, name=f"{name}_block{index}")
        if x.shape[1] in attention:
            x = block_layers.attend(x, name=f"{name}_attention{x.shape[1]}")
    return x


def discriminator_blocks(x, widths, downsamples=None, attention=(), block="residual",
                         block_layers=BlockLayers(), name="d"):
    """Discriminator down-blocks from the images `x`, attending at the given sides.

    Args:
        x: the images in a functional graph.
        widths: the output channels of each block.
        downsamples: per block, whether it halves the side; by default every
            block but the last (which keeps the 4x4 map, as in SAGAN).
        attention: sides after whose (first) block of that output side a
            `SelfAttention2D` runs.
        block: "residual" or "dcgan".
        block_layers: a `BlockLayers`.
        name: prefix of the layer names.

    Example:

    >>> x = discriminator_blocks(keras.Input((32, 32, 3)), (8, 16, 32, 32), attention=(16,))
    >>> x.shape
    (None, 4, 4, 32)
    """
    _check_block(block)
    downsamples = _downsamples(widths, downsamples)
    sides = _discriminator_sides(x.shape[1], downsamples)
    _check_attention(attention, sides, "discriminator")
    attended = set()
    for index, (filters, downsample) in enumerate(zip(widths, downsamples)):
        x = DOWN_BLOCKS[block](x, filters, downsample, preactivation=index > 0,
                               block_layers=block_layers, name=f"{name}_block{index + 1}")
        side = x.shape[1]
        if side in attention and side not in attended:
            x = block_layers.attend(x, name=f"{name}_attention{side}")
            attended.add(side)
    return x


def _downsamples(widths, downsamples):
    if downsamples is None:
        return [True] * (len(widths) - 1) + [False]
    if len(downsamples) != len(widths):
        raise ValueError(f"Got {len(downsamples)} downsamples for {len(widths)} blocks.")
    return [bool(d) for d in downsamples]


def _discriminator_sides(image_size, downsamples):
    sides, side = [], int(image_size)
    for downsample in downsamples:
        side = side // 2 if downsample else side
        sides.append(side)
    return sides


def generator_output(x, channels, block_layers=BlockLayers(), name="g_output"):
    """The generator's end: BN -> ReLU -> conv3x3 to `channels` -> tanh,
    in float32 (so images keep full precision under mixed precision).

    Example:

    >>> generator_output(keras.Input((32, 32, 16)), 3).shape
    (None, 32, 32, 3)
    """
    x = layers.ReLU(name=f"{name}_relu")(block_layers.normalize(x, None, f"{name}_bn"))
    x = block_layers.conv(channels, 3, f"{name}_conv")(x)
    return layers.Activation("tanh", dtype="float32", name=f"{name}_tanh")(x)


def discriminator_output(x, labels=None, num_classes=None, block_layers=BlockLayers(), name="d"):
    """The discriminator's end: ReLU -> sum over positions -> dense logit, plus
    the projection `<embed(labels), features>` when `labels` are given.

    The head runs in float32 under mixed precision (one number per image).

    Args:
        x: the last feature map.
        labels: int class ids `(batch,)`, for the projection; None: none.
        num_classes: number of classes (with `labels`).
        block_layers: a `BlockLayers` (its embedding is the projection's).
        name: prefix of the layer names.

    Example:

    >>> discriminator_output(keras.Input((4, 4, 32))).shape
    (None, 1)
    """
    x = layers.ReLU(name=f"{name}_relu")(x)
    # Sum pooling as SN-GAN and SAGAN pool: Keras' average times the positions.
    features = layers.GlobalAveragePooling2D(dtype="float32", name=f"{name}_mean")(x)
    features = layers.Rescaling(x.shape[1] * x.shape[2], dtype="float32",
                                name=f"{name}_sum")(features)
    logits = block_layers.dense(1, f"{name}_logit", dtype="float32")(features)
    if labels is None:
        return logits
    embedding = block_layers.embedding(num_classes, features.shape[-1], f"{name}_label_embedding")
    return projection_logits(features, logits, labels, embedding)


# -- networks -------------------------------------------------------------------------


def _doublings(image_size):
    size = int(image_size)
    if size < 16 or size & (size - 1):
        raise ValueError(
            "SAGAN's networks grow from a 4x4 map by doublings, so they need a "
            f"power-of-two image size of at least 16 (32, 64, 128, ...); got {image_size}."
        )
    return int(math.log2(size)) - 2


def generator_widths(image_size, width=64):
    """The generator's channels: of the 4x4 map, then of each block.

    Args:
        image_size: the output side (a power of two, >= 16).
        width: the channel multiplier `ch` (SAGAN's `gf_dim`): 16ch, 16ch, 8ch,
            4ch, 2ch, ch at 128 px, the last ones at smaller sizes; or the
            widths themselves (one more than the doublings from 4x4).

    Example:

    >>> generator_widths(128, 64)
    (1024, 1024, 512, 256, 128, 64)
    >>> generator_widths(32, 64)
    (512, 256, 128, 64)
    """
    doublings = _doublings(image_size)
    if isinstance(width, int):
        return tuple(width * min(2 ** i, 16) for i in reversed(range(doublings + 1)))
    widths = tuple(int(w) for w in width)
    if len(widths) != doublings + 1:
        raise ValueError(
            f"A {image_size} px generator has a 4x4 map and {doublings} blocks, so it takes "
            f"{doublings + 1} widths; got {len(widths)}: {widths}."
        )
    return widths


def discriminator_widths(image_size, width=64, downsamples=None):
    """The discriminator's channels, one per block.

    Args:
        image_size: the input side (a power of two, >= 16).
        width: the multiplier `ch` (SAGAN's `df_dim`): ch, 2ch, 4ch, 8ch,
            16ch, 16ch at 128 px, the first ones at smaller sizes; or the
            widths themselves.
        downsamples: the blocks' downsampling flags, when not SAGAN's (every
            block halves the side down to 4x4, and one more keeps it): one
            width per flag.

    Example:

    >>> discriminator_widths(64, 64)
    (64, 128, 256, 512, 1024)
    """
    blocks = _doublings(image_size) + 1 if downsamples is None else len(downsamples)
    if isinstance(width, int):
        return tuple(width * min(2 ** i, 16) for i in range(blocks))
    widths = tuple(int(w) for w in width)
    if len(widths) != blocks:
        raise ValueError(
            f"This {image_size} px discriminator has {blocks} blocks (SAGAN's halve the side "
            f"to 4x4, then one more keeps it; or one per `downsamples` flag), so it takes "
            f"{blocks} widths; got {len(widths)}: {widths}."
        )
    return widths


def sagan_generator(image_size=64, channels=3, latent_dim=128, num_classes=None, width=64,
                    attention=None, block="residual", embedding_dim=128,
                    block_layers=BlockLayers(), name="sagan_generator"):
    """The SAGAN generator: z (and labels) -> images in [-1, 1].

    Args:
        image_size: output side: a power of two, >= 16 (32, 64, 128, ...).
        channels: 1 or 3.
        latent_dim: size of z.
        num_classes: for a class-conditional generator taking `[z, labels]`
            (conditional BatchNorm on a learned class embedding); None: z only.
        width: channel multiplier or widths (`generator_widths`).
        attention: sides of the maps to attend at (8 .. image_size); None:
            SAGAN's 32 (none below 32 px).
        block: "residual" or "dcgan" (`residual_up_block`, `dcgan_up_block`).
        embedding_dim: size of the class embedding (conditional only).
        block_layers: a `BlockLayers` (spectral norm, initializer, ...).
        name: model name.

    Example:

    >>> g = sagan_generator(64, 3, latent_dim=128, width=8)
    >>> g.output_shape
    (None, 64, 64, 3)
    >>> sagan_generator(32, 1, num_classes=10, width=8).input_shape
    [(None, 128), (None,)]
    """
    widths = generator_widths(image_size, width)
    if attention is None:
        attention = (32,) if image_size >= 32 else ()
    z = keras.Input((latent_dim,), name="z")
    inputs, condition = [z], None
    if num_classes is not None:
        labels = labels_input()
        inputs.append(labels)
        # Not spectral-normalized: BigGAN found that doing so cripples G.
        condition = encode_labels(labels, num_classes, "embedding", embedding_dim, "g_labels")
    x = block_layers.dense(4 * 4 * widths[0], "g_project")(z)
    x = layers.Reshape((4, 4, widths[0]), name="g_reshape")(x)
    x = generator_blocks(x, widths[1:], condition, attention, block, block_layers)
    images = generator_output(x, channels, block_layers)
    return keras.Model(inputs if num_classes is not None else z, images, name=name)


def sagan_discriminator(image_size=64, channels=3, num_classes=None, width=64, attention=None,
                        block="residual", downsamples=None, block_layers=BlockLayers(),
                        name="sagan_discriminator"):
    """The SAGAN discriminator: images (and labels) -> one logit per image.

    Args:
        image_size: input side: a power of two, >= 16.
        channels: 1 or 3.
        num_classes: for a projection discriminator taking `[images, labels]`;
            None: images only.
        width: channel multiplier or widths (`discriminator_widths`; with
            `downsamples`, any number of widths).
        attention: sides of the maps to attend at (image_size / 2 .. 4); None:
            SAGAN's 32 (none at 32 px and below, whose maps start at 16).
        block: "residual" or "dcgan" (`residual_down_block`, `dcgan_down_block`).
        downsamples: per block, whether it halves the side (default: all but
            the last).
        block_layers: a `BlockLayers`.
        name: model name.

    Example:

    >>> d = sagan_discriminator(64, 3, width=8)
    >>> d.output_shape
    (None, 1)
    """
    widths = discriminator_widths(image_size, width, downsamples)
    if attention is None:
        sides = _discriminator_sides(image_size, _downsamples(widths, downsamples))
        attention = (32,) if 32 in sides else ()
    images = keras.Input((image_size, image_size, channels), name="images")
    x = discriminator_blocks(images, widths, downsamples, attention, block, block_layers)
    if num_classes is None:
        return keras.Model(images, discriminator_output(x, block_layers=block_layers), name=name)
    labels = labels_input()
    logits = discriminator_output(x, labels, num_classes, block_layers)
    return keras.Model([images, labels], logits, name=name)


def width_config(width):
    """A width argument (a multiplier or the widths) as a JSON value.

    Example:

    >>> width_config(64), width_config((32, 16))
    (64, [32, 16])
    """
    return width if isinstance(width, int) else [int(w) for w in width]


def split_attention(attention, image_size, downsamples=None):
    """The sides each network attends at: `(generator's, discriminator's)`.

    A side only one network has goes to that one (at 32 px the
    discriminator's maps start at 16); a side neither has is an error.

    Args:
        attention: the sides asked for.
        image_size: the image side.
        downsamples: the discriminator blocks' downsampling flags, when not
            SAGAN's (BigGAN's 32 px discriminator keeps 8x8 for two blocks).

    Example:

    >>> split_attention((32,), 32)
    ((32,), ())
    >>> split_attention((16, 32), 64)
    ((16, 32), (16, 32))
    """
    attention = tuple(sorted({int(side) for side in attention}))
    doublings = _doublings(image_size)
    generator_sides = [4 * 2 ** i for i in range(1, doublings + 1)]
    if downsamples is None:
        downsamples = [True] * doublings + [False]
    discriminator_sides = _discriminator_sides(image_size, downsamples)
    neither = [side for side in attention if side not in generator_sides + discriminator_sides]
    if neither:
        raise ValueError(
            f"At {image_size} px the networks have feature maps of sides "
            f"{sorted(set(generator_sides + discriminator_sides))}, so they cannot attend at "
            f"{neither}: choose `attention` among those."
        )
    return (tuple(side for side in attention if side in generator_sides),
            tuple(side for side in attention if side in discriminator_sides))


# -- the model ------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="keras_gans")
class SAGAN(ClassConditional, GAN):
    """A self-attention GAN (Zhang et al. 2019), optionally class-conditional.

    A bare `compile()` gives the paper's setting: hinge loss, Adam with
    betas (0, 0.9), 4e-4 for D and 1e-4 for G, one D update per G update.

    Args:
        image_size: image side: a power of two, >= 16 (32 to 128 tested).
        channels: 1 or 3.
        latent_dim: size of z.
        num_classes: train on `(images, labels)` batches with conditional
            BatchNorm in G and a projection D; None: unconditional.
        block: "residual" (SAGAN's) or "dcgan".
        attention: sides of the feature maps to attend at, in both networks
            (see `split_attention`); `()` for none.
        generator_width, discriminator_width: channel multipliers `ch` or
            explicit widths (`generator_widths`, `discriminator_widths`).
        embedding_dim: the generator's class embedding size (conditional).
        seed: seed of the SeedGenerator (noise and fake labels).
        generator, discriminator: built networks to use instead.
        **kwargs: `keras_gans.GAN` arguments (`ema_decay`, ...) and
            `keras.Model`'s (`name`).

    Example:

    ```python
    gan = kg.SAGAN(image_size=64, channels=3)
    gan.compile()
    gan.fit(kg.data.image_dataset("flowers/", image_size=64), epochs=50)

    gan = kg.SAGAN(image_size=32, channels=1, num_classes=10)
    gan.compile()
    gan.fit(kg.data.image_dataset("mnist.npz", image_size=32, channels=1,
                                  with_labels=True), epochs=10)
    sevens = gan.generate(labels=[7] * 16, seed=0)   # NumPy, [-1, 1]
    ```
    """

    def __init__(
        self,
        image_size=64,
        channels=3,
        latent_dim=128,
        num_classes=None,
        block="residual",
        attention=(32,),
        generator_width=64,
        discriminator_width=64,
        embedding_dim=128,
        seed=None,
        generator=None,
        discriminator=None,
        **kwargs,
    ):
        _check_block(block)
        if num_classes is not None and int(num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1 (or None), got {num_classes}.")
        num_classes = None if num_classes is None else int(num_classes)
        self._given_networks = generator is not None or discriminator is not None
        generator_attention, discriminator_attention = split_attention(attention, image_size)
        generator = generator or sagan_generator(
            image_size, channels, latent_dim, num_classes, generator_width, generator_attention,
            block, embedding_dim,
        )
        discriminator = discriminator or sagan_discriminator(
            image_size, channels, num_classes, discriminator_width, discriminator_attention, block
        )
        super().__init__(generator, discriminator, latent_dim=latent_dim, seed=seed, **kwargs)
        self._num_classes = num_classes
        self.image_size = int(image_size)
        self.channels = int(channels)
        self.block = block
        self.attention = tuple(sorted(set(generator_attention + discriminator_attention)))
        self.generator_width = generator_width
        self.discriminator_width = discriminator_width
        self.embedding_dim = int(embedding_dim)

    # -- the paper's training setting ------------------------------------------------

    def compile_defaults(self):
        return {"loss": "hinge", "d_steps": 1, "g_steps": 1}

    def default_optimizer(self, name):
        """Two-timescale Adam: 4e-4 for D, 1e-4 for G, betas (0, 0.9)."""
        learning_rate = 4e-4 if name == "d_optimizer" else 1e-4
        return keras.optimizers.Adam(learning_rate, beta_1=0.0, beta_2=0.9, name=name)

    # -- serialization ----------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size,
            channels=self.channels,
            num_classes=self._num_classes,
            block=self.block,
            attention=list(self.attention),
            generator_width=width_config(self.generator_width),
            discriminator_width=width_config(self.discriminator_width),
            embedding_dim=self.embedding_dim,
        )
        return config if self._given_networks else self.without_networks(config)
