"""DCGAN (Radford et al. 2015).

The paper's rules: strided (transposed) convolutions instead of pooling; no
dense layers except projecting z and the final score; BatchNorm everywhere
except the generator's output and the discriminator's input; ReLU + tanh in
the generator, LeakyReLU(0.2) in the discriminator.

At 64x64 and 128x128 the networks equal the PyTorch DCGAN example
(4x4 kernels, no biases, widths 64 doubling per stage), which is what the
benchmarks compare against.
"""

import keras
from keras import layers

from keras_gans.gan import GAN

#: The discriminator's normalizations (`dcgan_discriminator(norm=...)`).
NORMALIZATIONS = ("batch", "layer", None)


def _batch_norm(name):
    # PyTorch's defaults (momentum 0.1 there = 0.9 here, eps 1e-5), which the
    # DCGAN reference trains with. Keras' 0.99 leaves the moving statistics,
    # and so inference-mode samples, near their initial values for hundreds
    # of steps: early sample grids come out flat grey.
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


def _normalization(kind, name):
    """The discriminator's normalization after a downsampling convolution."""
    if kind == "batch":
        return _batch_norm(f"{name}_bn")
    # WGAN-GP's layer norm (its tflib Layernorm): statistics over (H, W, C)
    # of each image, one scale and offset per channel. That is one group of
    # GroupNormalization; LayerNormalization(axis=[1, 2, 3]) would learn a
    # scale per position as well.
    return layers.GroupNormalization(groups=1, epsilon=1e-5, name=f"{name}_ln")


def _stages(image_size):
    """Split `image_size` into a base size (4..7) and a number of doublings.

    64 -> (4, 4): 4 -> 8 -> 16 -> 32 -> 64;  28 -> (7, 2): 7 -> 14 -> 28.
    """
    size = int(image_size)
    doublings = 0
    while size % 2 == 0 and size // 2 >= 4:
        size //= 2
        doublings += 1
    if doublings < 1 or size > 7:
        raise ValueError(
            f"DCGAN needs an image size of the form b * 2**k with b in 4..7 and "
            f"k >= 1 (e.g. 28, 32, 64, 128, 256); got {image_size}."
        )
    return size, doublings


def dcgan_generator(image_size=64, channels=3, latent_dim=100, width=64, name="dcgan_generator"):
    """The DCGAN generator: z -> (image_size, image_size, channels) in [-1, 1].

    Args:
        image_size: output side; 28, 32, 64, 128, 256, ... (`b * 2**k`, b in 4..7).
        channels: 1 (grayscale) or 3 (RGB).
        latent_dim: size of z.
        width: channels of the last hidden stage; they double towards z
            (the PyTorch example's `ngf`).
        name: model name.

    Example:

    >>> g = dcgan_generator(64, 3, latent_dim=100)
    >>> g.output_shape
    (None, 64, 64, 3)
    """
    base, doublings = _stages(image_size)
    filters = width * 2 ** (doublings - 1)
    z = keras.Input((latent_dim,), name="z")
    x = layers.Reshape((1, 1, latent_dim), name="g_reshape")(z)
    # Projecting z: a base x base transposed convolution of a 1x1 map.
    x = layers.Conv2DTranspose(filters, base, 1, "valid", use_bias=False, name="g_project")(x)
    x = _batch_norm("g_project_bn")(x)
    x = layers.ReLU(name="g_project_relu")(x)
    for i in range(1, doublings):
        filters //= 2
        x = layers.Conv2DTranspose(filters, 4, 2, "same", use_bias=False, name=f"g_up{i}")(x)
        x = _batch_norm(f"g_up{i}_bn")(x)
        x = layers.ReLU(name=f"g_up{i}_relu")(x)
    x = layers.Conv2DTranspose(channels, 4, 2, "same", use_bias=False, name="g_to_image")(x)
    # tanh in float32 so images keep full precision under mixed precision.
    images = layers.Activation("tanh", dtype="float32", name="g_tanh")(x)
    return keras.Model(z, images, name=name)


def dcgan_discriminator(image_size=64, channels=3, width=64, norm="batch",
                        name="dcgan_discriminator"):
    """The DCGAN discriminator: an image -> one logit.

    Args:
        image_size: input side (as for `dcgan_generator`).
        channels: 1 or 3.
        width: channels of the first stage; they double per stage (`ndf`).
        norm: the normalization after every convolution but the first and
            the score: "batch" (the paper's BatchNorm), "layer" (per-image
            layer norm, WGAN-GP's critic) or None.
        name: model name.

    Example:

    >>> d = dcgan_discriminator(64, 3)
    >>> d.output_shape
    (None, 1)
    """
    if norm not in NORMALIZATIONS:
        raise ValueError(f"norm must be one of {NORMALIZATIONS}, got {norm!r}.")
    base, doublings = _stages(image_size)
    filters = width
    images = keras.Input((image_size, image_size, channels), name="images")
    x = layers.Conv2D(filters, 4, 2, "same", use_bias=False, name="d_down0")(images)
    x = layers.LeakyReLU(0.2, name="d_down0_lrelu")(x)
    for i in range(1, doublings):
        filters *= 2
        x = layers.Conv2D(filters, 4, 2, "same", use_bias=False, name=f"d_down{i}")(x)
        if norm is not None:
            x = _normalization(norm, f"d_down{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"d_down{i}_lrelu")(x)
    # The score is computed in float32 under mixed precision: one number per
    # image costs nothing there, keeps the logit precise, and sidesteps
    # torch's CPU half-precision backward of one-channel convolutions.
    x = layers.Conv2D(1, base, 1, "valid", use_bias=False, dtype="float32", name="d_score")(x)
    logits = layers.Flatten(dtype="float32", name="d_logits")(x)
    return keras.Model(images, logits, name=name)


@keras.saving.register_keras_serializable(package="keras_gans")
class DCGAN(GAN):
    """A DCGAN: `GAN` with the DCGAN generator and discriminator.

    Args:
        image_size: image side (28, 32, 64, 128, ...).
        channels: 1 or 3.
        latent_dim: size of z.
        generator_width: the generator's `ngf`.
        discriminator_width: the discriminator's `ndf`.
        seed: seed of the noise SeedGenerator.
        generator, discriminator: built networks to use instead (the
            image size and channels are then read from the generator).
        **kwargs: `keras_gans.GAN` arguments (`ema_decay`, ...) and
            `keras.Model`'s (`name`).

    Example:

    ```python
    gan = kg.DCGAN(image_size=128, channels=3, latent_dim=128)
    gan.compile(loss="non_saturating", g_steps=2)
    gan.fit(kg.data.image_dataset("plants/", image_size=128), epochs=50)
    ```
    """

    def __init__(
        self,
        image_size=64,
        channels=3,
        latent_dim=100,
        generator_width=64,
        discriminator_width=64,
        seed=None,
        generator=None,
        discriminator=None,
        **kwargs,
    ):
        # Given networks (e.g. from a config written by `GAN.get_config`)
        # replace the built ones, and are saved with the config.
        self._given_networks = generator is not None or discriminator is not None
        if generator is not None:
            image_size, _, channels = generator.output_shape[1:]
        generator = generator or dcgan_generator(image_size, channels, latent_dim, generator_width)
        discriminator = discriminator or dcgan_discriminator(
            image_size, channels, discriminator_width
        )
        super().__init__(generator, discriminator, latent_dim=latent_dim, seed=seed, **kwargs)
        self.image_size = image_size
        self.channels = channels
        self.generator_width = generator_width
        self.discriminator_width = discriminator_width

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size,
            channels=self.channels,
            generator_width=self.generator_width,
            discriminator_width=self.discriminator_width,
        )
        return config if self._given_networks else self.without_networks(config)
