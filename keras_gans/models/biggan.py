"""BigGAN (Brock et al. 2019): large-scale class-conditional GANs.

BigGAN is SAGAN (`models/sagan.py`, whose blocks it reuses whole) with
what made it scale, as the authors' code (ajbrock/BigGAN-PyTorch) writes it:

- **Generator**: z (120-d) is split into equal chunks, one for the first
  projection and one per block (**hierarchical latents**); a **shared class
  embedding** (one 128-d table, not spectral-normalized: the authors found
  that cripples G) is joined with each block's chunk into that block's
  condition; each residual up-block's BatchNorms are **conditional** (gain
  and bias linear in the condition, `ConditionalBatchNormalization`);
  self-attention at a configurable side; BN -> ReLU -> conv3x3 -> tanh at
  the end. Spectral norm on every weight layer but the shared embedding.
- **Discriminator**: SAGAN's residual down-blocks (SN-GAN's "optimized"
  first block), self-attention, ReLU, sum pooling and the **projection**
  head `psi(phi(x)) + <embed(y), phi(x)>`, spectral norm throughout.
- **Widths** from the authors' tables (`G_arch`, `D_arch`) with `ch` the
  width: at 32 px (CIFAR) G has 4ch everywhere and D four blocks of 4ch, the
  last two keeping 8x8; at 64/128/256 px G starts at 16ch and halves
  towards the image (ending at 2ch, ch, ch), and D doubles from ch to 16ch.
- **Training** (a bare `compile()`): hinge loss; Adam, betas (0, 0.999), D
  4e-4, G 1e-4; two D updates per G update, each on its own real batch
  (`fresh_reals`: a dataset batch of 2B is split); **orthogonal
  regularization** of G's kernels, `beta * ||W^T W * (1 - I)||_F^2` with
  beta = 1e-4 (`keras_gans.regularizers.OffDiagonalOrthogonal`) through
  the weight-regularizer path (the trainer adds it to G's loss, and its
  gradient beside the pullback of reused fakes); **orthogonal
  initialization** of every kernel and the embeddings; an **EMA** of G
  (decay 0.9999 from step 20,000, the authors' 128 px launch script), whose
  BatchNorm statistics the trainer computes from the EMA weights.
- **Sampling**: `generate(..., truncation=T)` resamples latent entries
  beyond +-T (the truncation trick); the export's `sample` signature takes
  `truncation` (float32; 0 or less: none).

Where this differs from the authors' code:

- Keras' `SpectralNormalization` keeps W / sigma in the kernel (see
  `keras_gans.layers.spectral`), so the orthogonal penalty acts on the
  normalized kernel, where the authors' `utils.ortho` acts on the raw one.
- `OffDiagonalOrthogonal(beta)` is the paper's formula. The authors' code
  adds the gradient directly, half the formula's: their `--G_ortho 1e-4`
  is `beta = 5e-5` here (see that class's docstring).
- The EMA's BatchNorm statistics are re-estimated from the EMA weights every
  step (the trainer's rule); the authors average the raw statistics, or
  accumulate "standing statistics" before sampling.
- Adam's epsilon is Keras' 1e-7 (the authors' default 1e-8, 1e-6 in their
  ImageNet launch scripts).
- Gradient accumulation (the authors' `--num_D_accumulations`) is an
  optimizer setting here: `keras.optimizers.Adam(...,
  gradient_accumulation_steps=N)` applies the mean of N updates' gradients
  every N-th update (`scripts/train_biggan.py --accumulate N`).

Example:

>>> gan = BigGAN(10, image_size=32, channels=1, generator_width=4, discriminator_width=4)
>>> [spec.name for spec in gan.latents], gan.latent_dim
(['z', 'labels'], 120)
>>> gan.generator.get_layer("g_z_chunks").num_chunks  # the projection's and 3 blocks'
4
"""

import keras
from keras import layers, ops

from keras_gans.gan import GAN
from keras_gans.models.cgan import ClassConditional, labels_input
from keras_gans.models.sagan import (
    BlockLayers,
    discriminator_widths,
    generator_blocks,
    generator_output,
    generator_widths,
    sagan_discriminator,
    split_attention,
    width_config,
)
from keras_gans.regularizers import OffDiagonalOrthogonal

# The authors' architectures (BigGAN.py's G_arch, D_arch) as multiples of the
# width `ch`: the generator's 4x4 map and blocks, the discriminator's blocks.
GENERATOR_MULTIPLIERS = {
    32: (4, 4, 4, 4),
    64: (16, 16, 8, 4, 2),
    128: (16, 16, 8, 4, 2, 1),
    256: (16, 16, 8, 8, 4, 2, 1),
}
DISCRIMINATOR_MULTIPLIERS = {
    32: (4, 4, 4, 4),
    64: (1, 2, 4, 8, 16),
    128: (1, 2, 4, 8, 16, 16),
    256: (1, 2, 4, 8, 8, 16, 16),
}
SIZES = tuple(GENERATOR_MULTIPLIERS)


def _check_size(image_size):
    if int(image_size) not in SIZES:
        raise ValueError(
            f"BigGAN's architectures are for images of {', '.join(map(str, SIZES))} px "
            f"(the authors' tables), got image_size={image_size}."
        )
    return int(image_size)


@keras.saving.register_keras_serializable(package="keras_gans")
class LatentChunks(keras.layers.Layer):
    """Split latent vectors `(batch, d)` into `num_chunks` equal parts
    `(batch, d / num_chunks)`: BigGAN's hierarchical latents.

    Args:
        num_chunks: how many parts; `d` must be a multiple of it.
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`).

    Example:

    >>> chunks = LatentChunks(3)(keras.ops.arange(12, dtype="float32")[None])
    >>> [keras.ops.convert_to_numpy(c).tolist() for c in chunks]
    [[[0.0, 1.0, 2.0, 3.0]], [[4.0, 5.0, 6.0, 7.0]], [[8.0, 9.0, 10.0, 11.0]]]
    """

    def __init__(self, num_chunks, **kwargs):
        super().__init__(**kwargs)
        self.num_chunks = int(num_chunks)
        if self.num_chunks < 1:
            raise ValueError(f"num_chunks must be >= 1, got {num_chunks}.")

    def build(self, input_shape):
        if input_shape[-1] is None or input_shape[-1] % self.num_chunks:
            raise ValueError(
                f"{self.name} splits vectors into {self.num_chunks} equal chunks, so their "
                f"size must be a multiple of {self.num_chunks}; got shape {tuple(input_shape)}."
            )

    def call(self, z):
        return ops.split(z, self.num_chunks, axis=-1)

    def compute_output_shape(self, input_shape):
        return [(*input_shape[:-1], input_shape[-1] // self.num_chunks)] * self.num_chunks

    def get_config(self):
        return {**super().get_config(), "num_chunks": self.num_chunks}


# -- architecture -----------------------------------------------------------------------


def biggan_generator_widths(image_size, width=64):
    """The generator's channels: of the 4x4 map, then of each block.

    Args:
        image_size: 32, 64, 128 or 256.
        width: the multiplier `ch` (the authors' `G_ch`: 64 by default, 96
            in their 128 px ImageNet model), or the widths themselves.

    Example:

    >>> biggan_generator_widths(32, 64)
    (256, 256, 256, 256)
    >>> biggan_generator_widths(128, 2)
    (32, 32, 16, 8, 4, 2)
    """
    size = _check_size(image_size)
    if isinstance(width, int):
        return tuple(width * m for m in GENERATOR_MULTIPLIERS[size])
    return generator_widths(size, width)


def biggan_discriminator_downsamples(image_size):
    """Which discriminator blocks halve the side: all but the last, except
    at 32 px, where the last two keep 8x8 (the authors' CIFAR network).

    Example:

    >>> biggan_discriminator_downsamples(32)
    (True, True, False, False)
    """
    blocks = len(DISCRIMINATOR_MULTIPLIERS[_check_size(image_size)])
    if image_size == 32:
        return (True, True, False, False)
    return (True,) * (blocks - 1) + (False,)


def biggan_discriminator_widths(image_size, width=64):
    """The discriminator's channels, one per block.

    Args:
        image_size: 32, 64, 128 or 256.
        width: the multiplier `ch` (`D_ch`), or the widths themselves.

    Example:

    >>> biggan_discriminator_widths(64, 64)
    (64, 128, 256, 512, 1024)
    """
    size = _check_size(image_size)
    if isinstance(width, int):
        return tuple(width * m for m in DISCRIMINATOR_MULTIPLIERS[size])
    return discriminator_widths(size, width, biggan_discriminator_downsamples(size))


def default_attention(image_size):
    """The authors' default attention side, 64 (`--G_attn 64 --D_attn 64`),
    where a network has such a map; none at 32 px (their CIFAR setting).

    Example:

    >>> default_attention(128), default_attention(32)
    ((64,), ())
    """
    return (64,) if _check_size(image_size) >= 64 else ()


def biggan_block_layers(orthogonal_strength=None):
    """How BigGAN makes weight layers: spectral norm, orthogonal kernels and,
    with `orthogonal_strength` (the generator's, the paper's beta = 1e-4),
    `OffDiagonalOrthogonal` on every kernel.

    Example:

    >>> biggan_block_layers(1e-4).kernel_regularizer.strength
    0.0001
    """
    regularizer = OffDiagonalOrthogonal(orthogonal_strength) if orthogonal_strength else None
    return BlockLayers(kernel_initializer="orthogonal", kernel_regularizer=regularizer)


def _attention_of(network, attention, image_size):
    if attention is None:
        attention = default_attention(image_size)
    both = split_attention(attention, image_size, biggan_discriminator_downsamples(image_size))
    return both[0] if network == "generator" else both[1]


def biggan_generator(num_classes, image_size=128, channels=3, latent_dim=120, width=64,
                     attention=None, shared_dim=128, block_layers=None,
                     name="biggan_generator"):
    """The BigGAN generator: `[z, labels]` -> images in [-1, 1].

    z is split into one chunk for the first dense layer and one per block;
    block i's conditional BatchNorms see `[shared embedding of the label,
    chunk i]`.

    Args:
        num_classes: number of classes.
        image_size: 32, 64, 128 or 256.
        channels: 1 or 3.
        latent_dim: size of z; a multiple of the number of chunks (blocks
            + 1: 4 at 32 px, 5 at 64, 6 at 128, 7 at 256).
        width: multiplier or widths (`biggan_generator_widths`).
        attention: sides to attend at (None: `default_attention`); sides
            the generator lacks are skipped.
        shared_dim: size of the shared class embedding.
        block_layers: a `BlockLayers`; default `biggan_block_layers(1e-4)`.
        name: model name.

    Example:

    >>> g = biggan_generator(10, 32, 1, width=4)
    >>> g.input_shape, g.output_shape
    ([(None, 120), (None,)], (None, 32, 32, 1))
    """
    widths = biggan_generator_widths(image_size, width)
    block_layers = biggan_block_layers(1e-4) if block_layers is None else block_layers
    chunks = len(widths)  # the projection's, then one per block
    if latent_dim % chunks:
        lower, higher = (latent_dim // chunks) * chunks, (latent_dim // chunks + 1) * chunks
        raise ValueError(
            f"A {image_size} px BigGAN splits z into {chunks} equal chunks (the first layer's "
            f"and one per block), so latent_dim must be a multiple of {chunks}; got "
            f"{latent_dim}: use e.g. {lower or chunks} or {higher}."
        )
    z = keras.Input((latent_dim,), name="z")
    labels = labels_input()
    z_chunks = LatentChunks(chunks, name="g_z_chunks")(z)
    # Orthogonal like every weight, but neither spectral-normalized nor
    # regularized (the authors exempt it from both).
    shared = layers.Embedding(num_classes, shared_dim, name="g_shared_embedding",
                              embeddings_initializer=block_layers.kernel_initializer)(labels)
    conditions = [layers.Concatenate(name=f"g_block{index}_condition")([shared, chunk])
                  for index, chunk in enumerate(z_chunks[1:], start=1)]
    x = block_layers.dense(4 * 4 * widths[0], "g_project")(z_chunks[0])
    x = layers.Reshape((4, 4, widths[0]), name="g_reshape")(x)
    x = generator_blocks(x, widths[1:], conditions, _attention_of("generator", attention, image_size),
                         "residual", block_layers)
    images = generator_output(x, channels, block_layers)
    return keras.Model([z, labels], images, name=name)


def biggan_discriminator(num_classes, image_size=128, channels=3, width=64, attention=None,
                         block_layers=None, name="biggan_discriminator"):
    """The BigGAN discriminator: `[images, labels]` -> one logit per image.

    SAGAN's residual discriminator (`sagan_discriminator`) with the
    authors' widths, downsampling and orthogonal kernels, and a projection
    head.

    Args:
        num_classes: number of classes.
        image_size: 32, 64, 128 or 256.
        channels: 1 or 3.
        width: multiplier or widths (`biggan_discriminator_widths`).
        attention: sides to attend at (None: `default_attention`); sides
            the discriminator lacks are skipped.
        block_layers: a `BlockLayers`; default `biggan_block_layers()`
            (no orthogonal penalty in D, as the authors' `--D_ortho 0`).
        name: model name.

    Example:

    >>> d = biggan_discriminator(10, 32, 1, width=4)
    >>> d.output_shape
    (None, 1)
    """
    return sagan_discriminator(
        image_size, channels, num_classes, biggan_discriminator_widths(image_size, width),
        _attention_of("discriminator", attention, image_size), "residual",
        biggan_discriminator_downsamples(image_size),
        biggan_block_layers() if block_layers is None else block_layers, name=name,
    )


# -- the model ------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="keras_gans")
class BigGAN(ClassConditional, GAN):
    """BigGAN (Brock et al. 2019): a class-conditional GAN with shared
    embeddings, hierarchical latents, a projection discriminator,
    orthogonal regularization, an EMA generator and truncated sampling.

    A bare `compile()` gives the authors' setting: hinge loss, Adam with
    betas (0, 0.999) at 4e-4 (D) and 1e-4 (G), two D updates per G update
    on fresh real batches (so a dataset batch of 2B images gives two
    updates of B).

    Args:
        num_classes: number of classes; batches are `(images, labels)`.
        image_size: 32, 64, 128 or 256.
        channels: 1 or 3.
        latent_dim: size of z (120: chunks of 30, 24, 20 at 32, 64, 128 px).
        shared_dim: size of the shared class embedding.
        generator_width, discriminator_width: the multipliers `ch` or the
            widths (`biggan_generator_widths`, `biggan_discriminator_widths`).
        attention: sides of the feature maps to attend at, in each network
            that has them (None: 64, none at 32 px); `()` for none.
        orthogonal_strength: beta of G's orthogonal regularization
            (the paper's 1e-4; 0 or None: off).
        ema_decay, ema_start: the generator's EMA (`keras_gans.GAN`); None
            switches it off.
        seed: seed of the SeedGenerator (noise and fake labels).
        generator, discriminator: built networks to use instead.
        **kwargs: other `keras_gans.GAN` arguments and `keras.Model`'s.

    Example:

    ```python
    gan = kg.BigGAN(num_classes=5, image_size=64)
    gan.compile()
    gan.fit(kg.data.image_dataset("flowers/", image_size=64, batch_size=2 * 32,
                                  with_labels=True), epochs=100)
    roses = gan.generate(labels=[4] * 16, truncation=0.5, seed=0)   # NumPy, [-1, 1]
    ```
    """

    #: The export's `sample` signature takes `truncation` too.
    sample_parameters = ("truncation",)

    def __init__(
        self,
        num_classes,
        image_size=128,
        channels=3,
        latent_dim=120,
        shared_dim=128,
        generator_width=64,
        discriminator_width=64,
        attention=None,
        orthogonal_strength=1e-4,
        ema_decay=0.9999,
        ema_start=20_000,
        seed=None,
        generator=None,
        discriminator=None,
        **kwargs,
    ):
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}.")
        image_size = _check_size(image_size)
        attention = default_attention(image_size) if attention is None else tuple(attention)
        self._given_networks = generator is not None or discriminator is not None
        generator = generator or biggan_generator(
            int(num_classes), image_size, channels, latent_dim, generator_width, attention,
            shared_dim, biggan_block_layers(orthogonal_strength),
        )
        discriminator = discriminator or biggan_discriminator(
            int(num_classes), image_size, channels, discriminator_width, attention
        )
        self._num_classes = int(num_classes)
        super().__init__(generator, discriminator, latent_dim=latent_dim, seed=seed,
                         ema_decay=ema_decay, ema_start=ema_start, **kwargs)
        self.image_size = image_size
        self.channels = int(channels)
        self.shared_dim = int(shared_dim)
        self.generator_width = generator_width
        self.discriminator_width = discriminator_width
        self.attention = tuple(sorted({int(side) for side in attention}))
        self.orthogonal_strength = float(orthogonal_strength or 0.0)

    # -- the authors' training setting -----------------------------------------------

    def compile_defaults(self):
        # fresh_reals: each D update sees its own real batch, as the
        # authors' loop splits its batch (`x[counter]`).
        return {"loss": "hinge", "d_steps": 2, "g_steps": 1, "fresh_reals": True}

    def default_optimizer(self, name):
        """Adam, betas (0, 0.999): 4e-4 for D, 1e-4 for G."""
        learning_rate = 4e-4 if name == "d_optimizer" else 1e-4
        return keras.optimizers.Adam(learning_rate, beta_1=0.0, beta_2=0.999, name=name)

    # -- serialization ----------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            num_classes=self._num_classes,
            image_size=self.image_size,
            channels=self.channels,
            shared_dim=self.shared_dim,
            generator_width=width_config(self.generator_width),
            discriminator_width=width_config(self.discriminator_width),
            attention=list(self.attention),
            orthogonal_strength=self.orthogonal_strength,
            # Always: None (no EMA) must not come back as the 0.9999 default.
            ema_decay=self.ema_decay,
            ema_start=self.ema_start,
        )
        return config if self._given_networks else self.without_networks(config)
