"""ProGAN (Karras et al. 2018): progressive growing of GANs.

The networks are those of the paper and its code (`networks.py`, `G_paper`
and `D_paper`, with `fused_scale=False`):

- generator: z, pixel-normalized -> an equalized dense layer to 4x4 maps
  (gain sqrt(2)/4, as the code's "match the original Theano
  implementation") -> a 3x3 convolution; then per resolution a
  nearest-neighbour 2x upsampling and two 3x3 convolutions. Leaky ReLU
  (0.2) and pixel normalization after every convolution; a linear 1x1
  toRGB per resolution (gain 1), no tanh.
- discriminator: a 1x1 fromRGB per resolution (leaky ReLU); per resolution
  two 3x3 convolutions and a 2x average pooling; at 4x4 the minibatch
  standard deviation (group 4), a 3x3 convolution, a dense layer and a
  linear score (gain 1).
- every convolution and dense layer has an equalized learning rate
  (`EqualizedConv2D`, `EqualizedDense`: N(0, 1) weights scaled at run time
  by gain / sqrt(fan_in), gain sqrt(2) unless said).
- widths: resolution r has `min(2 * fmap_base / r, max_filters)` channels,
  the code's `nf(log2(r) - 1)`; with fmap_base 8192 and max_filters 512:
  512 up to 32x32, then 256, 128, 64, 32, 16 at 1024x1024.

Training (`compile()` defaults): WGAN-GP (lambda 10) with the drift term
epsilon 0.001, one critic update per generator update, Adam(1e-3,
beta_1=0, beta_2=0.99, epsilon=1e-8) for both networks, a generator EMA of
0.999, restarted at each growth (`ema_stage_rampup=0.25`: its half-life is
at most a quarter of the images since the stage began; at the code's 1.2M
images per stage and batch 16 that binds only in a stage's first 44k
images, while a short CPU schedule's stage is shorter than 0.999's horizon;
see `keras_gans.growing`). The non-saturating loss is an option (`compile(loss=
"non_saturating")`, which defaults to R1 with gamma 10 instead, StyleGAN's
pairing on the same growing networks).

Growing (`keras_gans.growing`): 4x4 for `images_per_stage` real images,
then each doubling fades in over `fade_images` (default the same) and is
held for `images_per_stage`; the code's defaults are 600k and 600k. See
that module for how stages, alpha and resuming work.
"""

import math

import keras
from keras import layers

from keras_gans import losses as gan_losses
from keras_gans.growing import (
    GrowingGAN,
    GrowthSchedule,
    ProgressiveDiscriminator,
    ProgressiveGenerator,
)
from keras_gans.layers import EqualizedConv2D, EqualizedDense, MinibatchStdDev, PixelNorm

START_RESOLUTION = 4


def progan_filters(resolution, max_filters=512, fmap_base=8192):
    """The channels ProGAN gives resolution `resolution`:
    `min(2 * fmap_base // resolution, max_filters)`.

    Example:

    >>> [progan_filters(r) for r in (4, 32, 64, 1024)]
    [512, 512, 256, 16]
    """
    return max(1, min(2 * int(fmap_base) // int(resolution), int(max_filters)))


def _conv(filters, kernel_size, name, **kwargs):
    return EqualizedConv2D(filters, kernel_size, activation="leaky_relu", name=name, **kwargs)


@keras.saving.register_keras_serializable(package="keras_gans")
class ProGANGenerator(ProgressiveGenerator):
    """ProGAN's generator: z -> images at the current stage's resolution
    (see the module docstring for the layers).

    Args:
        image_size: the final resolution (8, 16, ..., a power of two).
        channels: image channels.
        latent_dim: size of z (512 in the paper).
        max_filters: the most channels of any layer (512).
        fmap_base: resolution r gets `min(2 * fmap_base // r, max_filters)`
            channels (8192).
        stage: the stage to start in; default the last (`image_size`).
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Example:

    >>> g = ProGANGenerator(image_size=16, latent_dim=32, max_filters=16)
    >>> g.stage = 1
    >>> tuple(g(keras.random.normal((2, 32))).shape)
    (2, 8, 8, 3)
    """

    def __init__(self, image_size=64, channels=3, latent_dim=512, max_filters=512,
                 fmap_base=8192, stage=None, name="progan_generator", **kwargs):
        super().__init__(image_size, START_RESOLUTION, stage=stage, name=name, **kwargs)
        self.channels, self.latent_dim = int(channels), int(latent_dim)
        self.max_filters, self.fmap_base = int(max_filters), int(fmap_base)
        filters = [progan_filters(r, max_filters, fmap_base) for r in self.resolutions]
        first = filters[0]
        self.blocks = [keras.Sequential([
            keras.Input((self.latent_dim,)),
            PixelNorm(name="normalize_z"),
            EqualizedDense(first * START_RESOLUTION**2, activation="leaky_relu",
                           gain=math.sqrt(2) / 4, name="dense"),
            layers.Reshape((START_RESOLUTION, START_RESOLUTION, first)),
            PixelNorm(name="dense_norm"),
            _conv(first, 3, "conv"),
            PixelNorm(name="conv_norm"),
        ], name=f"block_{START_RESOLUTION}")]
        for size, before, after in zip(self.resolutions[1:], filters, filters[1:]):
            self.blocks.append(keras.Sequential([
                keras.Input((size // 2, size // 2, before)),
                layers.UpSampling2D(2, data_format="channels_last", interpolation="nearest"),
                _conv(after, 3, "conv0"),
                PixelNorm(name="conv0_norm"),
                _conv(after, 3, "conv1"),
                PixelNorm(name="conv1_norm"),
            ], name=f"block_{size}"))
        # Images in float32 under mixed precision, like every generator here.
        self.to_images = [
            EqualizedConv2D(self.channels, 1, gain=1.0, dtype="float32", name=f"to_rgb_{size}")
            for size in self.resolutions
        ]
        for to_image, size, width in zip(self.to_images, self.resolutions, filters):
            to_image.build((None, size, size, width))
        self.built = True

    def get_config(self):
        return {**super().get_config(), "image_size": self.resolutions[-1],
                "channels": self.channels, "latent_dim": self.latent_dim,
                "max_filters": self.max_filters, "fmap_base": self.fmap_base}


@keras.saving.register_keras_serializable(package="keras_gans")
class ProGANDiscriminator(ProgressiveDiscriminator):
    """ProGAN's discriminator (critic): images at the current stage's
    resolution -> one score each (see the module docstring for the layers).

    Args:
        image_size: the final resolution (a power of two, >= 8).
        channels: image channels.
        max_filters, fmap_base: the widths, as for `ProGANGenerator`.
        mbstd_group_size: the minibatch standard deviation's group (4);
            the per-device batch must be a multiple of it (or smaller).
        stage: the stage to start in; default the last.
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Example:

    >>> d = ProGANDiscriminator(image_size=16, max_filters=16)
    >>> tuple(d(keras.random.normal((4, 16, 16, 3))).shape)
    (4, 1)
    """

    def __init__(self, image_size=64, channels=3, max_filters=512, fmap_base=8192,
                 mbstd_group_size=4, stage=None, name="progan_discriminator", **kwargs):
        super().__init__(image_size, START_RESOLUTION, stage=stage, name=name, **kwargs)
        self.channels = int(channels)
        self.max_filters, self.fmap_base = int(max_filters), int(fmap_base)
        self.mbstd_group_size = int(mbstd_group_size)
        filters = [progan_filters(r, max_filters, fmap_base) for r in self.resolutions]
        self.from_images = [_conv(width, 1, f"from_rgb_{size}")
                            for size, width in zip(self.resolutions, filters)]
        for from_image, size in zip(self.from_images, self.resolutions):
            from_image.build((None, size, size, self.channels))
        first = filters[0]
        self.blocks = [keras.Sequential([
            keras.Input((START_RESOLUTION, START_RESOLUTION, first)),
            MinibatchStdDev(self.mbstd_group_size, name="minibatch_stddev"),
            _conv(first, 3, "conv"),
            layers.Flatten(),
            EqualizedDense(progan_filters(START_RESOLUTION // 2, max_filters, fmap_base),
                           activation="leaky_relu", name="dense"),
            # The score in float32 under mixed precision.
            EqualizedDense(1, gain=1.0, dtype="float32", name="score"),
        ], name=f"block_{START_RESOLUTION}")]
        for size, before, after in zip(self.resolutions[1:], filters, filters[1:]):
            self.blocks.append(keras.Sequential([
                keras.Input((size, size, after)),
                _conv(after, 3, "conv0"),
                _conv(before, 3, "conv1"),
                layers.AveragePooling2D(2, data_format="channels_last"),
            ], name=f"block_{size}"))
        self.built = True

    def get_config(self):
        return {**super().get_config(), "image_size": self.resolutions[-1],
                "channels": self.channels, "max_filters": self.max_filters,
                "fmap_base": self.fmap_base, "mbstd_group_size": self.mbstd_group_size}


@keras.saving.register_keras_serializable(package="keras_gans")
class ProGAN(GrowingGAN):
    """ProGAN: the paper's growing networks, losses and optimizers on the
    shared trainer.

    A new model starts at 4x4 and grows during `fit` (see
    `keras_gans.growing`): feed it images at `image_size` (as many real
    images as the schedule, `gan.schedule.total_images`, to grow all the
    way); the reals are downscaled in the step.

    Args:
        image_size: the final resolution (8, 16, 32, 64, ...).
        channels: image channels.
        latent_dim: size of z (512).
        max_filters, fmap_base: the widths (see `progan_filters`).
        images_per_stage: real images to train 4x4 for, and to hold each
            later resolution for after its fade-in (600k in the code).
        fade_images: real images per fade-in; default `images_per_stage`.
        batch_sizes: optional `{resolution: batch size}` for smaller
            batches at high resolutions (batch the data at the largest).
        mbstd_group_size: the minibatch standard deviation's group (4).
        ema_decay: the generator EMA's decay per step (0.999); None: off.
        ema_stage_rampup: the EMA's half-life is at most this fraction of
            the images since the stage began (0.25; `GrowingGAN`); None:
            `ema_decay` throughout, as the reference code.
        reset_optimizers: reset Adam's moments on entering each phase.
        phase: the phase to build the networks in (`GrowingGAN`).
        seed: seed of the noise SeedGenerator.
        generator, discriminator: built `ProGANGenerator` /
            `ProGANDiscriminator` to use instead (sizes are then read from
            them).
        **kwargs: `keras_gans.GAN`'s other arguments and `keras.Model`'s.

    Example:

    ```python
    gan = kg.models.ProGAN(image_size=64, images_per_stage=50_000)
    gan.compile()                       # WGAN-GP + drift, Adam(1e-3, 0, 0.99), as the paper
    ds = kg.data.image_dataset("flowers/", image_size=64, batch_size=16, flip=True)
    gan.fit(ds.repeat(), steps_per_epoch=1000, epochs=gan.schedule.total_images // 16_000,
            callbacks=[kg.callbacks.SampleGrid("runs/progan/samples")])
    gan.generate(16).shape              # (16, 64, 64, 3)
    ```
    """

    def __init__(self, image_size=64, channels=3, latent_dim=512, max_filters=512,
                 fmap_base=8192, images_per_stage=600_000, fade_images=None, batch_sizes=None,
                 mbstd_group_size=4, ema_decay=0.999, ema_stage_rampup=0.25,
                 reset_optimizers=True, phase=None, seed=None, generator=None, discriminator=None, **kwargs):
        self._given_networks = generator is not None or discriminator is not None
        if generator is not None:
            image_size, channels = generator.resolutions[-1], generator.channels
            latent_dim, max_filters = generator.latent_dim, generator.max_filters
            fmap_base = generator.fmap_base
        generator = generator or ProGANGenerator(image_size, channels, latent_dim, max_filters,
                                                 fmap_base)
        discriminator = discriminator or ProGANDiscriminator(
            image_size, channels, max_filters, fmap_base, mbstd_group_size)
        schedule = GrowthSchedule(image_size, START_RESOLUTION, images_per_stage, fade_images,
                                  batch_sizes)
        super().__init__(generator, discriminator, schedule, reset_optimizers=reset_optimizers,
                         phase=phase, ema_stage_rampup=ema_stage_rampup, latent_dim=latent_dim,
                         seed=seed, ema_decay=ema_decay, **kwargs)
        self.channels = int(channels)
        self.max_filters, self.fmap_base = int(max_filters), int(fmap_base)
        self.images_per_stage = schedule.hold_images
        self.fade_images = schedule.fade_images
        self.mbstd_group_size = int(mbstd_group_size)

    def compile_defaults(self):
        return {"loss": "wasserstein", "d_steps": 1, "g_steps": 1}

    def default_optimizer(self, name):
        return keras.optimizers.Adam(1e-3, beta_1=0.0, beta_2=0.99, epsilon=1e-8, name=name)

    def default_penalties(self):
        """WGAN-GP's penalty (lambda 10) and the drift term (0.001) with the
        Wasserstein loss, as the paper; R1 (gamma 10) with another loss."""
        if self.loss_pair.name == "wasserstein":
            return [gan_losses.GradientPenalty(10.0), gan_losses.Drift(0.001)]
        return [gan_losses.R1(10.0)]

    def get_config(self):
        config = super().get_config()
        config.pop("schedule")  # it follows from the arguments below
        config.update(image_size=self.image_size, channels=self.channels,
                      max_filters=self.max_filters, fmap_base=self.fmap_base,
                      images_per_stage=self.images_per_stage, fade_images=self.fade_images,
                      batch_sizes=self.schedule.batch_sizes or None,
                      mbstd_group_size=self.mbstd_group_size,
                      ema_decay=self.ema_decay)  # None too: the default is 0.999
        return config if self._given_networks else self.without_networks(config)
