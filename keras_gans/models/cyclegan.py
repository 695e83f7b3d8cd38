"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation.

Two generators translate between domains, G: A -> B and F: B -> A, and two
discriminators tell real from translated images in each domain. Besides
the adversarial losses, translating there and back must give the input
again (the cycle-consistency loss), and a generator fed an image of its
target domain should leave it unchanged (the identity loss).

The networks follow the paper's code: a ResNet generator with reflection
padding and instance normalisation, and a 70x70 PatchGAN discriminator,
trained with least-squares losses, a history pool of 50 generated images
per domain, Adam(2e-4, beta_1=0.5) and a learning rate that decays linearly
to zero over the second half of training.

Example:

```python
import keras_gans as kg
from keras_gans.callbacks import TranslationGrid
from keras_gans.models.cyclegan import CycleGAN

ds = kg.data.unpaired_dataset("daisy2sunflower/", image_size=128)
steps = 100 * int(ds.cardinality())
gan = CycleGAN(image_size=128)
gan.compile(total_steps=steps)  # linear decay over the second half
gan.fit(ds, epochs=100)
sunflowers = gan.translate(daisies_uint8)  # uint8 in, uint8 out
```
"""

import numpy as np

import keras
from keras import layers, ops

from keras_gans import images as image_utils
from keras_gans.gan import GAN, Phase
from keras_gans.layers import ImagePool, ReflectionPadding2D
from keras_gans.optimizers import LinearDecay

# -- networks -----------------------------------------------------------------


def _weights():
    # The paper's code initialises every convolution with N(0, 0.02).
    return keras.initializers.RandomNormal(0.0, 0.02)


def _instance_norm(name):
    # One group per channel is instance normalisation. epsilon as in PyTorch.
    return layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


def resnet_generator(
    image_size=128,
    channels=3,
    filters=64,
    num_residual_blocks=None,
    name="resnet_generator",
):
    """CycleGAN's ResNet generator: an image -> an image of the same size.

    `c7s1-64, d128, d256, R256 x n, u128, u64, c7s1-3` in the paper's
    notation: a 7x7 convolution, two stride-2 downsamplings, `n` residual
    blocks, two stride-2 upsamplings and a 7x7 convolution to `tanh`, with
    reflection padding and instance normalisation throughout. Convolutions
    have no bias: instance normalisation would subtract it again.

    Args:
        image_size: side of the (square) images; a multiple of 4.
        channels: image channels, in and out.
        filters: channels of the first convolution (`ngf`); doubled by each
            downsampling.
        num_residual_blocks: residual blocks; default 6 up to 128 px and 9
            above, as in the paper.
        name: model name.

    Example:

    >>> g = resnet_generator(128)
    >>> g.output_shape
    (None, 128, 128, 3)
    """
    if int(image_size) % 4:
        raise ValueError(f"image_size must be a multiple of 4, got {image_size}.")
    if num_residual_blocks is None:
        num_residual_blocks = 6 if image_size <= 128 else 9
    images = keras.Input((image_size, image_size, channels), name="image")
    x = ReflectionPadding2D(3, name="g_in_pad")(images)
    x = layers.Conv2D(filters, 7, use_bias=False, kernel_initializer=_weights(), name="g_in_conv")(x)
    x = _instance_norm("g_in_norm")(x)
    x = layers.ReLU(name="g_in_relu")(x)
    for i in (1, 2):
        x = layers.Conv2D(
            filters * 2**i, 3, 2, "same", use_bias=False, kernel_initializer=_weights(),
            name=f"g_down{i}",
        )(x)
        x = _instance_norm(f"g_down{i}_norm")(x)
        x = layers.ReLU(name=f"g_down{i}_relu")(x)
    width = filters * 4
    for i in range(1, num_residual_blocks + 1):
        skip = x
        for j in (1, 2):
            x = ReflectionPadding2D(1, name=f"g_res{i}_pad{j}")(x)
            x = layers.Conv2D(
                width, 3, use_bias=False, kernel_initializer=_weights(), name=f"g_res{i}_conv{j}"
            )(x)
            x = _instance_norm(f"g_res{i}_norm{j}")(x)
            if j == 1:
                x = layers.ReLU(name=f"g_res{i}_relu")(x)
        x = layers.Add(name=f"g_res{i}_add")([skip, x])
    for i in (1, 2):
        x = layers.Conv2DTranspose(
            width // 2**i, 3, 2, "same", use_bias=False, kernel_initializer=_weights(),
            name=f"g_up{i}",
        )(x)
        x = _instance_norm(f"g_up{i}_norm")(x)
        x = layers.ReLU(name=f"g_up{i}_relu")(x)
    x = ReflectionPadding2D(3, name="g_out_pad")(x)
    x = layers.Conv2D(channels, 7, kernel_initializer=_weights(), name="g_out_conv")(x)
    outputs = layers.Activation("tanh", dtype="float32", name="g_tanh")(x)
    return keras.Model(images, outputs, name=name)


def patchgan_discriminator(
    image_size=128, channels=3, filters=64, num_layers=3, name="patchgan_discriminator"
):
    """The PatchGAN discriminator: an image -> a map of logits, one per patch.

    With `num_layers=3` each logit sees a 70x70 patch: `C64-C128-C256-C512`
    (4x4 convolutions, stride 2 except the last, LeakyReLU 0.2, instance
    normalisation except on the first) and a 4x4 convolution to one channel.
    Padding 1 on every convolution as in the paper's code, so a 256 px image
    gives a 30x30 map (128 px: 14x14).

    Args:
        image_size: side of the input images.
        channels: image channels.
        filters: channels of the first convolution (`ndf`), doubled per
            layer up to 8x.
        num_layers: stride-2 layers; 3 gives the 70x70 receptive field.
        name: model name.

    Example:

    >>> d = patchgan_discriminator(256)
    >>> d.output_shape
    (None, 30, 30, 1)
    """
    images = keras.Input((image_size, image_size, channels), name="image")
    x = images
    for i in range(num_layers + 1):
        stride = 2 if i < num_layers else 1
        x = layers.ZeroPadding2D(1, name=f"d_pad{i}")(x)
        x = layers.Conv2D(
            filters * 2 ** min(i, 3), 4, stride, use_bias=(i == 0),
            kernel_initializer=_weights(), name=f"d_conv{i}",
        )(x)
        if i > 0:
            x = _instance_norm(f"d_norm{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"d_lrelu{i}")(x)
    x = layers.ZeroPadding2D(1, name="d_score_pad")(x)
    logits = layers.Conv2D(
        1, 4, kernel_initializer=_weights(), dtype="float32", name="d_score"
    )(x)
    return keras.Model(images, logits, name=name)


# -- optimizers and losses -----------------------------------------------------


def _mean_abs(x, y):
    return ops.mean(ops.abs(ops.cast(x, "float32") - ops.cast(y, "float32")))




# -- the model ------------------------------------------------------------------

# keras_gans' least-squares generator loss is LSGAN's 0.5 * (D(G(a)) - 1)^2;
# the paper's code uses the plain mean squared error (D(G(a)) - 1)^2 and sets
# the cycle and identity weights against it, so the adversarial terms are
# doubled to keep its balance.
_ADVERSARIAL_SCALE = 2.0


@keras.saving.register_keras_serializable(package="keras_gans")
class CycleGAN(GAN):
    """Unpaired image-to-image translation between domains A and B.

    Trains on batches `(a_images, b_images)` in [-1, 1] (or uint8), e.g.
    from `keras_gans.data.unpaired_dataset`. A step updates both
    discriminators, then both generators, as every `keras_gans.GAN` does.

    Networks: `generator_ab` (G: A -> B), `generator_ba` (F: B -> A),
    `discriminator_a` (real A vs F(b)) and `discriminator_b` (real B vs
    G(a)). Metrics: `g_ab_loss`, `g_ba_loss` (adversarial losses of G and
    F), `d_a_loss`, `d_b_loss`, and `cycle_loss`, `identity_loss` (the
    unweighted L1 terms, summed over both directions; `identity_loss` is 0,
    and not computed, when `identity_weight=0`).

    Args:
        image_size: side of the square images; a multiple of 4.
        channels: image channels of both domains.
        generator_filters: `ngf` of the ResNet generators.
        discriminator_filters: `ndf` of the PatchGAN discriminators.
        num_residual_blocks: generator residual blocks; default 6 up to
            128 px, 9 above.
        discriminator_layers: stride-2 layers of the PatchGANs (3: 70x70).
        cycle_weight: lambda, the weight of the cycle-consistency loss.
        identity_weight: the weight of the identity loss; default
            `0.5 * cycle_weight`, as in the paper. 0 disables it.
        pool_size: generated images kept per domain for the discriminators
            (`ImagePool`); 0 disables the history.
        seed: seed of the model's SeedGenerator (pool draws).
        generator_ab, generator_ba, discriminator_a, discriminator_b: custom
            networks, replacing the built-in ones.
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Example:

    ```python
    gan = CycleGAN(image_size=128)
    gan.compile(total_steps=epochs * steps_per_epoch)
    gan.fit(kg.data.unpaired_dataset("horse2zebra/", image_size=128), epochs=epochs)
    zebras = gan.translate(horses)                       # A -> B
    horses_again = gan.translate(zebras, direction="b_to_a")
    ```
    """

    def __init__(
        self,
        image_size=128,
        channels=3,
        generator_filters=64,
        discriminator_filters=64,
        num_residual_blocks=None,
        discriminator_layers=3,
        cycle_weight=10.0,
        identity_weight=None,
        pool_size=50,
        seed=None,
        generator_ab=None,
        generator_ba=None,
        discriminator_a=None,
        discriminator_b=None,
        **kwargs,
    ):
        if num_residual_blocks is None:
            num_residual_blocks = 6 if image_size <= 128 else 9

        def generator(name):
            return resnet_generator(
                image_size, channels, generator_filters, num_residual_blocks, name=name
            )

        def discriminator(name):
            return patchgan_discriminator(
                image_size, channels, discriminator_filters, discriminator_layers, name=name
            )

        generator_ab = _deserialize(generator_ab) or generator("generator_ab")
        generator_ba = _deserialize(generator_ba) or generator("generator_ba")
        discriminator_a = _deserialize(discriminator_a) or discriminator("discriminator_a")
        discriminator_b = _deserialize(discriminator_b) or discriminator("discriminator_b")
        # GAN keeps one generator and one discriminator: G and D_B. CycleGAN
        # draws no latent noise, hence latent_dim=0.
        super().__init__(generator_ab, discriminator_b, latent_dim=0, seed=seed, **kwargs)
        self.generator_ba = generator_ba
        self.discriminator_a = discriminator_a
        self.check_networks(generator_ba=generator_ba, discriminator_a=discriminator_a)
        self.image_size = int(image_size)
        self.channels = int(channels)
        self.generator_filters = generator_filters
        self.discriminator_filters = discriminator_filters
        self.num_residual_blocks = num_residual_blocks
        self.discriminator_layers = discriminator_layers
        self.cycle_weight = float(cycle_weight)
        self.identity_weight = (
            0.5 * self.cycle_weight if identity_weight is None else float(identity_weight)
        )
        self.pool_size = int(pool_size)
        image_shape = (None, self.image_size, self.image_size, self.channels)
        self.pool_a = ImagePool(pool_size, name="pool_a")
        self.pool_b = ImagePool(pool_size, name="pool_b")
        self.pool_a.build(image_shape)
        self.pool_b.build(image_shape)

    # The GAN base class calls G `generator` and D_B `discriminator`.
    @property
    def generator_ab(self):
        """G: translates domain A to domain B."""
        return self.generator

    @property
    def discriminator_b(self):
        """D_B: real B images vs G(a)."""
        return self.discriminator

    # -- compile -------------------------------------------------------------

    #: G, F, D_A and D_B's optimizers, in the order of `networks()`.
    optimizer_names = ("g_ab_optimizer", "g_ba_optimizer", "d_a_optimizer", "d_b_optimizer")

    def compile(self, learning_rate=2e-4, total_steps=None, **kwargs):
        """Configure training: four optimizers, one per network.

        Args:
            learning_rate: the default optimizers' initial rate.
            total_steps: steps of the whole run (epochs x steps per epoch):
                the default optimizers then decay linearly to zero over the
                second half. None keeps the rate constant.
            **kwargs: `keras_gans.GAN.compile`'s: `g_ab_optimizer`,
                `g_ba_optimizer`, `d_a_optimizer`, `d_b_optimizer` (the
                optimizers of G, F, D_A and D_B; default
                `Adam(learning_rate, beta_1=0.5)`, with `LinearDecay` when
                `total_steps` is given), `loss` (the adversarial pair; the
                paper's "least_squares"), `jit_compile`, ...
        """
        self._learning_rate, self._total_steps = float(learning_rate), total_steps
        super().compile(**kwargs)

    def compile_defaults(self):
        return {"loss": "least_squares", "d_steps": 1, "g_steps": 1}

    def default_optimizer(self, name):
        rate = self._learning_rate
        if self._total_steps:
            rate = LinearDecay(rate, self._total_steps)
        return keras.optimizers.Adam(rate, beta_1=0.5, name=name)

    def build_phases(self):
        """Both discriminators, then both generators; each phase takes one
        gradient of its joint loss, and each network's optimizer applies its
        part (Adam is elementwise: the same as the paper's one Adam over both
        networks)."""
        return [
            Phase("discriminators", networks=("discriminator_a", "discriminator_b"),
                  optimizers=("d_a_optimizer", "d_b_optimizer"),
                  loss=lambda step, repeat: self.discriminator_loss(*step.batch),
                  logs=("d_a_loss", "d_b_loss"), repeats=self.d_steps),
            Phase("generators", networks=("generator_ab", "generator_ba"),
                  optimizers=("g_ab_optimizer", "g_ba_optimizer"),
                  loss=lambda step, repeat: self.generator_loss(*step.batch),
                  logs=("g_ab_loss", "g_ba_loss", "cycle_loss", "identity_loss"),
                  repeats=self.g_steps),
        ]

    def set_total_steps(self, total_steps):
        """Make every optimizer's `LinearDecay` end at `total_steps`, as if
        compiled with it (the decay starting halfway): for a resumed run
        asked to train longer or shorter than it was compiled for.

        Returns the number of optimizers whose schedule changed.
        """
        changed = 0
        for key in self.optimizer_names:
            optimizer = getattr(self, key)
            optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # loss scaling
            schedule = optimizer._learning_rate
            if isinstance(schedule, LinearDecay) and schedule.total_steps != int(total_steps):
                optimizer.learning_rate = LinearDecay(schedule.initial_learning_rate, total_steps)
                changed += 1
        if changed:  # A compiled step holds the old schedule's constants.
            self.train_function = None
        return changed

    def networks(self):
        """G, F, D_A, D_B: in the order of `optimizer_names`."""
        return {
            "generator_ab": self.generator_ab,
            "generator_ba": self.generator_ba,
            "discriminator_a": self.discriminator_a,
            "discriminator_b": self.discriminator_b,
        }

    @property
    def latents(self):
        return []  # A CycleGAN translates; it draws no latent inputs.

    @property
    def generator_variables(self):
        return self.generator_ab.trainable_variables + self.generator_ba.trainable_variables

    @property
    def discriminator_variables(self):
        return self.discriminator_a.trainable_variables + self.discriminator_b.trainable_variables

    # -- data ----------------------------------------------------------------

    def unpack_batch(self, data):
        """A batch is `(a_images, b_images)`; uint8 is scaled to [-1, 1]."""
        if isinstance(data, (tuple, list)) and len(data) == 3 and data[2] is None:
            data = data[:2]  # train_on_batch(a, b) adds an empty sample_weight.
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError(
                "CycleGAN trains on (a_images, b_images) batches, e.g. from "
                "keras_gans.data.unpaired_dataset(a, b)."
            )
        return tuple(self.batch_images(images) for images in data)

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`, after checking that the data holds two domains
        of images of the model's size (a mistake should not surface as a
        shape error deep in a traced step)."""
        self._check_training_data(x, y)
        return super().fit(x, y, *args, **kwargs)

    def _check_training_data(self, x, y):
        expected = (self.image_size, self.image_size, self.channels)
        if x is not None and hasattr(x, "element_spec"):  # a tf.data.Dataset
            spec = x.element_spec
            if not isinstance(spec, tuple) or len(spec) != 2:
                raise ValueError(
                    "CycleGAN.fit needs a dataset of (a_images, b_images) pairs "
                    f"(both domains); got elements {spec}. Use "
                    "keras_gans.data.unpaired_dataset(a, b)."
                )
            shapes = [tuple(s.shape[-3:]) for s in spec]
        elif isinstance(x, np.ndarray) or (x is not None and hasattr(x, "shape")):
            if y is None:
                raise ValueError(
                    "CycleGAN.fit needs images of both domains: fit(a_images, b_images)."
                )
            shapes = [tuple(np.shape(x)[-3:]), tuple(np.shape(y)[-3:])]
        else:
            return  # Generators and PyDatasets are checked at the first step.
        for name, shape in zip("AB", shapes):
            if tuple(shape) != expected:
                raise ValueError(
                    f"Domain {name} images have shape {shape}; this CycleGAN "
                    f"takes {expected} (image_size={self.image_size})."
                )

    # -- losses --------------------------------------------------------------

    def discriminator_loss(self, real_a, real_b, training=True):
        """Both discriminators' losses, on real images and on translated
        images drawn through the history pools. Returns `(loss, logs)`."""
        fake_b = ops.stop_gradient(self.generator_ab(real_a, training=training))
        fake_a = ops.stop_gradient(self.generator_ba(real_b, training=training))
        if training:
            fake_a = self.pool_a(fake_a, seed=self.seed_generator)
            fake_b = self.pool_b(fake_b, seed=self.seed_generator)
        d_a_loss = self.loss_pair.discriminator(
            self.discriminator_a(real_a, training=training),
            self.discriminator_a(fake_a, training=training),
        )
        d_b_loss = self.loss_pair.discriminator(
            self.discriminator_b(real_b, training=training),
            self.discriminator_b(fake_b, training=training),
        )
        loss = d_a_loss + d_b_loss
        regularization = self.regularization_loss(self.discriminator_a, self.discriminator_b)
        if regularization is not None:
            loss = loss + regularization
        return loss, {"d_a_loss": d_a_loss, "d_b_loss": d_b_loss}

    def generator_loss(self, real_a, real_b, training=True):
        """Both generators' objective: adversarial + lambda * cycle +
        identity_weight * identity. Returns `(loss, logs)`.

        Unlike `GAN.generator_loss(fake, ...)`, it takes the real images of
        both domains: they are what the cycles reconstruct.
        """
        fake_b = self.generator_ab(real_a, training=training)
        fake_a = self.generator_ba(real_b, training=training)
        g_ab_loss = _ADVERSARIAL_SCALE * self.loss_pair.generator(
            self.discriminator_b(fake_b, training=training)
        )
        g_ba_loss = _ADVERSARIAL_SCALE * self.loss_pair.generator(
            self.discriminator_a(fake_a, training=training)
        )
        cycle_loss = _mean_abs(self.generator_ba(fake_b, training=training), real_a) + _mean_abs(
            self.generator_ab(fake_a, training=training), real_b
        )
        loss = g_ab_loss + g_ba_loss + self.cycle_weight * cycle_loss
        if self.identity_weight:
            identity_loss = _mean_abs(self.generator_ab(real_b, training=training), real_b) + (
                _mean_abs(self.generator_ba(real_a, training=training), real_a)
            )
            loss = loss + self.identity_weight * identity_loss
        else:  # Skipped, not just weighted by zero: it costs two generator passes.
            identity_loss = ops.zeros((), "float32")
        regularization = self.regularization_loss(self.generator_ab, self.generator_ba)
        if regularization is not None:
            loss = loss + regularization
        logs = {
            "g_ab_loss": g_ab_loss,
            "g_ba_loss": g_ba_loss,
            "cycle_loss": cycle_loss,
            "identity_loss": identity_loss,
        }
        return loss, logs

    def gan_test_step(self, data):
        real_a, real_b = self.unpack_batch(data)
        _, logs = self.discriminator_loss(real_a, real_b, training=False)
        logs.update(self.generator_loss(real_a, real_b, training=False)[1])
        return self._update_trackers(logs)

    # -- inference -----------------------------------------------------------

    def translate(self, images, direction="a_to_b", batch_size=16):
        """Translate images between the domains.

        Args:
            images: `(n, H, W, C)` or one `(H, W, C)` image, at the model's
                size; uint8 (0..255) or float in [-1, 1].
            direction: "a_to_b" (G) or "b_to_a" (F).
            batch_size: images per generator call.

        Returns:
            NumPy images of the input's shape and kind: uint8 for uint8
            input, float32 in [-1, 1] otherwise.
        """
        generators = {"a_to_b": self.generator_ab, "b_to_a": self.generator_ba}
        if direction not in generators:
            raise ValueError(f"direction must be 'a_to_b' or 'b_to_a', got {direction!r}.")
        images = np.asarray(images)
        single = images.ndim == 3
        batch = images[None] if single else images
        expected = (self.image_size, self.image_size, self.channels)
        if batch.ndim != 4 or batch.shape[1:] != expected:
            raise ValueError(f"Expected images of shape (n, *{expected}), got {images.shape}.")
        x = image_utils.to_unit_range(batch)
        out = np.concatenate(
            [
                ops.convert_to_numpy(generators[direction](x[i : i + batch_size], training=False))
                for i in range(0, len(x), batch_size)
            ]
        ).astype("float32")
        if images.dtype == np.uint8:
            out = image_utils.to_uint8(out)
        return out[0] if single else out

    def call(self, inputs, training=False):
        """G(inputs): what `predict` runs."""
        return self.generator_ab(inputs, training=training)

    def generate(self, *args, **kwargs):
        raise NotImplementedError(
            "CycleGAN translates images rather than sampling them: use "
            "translate(images, direction='a_to_b' or 'b_to_a')."
        )

    def grid_inputs(self, num_samples, seed=0, truncation=None):
        raise ValueError(
            "A CycleGAN grid needs test images of both domains: use "
            "kg.callbacks.TranslationGrid(directory, images_a, images_b) instead of SampleGrid."
        )

    def grid_images(self, inputs):
        """Rows `a, G(a), F(G(a))` for each test image of A, then
        `b, F(b), G(F(b))` for each of B; 3 columns."""
        images_a, images_b = (image_utils.to_unit_range(x) for x in inputs)
        fake_b = self.translate(images_a, "a_to_b")
        fake_a = self.translate(images_b, "b_to_a")
        rows = [np.stack([images_a, fake_b, self.translate(fake_b, "b_to_a")], axis=1)]
        rows.append(np.stack([images_b, fake_a, self.translate(fake_a, "a_to_b")], axis=1))
        grid = np.concatenate(rows).reshape(-1, *images_a.shape[1:])
        return grid, 3

    # -- serialization -------------------------------------------------------

    def get_config(self):
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "image_size": self.image_size,
            "channels": self.channels,
            "generator_filters": self.generator_filters,
            "discriminator_filters": self.discriminator_filters,
            "num_residual_blocks": self.num_residual_blocks,
            "discriminator_layers": self.discriminator_layers,
            "cycle_weight": self.cycle_weight,
            "identity_weight": self.identity_weight,
            "pool_size": self.pool_size,
            "seed": self.seed,
        }
        # The networks too, so that custom ones come back.
        config.update(self.network_config())
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _deserialize(network):
    if isinstance(network, dict):
        return keras.saving.deserialize_keras_object(network)
    return network
