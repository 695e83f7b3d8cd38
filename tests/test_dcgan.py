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


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def constant_map_generator(upsample):
    """A 32x32 generator whose projection of z is the same at every pixel of
    its 4x4 map, so any pattern in the image comes from the upsampling."""
    g = dcgan_generator(32, 3, latent_dim=4, width=8, upsample=upsample)
    project = g.get_layer("g_project")
    kernel = np.random.default_rng(0).normal(0, 0.3, project.kernel.shape[2:])
    project.kernel.assign(np.broadcast_to(kernel, project.kernel.shape).astype("float32"))
    return g


@pytest.mark.single_backend
def test_resize_upsampling_paints_no_checkerboard():
    z = np.random.default_rng(1).standard_normal((2, 4)).astype("float32")
    # The borders (zero padding, bilinear's edges) reach 10 pixels in from
    # each side after three stages.
    interior = {u: numpy(constant_map_generator(u)(z))[:, 10:-10, 10:-10]
                for u in ("transposed", "resize", "resize_bilinear")}
    # A 4x4 stride-2 transposed convolution of a flat map paints a 2x2
    # pattern, each further one doubles its period: 8 pixels after three.
    # A resize then a convolution keeps the map flat.
    pattern = interior["transposed"]
    assert np.abs(pattern[:, ::2] - pattern[:, 1::2]).mean() > 1e-3
    np.testing.assert_allclose(pattern[:, 8:], pattern[:, :-8], atol=1e-5)
    for upsample in ("resize", "resize_bilinear"):
        flat = interior[upsample]
        assert np.abs(flat - flat[:, :1, :1]).max() < 1e-5, upsample


@pytest.mark.single_backend
def test_resize_upsampling_replaces_each_stride_two_transposed_convolution():
    g = dcgan_generator(32, 3, latent_dim=16, width=8, upsample="resize_bilinear")
    resizes = [l for l in g.layers if isinstance(l, layers.UpSampling2D)]
    assert [l.interpolation for l in resizes] == ["bilinear"] * 3
    assert [l.name for l in g.layers if isinstance(l, layers.Conv2DTranspose)] == ["g_project"]
    convs = [l for l in g.layers if type(l) is layers.Conv2D]
    assert [(c.kernel_size, c.strides, c.use_bias) for c in convs] == [((3, 3), (1, 1), False)] * 3
    assert g.get_layer("g_up1_resize").interpolation == "bilinear"
    nearest = dcgan_generator(32, 3, latent_dim=16, width=8, upsample="resize")
    assert {l.interpolation for l in nearest.layers if isinstance(l, layers.UpSampling2D)} == {"nearest"}
    with pytest.raises(ValueError, match=r"upsample must be one of \('transposed', 'resize'"):
        dcgan_generator(32, upsample="bicubic")


@pytest.mark.single_backend
def test_spectral_norm_wraps_every_discriminator_convolution():
    d = dcgan_discriminator(32, 3, width=4, norm=None, spectral_norm=True)
    wrapped = [l.layer.name for l in d.layers if isinstance(l, layers.SpectralNormalization)]
    assert wrapped == ["d_down0", "d_down1", "d_down2", "d_score"]
    assert not any(isinstance(l, (layers.Conv2D, layers.BatchNormalization)) for l in d.layers)
    # Only the power iteration's vectors are added, none of them trained.
    plain = dcgan_discriminator(32, 3, width=4, norm=None)
    assert d.count_params() > plain.count_params()
    assert ([w.shape for w in d.trainable_weights] == [w.shape for w in plain.trainable_weights])
    with pytest.raises(ValueError, match="norm=None"):
        dcgan_discriminator(32, 3, spectral_norm=True)


@pytest.mark.single_backend
def test_spectral_norm_brings_the_discriminator_kernels_to_unit_norm():
    d = dcgan_discriminator(32, 3, width=4, norm="layer", spectral_norm=True)
    images = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    for _ in range(30):  # one power iteration per training-mode call
        d(images, training=True)
    for wrapper in [l for l in d.layers if isinstance(l, layers.SpectralNormalization)]:
        kernel = numpy(wrapper.layer.kernel)
        sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        assert sigma == pytest.approx(1.0, abs=0.05), wrapper.name


def optioned_dcgan(**kwargs):
    return kg.DCGAN(image_size=32, channels=3, latent_dim=8, generator_width=4,
                    discriminator_width=4, generator_upsample="resize", discriminator_norm=None,
                    discriminator_spectral_norm=True, seed=0, **kwargs)


@pytest.mark.single_backend
def test_dcgan_options_round_trip_through_the_config():
    gan = optioned_dcgan()
    config = gan.get_config()
    assert (config["generator_upsample"], config["discriminator_norm"],
            config["discriminator_spectral_norm"]) == ("resize", None, True)
    clone = kg.DCGAN.from_config(config)
    assert clone.get_config() == config
    assert clone.generator.get_layer("g_up1_resize")
    assert clone.discriminator.get_layer("d_score_sn")


def test_dcgan_options_train_save_and_load(tmp_path):
    # The plant recipe's pieces together: SN-GAN's D, resize-conv G, hinge,
    # DiffAugment and an EMA of G, on every backend.
    gan = optioned_dcgan(ema_decay=0.9, augment="color,translation,cutout")
    gan.compile(loss="hinge", g_steps=2, jit_compile=JIT)
    x = np.random.default_rng(0).uniform(-1, 1, (16, 32, 32, 3)).astype("float32")
    before = [numpy(w) for w in gan.discriminator.trainable_weights + gan.generator.trainable_weights]
    history = gan.fit(x, batch_size=8, epochs=1, verbose=0)
    after = gan.discriminator.trainable_weights + gan.generator.trainable_weights
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert all(not np.allclose(b, numpy(a)) for b, a in zip(before, after))
    path = tmp_path / "dcgan.keras"
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.get_config()["discriminator_spectral_norm"] is True
    np.testing.assert_allclose(numpy(loaded.generate(4, seed=3)), numpy(gan.generate(4, seed=3)),
                               atol=1e-5)
    # Resumable: optimizer state and progress come back (a second fit would
    # compile the step again, which the trainer's own resume tests cover).
    assert int(numpy(loaded.g_optimizer.iterations)) == 4  # 2 steps x g_steps 2
    assert int(numpy(loaded.progress.steps)) == 2
    for a, b in zip(loaded.d_optimizer.variables, gan.d_optimizer.variables):
        np.testing.assert_allclose(numpy(a), numpy(b))
