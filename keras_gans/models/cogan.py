"""CoGAN (Liu & Tuzel 2016): coupled GANs that learn a joint distribution of
two image domains from unpaired images.

Two GANs, one per domain, share weights: the generators their first layers
(which decode z into the high-level content of an image), the discriminators
their last layers (which judge that content). Trained on two sets of images
with no pairs between them, one z then gives a *pair*: the same content
rendered in each domain (a digit and its edge map, a face with and without
glasses).

Here the tying is literal: each shared layer is one Keras layer, whose
variables both domains use.

- The generator is one network `z -> (images_a, images_b)`: its shared
  layers run once on z and feed two heads, the layers of each domain. (Two
  generators of the same z would compute the shared layers twice, to the
  same result.) `generate`, the EMA, sample grids and exports take the pair.
- The discriminator is one network `(images_a, images_b) -> (logits_a,
  logits_b)`: each domain's first layers, then the shared layers, called on
  each domain's features in turn.

A step is the trainer's: a discriminator update on both domains' real and
generated images, then a generator update, each with one optimizer and the
losses summed over the domains. A shared variable is one variable, so it is
updated once, with the sum of both domains' gradients.

The bodies are DCGAN's (`keras_gans.models.dcgan`) at 28, 32, 64 px (any
`b * 2**k`, b in 4..7), trained as the paper's code trains: non-saturating
loss, Adam(2e-4, beta_1=0.5, beta_2=0.999), one update of each per batch.
`shared_generator_layers` and `shared_discriminator_layers` default to the
paper's choice, everything but the generator's last layer and the
discriminator's first; 0 and 0 make two independent GANs that only draw the
same z (the control: no correspondence).

Example:

```python
import keras_gans as kg

(digits, _), (edges, _) = kg.data.mnist_domains("mnist.npz", pair="edges")
ds = kg.data.unpaired_dataset(digits, edges, image_size=28, channels=1, batch_size=64,
                              jitter=False, flip=False)
gan = kg.models.CoGAN(image_size=28, channels=(1, 1))
gan.compile()
gan.fit(ds, epochs=5)
digits, their_edges = gan.generate(16, seed=0)   # two (16, 28, 28, 1) arrays
```
"""

import dataclasses
import math

import numpy as np

import keras
from keras import layers, ops

from keras_gans import backend as gan_backend
from keras_gans.gan import GAN
from keras_gans.models.dcgan import _batch_norm, _stages

DOMAINS = ("a", "b")


# -- networks -----------------------------------------------------------------


def layer_count(image_size):
    """Layers of the DCGAN bodies at `image_size` (the generator's and the
    discriminator's alike): one per doubling, and the projection of z (in
    the discriminator: the score).

    Example:

    >>> layer_count(28), layer_count(32), layer_count(64)
    (3, 4, 5)
    """
    return _stages(image_size)[1] + 1


def _shared_count(shared, image_size, network):
    count = layer_count(image_size)
    if shared is None:  # The paper's: all but the generator's last, the discriminator's first.
        return count - 1
    if not 0 <= int(shared) < count:
        own = "last" if network == "generator" else "first"
        raise ValueError(
            f"shared_{network}_layers must lie in 0..{count - 1}: the {network} has {count} "
            f"layers at {image_size} px, and its {own} one belongs to each domain; got {shared}."
        )
    return int(shared)


def _channel_pair(channels):
    pair = (channels, channels) if np.ndim(channels) == 0 else tuple(channels)
    if len(pair) != 2 or any(int(c) not in (1, 3) for c in pair):
        raise ValueError(
            f"channels must be 1 or 3 per domain, e.g. (1, 1) or (3, 3); got {channels!r}."
        )
    return tuple(int(c) for c in pair)


def _run(stage, x):
    for layer in stage:
        x = layer(x)
    return x


def _generator_stage(i, image_size, width, channels, suffix):
    """The layers of the DCGAN generator's stage `i`: the projection of z,
    an upsampling, or (last) the image; names end in `suffix`."""
    base, doublings = _stages(image_size)
    if i == doublings:
        return [layers.Conv2DTranspose(channels, 4, 2, "same", use_bias=False,
                                       name=f"g_to_image{suffix}"),
                # tanh in float32 so images keep full precision under mixed precision.
                layers.Activation("tanh", dtype="float32", name=f"g_tanh{suffix}")]
    filters = width * 2 ** (doublings - 1 - i)
    if i == 0:  # Projecting z: a base x base transposed convolution of a 1x1 map.
        conv = layers.Conv2DTranspose(filters, base, 1, "valid", use_bias=False,
                                      name=f"g_project{suffix}")
    else:
        conv = layers.Conv2DTranspose(filters, 4, 2, "same", use_bias=False, name=f"g_up{i}{suffix}")
    return [conv, _batch_norm(f"{conv.name}_bn"), layers.ReLU(name=f"{conv.name}_relu")]


def _discriminator_stage(i, image_size, width, suffix):
    """The layers of the DCGAN discriminator's stage `i`: a downsampling
    (BatchNorm after all but the first), or (last) the score."""
    base, doublings = _stages(image_size)
    if i == doublings:
        # The score in float32: one number per image, kept precise under mixed precision.
        return [layers.Conv2D(1, base, 1, "valid", use_bias=False, dtype="float32",
                              name=f"d_score{suffix}"),
                layers.Flatten(dtype="float32", name=f"d_logits{suffix}")]
    conv = layers.Conv2D(width * 2**i, 4, 2, "same", use_bias=False, name=f"d_down{i}{suffix}")
    norm = [_batch_norm(f"{conv.name}_bn")] if i > 0 else []
    return [conv, *norm, layers.LeakyReLU(0.2, name=f"{conv.name}_lrelu")]


def cogan_generator(image_size=28, channels=(1, 1), latent_dim=100, width=64, shared_layers=None,
                    name="cogan_generator"):
    """CoGAN's coupled generators as one network: z -> (images_a, images_b).

    The DCGAN generator's first `shared_layers` layers are one trunk, run
    once on z; its remaining layers are each domain's own (their names end
    in `_a`, `_b`).

    Args:
        image_size: output side; 28, 32, 64, ... (`b * 2**k`, b in 4..7).
        channels: image channels of each domain, `(c_a, c_b)` with 1 or 3
            (an int: the same for both).
        latent_dim: size of z.
        width: channels of the last hidden stage, doubling towards z (`ngf`).
        shared_layers: layers of the trunk, 0 to `layer_count(image_size) -
            1`; default all but the last, as in the paper. 0: two generators
            that share nothing but z.
        name: model name.

    Example:

    >>> g = cogan_generator(28, (1, 1), latent_dim=100)
    >>> [shape for shape in g.output_shape]
    [(None, 28, 28, 1), (None, 28, 28, 1)]
    >>> images_a, images_b = g(keras.random.normal((4, 100)))
    """
    shared = _shared_count(shared_layers, image_size, "generator")
    z = keras.Input((latent_dim,), name="z")
    trunk = layers.Reshape((1, 1, latent_dim), name="g_reshape")(z)
    for i in range(shared):
        trunk = _run(_generator_stage(i, image_size, width, None, ""), trunk)
    outputs = []
    for domain, domain_channels in zip(DOMAINS, _channel_pair(channels)):
        x = trunk
        for i in range(shared, layer_count(image_size)):
            x = _run(_generator_stage(i, image_size, width, domain_channels, f"_{domain}"), x)
        outputs.append(x)
    return keras.Model(z, outputs, name=name)


def cogan_discriminator(image_size=28, channels=(1, 1), width=64, shared_layers=None,
                        name="cogan_discriminator"):
    """CoGAN's coupled discriminators as one network:
    `[images_a, images_b] -> [logits_a, logits_b]`, one logit per image.

    Each domain has the DCGAN discriminator's first layers to itself (names
    ending in `_a`, `_b`); its last `shared_layers` layers are one set of
    layers, called on each domain's features in turn (BatchNorm statistics
    per domain's batch).

    Args:
        image_size: input side (as for `cogan_generator`).
        channels: image channels of each domain, `(c_a, c_b)`.
        width: channels of the first stage, doubling per stage (`ndf`).
        shared_layers: shared last layers, 0 to `layer_count(image_size) -
            1`; default all but the first, as in the paper.
        name: model name.

    Example:

    >>> d = cogan_discriminator(28, (1, 1))
    >>> logits_a, logits_b = d([keras.ops.zeros((4, 28, 28, 1))] * 2)
    >>> tuple(logits_a.shape)
    (4, 1)
    """
    shared = _shared_count(shared_layers, image_size, "discriminator")
    count = layer_count(image_size)
    inputs = [keras.Input((image_size, image_size, c), name=f"images_{domain}")
              for domain, c in zip(DOMAINS, _channel_pair(channels))]
    branches = []
    for domain, x in zip(DOMAINS, inputs):
        for i in range(count - shared):
            x = _run(_discriminator_stage(i, image_size, width, f"_{domain}"), x)
        branches.append(x)
    for i in range(count - shared, count):
        stage = _discriminator_stage(i, image_size, width, "")  # one set of layers, both domains
        branches = [_run(stage, x) for x in branches]
    return keras.Model(inputs, branches, name=name)


# -- the model ------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="keras_gans")
class CoGAN(GAN):
    """Coupled GANs: a joint distribution of two image domains, learnt from
    unpaired images of each (Liu & Tuzel 2016).

    Trains on batches `(images_a, images_b)` (e.g. `keras_gans.data.
    unpaired_dataset(a, b)`, or `fit(images_a, images_b)`); `generate`
    returns pairs `(images_a, images_b)` made from the same latents, and
    `keras_gans.export.export_generator` serves both (`images_a`,
    `images_b`). Metrics: `d_loss`, `g_loss` (summed over the domains), each
    domain's `d_a_loss`, `d_b_loss`, `g_a_loss`, `g_b_loss`, and `d_real`,
    `d_fake` over both domains.

    Args:
        image_size: image side of both domains (28, 32, 64, ...).
        channels: image channels of each domain, `(c_a, c_b)`, 1 or 3 each
            (an int: the same for both).
        latent_dim: size of z.
        generator_width: the generators' `ngf`.
        discriminator_width: the discriminators' `ndf`.
        shared_generator_layers: the generators' shared first layers
            (default: all but the last); 0 ties none.
        shared_discriminator_layers: the discriminators' shared last layers
            (default: all but the first); 0 ties none.
        seed: seed of the model's SeedGenerator (all noise).
        generator, discriminator: networks to use instead of the built ones:
            a generator `z -> [images_a, images_b]` and a discriminator
            `[images_a, images_b] -> [logits_a, logits_b]`, tied as you
            like (the image size and channels are read from the generator).
        **kwargs: `keras_gans.GAN`'s (`ema_decay`, ...; not `augment`) and
            `keras.Model`'s (`name`).

    Example:

    ```python
    gan = kg.models.CoGAN(image_size=64, channels=(3, 3))
    gan.compile()                 # non-saturating, Adam(2e-4, 0.5, 0.999)
    gan.fit(kg.data.unpaired_dataset("daisies/", "sunflowers/", image_size=64,
                                     batch_size=64, jitter=False), epochs=50)
    daisies, sunflowers = gan.generate(8, seed=0)   # pairs from the same z
    ```
    """

    def __init__(
        self,
        image_size=28,
        channels=(1, 1),
        latent_dim=100,
        generator_width=64,
        discriminator_width=64,
        shared_generator_layers=None,
        shared_discriminator_layers=None,
        seed=None,
        generator=None,
        discriminator=None,
        **kwargs,
    ):
        if kwargs.get("augment"):
            raise ValueError("CoGAN does not augment its pairs (augment=, ada_target=); "
                             "train it without them.")
        self._given_networks = generator is not None or discriminator is not None
        if generator is not None:
            _check_pair_network(generator, "generator", outputs=2)
            image_size = generator.output_shape[0][1]
            channels = tuple(shape[-1] for shape in generator.output_shape)
        else:
            shared_generator_layers = _shared_count(shared_generator_layers, image_size, "generator")
            generator = cogan_generator(image_size, channels, latent_dim, generator_width,
                                        shared_generator_layers)
        if discriminator is not None:
            _check_pair_network(discriminator, "discriminator", inputs=2, outputs=2)
        else:
            shared_discriminator_layers = _shared_count(shared_discriminator_layers, image_size,
                                                        "discriminator")
            discriminator = cogan_discriminator(image_size, channels, discriminator_width,
                                                shared_discriminator_layers)
        super().__init__(generator, discriminator, latent_dim=latent_dim, seed=seed, **kwargs)
        self.image_size = int(image_size)
        self.channels = _channel_pair(channels)
        self.generator_width = generator_width
        self.discriminator_width = discriminator_width
        self.shared_generator_layers = shared_generator_layers
        self.shared_discriminator_layers = shared_discriminator_layers

    @property
    def image_names(self):
        return tuple(f"images_{domain}" for domain in DOMAINS)

    # -- phases ----------------------------------------------------------------

    def build_phases(self):
        """The trainer's discriminator and generator phases, on pairs: the
        discriminator's loss takes both domains' fakes (gradients stopped),
        and each phase logs its domains' losses."""
        if self.penalties:
            raise ValueError(
                "CoGAN's discriminator scores pairs, which the penalties do not take; "
                "compile it without penalties=."
            )
        discriminator, generator = super().build_phases()
        # torch's input gradients (backend.value_and_input_grad) take one
        # tensor, not a pair: there the generator update draws its own fakes.
        reuse = None if gan_backend.BACKEND == "torch" else generator.reuse
        return [
            dataclasses.replace(discriminator, loss=self._discriminator_update,
                                logs=("d_loss", "d_a_loss", "d_b_loss") + self.score_log_names()),
            dataclasses.replace(generator, reuse=reuse, logs=("g_loss", "g_a_loss", "g_b_loss")),
        ]

    def _discriminator_update(self, step, repeat):
        # The step holds the pair as its (real, conditions); the phase's
        # `prepare` drew the fakes (`step.fakes`) with the generator.
        real = step.real_batch(repeat)
        fake = [ops.stop_gradient(images) for images in step.fakes[0]]
        return self.discriminator_loss(real, fake)

    # -- data ------------------------------------------------------------------

    def unpack_batch(self, data):
        """A batch is `(images_a, images_b)`, uint8 or in [-1, 1], of the
        model's size (checked here too, for data `fit` cannot look into)."""
        if isinstance(data, (tuple, list)) and len(data) == 3 and data[2] is None:
            data = data[:2]  # fit(a, b) adds an empty sample_weight.
        is_pair = isinstance(data, (tuple, list)) and len(data) == 2
        self._check_pairs([images.shape for images in data] if is_pair else None)
        return tuple(self.batch_images(images) for images in data)

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`, after checking that the data are pairs of
        images of the model's size: a mistake fails here, not in the traced
        step (which on JAX would leave the model's variables unusable)."""
        if hasattr(x, "element_spec"):  # a tf.data.Dataset
            spec = x.element_spec
            self._check_pairs([s.shape for s in spec] if isinstance(spec, tuple) else None)
        elif x is not None and hasattr(x, "shape"):  # arrays: fit(images_a, images_b)
            self._check_pairs(None if y is None else [np.shape(x), np.shape(y)])
        return super().fit(x, y, *args, **kwargs)

    def _check_pairs(self, shapes):
        """Raise a ValueError with the fix unless `shapes` are those of two
        batches of this model's images, A then B (None: not a pair)."""
        if shapes is None or len(shapes) != 2:
            raise ValueError("CoGAN trains on (images_a, images_b) batches: fit(images_a, "
                             "images_b), or keras_gans.data.unpaired_dataset(a, b).")
        for domain, shape, channels in zip("AB", shapes, self.channels):
            expected = (self.image_size, self.image_size, channels)
            if tuple(shape[1:]) != expected:
                raise ValueError(f"Domain {domain} images have shape {tuple(shape[1:])}; "
                                 f"this CoGAN takes {expected}.")

    # -- losses ----------------------------------------------------------------

    def discriminate(self, images, conditions=None, training=False):
        """The logits `[logits_a, logits_b]` of a pair of image batches."""
        return self.discriminator(list(images), training=training)

    def discriminator_loss(self, real, fake, conditions=None, fake_conditions=None, training=True):
        """Both domains' discriminator losses, summed, on a real and a fake
        pair of batches: `(loss, logs)`."""
        real_logits = self.discriminate(real, training=training)
        fake_logits = self.discriminate(fake, training=training)
        losses = [self.loss_pair.discriminator(r, f) for r, f in zip(real_logits, fake_logits)]
        loss, logs = self._summed(losses, "d", self.discriminator)
        logs.update(self.score_logs(ops.concatenate(real_logits, axis=0),
                                    ops.concatenate(fake_logits, axis=0)))
        return loss, logs

    def generator_loss(self, fake, fake_conditions=None, training=True):
        """Both domains' generator losses, summed, on a fake pair: `(loss, logs)`."""
        losses = [self.loss_pair.generator(logits)
                  for logits in self.discriminate(fake, training=training)]
        return self._summed(losses, "g", self.generator)

    def _summed(self, losses, kind, network):
        # The domains' losses (logged as <kind>_a_loss, <kind>_b_loss), summed,
        # plus the network's weight regularizers: <kind>_loss.
        logs = {f"{kind}_{domain}_loss": loss for domain, loss in zip(DOMAINS, losses)}
        loss = losses[0] + losses[1]
        regularization = self.regularization_loss(network)
        if regularization is not None:
            loss = loss + regularization
        logs[f"{kind}_loss"] = loss
        return loss, logs

    def gan_test_step(self, data):
        real = self.unpack_batch(data)
        fake = self.generate_images(self.draw_inputs(ops.shape(real[0])[0]), training=False)
        _, logs = self.discriminator_loss(real, fake, training=False)
        logs.update(self.generator_loss(fake, training=False)[1])
        return self._update_trackers(logs)

    # -- grids -------------------------------------------------------------------

    def grid_images(self, inputs):
        """Pairs for a sample grid: per block of columns, a row of domain A
        images above the row of their B images (grayscale shown as RGB
        beside an RGB domain; blank tiles fill the last block)."""
        pair = self.generate(inputs=inputs)
        if len(set(self.channels)) > 1:
            pair = [np.repeat(images, 3 // images.shape[-1], axis=-1) for images in pair]
        count, tile = len(pair[0]), pair[0].shape[1:]
        ncols = math.ceil(math.sqrt(2 * count))
        blank = np.ones((-count % ncols, *tile), "float32")  # white, as the grid's padding
        rows = [np.concatenate([images, blank]).reshape(-1, ncols, *tile) for images in pair]
        return np.stack(rows, axis=1).reshape(-1, *tile), ncols

    # -- serialization -----------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size,
            channels=list(self.channels),
            generator_width=self.generator_width,
            discriminator_width=self.discriminator_width,
            shared_generator_layers=self.shared_generator_layers,
            shared_discriminator_layers=self.shared_discriminator_layers,
        )
        return config if self._given_networks else self.without_networks(config)


def _check_pair_network(network, role, inputs=1, outputs=2):
    found = (len(network.inputs or ()), len(network.outputs or ()))
    if found != (inputs, outputs):
        shape = "z -> [images_a, images_b]" if role == "generator" else \
            "[images_a, images_b] -> [logits_a, logits_b]"
        raise ValueError(f"A CoGAN {role} maps {shape}; {network.name!r} has {found[0]} "
                         f"input(s) and {found[1]} output(s).")
