"""DCGAN (Radford et al. 2015).

The paper's rules: strided (transposed) convolutions instead of pooling; no
dense layers except projecting z and the final score; BatchNorm everywhere
except the generator's output and the discriminator's input; ReLU + tanh in
the generator, LeakyReLU(0.2) in the discriminator.

At 64x64 and 128x128 the networks equal the PyTorch DCGAN example
(4x4 kernels, no biases, widths 64 doubling per stage), which is what the
benchmarks compare against.

Two options go beyond the paper, for photos at 128x128
(`scripts/train_dcgan_plants.py`, measured in `benchmarks/plants_quality.py`):

- `dcgan_generator(upsample="resize")`: each stride-2 transposed
  convolution becomes a 2x nearest-neighbour resize and a 3x3 convolution
  (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts"). A 4x4
  kernel at stride 2 covers output pixels unevenly, which paints a
  checkerboard into the images; a resize followed by a convolution cannot.
  `"resize_bilinear"` resizes bilinearly instead.
- `dcgan_discriminator(spectral_norm=True)`: spectral normalization
  (Miyato et al. 2018) on every convolution, as in SN-GAN's discriminator,
  usually with `norm=None` (SN-GAN has no BatchNorm there).
"""

import keras
from keras import layers

from keras_gans.gan import GAN
from keras_gans.layers import spectral_norm as wrap_spectral_norm

#: The discriminator's normalizations (`dcgan_discriminator(norm=...)`).
NORMALIZATIONS = ("batch", "layer", None)

#: The generator's upsampling (`dcgan_generator(upsample=...)`) and the
#: resize interpolation of each: None for the paper's transposed convolution.
UPSAMPLINGS = {"transposed": None, "resize": "nearest", "resize_bilinear": "bilinear"}


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


def _upsampled(x, filters, upsample, name):
    """`x` at twice its side with `filters` channels; the convolution is
    named `name` either way."""
    interpolation = UPSAMPLINGS[upsample]
    if interpolation is None:
        return layers.Conv2DTranspose(filters, 4, 2, "same", use_bias=False, name=name)(x)
    x = layers.UpSampling2D(2, interpolation=interpolation, name=f"{name}_resize")(x)
    return layers.Conv2D(filters, 3, 1, "same", use_bias=False, name=name)(x)


def dcgan_generator(image_size=64, channels=3, latent_dim=100, width=64, upsample="transposed",
                    name="dcgan_generator"):
    """The DCGAN generator: z -> (image_size, image_size, channels) in [-1, 1].

    Args:
        image_size: output side; 28, 32, 64, 128, 256, ... (`b * 2**k`, b in 4..7).
        channels: 1 (grayscale) or 3 (RGB).
        latent_dim: size of z.
        width: channels of the last hidden stage; they double towards z
            (the PyTorch example's `ngf`).
        upsample: how each stage doubles the side: "transposed" (the
            paper's 4x4 stride-2 transposed convolution), "resize" (2x
            nearest-neighbour resize, then a 3x3 convolution: no
            checkerboard) or "resize_bilinear" (the same with a bilinear
            resize). Projecting z stays a transposed convolution of a 1x1
            map, which is a dense layer and paints no pattern.
        name: model name.

    Example:

    >>> g = dcgan_generator(64, 3, latent_dim=100)
    >>> g.output_shape
    (None, 64, 64, 3)
    >>> dcgan_generator(64, 3, upsample="resize").output_shape
    (None, 64, 64, 3)
    """
    if upsample not in UPSAMPLINGS:
        raise ValueError(f"upsample must be one of {tuple(UPSAMPLINGS)}, got {upsample!r}.")
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
        x = _upsampled(x, filters, upsample, f"g_up{i}")
        x = _batch_norm(f"g_up{i}_bn")(x)
        x = layers.ReLU(name=f"g_up{i}_relu")(x)
    x = _upsampled(x, channels, upsample, "g_to_image")
    # tanh in float32 so images keep full precision under mixed precision.
    images = layers.Activation("tanh", dtype="float32", name="g_tanh")(x)
    return keras.Model(z, images, name=name)


def dcgan_discriminator(image_size=64, channels=3, width=64, norm="batch", spectral_norm=False,
                        name="dcgan_discriminator"):
    """The DCGAN discriminator: an image -> one logit.

    Args:
        image_size: input side (as for `dcgan_generator`).
        channels: 1 or 3.
        width: channels of the first stage; they double per stage (`ndf`).
        norm: the normalization after every convolution but the first and
            the score: "batch" (the paper's BatchNorm), "layer" (per-image
            layer norm, WGAN-GP's critic) or None.
        spectral_norm: wrap every convolution, the score's too, in spectral
            normalization (`keras_gans.layers.spectral_norm`). Not with
            BatchNorm: the trainer then calls D in training mode for reals
            and fakes within one loss, each call rewriting the kernels in
            place, which PyTorch's autograd refuses; SN-GAN uses none.
        name: model name.

    Example:

    >>> d = dcgan_discriminator(64, 3)
    >>> d.output_shape
    (None, 1)
    >>> sn = dcgan_discriminator(64, 3, norm=None, spectral_norm=True)
    >>> sn.get_layer("d_down1_sn").layer.name
    'd_down1'
    """
    if norm not in NORMALIZATIONS:
        raise ValueError(f"norm must be one of {NORMALIZATIONS}, got {norm!r}.")
    if spectral_norm and norm == "batch":
        raise ValueError(
            "dcgan_discriminator(spectral_norm=True) takes norm=None (SN-GAN's discriminator) "
            "or norm='layer', not BatchNorm: see the `spectral_norm` argument."
        )
    base, doublings = _stages(image_size)

    def conv(filters, kernel, stride, padding, name, **kwargs):
        layer = layers.Conv2D(filters, kernel, stride, padding, use_bias=False, name=name, **kwargs)
        return wrap_spectral_norm(layer, enabled=spectral_norm)

    filters = width
    images = keras.Input((image_size, image_size, channels), name="images")
    x = conv(filters, 4, 2, "same", "d_down0")(images)
    x = layers.LeakyReLU(0.2, name="d_down0_lrelu")(x)
    for i in range(1, doublings):
        filters *= 2
        x = conv(filters, 4, 2, "same", f"d_down{i}")(x)
        if norm is not None:
            x = _normalization(norm, f"d_down{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"d_down{i}_lrelu")(x)
    # The score is computed in float32 under mixed precision: one number per
    # image costs nothing there, keeps the logit precise, and sidesteps
    # torch's CPU half-precision backward of one-channel convolutions.
    x = conv(1, base, 1, "valid", "d_score", dtype="float32")(x)
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
        generator_upsample: the generator's `upsample`: "transposed" (the
            paper's), "resize" or "resize_bilinear" (no checkerboard).
        discriminator_norm: the discriminator's `norm`: "batch" (the
            paper's), "layer" or None.
        discriminator_spectral_norm: spectral normalization on every
            convolution of the discriminator (with `discriminator_norm=None`
            or "layer").
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

    # SN-GAN's discriminator, a checkerboard-free generator, an EMA of G,
    # and DiffAugment for a few thousand photos:
    gan = kg.DCGAN(image_size=128, generator_upsample="resize", discriminator_norm=None,
                   discriminator_spectral_norm=True, ema_decay=0.999,
                   augment="color,translation,cutout")
    gan.compile(loss="hinge")
    ```
    """

    def __init__(
        self,
        image_size=64,
        channels=3,
        latent_dim=100,
        generator_width=64,
        discriminator_width=64,
        generator_upsample="transposed",
        discriminator_norm="batch",
        discriminator_spectral_norm=False,
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
        generator = generator or dcgan_generator(
            image_size, channels, latent_dim, generator_width, upsample=generator_upsample
        )
        discriminator = discriminator or dcgan_discriminator(
            image_size, channels, discriminator_width, norm=discriminator_norm,
            spectral_norm=discriminator_spectral_norm,
        )
        super().__init__(generator, discriminator, latent_dim=latent_dim, seed=seed, **kwargs)
        self.image_size = image_size
        self.channels = channels
        self.generator_width = generator_width
        self.discriminator_width = discriminator_width
        self.generator_upsample = generator_upsample
        self.discriminator_norm = discriminator_norm
        self.discriminator_spectral_norm = bool(discriminator_spectral_norm)

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size,
            channels=self.channels,
            generator_width=self.generator_width,
            discriminator_width=self.discriminator_width,
            generator_upsample=self.generator_upsample,
            discriminator_norm=self.discriminator_norm,
            discriminator_spectral_norm=self.discriminator_spectral_norm,
        )
        return config if self._given_networks else self.without_networks(config)
