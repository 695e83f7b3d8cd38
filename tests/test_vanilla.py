import numpy as np

import keras
from helpers import JIT
import keras_gans as kg
from keras_gans.models import mlp_discriminator, mlp_generator


def test_mlp_shapes_for_images_and_points():
    g = mlp_generator((28, 28, 1), latent_dim=10, hidden_units=(16,))
    d = mlp_discriminator((28, 28, 1), hidden_units=(16,))
    assert g.output_shape == (None, 28, 28, 1) and d.output_shape == (None, 1)
    assert [type(l).__name__ for l in g.layers[1:3]] == ["Dense", "LeakyReLU"]
    # Large z, so that the same weights without tanh go past 1.
    z = 100 * np.random.default_rng(0).standard_normal((3, 10)).astype("float32")
    assert np.abs(keras.ops.convert_to_numpy(g(z))).max() <= 1.0  # tanh
    linear = mlp_generator((28, 28, 1), latent_dim=10, hidden_units=(16,), output_activation=None)
    linear.set_weights(g.get_weights())
    assert np.abs(keras.ops.convert_to_numpy(linear(z))).max() > 1.0
    points = mlp_generator(2, latent_dim=4, hidden_units=(8,), output_activation=None)
    assert points.output_shape == (None, 2)


def test_vanilla_gan_fits_mnist_shaped_data_and_round_trips(tmp_path):
    gan = kg.VanillaGAN(data_shape=(28, 28, 1), latent_dim=8, generator_units=(16,), discriminator_units=(16,), seed=0)
    gan.compile(loss="minimax", jit_compile=JIT)
    x = np.random.default_rng(0).uniform(-1, 1, (32, 28, 28, 1)).astype("float32")
    history = gan.fit(x, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"][0])
    gan.save(tmp_path / "v.keras")
    loaded = keras.models.load_model(tmp_path / "v.keras")
    assert isinstance(loaded, kg.VanillaGAN) and loaded.loss_pair.name == "minimax"
    z = np.ones((2, 8), "float32")
    np.testing.assert_allclose(loaded.generate(z=z), gan.generate(z=z), atol=1e-6)


def test_mnist_npz_short_fit(data_root):
    with np.load(data_root / "mnist" / "mnist.npz") as f:
        x = f["x_train"][:256]
    x = (x.astype("float32") / 127.5 - 1.0)[..., None]
    gan = kg.VanillaGAN(data_shape=(28, 28, 1), latent_dim=16, generator_units=(64,), discriminator_units=(64,), seed=0)
    gan.compile(jit_compile=JIT)
    history = gan.fit(x, batch_size=64, epochs=2, verbose=0)
    assert all(np.isfinite(v).all() for v in history.history.values())
