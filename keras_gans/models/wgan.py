"""Wasserstein GANs: WGAN (Arjovsky et al. 2017) and WGAN-GP (Gulrajani et al. 2017).

Both train a *critic*, a discriminator without a sigmoid whose mean score
difference `E[D(x)] - E[D(G(z))]` estimates the Wasserstein-1 distance
between the real and generated distributions when D is 1-Lipschitz (the
`"wasserstein"` loss; the trainer logs the two means as `real_score` and
`fake_score`). The critic is trained 5 times per generator update, each
time on its own real images. The two differ in how they keep it Lipschitz:

- `WGAN` clips every critic weight to [-c, c] after every critic update
  (RMSprop 5e-5, the paper's Algorithm 1).
- `WGANGP` adds the gradient penalty `lambda * E[(||grad D(x_hat)|| - 1)^2]`
  at random points between real and fake images (Adam 1e-4, betas (0, 0.9)),
  and so keeps BatchNorm out of its critic.

**What a batch is.** Both compile with `fresh_reals=True`: a dataset batch of
`d_steps * B` images is split into `d_steps` batches of B, one per critic
update, and the generator update draws B fakes. `fit(x, batch_size=5 * 64)`
is the papers' batch of 64; `gan.progress.images` counts all 320 real images
of each step. Every batch must split evenly, the last of an epoch too: give
`fit` a number of images that is a multiple of `d_steps` (or a dataset
batched with `drop_remainder=True`). Pass `compile(fresh_reals=False)` to
show every critic update the whole batch.

Where these follow the authors' code rather than the text, or differ from it:

- WGAN: `martinarjovsky/WassersteinGAN/main.py` clamps the critic *before*
  each critic update, so its generator sees the last update unclipped; here
  the clip follows each update (Algorithm 1), so the generator always sees a
  clipped critic. Both clip every parameter, BatchNorm's scale and offset
  included (its moving statistics are not parameters). Its critic is the
  DCGAN discriminator, with BatchNorm, as `DCGAN_D` there.
- WGAN-GP: the DCGAN bodies use 4x4 kernels and a convolutional score (the
  authors' `DCGANDiscriminator` in `gan_64x64.py` has 5x5 kernels and a dense
  output); the critic's layer norm is theirs (one scale and offset per
  channel). Their toy and MNIST scripts use Adam betas (0.5, 0.9), and the
  toy script a penalty weight of 0.1; the defaults here are the paper's.
"""

import keras
from keras import layers, ops

from keras_gans import losses as gan_losses
from keras_gans.gan import GAN
from keras_gans.models.dcgan import DCGAN, dcgan_discriminator, dcgan_generator

#: WGANGP's bodies: DCGAN networks for images, the paper's MLPs for 2-D toy data.
WGAN_GP_BODIES = ("dcgan", "toy")


def _relu_mlp(inputs, units, depth, outputs, prefix, name):
    x = inputs
    for i in range(depth):
        # He initialization, as the authors' ReLULayer (uniform, std sqrt(2 / fan_in)).
        x = layers.Dense(units, activation="relu", kernel_initializer="he_uniform",
                         name=f"{prefix}_dense{i}")(x)
    out = layers.Dense(outputs, dtype="float32", name=f"{prefix}_out")(x)
    return keras.Model(inputs, out, name=name)


def toy_mlp_generator(latent_dim=2, data_dim=2, units=512, depth=3, name="toy_mlp_generator"):
    """WGAN-GP's toy generator (`gan_toy.py`): z -> `depth` ReLU layers of
    `units` -> a point, with a linear output (toy data are unbounded).

    Args:
        latent_dim: size of z (2 in the paper).
        data_dim: size of a sample (2: points in the plane).
        units: width of each hidden layer.
        depth: number of hidden layers.
        name: model name.

    Example:

    >>> g = toy_mlp_generator()
    >>> g.output_shape, g.count_params()
    ((None, 2), 527874)
    """
    return _relu_mlp(keras.Input((latent_dim,), name="z"), units, depth, data_dim, "g", name)


def toy_mlp_critic(data_dim=2, units=512, depth=3, name="toy_mlp_critic"):
    """WGAN-GP's toy critic (`gan_toy.py`): a point -> `depth` ReLU layers of
    `units` -> one score.

    Args:
        data_dim: size of a sample.
        units: width of each hidden layer.
        depth: number of hidden layers.
        name: model name.

    Example:

    >>> d = toy_mlp_critic()
    >>> d.output_shape
    (None, 1)
    """
    return _relu_mlp(keras.Input((data_dim,), name="data"), units, depth, 1, "d", name)


class _WassersteinTraining:
    """What WGAN and WGAN-GP share: the Wasserstein loss and 5 critic
    updates per generator update, each on its own real images."""

    def compile_defaults(self):
        # fresh_reals: a dataset batch holds d_steps critic batches (see the module).
        return {"loss": "wasserstein", "d_steps": 5, "g_steps": 1, "fresh_reals": True}


@keras.saving.register_keras_serializable(package="keras_gans")
class WGAN(_WassersteinTraining, DCGAN):
    """WGAN (Arjovsky et al. 2017): DCGAN networks, a critic with its weights
    clipped to [-clip_value, clip_value] after every update, RMSprop 5e-5 for
    both, and 5 critic updates per generator update, each on its own real
    images (a dataset batch is 5 critic batches: see `keras_gans.models.wgan`).

    Args:
        image_size: image side (28, 32, 64, 128, ...).
        channels: 1 or 3.
        latent_dim: size of z (100, as the authors' code).
        generator_width, discriminator_width: the DCGAN `ngf` / `ndf`.
        clip_value: c; every trainable critic weight is clipped to [-c, c].
        paper_schedule: the critic schedule of the authors' code: 100 critic
            updates on the first 25 generator updates (training steps) and on
            every 500th, `d_steps` otherwise. With fresh reals, a step of 100
            updates reuses the batch's `d_steps` real parts in turn (20 times
            each at `d_steps=5`) rather than reading 100 batches.
        seed: seed of the noise SeedGenerator.
        generator, discriminator: built networks to use instead.
        **kwargs: `keras_gans.GAN` arguments (`ema_decay`, ...) and
            `keras.Model`'s (`name`).

    Example:

    ```python
    gan = kg.models.WGAN(image_size=64, channels=3)
    gan.compile()                                  # RMSprop 5e-5, 5 critic updates
    ds = kg.data.image_dataset("flowers/", image_size=64, batch_size=5 * 64)
    gan.fit(ds, epochs=100)
    ```
    """

    #: The authors' schedule (`paper_schedule`): this many critic updates on
    #: the first `WARMUP_STEPS` steps and every `BURST_INTERVAL`-th.
    BURST_UPDATES, WARMUP_STEPS, BURST_INTERVAL = 100, 25, 500

    def __init__(
        self,
        image_size=64,
        channels=3,
        latent_dim=100,
        generator_width=64,
        discriminator_width=64,
        clip_value=0.01,
        paper_schedule=False,
        seed=None,
        generator=None,
        discriminator=None,
        **kwargs,
    ):
        if not float(clip_value) > 0:
            raise ValueError(f"clip_value must be > 0 (the paper's c is 0.01), got {clip_value}.")
        super().__init__(image_size, channels, latent_dim, generator_width, discriminator_width,
                         seed=seed, generator=generator, discriminator=discriminator, **kwargs)
        self.clip_value = float(clip_value)
        self.paper_schedule = bool(paper_schedule)

    def default_optimizer(self, name):
        # The authors' torch RMSprop (alpha 0.99, eps 1e-8 added to sqrt(v)).
        # Keras adds epsilon inside the root, sqrt(v + eps): 1e-16 is the same floor.
        return keras.optimizers.RMSprop(5e-5, rho=0.99, epsilon=1e-16, name=name)

    def after_update(self, phase_name):
        hooks = super().after_update(phase_name)
        if phase_name == "discriminator":
            hooks.append(self.clip_critic)
        return hooks

    def clip_critic(self, step=None):
        """Clip every trainable critic weight to [-clip_value, clip_value]
        (an after-update hook of the critic phase)."""
        for variable in self.discriminator_variables:
            variable.assign(ops.clip(variable, -self.clip_value, self.clip_value))

    def build_phases(self):
        phases = super().build_phases()
        if self.paper_schedule:
            critic = next(phase for phase in phases if phase.name == "discriminator")
            critic.repeats = self.critic_updates
        return phases

    def critic_updates(self):
        """This step's number of critic updates under `paper_schedule` (an
        int tensor read from `progress.steps` inside the step)."""
        steps = self.progress.steps.value
        burst = ops.logical_or(steps < self.WARMUP_STEPS,
                               ops.equal(ops.mod(steps, self.BURST_INTERVAL), 0))
        return ops.where(burst, self.BURST_UPDATES, self.d_steps)

    def get_config(self):
        config = super().get_config()
        config.update(clip_value=self.clip_value, paper_schedule=self.paper_schedule)
        return config


@keras.saving.register_keras_serializable(package="keras_gans")
class WGANGP(_WassersteinTraining, GAN):
    """WGAN-GP (Gulrajani et al. 2017): the Wasserstein loss with the
    gradient penalty (`keras_gans.losses.GradientPenalty(10.0)`), a critic
    without BatchNorm, Adam 1e-4 with betas (0, 0.9), and 5 critic updates
    per generator update, each on its own real images (a dataset batch is 5
    critic batches: see `keras_gans.models.wgan`).

    Args:
        image_size: image side (28, 32, 64, 128, ...; `body="dcgan"`).
        channels: 1 or 3 (`body="dcgan"`).
        latent_dim: size of z; None: 128 for "dcgan" (the authors' image
            models), 2 for "toy", or read from a given generator.
        body: "dcgan" (the DCGAN generator and, as critic, the DCGAN
            discriminator with `critic_norm`) or "toy" (`toy_mlp_generator`
            and `toy_mlp_critic`, for points in the plane).
        critic_norm: "layer" (the authors' layer norm, as in their 64x64
            models) or None (no normalization, as in their MNIST model).
            BatchNorm is refused: it makes an image's score depend on the
            rest of its batch, which the per-image penalty does not allow for.
        generator_width, discriminator_width: the DCGAN `ngf` / `ndf`.
        data_dim, units, depth: the toy MLPs' sample size, widths and depth.
        seed: seed of the SeedGenerator (noise and the penalty's mixing).
        generator, discriminator: built networks to use instead.
        **kwargs: `keras_gans.GAN` arguments (`ema_decay`, ...) and
            `keras.Model`'s (`name`).

    Example:

    ```python
    gan = kg.models.WGANGP(image_size=64, channels=3)
    gan.compile()                      # Adam(1e-4, 0, 0.9), lambda 10, 5 critic updates
    gan.fit(kg.data.image_dataset("flowers/", image_size=64, batch_size=5 * 64), epochs=100)

    toy = kg.models.WGANGP(body="toy")  # 2-D points, e.g. a ring of Gaussians
    toy.compile()
    toy.fit(points, batch_size=5 * 256, epochs=50)
    ```
    """

    def __init__(
        self,
        image_size=64,
        channels=3,
        latent_dim=None,
        body="dcgan",
        critic_norm="layer",
        generator_width=64,
        discriminator_width=64,
        data_dim=2,
        units=512,
        depth=3,
        seed=None,
        generator=None,
        discriminator=None,
        **kwargs,
    ):
        if body not in WGAN_GP_BODIES:
            raise ValueError(f"body must be one of {WGAN_GP_BODIES}, got {body!r}.")
        if critic_norm not in ("layer", None):
            raise ValueError(
                f"critic_norm must be 'layer' or None, got {critic_norm!r}: WGAN-GP "
                "penalizes each image's gradient, and BatchNorm ties an image's score "
                "to the rest of its batch."
            )
        # Given networks (e.g. from a config written by `GAN.get_config`)
        # replace the built ones, and are saved with the config.
        self._given_networks = generator is not None or discriminator is not None
        if latent_dim is None and generator is None:
            latent_dim = 2 if body == "toy" else 128
        if body == "toy":
            if generator is not None:
                data_dim = generator.output_shape[-1]
            generator = generator or toy_mlp_generator(latent_dim, data_dim, units, depth)
            discriminator = discriminator or toy_mlp_critic(data_dim, units, depth)
        else:
            if generator is not None:
                image_size, _, channels = generator.output_shape[1:]
            generator = generator or dcgan_generator(image_size, channels, latent_dim,
                                                     generator_width)
            discriminator = discriminator or dcgan_discriminator(
                image_size, channels, discriminator_width, norm=critic_norm
            )
        super().__init__(generator, discriminator, latent_dim=latent_dim, seed=seed, **kwargs)
        self.image_size = image_size
        self.channels = channels
        self.body = body
        self.critic_norm = critic_norm
        self.generator_width = generator_width
        self.discriminator_width = discriminator_width
        self.data_dim = data_dim
        self.units = units
        self.depth = depth

    def default_optimizer(self, name):
        # epsilon 1e-8: TensorFlow 1's AdamOptimizer, which the authors used
        # (added to sqrt(v) as in Keras).
        return keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9, epsilon=1e-8, name=name)

    def default_penalties(self):
        return [gan_losses.GradientPenalty(10.0)]

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size,
            channels=self.channels,
            body=self.body,
            critic_norm=self.critic_norm,
            generator_width=self.generator_width,
            discriminator_width=self.discriminator_width,
            data_dim=self.data_dim,
            units=self.units,
            depth=self.depth,
        )
        return config if self._given_networks else self.without_networks(config)
