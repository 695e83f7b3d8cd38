"""Tests for keras_gans.models.cogan: coupled GANs with tied layers."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import keras
from helpers import JIT

from keras_gans import backend as gan_backend
from keras_gans.callbacks import SampleGrid
from keras_gans.export import export_generator
from keras_gans.images import to_uint8
from keras_gans.losses import R1
from keras_gans.models.cogan import CoGAN, cogan_discriminator, cogan_generator, layer_count

SIZE = 16  # 4 -> 8 -> 16: three layers a network, as at 28 px
LATENT = 8


def tiny_cogan(**kwargs):
    kwargs.setdefault("channels", (1, 1))
    return CoGAN(image_size=SIZE, latent_dim=LATENT, generator_width=4, discriminator_width=4,
                 seed=0, **kwargs)


def numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def iterations(optimizer):
    return int(numpy(optimizer.iterations))


def spots(n, seed=0):
    """Toy domains: a bright Gaussian spot at a random place on a dark image
    (A), and negatives of other such images (B); in [-1, 1]."""
    rng = np.random.default_rng(seed)
    grid = np.arange(SIZE) + 0.5
    images = []
    for _ in range(2):
        row, col = rng.uniform(4, SIZE - 4, (2, n, 1, 1))
        squared = (grid[:, None] - row) ** 2 + (grid[None, :] - col) ** 2
        images.append((2 * np.exp(-squared / 8.0) - 1)[..., None].astype("float32"))
    return images[0], -images[1]


def spot_centres(images, sign=1.0):
    """The (row, column) centre of each image's spot: the mean position
    weighted by brightness (sign -1: by darkness)."""
    weights = sign * images[..., 0] + 1.0
    weights /= weights.sum(axis=(1, 2), keepdims=True)
    grid = np.arange(SIZE) + 0.5
    return np.stack([weights.sum(axis=2) @ grid, weights.sum(axis=1) @ grid], axis=1)


def domain_views(network):
    """Each domain's own network, cut from the pair network: the same layer
    objects, so a tied layer has one set of variables in both."""
    inputs = network.inputs if len(network.inputs) == 2 else network.inputs * 2
    return [keras.Model(x, y) for x, y in zip(inputs, network.outputs)]


@pytest.fixture(scope="module")
def trained():
    """A tiny CoGAN after 2 epochs of 4 steps on the toy domains."""
    keras.utils.set_random_seed(0)
    gan = tiny_cogan()
    gan.compile(jit_compile=JIT)
    a, b = spots(32)
    history = gan.fit(a, b, batch_size=8, epochs=2, verbose=0)
    return gan, history.history, (a, b)


# -- networks ---------------------------------------------------------------------------


@pytest.mark.single_backend
@pytest.mark.parametrize("size, count", [(28, 3), (32, 4), (64, 5)])
def test_the_paper_ties_all_but_the_generators_last_and_the_discriminators_first(size, count):
    assert layer_count(size) == count
    g = cogan_generator(size, (1, 3), latent_dim=8, width=2)
    assert g.output_shape == [(None, size, size, 1), (None, size, size, 3)]
    convs = [layer.name for layer in g.layers if "Conv" in type(layer).__name__]
    # One trunk of count - 1 layers, then each domain's image layer.
    assert convs[: count - 1] == ["g_project"] + [f"g_up{i}" for i in range(1, count - 1)]
    assert convs[count - 1 :] == ["g_to_image_a", "g_to_image_b"]
    d = cogan_discriminator(size, (1, 3), width=2)
    convs = [layer.name for layer in d.layers if "Conv" in type(layer).__name__]
    assert convs == ["d_down0_a", "d_down0_b"] + [f"d_down{i}" for i in range(1, count - 1)] \
        + ["d_score"]
    # A tied layer runs on both domains' features: two calls of one layer.
    assert len(d.get_layer("d_score")._inbound_nodes) == 2
    assert [tuple(s) for s in d.output_shape] == [(None, 1), (None, 1)]


@pytest.mark.single_backend
def test_shared_layer_counts_move_the_split_and_zero_ties_nothing():
    g = cogan_generator(SIZE, (1, 1), LATENT, 4, shared_layers=1)
    assert [layer.name for layer in g.layers if "Conv" in type(layer).__name__] == [
        "g_project", "g_up1_a", "g_up1_b", "g_to_image_a", "g_to_image_b"]
    untied = tiny_cogan(shared_generator_layers=0, shared_discriminator_layers=0)
    for network in (untied.generator, untied.discriminator):
        weighted = [layer.name for layer in network.layers if layer.weights]
        assert weighted and all(name.endswith(("_a", "_b", "_a_bn", "_b_bn")) for name in weighted)
    a_view, b_view = domain_views(untied.generator)
    assert not {id(v) for v in a_view.weights} & {id(v) for v in b_view.weights}
    with pytest.raises(ValueError, match=r"shared_generator_layers must lie in 0\.\.2.*got 3"):
        tiny_cogan(shared_generator_layers=3)
    with pytest.raises(ValueError, match=r"shared_discriminator_layers must lie in 0\.\.4"):
        CoGAN(image_size=64, shared_discriminator_layers=-1)
    with pytest.raises(ValueError, match=r"channels must be 1 or 3 per domain"):
        tiny_cogan(channels=(1, 2))


# -- tying --------------------------------------------------------------------------------


def tied_variables(gan):
    """The variables both domains' views of each network hold, by identity."""
    tied = []
    for network in (gan.generator, gan.discriminator):
        a_view, b_view = domain_views(network)
        a_ids = {id(v) for v in a_view.trainable_variables}
        tied += [v for v in b_view.trainable_variables if id(v) in a_ids]
    return tied


def assert_a_step_moves_the_tied_kernel_once(gan):
    """One discriminator step with SGD(0.1), G held at zero (so the fakes
    are zeros, whatever z): the tied score kernel moves by the sum of both
    domains' gradients, taken once; each domain's first layer by its own."""
    gan.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.0),
                jit_compile=JIT)
    for variable in gan.generator.trainable_variables:
        variable.assign(np.zeros(variable.shape, variable.dtype))
    real = spots(4)
    fake = [keras.ops.zeros_like(x) for x in real]
    tied = gan.discriminator.get_layer("d_score").kernel
    own_a = gan.discriminator.get_layer("d_down0_a").kernel

    def gradient(domain, variable):
        def loss():
            _, logs = gan.discriminator_loss(real, fake)
            return logs[f"d_{domain}_loss"], {}

        return numpy(gan_backend.value_and_grad(loss, [variable])[2][0])

    grads = {domain: gradient(domain, tied) for domain in "ab"}
    assert np.abs(grads["a"]).max() > 0 and np.abs(grads["b"]).max() > 0
    assert not np.allclose(grads["a"], grads["b"])
    own_grad = gradient("a", own_a)
    before, own_before = numpy(tied).copy(), numpy(own_a).copy()
    gan.train_on_batch(*real)
    np.testing.assert_allclose(numpy(tied), before - 0.1 * (grads["a"] + grads["b"]),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(numpy(own_a), own_before - 0.1 * own_grad, rtol=1e-4, atol=1e-6)


def test_tied_layers_are_one_variable_that_a_step_moves_once():
    gan = tiny_cogan()
    gan.compile(jit_compile=JIT)
    tied = tied_variables(gan)
    g_views, d_views = domain_views(gan.generator), domain_views(gan.discriminator)
    assert g_views[0].get_layer("g_up1").kernel is g_views[1].get_layer("g_up1").kernel
    assert d_views[0].get_layer("d_score").kernel is d_views[1].get_layer("d_score").kernel
    # The trunk's and the shared discriminator layers' kernels, BatchNorm scales and offsets.
    assert len(tied) == 6 + 4
    for phase in gan.phases:
        (variables,) = gan.phase_updates(phase)[1]
        assert len({id(v) for v in variables}) == len(variables)
    assert_a_step_moves_the_tied_kernel_once(gan)


def test_without_sharing_a_domain_gets_none_of_the_others_gradient():
    # The control of the step test: untied, each score kernel sees its domain only.
    gan = tiny_cogan(shared_generator_layers=0, shared_discriminator_layers=0)
    assert tied_variables(gan) == []
    a, b = spots(4)
    fake = [keras.ops.zeros_like(a)] * 2
    score_b = gan.discriminator.get_layer("d_score_b").kernel

    def gradient(domain):
        def loss():
            _, logs = gan.discriminator_loss((a, b), fake)
            return logs[f"d_{domain}_loss"], {}

        return numpy(gan_backend.value_and_grad(loss, [score_b])[2][0])

    assert np.abs(gradient("b")).max() > 0 and np.abs(gradient("a")).max() == 0


# -- training and sampling -----------------------------------------------------------------


def test_a_short_fit_logs_both_domains(trained):
    gan, history, _ = trained
    assert set(history) == {"d_loss", "d_a_loss", "d_b_loss", "d_real", "d_fake",
                            "g_loss", "g_a_loss", "g_b_loss"}
    assert all(np.isfinite(values).all() for values in history.values())
    for kind in ("d", "g"):  # the phase's loss is the domains' sum
        np.testing.assert_allclose(
            history[f"{kind}_loss"][-1],
            history[f"{kind}_a_loss"][-1] + history[f"{kind}_b_loss"][-1], rtol=1e-4)
    assert iterations(gan.d_optimizer) == iterations(gan.g_optimizer) == 8


def test_generate_returns_pairs_from_the_same_latents(trained):
    gan, _, _ = trained
    images_a, images_b = gan.generate(5, seed=3)
    assert images_a.shape == images_b.shape == (5, SIZE, SIZE, 1)
    again = gan.generate(5, seed=3)
    np.testing.assert_allclose(again[0], images_a, atol=1e-6)
    z = np.random.default_rng(0).normal(size=(3, LATENT)).astype("float32")
    from_z = gan.generate(z=z, batch_size=2)  # batches joined per domain
    expected = [numpy(x) for x in gan.generator(z, training=False)]
    for got, want in zip(from_z, expected):
        np.testing.assert_allclose(got, want, atol=1e-6)
    assert not np.allclose(from_z[0], from_z[1])


def test_the_moving_average_samples_pairs():
    gan = tiny_cogan(ema_decay=0.5)
    gan.compile(jit_compile=JIT)
    a, b = spots(8)
    for _ in range(2):
        gan.train_on_batch(a, b)
    z = np.random.default_rng(1).normal(size=(4, LATENT)).astype("float32")
    averaged, raw = gan.generate(z=z), gan.generate(z=z, use_ema=False)
    for network, pair in ((gan.ema_generator, averaged), (gan.generator, raw)):
        for images, expected in zip(pair, network(z, training=False)):
            np.testing.assert_allclose(images, numpy(expected), atol=1e-6)
    assert not np.allclose(averaged[1], raw[1])


def test_evaluate_reports_both_domains(trained):
    gan, _, (a, b) = trained
    logs = gan.evaluate(a[:8], b[:8], batch_size=8, verbose=0, return_dict=True)
    assert {"d_a_loss", "g_b_loss", "d_real"} <= set(logs)
    assert iterations(gan.d_optimizer) == 8  # nothing trained


@pytest.mark.single_backend
def test_the_grid_puts_each_pairs_images_above_one_another(trained, tmp_path):
    from PIL import Image

    gan, _, _ = trained
    inputs = gan.grid_inputs(10, seed=0)
    grid, ncols = gan.grid_images(inputs)
    images_a, images_b = gan.generate(inputs=inputs)
    # ceil(sqrt(20)) = 5 columns: blocks of 5 pairs, a row of A above a row of B.
    assert ncols == 5 and grid.shape == (20, SIZE, SIZE, 1)
    np.testing.assert_allclose(grid[0:5], images_a[:5], atol=1e-6)
    np.testing.assert_allclose(grid[5:10], images_b[:5], atol=1e-6)
    np.testing.assert_allclose(grid[10:15], images_a[5:], atol=1e-6)
    callback = SampleGrid(tmp_path, num_samples=7)  # a partial last block
    callback.set_model(gan)
    saved = callback.save("grid.png")
    # 7 pairs: 4 columns, two blocks of 2 rows; blank tiles fill the last.
    assert Image.open(saved).size == (4 * (SIZE + 2) + 2, 4 * (SIZE + 2) + 2)
    mixed = tiny_cogan(channels=(1, 3))
    grid, _ = mixed.grid_images(mixed.grid_inputs(2))
    assert grid.shape[-1] == 3  # grayscale beside RGB, as RGB


@pytest.mark.slow_on_torch
def test_a_cpu_learning_run_puts_both_spots_of_a_pair_in_one_place():
    """640 steps on the toy domains (a bright spot on dark; negatives of
    other such images, unpaired) make pairs whose spots stand in the same
    place: their centres correlate above 0.8 on both axes (0.96-0.99 in
    trial runs on TensorFlow and JAX), and they spread, not collapsed. With
    nothing shared the same run correlates 0.09 and -0.48: the two networks
    then see the same z, but place their spots apart."""
    keras.utils.set_random_seed(0)
    a, b = spots(512)
    gan = CoGAN(image_size=SIZE, latent_dim=LATENT, generator_width=16, discriminator_width=16,
                seed=0)
    gan.compile(jit_compile="auto")
    gan.fit(a, b, batch_size=32, epochs=40, verbose=0)
    images_a, images_b = gan.generate(1000, seed=1)
    centres_a, centres_b = spot_centres(images_a), spot_centres(images_b, sign=-1.0)
    correlations = [np.corrcoef(centres_a[:, i], centres_b[:, i])[0, 1] for i in range(2)]
    spread = np.concatenate([centres_a.std(axis=0), centres_b.std(axis=0)])
    assert min(correlations) > 0.8, correlations
    assert spread.min() > 0.4, spread  # real spots: 2.3 on each axis


# -- saving ------------------------------------------------------------------------------


def test_save_load_keeps_the_ties_the_optimizers_and_resumes(trained, tmp_path):
    gan, _, (a, b) = trained
    path = tmp_path / "cogan.keras"
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, CoGAN) and loaded.channels == (1, 1)
    assert iterations(loaded.d_optimizer) == iterations(loaded.g_optimizer) == 8
    for saved, restored in zip(gan.d_optimizer.variables + gan.g_optimizer.variables,
                               loaded.d_optimizer.variables + loaded.g_optimizer.variables):
        np.testing.assert_allclose(numpy(saved), numpy(restored), err_msg=saved.path)
    for network in ("generator", "discriminator"):
        assert len(getattr(loaded, network).weights) == len(getattr(gan, network).weights)
    # Still one variable per tied layer: the same objects in both domains' views.
    assert len(tied_variables(loaded)) == len(tied_variables(gan)) == 10
    for pair, pair_again in zip(gan.generate(3, seed=1), loaded.generate(3, seed=1)):
        np.testing.assert_allclose(pair, pair_again, atol=1e-5)
    loaded.fit(a[:16], b[:16], batch_size=8, epochs=1, verbose=0)
    assert iterations(loaded.d_optimizer) == iterations(loaded.g_optimizer) == 10
    assert int(numpy(loaded.progress.steps)) == 10
    assert_a_step_moves_the_tied_kernel_once(loaded)


@pytest.mark.single_backend
def test_config_round_trip_with_built_and_given_networks():
    gan = tiny_cogan(channels=(3, 1), shared_generator_layers=1, ema_decay=0.9)
    config = json.loads(json.dumps(gan.get_config()))
    assert "generator" not in config and config["channels"] == [3, 1]
    clone = CoGAN.from_config(config)
    assert clone.channels == (3, 1) and clone.shared_generator_layers == 1
    assert clone.generator.count_params() == gan.generator.count_params()
    assert clone.ema_generator is not None
    given = CoGAN(generator=cogan_generator(SIZE, (1, 1), LATENT, 2, shared_layers=2),
                  discriminator=cogan_discriminator(SIZE, (1, 1), 2, shared_layers=1),
                  latent_dim=LATENT, seed=0)
    assert given.image_size == SIZE
    clone = CoGAN.from_config(json.loads(json.dumps(given.get_config())))
    assert len(tied_variables(clone)) == len(tied_variables(given))


# -- bad input -------------------------------------------------------------------------------


def test_bad_input_fails_with_the_fix():
    gan = tiny_cogan()
    gan.compile(jit_compile=JIT)
    a, b = spots(8)
    with pytest.raises(ValueError, match=r"\(images_a, images_b\) batches"):
        gan.fit(a, batch_size=4, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"Domain B images have shape \(8, 8, 1\)"):
        gan.fit(a, b[:, :8, :8], batch_size=4, epochs=1, verbose=0)
    assert iterations(gan.d_optimizer) == 0
    with pytest.raises(ValueError, match="without penalties"):
        gan.compile(penalties=[R1()])
    with pytest.raises(ValueError, match="does not augment"):
        tiny_cogan(augment="translation")
    with pytest.raises(ValueError, match=r"maps z -> \[images_a, images_b\]"):
        CoGAN(generator=keras.Sequential([keras.Input((LATENT,)), keras.layers.Dense(4)]))


# -- export and real data ---------------------------------------------------------------------


def test_export_serves_both_domains_from_tensorflow_alone(trained, tmp_path):
    gan, _, _ = trained
    path = export_generator(gan, str(tmp_path / "cogan" / "1"))
    z = np.random.default_rng(0).standard_normal((3, LATENT)).astype("float32")
    np.save(tmp_path / "z.npy", z)
    code = f"""
import numpy as np, sys, tensorflow as tf
model = tf.saved_model.load({path!r})
served = model.signatures["serving_default"](z=tf.constant(np.load({str(tmp_path / "z.npy")!r})))
sampled = model.signatures["sample"](num_samples=tf.constant(3), seed=tf.constant(7))
sample_z = tf.random.stateless_normal([3, {LATENT}], seed=[7, 0])
np.savez({str(tmp_path / "out.npz")!r}, sample_z=sample_z.numpy(),
         **{{f"served_{{k}}": v.numpy() for k, v in served.items()}},
         **{{f"sampled_{{k}}": v.numpy() for k, v in sampled.items()}})
assert "keras_gans" not in sys.modules
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    out = np.load(tmp_path / "out.npz")
    for kind, z_used in (("served", z), ("sampled", out["sample_z"])):
        for name, images in zip(("images_a", "images_b"), gan.generate(z=z_used)):
            served = out[f"{kind}_{name}"]
            assert served.dtype == np.uint8 and served.shape == (3, SIZE, SIZE, 1)
            assert np.abs(served.astype(int) - to_uint8(images).astype(int)).max() <= 1, kind


@pytest.mark.parametrize("pair", ["edges", "negative"])
def test_short_fit_on_the_mnist_domains(data_root, pair):
    from keras_gans import data

    (digits, _), (other, _) = data.mnist_domains(data_root / "mnist" / "mnist.npz", pair=pair)
    ds = data.unpaired_dataset(digits[:256], other[:256], image_size=28, channels=1,
                               batch_size=32, jitter=False, flip=False, seed=0)
    gan = CoGAN(image_size=28, latent_dim=LATENT, generator_width=4, discriminator_width=4,
                seed=0)
    gan.compile(jit_compile=JIT)
    history = gan.fit(ds, epochs=1, steps_per_epoch=3, verbose=0).history
    assert all(np.isfinite(v).all() for v in history.values())
    images_a, images_b = gan.generate(4, seed=0)
    assert images_a.shape == images_b.shape == (4, 28, 28, 1)
