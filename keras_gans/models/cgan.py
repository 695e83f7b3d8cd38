"""Conditional GAN (Mirza & Osindero 2014): class labels steer generation.

A label y is given to both networks: the generator maps `(z, y)` to an
image of class y, and the discriminator judges whether an image is a real
image *of class y*. Generators and discriminators here take `[x, labels]`
with labels int32 of shape `(batch,)`.

How the label enters:

- generator, `label_mode`: `"one_hot"` joins z with the one-hot label (the
  paper), `"embedding"` with a learned embedding.
- discriminator, `label_mode`: `"channels"` joins the image with the
  one-hot label (as extra constant channels for convolutional bodies, or
  appended to the flattened image for MLPs); `"projection"` adds the inner
  product of a learned class embedding with the discriminator's features
  to its logit (Miyato & Koyama 2018). On MNIST with the DCGAN body,
  "channels" conditions much faster (see benchmarks/cgan_mnist.py): the
  projection embedding starts small and Adam moves it by about the learning
  rate per step, so the label only starts to matter after many steps.

The bodies are the library's unconditional networks, reused whole: the MLPs
of `vanilla.py` and the DCGAN networks of `dcgan.py`.
"""

import math

import numpy as np

import keras
from keras import layers, ops

from keras_gans import sampling
from keras_gans.gan import GAN
from keras_gans.models.dcgan import dcgan_discriminator, dcgan_generator
from keras_gans.models.vanilla import mlp_discriminator, mlp_generator

GENERATOR_LABEL_MODES = ("one_hot", "embedding")
DISCRIMINATOR_LABEL_MODES = ("channels", "projection")


def _check_mode(mode, modes, role):
    if mode not in modes:
        raise ValueError(f"{role} label_mode must be one of {modes}, got {mode!r}.")


def labels_input():
    """The `labels` input of conditional networks: int32 class ids `(batch,)`.

    Example:

    >>> labels_input().shape
    (None,)
    """
    return keras.Input((), dtype="int32", name="labels")


def encode_labels(labels, num_classes, label_mode, embedding_dim, prefix):
    """int labels (batch,) -> (batch, features): one-hot or an embedding.

    Args:
        labels: an int tensor of class ids `(batch,)` in a functional graph.
        num_classes: number of classes.
        label_mode: "one_hot" (`num_classes` features) or "embedding" (a
            learned `embedding_dim`-d vector per class).
        embedding_dim: the embedding's size, for "embedding".
        prefix: the layer is named `<prefix>_one_hot` or `<prefix>_embedding`.

    Example:

    >>> code = encode_labels(labels_input(), 10, "embedding", 16, "g_labels")
    >>> code.shape
    (None, 16)
    """
    if label_mode == "one_hot":
        return layers.CategoryEncoding(num_classes, "one_hot", name=f"{prefix}_one_hot")(labels)
    return layers.Embedding(num_classes, embedding_dim, name=f"{prefix}_embedding")(labels)


def _conditional_generator(body, num_classes, latent_dim, label_mode, embedding_dim, name):
    """`[z, labels]` -> `body(concat(z, encoded labels))`."""
    z = keras.Input((latent_dim,), name="z")
    labels = labels_input()
    code = encode_labels(labels, num_classes, label_mode, embedding_dim, "g_labels")
    images = body(layers.Concatenate(name="g_join_labels")([z, code]))
    return keras.Model([z, labels], images, name=name)


def projection_logits(features, logits, labels, embedding):
    """The projection discriminator head: `psi(phi(x)) + <embed(y), phi(x)>`
    (Miyato & Koyama 2018), in a functional graph.

    Args:
        features: `phi(x)`, a feature vector `(batch, d)` or map `(batch, h,
            w, d)` (average-pooled to a vector, as the projection paper does).
        logits: the unconditional logit `psi(phi(x))`, `(batch, 1)`.
        labels: int class ids `(batch,)`.
        embedding: a layer (or function of layers) mapping labels to
            `(batch, d)` vectors, e.g. `keras.layers.Embedding(num_classes,
            d)`; SAGAN and BigGAN spectral-normalize it
            (`models.sagan.BlockLayers.embedding`).

    Returns:
        The conditional logits `(batch, 1)`, float32.

    Example:

    >>> features, logits = keras.Input((32,)), keras.Input((1,))
    >>> labels = labels_input()
    >>> out = projection_logits(features, logits, labels, keras.layers.Embedding(10, 32))
    >>> out.shape
    (None, 1)
    """
    if len(features.shape) == 4:
        features = layers.GlobalAveragePooling2D(name="d_pool")(features)
    projection = layers.Dot(axes=1, name="d_projection")([embedding(labels), features])
    return layers.Add(dtype="float32", name="d_logits_plus_projection")([logits, projection])


def _projection_logits(body, features, inputs, labels, num_classes, name):
    """`projection_logits` on `body(inputs)`, which gives `[features map or
    vector, unconditional logit]`; the embedding is a plain `Embedding`."""
    feature_map, logits = body(inputs)
    embedding = layers.Embedding(num_classes, features, name="d_label_embedding")
    return projection_logits(feature_map, logits, labels, embedding)


def _with_features(network, score_layer, name):
    """The same network, also returning the features its score layer reads."""
    features = network.get_layer(score_layer).input
    return keras.Model(network.inputs, [features, network.outputs[0]], name=name)


def cgan_mlp_generator(
    num_classes,
    data_shape=(28, 28, 1),
    latent_dim=100,
    hidden_units=(256, 512, 1024),
    label_mode="one_hot",
    embedding_dim=50,
    name="cgan_mlp_generator",
):
    """A conditional MLP generator: `[z, labels]` -> data of `data_shape`.

    Args:
        num_classes: number of classes; labels lie in `[0, num_classes)`.
        data_shape: shape of one sample, e.g. (28, 28, 1).
        latent_dim: size of z.
        hidden_units: widths of the hidden Dense layers.
        label_mode: "one_hot" or "embedding" (of size `embedding_dim`).
        embedding_dim: label embedding size for "embedding".
        name: model name.

    Example:

    >>> g = cgan_mlp_generator(10, (28, 28, 1), latent_dim=64)
    >>> tuple(g([np.zeros((2, 64), "float32"), np.array([3, 7])]).shape)
    (2, 28, 28, 1)
    """
    _check_mode(label_mode, GENERATOR_LABEL_MODES, "Generator")
    code_dim = num_classes if label_mode == "one_hot" else embedding_dim
    body = mlp_generator(data_shape, latent_dim + code_dim, hidden_units, name=f"{name}_body")
    return _conditional_generator(body, num_classes, latent_dim, label_mode, embedding_dim, name)


def cgan_mlp_discriminator(
    num_classes,
    data_shape=(28, 28, 1),
    hidden_units=(1024, 512, 256),
    dropout=0.3,
    label_mode="channels",
    name="cgan_mlp_discriminator",
):
    """A conditional MLP discriminator: `[data, labels]` -> one logit.

    Args:
        num_classes: number of classes.
        data_shape: shape of one sample.
        hidden_units: widths of the hidden Dense layers.
        dropout: dropout rate after each hidden layer.
        label_mode: "channels" appends the one-hot label to the flattened
            data; "projection" adds `<embed(y), features>` to the logit.
        name: model name.

    Example:

    >>> d = cgan_mlp_discriminator(10, (28, 28, 1), label_mode="projection")
    >>> d.output_shape
    (None, 1)
    """
    _check_mode(label_mode, DISCRIMINATOR_LABEL_MODES, "Discriminator")
    data_shape = (data_shape,) if isinstance(data_shape, int) else tuple(data_shape)
    data = keras.Input(data_shape, name="data")
    labels = labels_input()
    flat = layers.Flatten(name="d_flatten_data")(data)
    if label_mode == "channels":
        one_hot = layers.CategoryEncoding(num_classes, "one_hot", name="d_one_hot")(labels)
        joined = layers.Concatenate(name="d_join_labels")([flat, one_hot])
        body = mlp_discriminator((math.prod(data_shape) + num_classes,), hidden_units, dropout,
                                 name=f"{name}_body")
        logits = body(joined)
    else:
        body = mlp_discriminator((math.prod(data_shape),), hidden_units, dropout, name=f"{name}_body")
        body = _with_features(body, "d_logit", f"{name}_body")
        logits = _projection_logits(body, hidden_units[-1], flat, labels, num_classes, name)
    return keras.Model([data, labels], logits, name=name)


def cgan_dcgan_generator(
    num_classes,
    image_size=28,
    channels=1,
    latent_dim=100,
    width=64,
    label_mode="one_hot",
    embedding_dim=50,
    name="cgan_dcgan_generator",
):
    """A conditional DCGAN generator: `[z, labels]` -> images in [-1, 1].

    The DCGAN generator of `dcgan_generator`, fed z joined with the label.

    Args:
        num_classes: number of classes.
        image_size: output side, as for `dcgan_generator` (28, 32, 64, ...).
        channels: 1 or 3.
        latent_dim: size of z.
        width: channels of the last hidden stage (`ngf`).
        label_mode: "one_hot" or "embedding".
        embedding_dim: label embedding size for "embedding".
        name: model name.

    Example:

    >>> g = cgan_dcgan_generator(10, 28, 1, latent_dim=64)
    >>> g.output_shape
    (None, 28, 28, 1)
    """
    _check_mode(label_mode, GENERATOR_LABEL_MODES, "Generator")
    code_dim = num_classes if label_mode == "one_hot" else embedding_dim
    body = dcgan_generator(image_size, channels, latent_dim + code_dim, width, name=f"{name}_body")
    return _conditional_generator(body, num_classes, latent_dim, label_mode, embedding_dim, name)


def cgan_dcgan_discriminator(
    num_classes,
    image_size=28,
    channels=1,
    width=64,
    label_mode="channels",
    name="cgan_dcgan_discriminator",
):
    """A conditional DCGAN discriminator: `[images, labels]` -> one logit.

    Args:
        num_classes: number of classes.
        image_size: input side, as for `dcgan_discriminator`.
        channels: 1 or 3.
        width: channels of the first stage (`ndf`).
        label_mode: "channels" stacks the one-hot label onto the image as
            `num_classes` constant planes; "projection" adds
            `<embed(y), pooled features>` to the DCGAN logit.
        name: model name.

    Example:

    >>> d = cgan_dcgan_discriminator(10, 32, 3, label_mode="projection")
    >>> d.output_shape
    (None, 1)
    """
    _check_mode(label_mode, DISCRIMINATOR_LABEL_MODES, "Discriminator")
    images = keras.Input((image_size, image_size, channels), name="images")
    labels = labels_input()
    if label_mode == "channels":
        one_hot = layers.CategoryEncoding(num_classes, "one_hot", name="d_one_hot")(labels)
        planes = layers.Reshape((1, 1, num_classes), name="d_label_pixel")(one_hot)
        planes = layers.UpSampling2D(image_size, name="d_label_planes")(planes)
        joined = layers.Concatenate(name="d_join_labels")([images, planes])
        body = dcgan_discriminator(image_size, channels + num_classes, width, name=f"{name}_body")
        logits = body(joined)
    else:
        body = dcgan_discriminator(image_size, channels, width, name=f"{name}_body")
        features = body.get_layer("d_score").input.shape[-1]
        body = _with_features(body, "d_score", f"{name}_body")
        logits = _projection_logits(body, features, images, labels, num_classes, name)
    return keras.Model([images, labels], logits, name=name)


class ClassConditional:
    """Class labels as a generator input and a discriminator condition: the
    hooks every class-conditional family shares (mix in before `GAN`).

    The family sets `self._num_classes` before `GAN.__init__` (None: an
    unconditional model, for which every hook steps aside) and, optionally,
    `self.fake_labels`: "real" (fakes take the real batch's labels) or
    "uniform" (drawn like z; the default). Batches are `(images, labels)`;
    the discriminator takes `[images, labels]`; labels are checked before
    `fit` (arrays wholly, a dataset by its first batch); sample grids have
    one row per class with the same z in every row.
    """

    fake_labels = "uniform"

    @property
    def latents(self):
        """z, and the class labels when conditional."""
        z = sampling.LatentInput("z", (self.latent_dim,))
        if self._num_classes is None:
            return [z]
        return [z, sampling.LatentInput("labels", kind="labels", num_classes=self._num_classes)]

    def unpack_batch(self, data):
        """Images in [-1, 1], and int32 labels `(batch,)` when conditional
        (an unconditional model ignores labels in its batches)."""
        images, labels = super().unpack_batch(data)
        if self._num_classes is None:
            return images, None
        if labels is None:
            raise ValueError(self._needs_labels())
        return images, ops.cast(ops.reshape(labels, (-1,)), "int32")

    def _needs_labels(self):
        return (f"This {type(self).__name__} is conditional (num_classes={self._num_classes}): "
                "it trains on (images, labels) batches and needs labels, but got images only. "
                "Use image_dataset(..., with_labels=True) or fit(images, labels).")

    def draw_inputs(self, batch_size, conditions=None):
        """z, and the labels to generate fakes with: the real batch's
        (`fake_labels="real"`), or uniform ones drawn like z (every
        `tf.distribute` replica draws the global batch's and keeps its own)."""
        given = {"labels": conditions} if self.fake_labels == "real" else None
        return sampling.draw_in_step(self.latents, batch_size, self.seed_generator, given)

    def input_conditions(self, inputs):
        return inputs.get("labels")

    def discriminate(self, images, conditions=None, training=False):
        inputs = images if self._num_classes is None else [images, conditions]
        return self.discriminator(inputs, training=training)

    # -- checking labels before training --------------------------------------

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`, after checking the labels of the arrays (all of
        them) or of a dataset's first batch: a label outside
        `[0, num_classes)` would otherwise fail deep inside a step, or be
        silently clamped (JAX)."""
        if self._num_classes is not None:
            self.check_labels(self._peek_labels(x, y))
        return super().fit(x, y, *args, **kwargs)

    def _peek_labels(self, x, y):
        if y is not None:
            return y
        if x is not None and hasattr(x, "element_spec"):  # a tf.data.Dataset
            if not isinstance(x.element_spec, tuple) or len(x.element_spec) < 2:
                raise ValueError(
                    f"{type(self).__name__}.fit needs (images, labels) batches; the "
                    f"dataset yields {x.element_spec}. Use image_dataset(..., with_labels=True)."
                )
            return next(iter(x.take(1)))[1]
        if isinstance(x, np.ndarray):
            raise ValueError(self._needs_labels())
        return None  # Python generators and PyDatasets are not peeked at.

    def check_labels(self, labels):
        """Raise a ValueError unless all `labels` are ints in `[0, num_classes)`."""
        if labels is not None:
            sampling.check_labels(labels, self._num_classes, name="Labels")

    # -- sample grids ----------------------------------------------------------

    def grid_inputs(self, num_samples, seed=0, truncation=None):
        """One row per class, with the same latent vectors in every row."""
        if self._num_classes is None:
            return super().grid_inputs(num_samples, seed, truncation)
        ncols = max(1, num_samples // self.num_classes)
        z = self.sample_inputs(ncols, seed=seed, labels=np.zeros(ncols, "int32"),
                               truncation=truncation)["z"]
        labels = np.repeat(np.arange(self.num_classes, dtype="int32"), ncols)
        return {"z": np.tile(z, (self.num_classes, 1)), "labels": labels}

    def grid_images(self, inputs):
        if self._num_classes is None:
            return super().grid_images(inputs)
        return self.generate(inputs=inputs), len(inputs["labels"]) // self.num_classes


@keras.saving.register_keras_serializable(package="keras_gans")
class ConditionalGAN(ClassConditional, GAN):
    """A class-conditional GAN trained on `(images, labels)` batches.

    Args:
        num_classes: number of classes; labels are ints in `[0, num_classes)`.
        image_size: image side (square images).
        channels: 1 or 3.
        latent_dim: size of z.
        body: "dcgan" (convolutional, for sizes like 28, 32, 64) or "mlp".
        label_mode: how the generator sees the label: "one_hot" or
            "embedding".
        discriminator_label_mode: how the discriminator sees it:
            "channels" or "projection".
        embedding_dim: generator label embedding size ("embedding").
        generator_width, discriminator_width: DCGAN `ngf` / `ndf`.
        generator_units, discriminator_units, dropout: MLP body sizes.
        fake_labels: labels to generate fakes with during training: "real"
            (the real batch's labels, so both sides see the same classes)
            or "uniform" (drawn uniformly from the model's SeedGenerator).
        seed: seed of the SeedGenerator (noise and uniform labels).
        generator, discriminator: custom networks taking `[x, labels]`.
        **kwargs: `keras_gans.GAN` arguments (`ema_decay`, ...) and
            `keras.Model`'s (`name`).

    Example:

    ```python
    gan = kg.ConditionalGAN(num_classes=10, image_size=28, channels=1)
    gan.compile()
    gan.fit(kg.data.image_dataset("mnist", image_size=28, channels=1,
                                  with_labels=True), epochs=10)
    sevens = gan.generate(labels=[7] * 16, seed=0)   # NumPy, [-1, 1]
    digits = gan.generate(labels=10, seed=0)          # one of each class
    ```
    """

    def __init__(
        self,
        num_classes=10,
        image_size=28,
        channels=1,
        latent_dim=100,
        body="dcgan",
        label_mode="one_hot",
        discriminator_label_mode="channels",
        embedding_dim=50,
        generator_width=64,
        discriminator_width=64,
        generator_units=(256, 512, 1024),
        discriminator_units=(1024, 512, 256),
        dropout=0.3,
        fake_labels="real",
        seed=None,
        generator=None,
        discriminator=None,
        **kwargs,
    ):
        if body not in ("dcgan", "mlp"):
            raise ValueError(f"body must be 'dcgan' or 'mlp', got {body!r}.")
        if fake_labels not in ("real", "uniform"):
            raise ValueError(f"fake_labels must be 'real' or 'uniform', got {fake_labels!r}.")
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}.")
        num_classes = int(num_classes)
        shape = (image_size, image_size, channels)
        if isinstance(generator, dict):
            generator = keras.saving.deserialize_keras_object(generator)
        if isinstance(discriminator, dict):
            discriminator = keras.saving.deserialize_keras_object(discriminator)
        if generator is None and body == "dcgan":
            generator = cgan_dcgan_generator(
                num_classes, image_size, channels, latent_dim, generator_width, label_mode,
                embedding_dim,
            )
        elif generator is None:
            generator = cgan_mlp_generator(
                num_classes, shape, latent_dim, generator_units, label_mode, embedding_dim
            )
        if discriminator is None and body == "dcgan":
            discriminator = cgan_dcgan_discriminator(
                num_classes, image_size, channels, discriminator_width, discriminator_label_mode
            )
        elif discriminator is None:
            discriminator = cgan_mlp_discriminator(
                num_classes, shape, discriminator_units, dropout, discriminator_label_mode
            )
        self._num_classes = num_classes
        super().__init__(generator, discriminator, latent_dim=latent_dim, seed=seed, **kwargs)
        self.image_size = image_size
        self.channels = channels
        self.body = body
        self.label_mode = label_mode
        self.discriminator_label_mode = discriminator_label_mode
        self.embedding_dim = embedding_dim
        self.generator_width = generator_width
        self.discriminator_width = discriminator_width
        self.generator_units = tuple(generator_units)
        self.discriminator_units = tuple(discriminator_units)
        self.dropout = dropout
        self.fake_labels = fake_labels

    # -- serialization -------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_classes": self.num_classes,
            "image_size": self.image_size,
            "channels": self.channels,
            "body": self.body,
            "label_mode": self.label_mode,
            "discriminator_label_mode": self.discriminator_label_mode,
            "embedding_dim": self.embedding_dim,
            "generator_width": self.generator_width,
            "discriminator_width": self.discriminator_width,
            "generator_units": list(self.generator_units),
            "discriminator_units": list(self.discriminator_units),
            "dropout": self.dropout,
            "fake_labels": self.fake_labels,
        })
        return config  # With the networks, so that custom ones come back.
