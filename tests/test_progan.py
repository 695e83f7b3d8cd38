"""Tests for keras_gans.growing and keras_gans.models.progan: progressive growing."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import keras
from helpers import JIT, two_disc_modes

from keras_gans.callbacks import SampleGrid
from keras_gans.export import export_generator
from keras_gans.growing import Growth, GrowthSchedule, downscale, upscale
from keras_gans.layers import EqualizedConv2D, EqualizedDense, MinibatchStdDev, PixelNorm
from keras_gans.models.progan import (
    ProGAN,
    ProGANDiscriminator,
    ProGANGenerator,
    progan_filters,
)

SQRT2 = math.sqrt(2.0)
BATCH = 8  # two groups of the minibatch standard deviation's 4
HOLD, FADE = 16, 32  # images: 4x4 for 2 steps, then 8x8 fades in over 4 steps


def numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def tiny_gan(image_size=8, hold=HOLD, fade=FADE, **kwargs):
    kwargs = {"channels": 1, "latent_dim": 8, "max_filters": 8, "seed": 0, **kwargs}
    gan = ProGAN(image_size=image_size, images_per_stage=hold, fade_images=fade, **kwargs)
    gan.compile(jit_compile=JIT)
    return gan


def tiny_data(n, image_size=8, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, image_size, image_size, 1)).astype(
        "float32")


def box(x, factor):  # NumPy's box-filter downscale, for comparison
    n, h, w, c = x.shape
    return x.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


def nearest(x, factor):
    return np.repeat(np.repeat(x, factor, axis=1), factor, axis=2)


class Record(keras.callbacks.Callback):
    """After every step: the images seen, the phase and the networks' alpha."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_batch_end(self, batch, logs=None):
        gan = self.model
        self.steps.append((gan.images_seen(), gan.phase, float(numpy(gan.alpha))))


def state(gan):
    """`(path, value)` of every weight of `gan` and of its optimizers (paths
    may repeat: the EMA generator's copy the generator's)."""
    variables = gan.weights + (gan.optimizer.variables if gan.compiled else [])
    return [(v.path, numpy(v)) for v in variables]


# -- the schedule ---------------------------------------------------------------------


@pytest.mark.single_backend
def test_schedule_has_a_hold_then_a_fade_and_a_hold_per_doubling():
    schedule = GrowthSchedule(32, hold_images=100, fade_images=40)
    assert schedule.resolutions == (4, 8, 16, 32)
    # Stage s > 0 starts at hold + (s - 1)(fade + hold): 100, 240, 380.
    assert [schedule.stage_start(s) for s in range(4)] == [0, 100, 240, 380]
    assert [schedule.phase_at(i) for i in (0, 99, 100, 139, 140, 239, 240, 379, 380, 419, 420)] \
        == [0, 0, 1, 1, 2, 2, 3, 4, 5, 5, 6]
    assert schedule.phase_at(10**9) == 6  # the last stage trains on
    assert schedule.total_images == 380 + 40 + 100
    assert len(schedule.describe()) == 7


@pytest.mark.single_backend
def test_alpha_rises_linearly_from_0_to_1_over_a_fade_in():
    schedule = GrowthSchedule(16, hold_images=100, fade_images=40)
    images = np.arange(90, 260)
    for stage, start in ((1, 100), (2, 240)):
        expected = np.clip((images - start) / 40, 0, 1)
        in_step = [float(numpy(schedule.alpha(keras.ops.convert_to_tensor(i, "int32"), stage)))
                   for i in images]
        np.testing.assert_allclose(in_step, expected, atol=1e-6)
    # The Python value of the stage the images fall in.
    assert [schedule.alpha_at(i) for i in (0, 99, 100, 110, 139, 140, 250)] \
        == [1.0, 1.0, 0.0, 0.25, 0.975, 1.0, 0.25]
    assert float(numpy(schedule.alpha(5, 0))) == 1.0  # stage 0 has nothing to fade


@pytest.mark.single_backend
def test_schedule_checks_its_arguments():
    with pytest.raises(ValueError, match="4 times a power of two"):
        GrowthSchedule(48)
    with pytest.raises(ValueError, match=">= 1"):
        GrowthSchedule(16, hold_images=0)
    with pytest.raises(ValueError, match="not stages"):
        GrowthSchedule(16, batch_sizes={32: 4})
    schedule = GrowthSchedule(16, hold_images=5, batch_sizes={"16": 4})  # JSON keys
    assert GrowthSchedule.from_config(json.loads(json.dumps(schedule.get_config()))) == schedule
    assert schedule.batch_size(2) == 4 and schedule.batch_size(0) is None


# -- the networks -----------------------------------------------------------------------


@pytest.mark.single_backend
def test_widths_follow_the_papers_code():
    assert [progan_filters(4 * 2**i) for i in range(9)] == [512, 512, 512, 512, 256, 128, 64, 32, 16]
    assert progan_filters(64, max_filters=32, fmap_base=512) == 16


@pytest.mark.single_backend
def test_networks_are_the_papers():
    g = ProGANGenerator(image_size=16, channels=3, latent_dim=64, max_filters=64)
    d = ProGANDiscriminator(image_size=16, channels=3, max_filters=64)
    # Every convolution and dense layer has an equalized learning rate, with
    # the papers' gains: sqrt(2) but for G's first dense layer (sqrt(2)/4),
    # the linear toRGB and D's score (1).
    for network, special in ((g, {"dense": SQRT2 / 4, "to_rgb": 1.0}), (d, {"score": 1.0})):
        layers = [layer for layer in network._flatten_layers()
                  if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense,
                                        EqualizedConv2D, EqualizedDense))]
        assert layers and all(isinstance(layer, (EqualizedConv2D, EqualizedDense))
                              for layer in layers)
        for layer in layers:
            gain = next((v for k, v in special.items() if layer.name.startswith(k)), SQRT2)
            fan_in = math.prod(layer.kernel.shape[:-1])
            assert layer.gain == pytest.approx(gain), layer.name
            # Stored N(0, 1), scaled at run time by gain / sqrt(fan_in).
            assert layer.scale == pytest.approx(gain / math.sqrt(fan_in))
            if math.prod(layer.kernel.shape) >= 4096:  # enough draws for 5%
                np.testing.assert_allclose(numpy(layer.kernel).std(), 1.0, rtol=0.05)
                np.testing.assert_allclose(numpy(layer.equalized_kernel).std(),
                                           gain / math.sqrt(fan_in), rtol=0.05)
    # toRGB is linear: no tanh.
    assert all(layer.activation is keras.activations.linear for layer in g.to_images)
    # Pixel norm on z and after every generator convolution.
    for block in g.blocks:
        kinds = [type(layer) for layer in block.layers]
        for i, kind in enumerate(kinds):
            if kind in (EqualizedConv2D, EqualizedDense):
                assert kinds[i + 1 + (kinds[i + 1] is keras.layers.Reshape)] is PixelNorm
    assert type(g.blocks[0].layers[0]) is PixelNorm
    # Nearest-neighbour upsampling and average pooling.
    assert all(isinstance(b.layers[0], keras.layers.UpSampling2D) for b in g.blocks[1:])
    assert all(isinstance(b.layers[-1], keras.layers.AveragePooling2D) for b in d.blocks[1:])
    # The minibatch standard deviation opens the discriminator's last (4x4) stage.
    assert isinstance(d.blocks[0].layers[0], MinibatchStdDev)
    assert d.blocks[0].layers[0].group_size == 4
    assert not any(isinstance(layer, MinibatchStdDev) for b in d.blocks[1:] for layer in b.layers)


def test_fade_in_blends_by_its_formula():
    g = ProGANGenerator(image_size=16, channels=1, latent_dim=8, max_filters=8, stage=2)
    d = ProGANDiscriminator(image_size=16, channels=1, max_filters=8, stage=2)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((4, 8)).astype("float32")
    x = rng.standard_normal((4, 16, 16, 1)).astype("float32")
    for alpha in (0.0, 0.3, 1.0):
        g.alpha.assign(alpha)
        d.alpha.assign(alpha)
        features_8 = g.blocks[1](g.blocks[0](z))
        new = numpy(g.to_images[2](g.blocks[2](features_8)))
        old = nearest(numpy(g.to_images[1](features_8)), 2)
        np.testing.assert_allclose(numpy(g(z)), old + (new - old) * alpha, rtol=1e-5, atol=1e-6)
        new = numpy(d.blocks[2](d.from_images[2](x)))
        old = numpy(d.from_images[1](box(x, 2)))
        blended = (old + (new - old) * alpha).astype("float32")
        np.testing.assert_allclose(numpy(d(x)), numpy(d.blocks[0](d.blocks[1](blended))),
                                   rtol=1e-5, atol=1e-5)
    # The reals: box-downscaled to the stage, blended with their coarser version.
    gan = tiny_gan(image_size=16)
    # (Stage 1 of 3: downscaled by 2, and blended with that downscaled by 2 again.)
    gan.progress.images.assign(gan.schedule.stage_start(1) + FADE // 4)
    gan.grow()
    assert gan.stage == 1 and float(numpy(gan.alpha)) == 0.25
    x8 = box(x, 2)
    expected = nearest(box(x8, 2), 2) + (x8 - nearest(box(x8, 2), 2)) * 0.25
    np.testing.assert_allclose(numpy(gan.lower_reals(x)), expected, rtol=1e-5, atol=1e-6)


def test_at_alpha_1_the_network_is_the_grown_one_without_the_old_branch():
    g = ProGANGenerator(image_size=8, channels=1, latent_dim=8, max_filters=8, stage=1)
    d = ProGANDiscriminator(image_size=8, channels=1, max_filters=8, stage=1)
    z = np.random.default_rng(0).standard_normal((4, 8)).astype("float32")
    x = np.random.default_rng(1).standard_normal((4, 8, 8, 1)).astype("float32")
    grown_g = numpy(g.to_images[1](g.blocks[1](g.blocks[0](z))))
    grown_d = numpy(d.blocks[0](d.blocks[1](d.from_images[1](x))))
    g.alpha.assign(0.5), d.alpha.assign(0.5)
    half = (numpy(g(z)), numpy(d(x)))
    g.alpha.assign(1.0), d.alpha.assign(1.0)
    np.testing.assert_allclose(numpy(g(z)), grown_g, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(numpy(d(x)), grown_d, rtol=1e-5, atol=1e-6)
    # The old toRGB / fromRGB no longer count: changing them changes nothing at
    # alpha 1, and the output at alpha 0.5.
    for layer in (g.to_images[0], d.from_images[0]):
        layer.kernel.assign(layer.kernel * 3.0 + 1.0)
    np.testing.assert_allclose(numpy(g(z)), grown_g, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(numpy(d(x)), grown_d, rtol=1e-5, atol=1e-6)
    g.alpha.assign(0.5), d.alpha.assign(0.5)
    assert not np.allclose(numpy(g(z)), half[0])
    assert not np.allclose(numpy(d(x)), half[1])


def test_networks_round_trip_through_keras_files_in_their_stage(tmp_path):
    z = np.random.default_rng(0).standard_normal((4, 8)).astype("float32")
    for network, inputs in (
        (ProGANGenerator(image_size=8, channels=1, latent_dim=8, max_filters=8, stage=1), z),
        (ProGANDiscriminator(image_size=8, channels=1, max_filters=8, stage=1), tiny_data(4)),
    ):
        network.alpha.assign(0.5)
        network.save(tmp_path / "network.keras")
        loaded = keras.models.load_model(tmp_path / "network.keras")
        assert type(loaded) is type(network)
        assert (loaded.stage, float(numpy(loaded.alpha))) == (1, 0.5)
        np.testing.assert_allclose(numpy(loaded(inputs)), numpy(network(inputs)), rtol=1e-6)


def test_a_network_refuses_images_of_another_stage():
    d = ProGANDiscriminator(image_size=8, channels=1, max_filters=8, stage=0)
    with pytest.raises(ValueError, match="stage 0 and takes 4x4 images"):
        d(np.zeros((4, 8, 8, 1), "float32"))


# -- growing during fit ---------------------------------------------------------------------


def test_growing_preserves_what_was_learned():
    gan = tiny_gan()
    z = np.random.default_rng(0).standard_normal((4, 8)).astype("float32")
    x = tiny_data(4, seed=1)
    seen = {}

    class BeforeGrowth(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            model = self.model  # on JAX, this syncs the state into the variables
            seen["state"] = state(model)
            seen["g"] = numpy(model.generator(z))
            seen["ema"] = model.generate(z=z)
            seen["d"] = numpy(model.discriminator(box(x, 2)))

    # 2 steps of 8 end the 4x4 stage; the callback sees the model before Growth.
    gan.fit(tiny_data(16), batch_size=BATCH, epochs=1, verbose=0, shuffle=False,
            callbacks=[BeforeGrowth(), Growth()])
    assert gan.stage == 1 and float(numpy(gan.alpha)) == 0.0
    assert gan.generator.stage == gan.ema_generator.stage == gan.discriminator.stage == 1
    # Entering the stage changes no weight, and at alpha 0 both networks
    # compute what they computed at 4x4, on the (down)scaled images.
    changed = [path for (path, value), (_, now) in zip(seen["state"], state(gan))
               if not np.array_equal(value, now) and "optimizer" not in path]
    assert changed and all(path.endswith("/alpha") for path in changed), changed
    np.testing.assert_array_equal(numpy(gan.generator(z)), nearest(seen["g"], 2))
    np.testing.assert_array_equal(gan.generate(z=z), nearest(seen["ema"], 2))
    np.testing.assert_allclose(numpy(gan.discriminator(x)), seen["d"], rtol=1e-6)
    # Adam starts afresh for the new layers (the reference code's reset).
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        assert int(numpy(optimizer.iterations)) == 0
        assert all(not numpy(v).any() for v in optimizer.variables if "momentum" in v.path)
        assert float(numpy(optimizer.learning_rate)) == pytest.approx(1e-3)
    # The 4x4 layers keep training in the new stage.
    block_0 = {v.path: numpy(v) for v in gan.generator.blocks[0].weights}
    gan.fit(tiny_data(8), batch_size=BATCH, epochs=1, verbose=0)
    assert gan.images_seen() == 24
    assert all(not np.array_equal(value, numpy(v)) for (path, value), v
               in zip(block_0.items(), gan.generator.blocks[0].weights))


@pytest.fixture(scope="module")
def mid_fade(tmp_path_factory):
    """A tiny ProGAN fitted 5 steps of 8 (4x4 for 2, then 8x8 fading in at
    alpha 0, 0.25, 0.5) and saved: the model, the file and what `Record` saw
    each step train with."""
    keras.utils.set_random_seed(0)
    gan = tiny_gan()
    record = Record()  # before Growth: what each step trained with
    gan.fit(tiny_data(40), batch_size=BATCH, epochs=1, verbose=0, shuffle=False,
            callbacks=[record, Growth()])
    path = tmp_path_factory.mktemp("progan") / "mid_fade.keras"
    gan.save(path)
    return gan, path, record.steps


@pytest.fixture(scope="module")
def resumed(mid_fade):
    """The mid-fade model loaded, and it and the original then fitted the
    same 4 more steps."""
    gan, path, _ = mid_fade
    saved = state(gan)
    loaded = keras.models.load_model(path)
    restored = {"phase": loaded.phase, "stage": loaded.stage, "alpha": float(numpy(loaded.alpha)),
                "images": loaded.images_seen(), "state": state(loaded)}
    more, record = tiny_data(32, seed=2), Record()
    loaded.fit(more, batch_size=BATCH, epochs=1, verbose=0, shuffle=False,
               callbacks=[record, Growth()])
    gan.fit(more, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
    return {"loaded": loaded, "restored": restored, "steps": record.steps, "saved": saved}


def test_alpha_rises_from_0_to_1_during_fit(mid_fade, resumed):
    steps = mid_fade[2] + resumed["steps"]  # the resumed run's steps 6 to 9
    images = np.array([i for i, _, _ in steps])
    np.testing.assert_array_equal(images, BATCH * np.arange(1, 10))
    # A step's alpha is that of the images seen before it: 1 at 4x4, then
    # (images - start) / fade while 8x8 fades in, and 1 once it holds.
    before = images - BATCH
    expected = np.where(before < HOLD, 1.0, np.clip((before - HOLD) / FADE, 0, 1))
    alphas = np.array([alpha for _, _, alpha in steps])
    np.testing.assert_allclose(alphas, expected, atol=1e-6)
    assert list(alphas[2:7]) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [phase for _, phase, _ in steps] == [0, 0, 1, 1, 1, 1, 2, 2, 2]


def test_resume_mid_fade_restores_stage_alpha_and_training(mid_fade, resumed):
    gan = mid_fade[0]
    restored, loaded = resumed["restored"], resumed["loaded"]
    assert (restored["phase"], restored["stage"], restored["images"]) == (1, 1, 40)
    assert restored["alpha"] == 0.5
    assert loaded.schedule == gan.schedule
    # Every weight, the optimizers' moments and the noise's seed state.
    assert [path for path, _ in restored["state"]] == [path for path, _ in resumed["saved"]]
    for (path, value), (_, loaded_value) in zip(resumed["saved"], restored["state"]):
        np.testing.assert_array_equal(loaded_value, value, err_msg=path)
    # Both went on the same 4 steps from there: the same weights.
    for original, continued in zip(gan.weights, loaded.weights):
        np.testing.assert_allclose(numpy(continued), numpy(original), rtol=1e-5, atol=1e-6,
                                   err_msg=original.path)
    np.testing.assert_allclose(loaded.generate(4, seed=3), gan.generate(4, seed=3), atol=1e-5)


def test_the_ema_restarts_at_a_growth_and_follows_the_new_block(mid_fade, resumed):
    # 7 steps into the 8x8 stage, far fewer than 0.999's horizon of 1,000:
    # without the restart the EMA's new block would still be its initial one.
    gan = mid_fade[0]
    keras.utils.set_random_seed(0)
    untrained = tiny_gan().generator  # mid_fade's initial weights

    def new_block(generator):  # its weights as one vector
        weights = generator.blocks[1].weights + generator.to_images[1].weights
        return np.concatenate([numpy(v).ravel() for v in weights])

    init, raw, ema = map(new_block, (untrained, gan.generator, gan.ema_generator))
    assert not np.array_equal(raw, init)
    assert np.linalg.norm(ema - raw) < 0.5 * np.linalg.norm(init - raw)


@pytest.mark.single_backend
def test_the_ema_half_life_grows_from_0_at_each_growth_to_ema_decays():
    gan = ProGAN(image_size=8, channels=1, latent_dim=8, max_filters=8, images_per_stage=1000,
                 fade_images=1_000_000, seed=0)

    def decay_after(images, steps):
        gan.progress.images.assign(images)
        gan.progress.steps.assign(steps)
        gan.grow()
        return float(numpy(gan.ema_decay_now()))

    assert decay_after(0, 0) == 0.0  # the first step copies
    assert decay_after(1000, 100) == 0.0  # and the first of the 8x8 stage
    # Half-life <= 0.25 x the images since the stage began: 10 images a step.
    assert decay_after(1010, 101) == pytest.approx(0.5 ** (10 / 2.5))
    assert decay_after(1000 + 4000, 500) == pytest.approx(0.5 ** (10 / 1000))
    assert decay_after(1000 + 100_000, 10_100) == pytest.approx(0.999)  # then ema_decay's
    gan = ProGAN(image_size=8, channels=1, latent_dim=8, max_filters=8, images_per_stage=1000,
                 ema_stage_rampup=None, seed=0)
    assert decay_after(1000, 100) == pytest.approx(0.999)
    with pytest.raises(ValueError, match="ema_stage_rampup must be > 0"):
        ProGAN(image_size=8, ema_stage_rampup=0)

@pytest.mark.single_backend
def test_config_round_trips():
    gan = ProGAN(image_size=16, channels=1, latent_dim=8, max_filters=8, images_per_stage=10,
                 fade_images=20, batch_sizes={16: 4}, ema_decay=None, seed=3)
    config = json.loads(json.dumps(gan.get_config()))
    assert "generator" not in config
    clone = ProGAN.from_config(config)
    assert clone.schedule == gan.schedule and clone.schedule.batch_sizes == {16: 4}
    assert clone.ema_generator is None and clone.phase == 0
    assert clone.generator.count_params() == gan.generator.count_params()
    restarted = ProGAN(image_size=8, latent_dim=8, max_filters=8, ema_stage_rampup=0.5)
    assert ProGAN.from_config(restarted.get_config()).ema_stage_rampup == 0.5


@pytest.mark.single_backend
def test_a_growing_gan_of_its_own_networks_round_trips(tmp_path):
    # GrowingGAN with given networks (StyleGAN's way in): they are saved in
    # its config, with the schedule and the phase.
    from keras_gans.growing import GrowingGAN

    gan = GrowingGAN(ProGANGenerator(image_size=8, channels=1, latent_dim=8, max_filters=8),
                     ProGANDiscriminator(image_size=8, channels=1, max_filters=8),
                     GrowthSchedule(8, hold_images=16, fade_images=32), latent_dim=8, seed=0)
    gan.progress.images.assign(24)
    assert gan.grow() and (gan.phase, float(numpy(gan.alpha))) == (1, 0.25)
    gan.save(tmp_path / "growing.keras")
    loaded = keras.models.load_model(tmp_path / "growing.keras")
    assert type(loaded) is GrowingGAN and loaded.schedule == gan.schedule
    assert (loaded.phase, loaded.generator.stage, float(numpy(loaded.alpha))) == (1, 1, 0.25)
    np.testing.assert_allclose(loaded.generate(2, seed=1), gan.generate(2, seed=1), atol=1e-6)


def test_export_serves_the_current_stage_from_tensorflow_alone(mid_fade, tmp_path):
    gan = keras.models.load_model(mid_fade[1])  # 8x8 at alpha 0.5
    path = export_generator(gan, str(tmp_path / "progan" / "1"))
    z = np.random.default_rng(0).standard_normal((3, gan.latent_dim)).astype("float32")
    np.save(tmp_path / "z.npy", z)
    code = f"""
import numpy as np, sys, tensorflow as tf
model = tf.saved_model.load({path!r})
images = model.signatures["serving_default"](z=tf.constant(np.load({str(tmp_path / "z.npy")!r})))
np.save({str(tmp_path / "served.npy")!r}, images["images"].numpy())
assert "keras_gans" not in sys.modules
"""
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    served = np.load(tmp_path / "served.npy")
    assert served.dtype == np.uint8 and served.shape == (3, 8, 8, 1)  # the stage's 8x8
    expected = np.clip(np.round((gan.generate(z=z) + 1) * 127.5), 0, 255)  # at alpha 0.5
    assert np.abs(served.astype(int) - expected.astype(int)).max() <= 1


@pytest.mark.single_backend
def test_a_short_growth_run_from_4x4_to_16x16(tmp_path):
    # Smaller batches at 16x16: the stage trains on the first 4 of each 8.
    gan = tiny_gan(image_size=16, hold=16, fade=16, batch_sizes={16: 4})
    grid = SampleGrid(tmp_path, num_samples=4)
    gan.fit(tiny_data(64, 16), batch_size=BATCH, epochs=2, verbose=0, callbacks=[grid])
    # 4x4 to image 16, 8x8 to 48, then 16x16 at 4 images a step.
    assert gan.stage == 2 and gan.images_seen() == 48 + 4 * 10
    assert gan.generate(2).shape == (2, 16, 16, 1)
    from PIL import Image

    sizes = {name: Image.open(tmp_path / name).size
             for name in ("stage_0_4x4.png", "stage_1_8x8.png", "stage_2_16x16.png")}
    assert len(set(sizes.values())) == 1  # every grid is shown at 16x16


def test_fit_refuses_images_of_another_size():
    gan = tiny_gan()
    with pytest.raises(ValueError, match="grows to 8x8 images"):
        gan.fit(tiny_data(8, 16), batch_size=BATCH, epochs=1, verbose=0)


@pytest.mark.single_backend
def test_growing_networks_are_required():
    from keras_gans.growing import GrowingGAN
    from keras_gans.models import dcgan_discriminator, dcgan_generator

    with pytest.raises(TypeError, match="does not grow"):
        GrowingGAN(dcgan_generator(8, 1, 8, 8), dcgan_discriminator(8, 1, 8),
                   GrowthSchedule(8, hold_images=4))


@pytest.mark.slow_on_torch
def test_progan_learns_two_modes_through_its_growth():
    # Two 8x8 images (a bright disc on the left or right) with noise: after
    # growing from 4x4, samples lie near one of the two and cover both.
    keras.utils.set_random_seed(0)
    modes, data = two_disc_modes()
    gan = tiny_gan(hold=800, fade=800, max_filters=32)

    def nearest_mode(images):
        images = nearest(images[..., 0], 8 // images.shape[1])
        distances = ((images[:, None] - modes[None]) ** 2).mean(axis=(2, 3))
        return distances.min(axis=1).mean(), np.bincount(distances.argmin(axis=1), minlength=2)

    untrained, _ = nearest_mode(gan.generate(128, seed=1, use_ema=False))
    gan.fit(data[..., None].astype("float32"), batch_size=16, epochs=20, verbose=0)
    assert gan.stage == 1
    # The raw generator: 320 steps are too few for the 0.999 EMA to catch up.
    trained, counts = nearest_mode(gan.generate(128, seed=1, use_ema=False))
    assert trained < 0.25 * untrained, (trained, untrained)
    assert counts.min() >= 0.25 * 128, counts
