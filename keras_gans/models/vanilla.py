"""The original GAN (Goodfellow et al. 2014): multilayer perceptrons on
flattened data, such as 28x28 MNIST digits or points in the plane."""

import math

import keras
from keras import layers

from keras_gans.gan import GAN


def _as_shape(data_shape):
    return (int(data_shape),) if isinstance(data_shape, int) else tuple(int(s) for s in data_shape)


def mlp_generator(
    data_shape=(28, 28, 1),
    latent_dim=100,
    hidden_units=(256, 512, 1024),
    output_activation="tanh",
    name="mlp_generator",
):
    """An MLP generator: z -> Dense + LeakyReLU blocks -> data of `data_shape`.

    Args:
        data_shape: shape of one sample, e.g. (28, 28, 1) or (2,).
        latent_dim: size of z.
        hidden_units: width of each hidden Dense layer.
        output_activation: "tanh" for data in [-1, 1]; None for unbounded data.
        name: model name.

    Example:

    >>> g = mlp_generator((28, 28, 1), latent_dim=64)
    >>> g.output_shape
    (None, 28, 28, 1)
    """
    data_shape = _as_shape(data_shape)
    z = keras.Input((latent_dim,), name="z")
    x = z
    for i, units in enumerate(hidden_units):
        x = layers.Dense(units, name=f"g_dense{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"g_lrelu{i}")(x)
    x = layers.Dense(math.prod(data_shape), name="g_out")(x)
    x = layers.Activation(output_activation or "linear", dtype="float32", name="g_activation")(x)
    out = layers.Reshape(data_shape, dtype="float32", name="g_reshape")(x)
    return keras.Model(z, out, name=name)


def mlp_discriminator(
    data_shape=(28, 28, 1), hidden_units=(1024, 512, 256), dropout=0.3, name="mlp_discriminator"
):
    """An MLP discriminator: data -> Dense + LeakyReLU (+ Dropout) -> one logit.

    Args:
        data_shape: shape of one sample.
        hidden_units: width of each hidden Dense layer.
        dropout: dropout rate after each hidden layer (the paper used dropout
            in D); 0 disables it.
        name: model name.
    """
    data_shape = _as_shape(data_shape)
    inputs = keras.Input(data_shape, name="data")
    x = layers.Flatten(name="d_flatten")(inputs)
    for i, units in enumerate(hidden_units):
        x = layers.Dense(units, name=f"d_dense{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"d_lrelu{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"d_dropout{i}")(x)
    logits = layers.Dense(1, dtype="float32", name="d_logit")(x)
    return keras.Model(inputs, logits, name=name)


@keras.saving.register_keras_serializable(package="keras_gans")
class VanillaGAN(GAN):
    """The 2014 GAN: `GAN` with MLP generator and discriminator.

    Args:
        data_shape: shape of one sample, e.g. (28, 28, 1) for MNIST, (2,) for
            2-D toy data.
        latent_dim: size of z.
        generator_units, discriminator_units: hidden layer widths.
        dropout: discriminator dropout rate.
        output_activation: generator output ("tanh" for images in [-1, 1]).
        seed: seed of the noise SeedGenerator.
        generator, discriminator: built networks to use instead (the data
            shape is then read from the generator).
        **kwargs: `keras_gans.GAN` arguments (`ema_decay`, ...) and
            `keras.Model`'s (`name`).

    Example:

    ```python
    gan = kg.VanillaGAN(data_shape=(28, 28, 1), latent_dim=100)
    gan.compile(loss="minimax")            # the paper's saturating loss
    gan.fit(kg.data.image_dataset("mnist.npz", image_size=28, channels=1))
    ```
    """

    def __init__(
        self,
        data_shape=(28, 28, 1),
        latent_dim=100,
        generator_units=(256, 512, 1024),
        discriminator_units=(1024, 512, 256),
        dropout=0.3,
        output_activation="tanh",
        seed=None,
        generator=None,
        discriminator=None,
        **kwargs,
    ):
        # Given networks (e.g. from a config written by `GAN.get_config`)
        # replace the built ones, and are saved with the config.
        self._given_networks = generator is not None or discriminator is not None
        if generator is not None:
            data_shape = generator.output_shape[1:]
        self.data_shape = _as_shape(data_shape)
        generator = generator or mlp_generator(
            self.data_shape, latent_dim, generator_units, output_activation
        )
        discriminator = discriminator or mlp_discriminator(
            self.data_shape, discriminator_units, dropout
        )
        super().__init__(generator, discriminator, latent_dim=latent_dim, seed=seed, **kwargs)
        self.data_shape = _as_shape(data_shape)
        self.generator_units = tuple(generator_units)
        self.discriminator_units = tuple(discriminator_units)
        self.dropout = dropout
        self.output_activation = output_activation

    def get_config(self):
        config = super().get_config()
        config.update(
            data_shape=list(self.data_shape),
            generator_units=list(self.generator_units),
            discriminator_units=list(self.discriminator_units),
            dropout=self.dropout,
            output_activation=self.output_activation,
        )
        return config if self._given_networks else self.without_networks(config)
