"""Tests for keras_gans.models.wgan: WGAN (weight clipping) and WGAN-GP
(gradient penalty)."""

import json

import numpy as np
import pytest

import keras
from helpers import JIT
from keras import layers

import keras_gans as kg
from keras_gans.models import WGAN, WGANGP, dcgan_discriminator, toy_mlp_critic, toy_mlp_generator

JIT_ON_AND_OFF = pytest.mark.parametrize(
    "jit_compile", [pytest.param(True, marks=pytest.mark.slow_on_torch), False]
)


def tiny(family, **kwargs):
    args = dict(image_size=16, channels=3, latent_dim=8, generator_width=4, discriminator_width=4,
                seed=0)
    return family(**{**args, **kwargs})


def images(n, size=16, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 3)).astype("float32")


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def iterations(optimizer):
    return int(numpy(optimizer.iterations))


def kinds(model):
    return [type(layer).__name__ for layer in model.layers]


# -- networks -----------------------------------------------------------------------


@pytest.mark.single_backend
def test_critic_norms_and_which_scores_depend_on_the_batch():
    x = images(4, 32)
    for norm in ("batch", "layer", None):
        critic = dcgan_discriminator(32, 3, 8, norm=norm)
        names = kinds(critic)
        assert names.count("BatchNormalization") == (2 if norm == "batch" else 0)
        assert names.count("GroupNormalization") == (2 if norm == "layer" else 0)
        alone = numpy(critic(x[:1], training=True))
        in_batch = numpy(critic(x, training=True))[:1]
        # The gradient penalty is per image: only BatchNorm mixes the batch.
        assert np.allclose(alone, in_batch, atol=1e-5) == (norm != "batch"), norm
    # Layer norm as the authors': one group, a scale and an offset per channel.
    norms = [l for l in dcgan_discriminator(32, 3, 8, norm="layer").layers
             if isinstance(l, layers.GroupNormalization)]
    assert [(l.groups, tuple(l.gamma.shape)) for l in norms] == [(1, (16,)), (1, (32,))]
    with pytest.raises(ValueError, match="norm must be one of"):
        dcgan_discriminator(32, 3, norm="instance")


@pytest.mark.single_backend
def test_toy_mlps_are_the_papers():
    g, d = toy_mlp_generator(), toy_mlp_critic()
    assert g.input_shape == (None, 2) and g.output_shape == (None, 2)
    assert d.input_shape == (None, 2) and d.output_shape == (None, 1)
    for model in (g, d):
        dense = [l for l in model.layers if isinstance(l, layers.Dense)]
        hidden, out = dense[:-1], dense[-1]
        assert [l.units for l in hidden] == [512] * 3
        assert all(l.activation is keras.activations.relu for l in hidden)
        assert all(type(l.kernel_initializer).__name__ == "HeUniform" for l in hidden)
        assert out.activation is keras.activations.linear  # toy data are unbounded
    gan = WGANGP(body="toy", seed=0)
    assert gan.latent_dim == 2 and gan.generate(5, seed=0).shape == (5, 2)


@pytest.mark.single_backend
def test_a_bare_compile_gives_each_papers_setting():
    wgan = tiny(WGAN)
    wgan.compile(jit_compile=JIT)
    assert (wgan.loss_pair.name, wgan.d_steps, wgan.g_steps, wgan.fresh_reals) == \
        ("wasserstein", 5, 1, True)
    assert wgan.penalties == [] and wgan.clip_value == 0.01
    for optimizer in (wgan.d_optimizer, wgan.g_optimizer):
        assert isinstance(optimizer, keras.optimizers.RMSprop)
        assert float(numpy(optimizer.learning_rate)) == pytest.approx(5e-5)
        assert optimizer.rho == 0.99  # torch's alpha, as the authors ran it
    # The DCGAN critic, BatchNorm included (the authors' DCGAN_D).
    assert kinds(wgan.discriminator).count("BatchNormalization") == 1
    # A dataset batch of 5 * B: one B for each critic update.
    wgan.train_on_batch(images(10))
    assert (iterations(wgan.d_optimizer), iterations(wgan.g_optimizer)) == (5, 1)
    assert int(numpy(wgan.progress.images)) == 10

    gp = tiny(WGANGP)
    gp.compile(jit_compile=JIT)
    assert (gp.loss_pair.name, gp.d_steps, gp.fresh_reals) == ("wasserstein", 5, True)
    assert gp.penalties[0].weight == 10.0 and gp.penalties[0].target == 1.0
    for optimizer in (gp.d_optimizer, gp.g_optimizer):
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert (optimizer.beta_1, optimizer.beta_2) == (0.0, 0.9)
        assert float(numpy(optimizer.learning_rate)) == pytest.approx(1e-4)
    assert "BatchNormalization" not in kinds(gp.discriminator)
    assert kinds(gp.discriminator).count("GroupNormalization") == 1
    assert "BatchNormalization" in kinds(gp.generator)  # the authors keep it in G
    # Every default stays overridable.
    gp.compile(d_steps=2, fresh_reals=False, penalties=[], jit_compile=JIT)
    assert (gp.d_steps, gp.fresh_reals, gp.penalties) == (2, False, [])


@pytest.mark.single_backend
def test_bad_arguments_say_what_works():
    with pytest.raises(ValueError, match="clip_value must be > 0"):
        tiny(WGAN, clip_value=0)
    with pytest.raises(ValueError, match="body must be one of"):
        WGANGP(body="resnet")
    with pytest.raises(ValueError, match="critic_norm must be 'layer' or None.*BatchNorm"):
        WGANGP(critic_norm="batch")


@pytest.mark.single_backend
def test_configs_round_trip():
    for gan in (tiny(WGAN, clip_value=0.02, paper_schedule=True),
                tiny(WGANGP, critic_norm=None),
                WGANGP(body="toy", units=8, depth=2, seed=3)):
        config = json.loads(json.dumps(gan.get_config()))
        clone = type(gan).from_config(config)
        assert clone.get_config() == config
        assert "generator" not in config  # rebuilt from the arguments
        assert clone.generator.count_params() == gan.generator.count_params()
        assert clone.discriminator.count_params() == gan.discriminator.count_params()
    # Given networks are saved with the config, and sizes read from them.
    gan = WGANGP(body="toy", generator=toy_mlp_generator(3, 4, 8, 1),
                 discriminator=toy_mlp_critic(4, 8, 1), seed=0)
    assert (gan.latent_dim, gan.data_dim) == (3, 4)
    clone = WGANGP.from_config(json.loads(json.dumps(gan.get_config())))
    assert clone.generator.count_params() == gan.generator.count_params()


# -- WGAN: weight clipping and the critic schedule -----------------------------------


def linear_wgan(clip_value=0.01):
    """A WGAN of 2x2 one-channel images whose updates have closed forms: a
    frozen generator that makes blank images, and a linear critic w.x + b
    from w = 0, trained with SGD(1). Under the Wasserstein loss the critic's
    kernel gradient is mean(fakes) - mean(reals), whatever w is."""
    z = keras.Input((2,))
    blank = layers.Reshape((2, 2, 1))(layers.Dense(4, kernel_initializer="zeros")(z))
    critic = keras.Sequential([keras.Input((2, 2, 1)), layers.Flatten(),
                               layers.Dense(1, kernel_initializer="zeros")])
    return WGAN(generator=keras.Model(z, blank), discriminator=critic, latent_dim=2,
                clip_value=clip_value, seed=0)


@JIT_ON_AND_OFF
def test_the_critic_is_clipped_after_every_update(jit_compile):
    # Two critic updates, on reals of +1 then -1 (fresh reals): the first
    # moves w to +1 and clipping brings it to c; the second moves it to
    # c - 1, clipped to -c. Clipping only at the end would give clip(1 - 1)
    # = 0, clipping before each update (the authors' code) c - 1.
    reals = np.concatenate([np.ones((2, 2, 2, 1)), -np.ones((2, 2, 2, 1))]).astype("float32")
    gan = linear_wgan(clip_value=0.01)
    gan.compile(d_optimizer=keras.optimizers.SGD(1.0), g_optimizer=keras.optimizers.SGD(0.0),
                d_steps=2, jit_compile=jit_compile)
    gan.train_on_batch(reals)
    kernel, bias = (numpy(w) for w in gan.discriminator.weights)
    np.testing.assert_allclose(kernel, -0.01, rtol=1e-6)
    np.testing.assert_allclose(bias, 0.0, atol=1e-7)


class UnclippedWGAN(WGAN):
    """WGAN without its clipping hook: the control."""

    def clip_critic(self, step=None):
        pass


@JIT_ON_AND_OFF
def test_after_training_every_critic_weight_lies_in_the_clip_box(jit_compile):
    # RMSprop's first steps move every weight by about lr / sqrt(1 - rho) = 1,
    # a hundred times c: unclipped weights leave the box at once. (The
    # control runs once: what it shows does not depend on compilation.)
    for family in (WGAN,) if jit_compile else (WGAN, UnclippedWGAN):
        gan = tiny(family)
        gan.compile(d_optimizer=keras.optimizers.RMSprop(0.1, rho=0.99),
                    g_optimizer=keras.optimizers.RMSprop(1e-3), d_steps=2,
                    jit_compile=jit_compile)
        gan.fit(images(40), batch_size=20, epochs=1, verbose=0)  # 2 steps of 2 updates
        largest = [np.abs(numpy(w)).max() for w in gan.discriminator.trainable_weights]
        assert len(largest) == 5  # 3 kernels and BatchNorm's scale and offset
        if family is WGAN:
            np.testing.assert_allclose(largest, 0.01, rtol=1e-6)  # each at the box's edge
            assert max(largest) <= 0.01
        else:
            assert min(largest) > 0.1


@pytest.mark.parametrize("jit_compile", [
    pytest.param(True, marks=pytest.mark.slow_on_torch),
    # Op by op, JAX takes a minute for these 205 updates; torch runs the same Python loop.
    pytest.param(False, marks=pytest.mark.skipif(keras.backend.backend() == "jax",
                                                 reason="JAX without jit runs op by op")),
])
def test_paper_schedule_runs_100_critic_updates_on_its_steps(jit_compile):
    gan = tiny(WGAN, paper_schedule=True)
    gan.compile(jit_compile=jit_compile)
    batch = images(10)  # 5 critic batches of 2, reused in turn on 100-update steps
    gan.progress.steps.assign(24)
    gan.fit(batch, batch_size=10, epochs=2, verbose=0)  # steps 24 (the last of the warm-up), 25
    assert iterations(gan.d_optimizer) == 100 + 5
    gan.progress.steps.assign(500)
    gan.fit(batch, batch_size=10, epochs=1, verbose=0)  # every 500th step
    assert iterations(gan.d_optimizer) == 105 + 100
    assert iterations(gan.g_optimizer) == 3
    assert max(np.abs(numpy(w)).max() for w in gan.discriminator.trainable_weights) <= 0.01


# -- saving, resuming, export ------------------------------------------------------------


@pytest.mark.parametrize("family", [WGAN, WGANGP])
def test_save_load_resumes_weights_optimizers_and_progress(family, tmp_path):
    options = {"paper_schedule": True, "clip_value": 0.02} if family is WGAN else {}
    gan = tiny(family, **options)
    gan.compile(jit_compile=JIT)
    # Past the schedule's warm-up: these are ordinary steps of 5 critic updates.
    gan.progress.steps.assign(30)
    logs = gan.fit(images(20), batch_size=10, epochs=1, verbose=0).history
    if family is WGANGP:
        assert logs["gradient_penalty"][0] > 0
    assert all(np.isfinite(v[0]) for v in logs.values())
    gan.save(tmp_path / "wgan.keras")
    loaded = keras.models.load_model(tmp_path / "wgan.keras")
    assert type(loaded) is family and loaded.fresh_reals and loaded.d_steps == 5
    assert loaded.get_config() == gan.get_config()
    assert [p.get_config() for p in loaded.penalties] == [p.get_config() for p in gan.penalties]
    for a, b in zip(gan.weights, loaded.weights):
        np.testing.assert_array_equal(numpy(a), numpy(b))
    for name in ("d_optimizer", "g_optimizer"):
        for a, b in zip(getattr(gan, name).variables, getattr(loaded, name).variables):
            np.testing.assert_array_equal(numpy(a), numpy(b))
    assert int(numpy(loaded.progress.steps)) == 32
    # Resuming continues the counts (step 32: 5 critic updates, not the warm-up's 100).
    loaded.fit(images(10), batch_size=10, epochs=1, verbose=0)
    assert (iterations(loaded.d_optimizer), iterations(loaded.g_optimizer)) == (15, 3)
    if family is WGAN:
        assert max(np.abs(numpy(w)).max() for w in loaded.discriminator.trainable_weights) <= 0.02


@pytest.mark.single_backend  # export runs a TensorFlow process from any backend
def test_export_serves_from_tensorflow_alone(tmp_path):
    # test_export's client checks, on a WGAN-GP export of the same size
    # (16 px, z of 8, at most 6 samples per call).
    from test_export import test_signatures_from_a_tensorflow_only_process as check_export

    gan = tiny(WGANGP)
    gan.compile(jit_compile=JIT)
    gan.fit(images(20), batch_size=10, epochs=1, verbose=0)
    path = kg.export.export_generator(gan, tmp_path / "wgan_gp" / "1", max_samples=6)
    check_export((gan, path), tmp_path)


# -- learning: WGAN-GP on the paper's toy distributions -----------------------------------


def twenty_five_gaussians(n, rng, std=0.05):
    """gan_toy.py's grid: 5 x 5 Gaussians 2 apart, scaled to unit spread."""
    centers = 2.0 * np.stack(np.meshgrid(np.arange(-2, 3), np.arange(-2, 3)), -1).reshape(-1, 2)
    points = centers[rng.integers(0, 25, n)] + rng.normal(0, std, (n, 2))
    return (points / 2.828).astype("float32"), centers / 2.828


def learn_toy(data, centers, near_radius, units, batch, lr, steps, steps_per_epoch):
    """Train the toy WGAN-GP as gan_toy.py does (penalty 0.1, Adam betas
    (0.5, 0.9), 5 critic updates of `batch`, z of 2, 3 ReLU layers), but at
    10-20x its learning rate and `units` wide, to get there in a CPU minute.

    The paper's 512 units cost 10x more per step: they learn the ring too
    (90% of samples near a mode, all 8 modes, after 1,000 steps of 256 at
    1e-3: 8 minutes on a loaded 2-core CPU, TensorFlow), and after 800 such
    steps on the grid (5 minutes) had 46% near and 22 of 25 modes.

    Returns the share of samples within `near_radius` of a centre, the
    number of centres with at least a quarter of their share of samples,
    and the critic's per-epoch estimate of the Wasserstein distance."""
    gan = WGANGP(body="toy", units=units, seed=0)
    gan.compile(d_optimizer=keras.optimizers.Adam(lr, beta_1=0.5, beta_2=0.9),
                g_optimizer=keras.optimizers.Adam(lr, beta_1=0.5, beta_2=0.9),
                penalties=[kg.losses.GradientPenalty(0.1)])
    history = gan.fit(data[: steps_per_epoch * 5 * batch], batch_size=5 * batch,
                      epochs=steps // steps_per_epoch, verbose=0).history
    samples = gan.generate(2000, seed=1)
    distances = np.linalg.norm(samples[:, None] - centers[None], axis=-1)
    near = distances.min(axis=1) < near_radius
    counts = np.bincount(distances.argmin(axis=1)[near], minlength=len(centers))
    covered = (counts >= 2000 / len(centers) / 4).sum()
    return near.mean(), covered, np.subtract(history["real_score"], history["fake_score"])


@pytest.mark.slow_on_torch
def test_wgan_gp_learns_the_ring_of_eight_gaussians():
    from test_gan import eight_gaussians

    # gan_toy.py's ring (radius 2, std 0.02, scaled by 1 / 1.414).
    data, centers = eight_gaussians(40 * 5 * 256, np.random.default_rng(0), radius=2 / 1.414,
                                    std=0.02 / 1.414)
    # A sixth of the spacing (1.08) and 13 standard deviations. Global
    # seeds 0-2 gave 68-75% of samples near a mode and all 8 modes.
    near, covered, distance = learn_toy(data, centers, near_radius=0.18, units=128, batch=256,
                                        lr=2e-3, steps=600, steps_per_epoch=40)
    assert near > 0.5, f"only {near:.0%} of samples near a mode"
    assert covered >= 7, f"only {covered} of 8 modes covered"
    # After the critic's first epoch of catching up, its estimate falls.
    assert distance[-3:].mean() < 0.5 * distance[1:4].mean(), distance


@pytest.mark.slow_on_torch
def test_wgan_gp_learns_the_grid_of_twenty_five_gaussians():
    data, centers = twenty_five_gaussians(100 * 5 * 256, np.random.default_rng(0))
    # A quarter of the spacing (0.71) and 10 standard deviations. Global
    # seeds 0-2 gave 63-66% of samples near a mode and 24-25 modes.
    near, covered, distance = learn_toy(data, centers, near_radius=0.18, units=128, batch=256,
                                        lr=1e-3, steps=2000, steps_per_epoch=100)
    assert near > 0.5, f"only {near:.0%} of samples near a mode"
    assert covered >= 20, f"only {covered} of 25 modes covered"
    assert distance[-3:].mean() < 0.5 * distance[1:4].mean(), distance
