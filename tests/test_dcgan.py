import numpy as np
import pytest

import keras
from keras import layers

import keras_gans as kg
from helpers import JIT
from keras_gans.models import dcgan_discriminator, dcgan_generator


@pytest.mark.single_backend
@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3), (64, 3), (128, 3), (256, 1)])
def test_shapes_for_supported_sizes(size, channels):
    g = dcgan_generator(size, channels, latent_dim=16, width=4)
    d = dcgan_discriminator(size, channels, width=4)
    assert g.output_shape == (None, size, size, channels)
    assert d.output_shape == (None, 1)
    out = g(np.zeros((2, 16), "float32"))
    assert d(out).shape == (2, 1)


@pytest.mark.single_backend
@pytest.mark.parametrize("size", [30, 9, 3, 100])
def test_unsupported_sizes_say_what_works(size):
    with pytest.raises(ValueError, match=r"b \* 2\*\*k"):
        dcgan_generator(size)


def kinds(model):
    return [type(layer).__name__ for layer in model.layers]
@pytest.mark.single_backend
def test_follows_the_dcgan_rules():
    g = dcgan_generator(64, 3, latent_dim=100)
    d = dcgan_discriminator(64, 3)
    for model in (g, d):
        names = kinds(model)
        assert not any("Pool" in n for n in names)
        assert "Dense" not in names  # z is projected by a transposed conv
    # G: BatchNorm after every conv but the output; ReLU inside; tanh out.
    convs = [l for l in g.layers if isinstance(l, layers.Conv2DTranspose)]
    assert len(convs) == 5 and all(c.strides in ((1, 1), (2, 2)) for c in convs)
    assert sum(isinstance(l, layers.BatchNormalization) for l in g.layers) == len(convs) - 1
    assert g.layers[-1].activation is keras.activations.tanh
    # D: no BatchNorm on the input conv; LeakyReLU(0.2); one logit.
    assert kinds(d)[1:4] == ["Conv2D", "LeakyReLU", "Conv2D"]
    assert sum(isinstance(l, layers.BatchNormalization) for l in d.layers) == 3
    assert all(l.negative_slope == pytest.approx(0.2) for l in d.layers if isinstance(l, layers.LeakyReLU))
@pytest.mark.single_backend
def test_matches_the_pytorch_reference_parameter_count():
    # torch_dcgan.py at 64x64 (nz=100, ngf=ndf=64, no biases): G 3,576,704 / D 2,765,568 params
    # (BatchNorm's 2 learned vectors per layer; Keras also keeps 2 moving ones).
    g = dcgan_generator(64, 3, latent_dim=100, width=64)
    d = dcgan_discriminator(64, 3, width=64)
    assert sum(int(np.prod(w.shape)) for w in g.trainable_weights) == 3_576_704
    assert sum(int(np.prod(w.shape)) for w in d.trainable_weights) == 2_765_568
@pytest.mark.single_backend
def test_width_parameters():
    narrow = dcgan_generator(32, 3, 16, width=8)
    wide = dcgan_generator(32, 3, 16, width=16)
    assert wide.count_params() > 3 * narrow.count_params()
@pytest.mark.single_backend
def test_dcgan_config_round_trip():
    gan = kg.DCGAN(image_size=32, channels=1, latent_dim=12, generator_width=4, discriminator_width=6, seed=7)
    config = gan.get_config()
    clone = kg.DCGAN.from_config(config)
    assert clone.get_config() == config
    assert clone.generator.output_shape == (None, 32, 32, 1)
    # A GAN-level config (with explicit networks) also loads as a DCGAN, and
    # its own config keeps those networks, not default-sized ones.
    generic = kg.DCGAN.from_config(kg.GAN.get_config(gan))
    assert (generic.latent_dim, generic.image_size, generic.channels) == (12, 32, 1)
    again = kg.DCGAN.from_config(generic.get_config())
    assert again.generator.output_shape == (None, 32, 32, 1)
    assert again.generator.count_params() == gan.generator.count_params()
    assert again.discriminator.count_params() == gan.discriminator.count_params()
@pytest.mark.single_backend
def test_batchnorm_uses_the_reference_defaults():
    # momentum 0.9 (PyTorch's 0.1): inference-mode samples follow training early on.
    for model in (dcgan_generator(32, 3, 8, 4), dcgan_discriminator(32, 3, 4)):
        norms = [l for l in model.layers if isinstance(l, layers.BatchNormalization)]
        assert norms and all(l.momentum == 0.9 and l.epsilon == 1e-5 for l in norms)


def test_inference_samples_vary_after_a_few_steps():
    gan = kg.DCGAN(image_size=32, channels=3, latent_dim=16, generator_width=8, discriminator_width=8, seed=0)
    gan.compile(jit_compile=JIT)
    x = np.random.default_rng(0).uniform(-1, 1, (160, 32, 32, 3)).astype("float32")
    gan.fit(x, batch_size=16, epochs=3, verbose=0)  # 30 steps
    samples = gan.generate(64, seed=0)
    # Not one flat image repeated (Keras' default momentum gives ~0.03 here).
    assert samples.std(axis=0).mean() > 0.08
