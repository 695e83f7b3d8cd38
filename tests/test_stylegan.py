"""Tests for keras_gans.models.stylegan: StyleGAN2's networks, style mixing,
truncation in W, noise, lazy R1, save/load/resume and learning."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import keras
from helpers import JIT, two_disc_modes

from keras_gans import losses as gan_losses
from keras_gans.export_stylegan import export_stylegan
from keras_gans.gan import StepState
from keras_gans.growing import GrowingGAN
from keras_gans.layers import (
    AdaIN,
    EqualizedConv2D,
    EqualizedDense,
    MinibatchStdDev,
    ModulatedConv2D,
    ModulatedToRGB,
    NoiseInjection,
)
from keras_gans.models.progan import ProGANDiscriminator
from keras_gans.models.stylegan import (
    ProgressiveStyleGAN,
    StyleGAN,
    StyleGAN2Synthesis,
    StyleGANGenerator,
    StyleGANSynthesis,
    mix_styles,
    num_styles,
    stylegan2_discriminator,
)

BATCH = 8  # two groups of the minibatch standard deviation's 4


def numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def tiny_gan(compile=True, **kwargs):
    kwargs = {"image_size": 8, "channels": 1, "latent_dim": 8, "w_dim": 8, "mapping_layers": 2,
              "max_filters": 8, "seed": 0, **kwargs}
    gan = StyleGAN(**kwargs)
    if compile:
        gan.compile(jit_compile=JIT)
    return gan


def tiny_data(n, image_size=8, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, image_size, image_size, 1)).astype(
        "float32")


def set_noise_strength(generator, value):
    for layer in generator.synthesis.noises:
        layer.scale.assign(np.full(layer.scale.shape, value, "float32"))


def distance(a, b):
    return float(np.abs(a - b).mean())


# -- the networks and the paper's setting ---------------------------------------------


@pytest.mark.single_backend
def test_networks_are_stylegan2s():
    g = StyleGANGenerator(image_size=16, channels=3, latent_dim=32, w_dim=24, max_filters=16)
    # Mapping: 8 equalized dense layers of width w_dim, learning 100x slower.
    dense = [layer for layer in g.mapping.layers if isinstance(layer, EqualizedDense)]
    assert [(d.units, d.lr_multiplier) for d in dense] == [(24, 0.01)] * 8
    # Synthesis: 2 styles per resolution (4, 8, 16), a demodulated 3x3
    # modulated conv and a noise layer per conv, one toRGB per resolution.
    synthesis = g.synthesis
    assert synthesis.num_ws == num_styles(16) == 6
    assert [c.demodulate for c in synthesis.convs] == [True] * 5
    assert [c.upsample for c in synthesis.convs] == [False, True, False, True, False]
    assert all(type(c) is ModulatedConv2D and c.kernel_size == 3 for c in synthesis.convs)
    assert len(synthesis.noises) == 5 and all(isinstance(n, NoiseInjection)
                                              for n in synthesis.noises)
    assert [type(t) for t in synthesis.to_rgbs] == [ModulatedToRGB] * 3
    # Residual discriminator: a linear skip per resolution and mbstd at 4x4.
    d = stylegan2_discriminator(image_size=16, channels=3, max_filters=16)
    names = [layer.name for layer in d.layers]
    assert {"skip_16", "skip_8", "residual_16", "residual_8"} <= set(names)
    assert any(isinstance(layer, MinibatchStdDev) for layer in d.layers)
    skips = [layer for layer in d.layers if layer.name.startswith("skip_")
             and isinstance(layer, EqualizedConv2D)]
    assert all(s.gain == 1.0 and not s.use_bias for s in skips)


@pytest.mark.single_backend
def test_demodulated_kernels_have_unit_norm_per_output_channel():
    # The family's convs demodulate: the effective per-sample kernel
    # s_i K_kio / gain has unit norm over (k, i) for every output channel o.
    g = StyleGANGenerator(image_size=8, channels=1, latent_dim=8, w_dim=8, mapping_layers=2,
                          max_filters=8)
    conv = g.synthesis.convs[0]
    w = keras.random.normal((3, 8), seed=1)
    styles = numpy(conv.style(w))
    kernel = numpy(conv.equalized_kernel)
    modulated = styles[:, None, None, :, None] * kernel[None]
    norms = np.sqrt((modulated**2).sum(axis=(1, 2, 3)))
    # Demodulation divides by exactly these norms: a layer of 1-hot inputs
    # reads the coefficients back as output scale / unmodulated output.
    x = np.zeros((3, 4, 4, 8), "float32")
    conv_out = numpy(conv([x + 1.0, w])) - numpy(conv.bias)  # the bias is added after
    plain = numpy(conv._convolve(keras.ops.convert_to_tensor(
        (x + 1.0) * styles[:, None, None, :]), conv.equalized_kernel))
    # Away from the borders (zero padding).
    ratio = conv_out[:, 1, 1] / plain[:, 1, 1]
    np.testing.assert_allclose(ratio, conv.gain / norms, rtol=1e-4)


@pytest.mark.single_backend
def test_compile_defaults_are_the_papers():
    gan = tiny_gan(compile=False)
    gan.compile()
    assert gan.loss_pair.name == "non_saturating"
    (r1,) = gan.penalties
    assert isinstance(r1, gan_losses.R1) and (r1.gamma, r1.interval) == (10.0, 16)
    # Lazy R1's Adam adjustment on D (c = 16/17), the plain setting on G.
    c = 16 / 17
    d, g = gan.d_optimizer, gan.g_optimizer
    np.testing.assert_allclose(float(numpy(d.learning_rate)), 2e-3 * c, rtol=1e-6)
    np.testing.assert_allclose([d.beta_1, d.beta_2], [0.0, 0.99**c], rtol=1e-6)
    np.testing.assert_allclose(float(numpy(g.learning_rate)), 2e-3, rtol=1e-6)
    assert (g.beta_1, g.beta_2) == (0.0, 0.99)
    assert (gan.style_mixing, gan.w_avg_decay, gan.ema_decay) == (0.9, 0.995, 0.999)
    without = tiny_gan(compile=False, r1_gamma=0)
    assert without.default_penalties() == []


@pytest.mark.single_backend
def test_bad_arguments_fail_naming_the_fix():
    with pytest.raises(ValueError, match="architecture must be one of"):
        tiny_gan(compile=False, architecture="stylegan3")
    with pytest.raises(ValueError, match="probability"):
        tiny_gan(compile=False, style_mixing=1.5)
    gan = tiny_gan(compile=False)
    with pytest.raises(ValueError, match=r"\(batch, 4, 8\)"):
        gan.generator.synthesis(keras.ops.zeros((2, 8)))
    with pytest.raises(ValueError, match="noise must be one of"):
        gan.generate(2, noise="fixed")
    with pytest.raises(ValueError, match="layers must name"):
        gan.style_mix([0], [1], layers=[4])


# -- styles ------------------------------------------------------------------------------


@pytest.mark.parametrize("architecture", ["stylegan2", "stylegan"])
def test_the_mapping_output_feeds_every_style_layer(architecture):
    grown = {"images_per_stage": 16} if architecture == "stylegan" else {}
    gan = tiny_gan(compile=False, architecture=architecture, **grown)
    if architecture == "stylegan":  # grown to 8x8 and faded in, where every style acts
        gan.progress.images.assign(48)
        gan.grow()
        assert (gan.stage, float(numpy(gan.alpha))) == (1, 1.0)
    ws = gan.mapped_styles([0])
    assert np.allclose(ws, ws[:, :1])  # one w, broadcast to every layer
    base = gan.generate(ws=ws, noise="const")
    np.testing.assert_allclose(base, gan.generate(1, seed=0, noise="const"), atol=1e-6)
    for layer in range(gan.num_ws):
        other = ws.copy()
        other[:, layer] = gan.mapped_styles([1])[:, layer]
        assert distance(gan.generate(ws=other, noise="const"), base) > 1e-4, layer


def test_mixing_at_layer_k_takes_layers_below_k_from_the_first_w():
    gan = tiny_gan(compile=False)
    za, zb = (gan.sample_inputs(2, seed=s)["z"] for s in (1, 2))
    ws_a, ws_b = (numpy(gan.generator.styles(z)) for z in (za, zb))
    noise = [keras.ops.convert_to_tensor(m) for m in gan.noise_maps(2, "const")]
    for k in (1, 2, gan.num_ws):
        mixed = numpy(gan.generate_images(
            {"z": za, "z_mix": zb, "mix_cutoff": keras.ops.convert_to_tensor(k, "int32"),
             "noise": noise}))
        by_hand = np.concatenate([ws_a[:, :k], ws_b[:, k:]], axis=1)
        np.testing.assert_allclose(mixed, gan.generate(ws=by_hand, noise="const"), atol=1e-5)
    assert distance(mixed, gan.generate(ws=ws_a, noise="const")) < 1e-5  # k = num_ws: no mix
    np.testing.assert_array_equal(numpy(mix_styles(ws_a, ws_b, 2))[:, :2], ws_a[:, :2])


def test_style_mixing_is_drawn_in_the_step_with_its_probability():
    always, never = tiny_gan(compile=False, style_mixing=1.0), tiny_gan(compile=False,
                                                                          style_mixing=0.0)
    cutoffs = [int(numpy(always.draw_inputs(2)["mix_cutoff"])) for _ in range(40)]
    assert set(cutoffs) <= set(range(1, always.num_ws)) and len(set(cutoffs)) > 1
    assert set(never.draw_inputs(2)) == {"z"}


def test_psi_0_with_fixed_noise_gives_the_average_ws_image_for_every_sample():
    gan = tiny_gan(compile=False)
    w_avg = np.random.default_rng(0).standard_normal(gan.w_dim).astype("float32")
    gan.ema_generator.w_avg.assign(w_avg)
    images = gan.generate(4, seed=3, truncation_psi=0.0, noise="const")
    average = gan.generate(ws=np.tile(w_avg, (1, gan.num_ws, 1)), noise="const")
    np.testing.assert_allclose(images, np.repeat(average, 4, axis=0), atol=1e-5)
    # psi = 1 leaves them apart; a cutoff truncates only the layers below it.
    assert distance(gan.generate(4, seed=3, noise="const")[:1],
                    gan.generate(4, seed=3, noise="const")[1:2]) > 1e-3
    z = gan.sample_inputs(2, seed=4)["z"]
    cut = gan.generate(z=z, truncation_psi=0.0, truncation_cutoff=2, noise="const")
    ws = numpy(gan.ema_generator.styles(z))
    ws[:, :2] = w_avg
    np.testing.assert_allclose(cut, gan.generate(ws=ws, noise="const"), atol=1e-5)


def test_w_avg_is_a_running_mean_of_the_steps_w():
    gan = tiny_gan(compile=False, w_avg_decay=0.9)
    before = np.random.default_rng(1).standard_normal(gan.w_dim).astype("float32")
    gan.generator.w_avg.assign(before)
    z = gan.sample_inputs(5, seed=0)["z"]
    step = StepState((keras.ops.zeros((5, 8, 8, 1)), None))
    step.inputs = {"z": keras.ops.convert_to_tensor(z)}
    gan.update_w_avg(step)
    mean = numpy(gan.generator.mapping(z)).mean(axis=0)
    np.testing.assert_allclose(numpy(gan.generator.w_avg), mean + 0.9 * (before - mean),
                               rtol=1e-5, atol=1e-6)


def test_noise_changes_fine_detail_only():
    gan = tiny_gan(compile=False)
    set_noise_strength(gan.ema_generator, 0.2)
    z = gan.sample_inputs(8, seed=0)["z"]
    one = gan.generate(z=z, seed=1)
    other_noise = gan.generate(z=z, seed=2)
    other_w = gan.generate(8, seed=5, noise=gan.noise_maps(8, seed=1))
    noise_effect, w_effect = distance(one, other_noise), distance(one, other_w)
    assert 0 < noise_effect < 0.5 * w_effect, (noise_effect, w_effect)
    # "const" is one draw for every image and call; "random" differs per seed.
    np.testing.assert_array_equal(gan.generate(z=z, noise="const", seed=1),
                                  gan.generate(z=z, noise="const", seed=2))
    np.testing.assert_array_equal(one, gan.generate(z=z, seed=1))


# -- training --------------------------------------------------------------------------


def test_lazy_r1_runs_on_its_steps_only():
    # 5 steps with R1 every 4: D gets 5 loss updates and R1 updates at steps
    # 0 and 4; without R1, 5 updates.
    counts = {}
    for gamma in (10.0, 0.0):
        gan = tiny_gan(r1_gamma=gamma, r1_interval=4)
        gan.fit(tiny_data(5 * BATCH), batch_size=BATCH, epochs=1, verbose=0)
        counts[gamma] = int(numpy(gan.d_optimizer.iterations))
    assert counts == {10.0: 7, 0.0: 5}


def test_save_load_resume_keeps_w_avg_and_the_noise_seed_state(tmp_path):
    gan = tiny_gan(r1_interval=2)
    data = tiny_data(2 * BATCH)
    gan.fit(data, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
    w_avg = numpy(gan.generator.w_avg)
    assert np.abs(w_avg).max() > 0  # tracked during training
    np.testing.assert_array_equal(numpy(gan.ema_generator.w_avg), w_avg)  # the EMA copies it
    gan.save(tmp_path / "stylegan.keras")
    loaded = keras.models.load_model(tmp_path / "stylegan.keras")
    np.testing.assert_array_equal(numpy(loaded.generator.w_avg), w_avg)
    for a, b in zip(gan.generator.synthesis.noises, loaded.generator.synthesis.noises):
        np.testing.assert_array_equal(numpy(a.seed_generator.state), numpy(b.seed_generator.state))
    assert int(numpy(loaded.progress.steps)) == 2
    np.testing.assert_allclose(loaded.generate(2, seed=1, truncation_psi=0.5),
                               gan.generate(2, seed=1, truncation_psi=0.5), atol=1e-6)
    # Resuming continues the same run: the same next step from either copy.
    for model in (gan, loaded):
        model.fit(data[:BATCH], batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(gan.weights, loaded.weights):
        np.testing.assert_allclose(numpy(a), numpy(b), atol=1e-5, err_msg=a.path)


@pytest.mark.single_backend
def test_config_round_trips_and_given_networks_are_kept(tmp_path):
    gan = tiny_gan(compile=False, style_mixing=0.5, r1_gamma=2.0, w_avg_decay=0.99)
    clone = StyleGAN.from_config(gan.get_config())
    assert "generator" not in gan.get_config()
    for key in ("style_mixing", "r1_gamma", "w_avg_decay", "w_dim", "mapping_layers"):
        assert getattr(clone, key) == getattr(gan, key), key
    synthesis = StyleGAN2Synthesis.from_config(gan.generator.synthesis.get_config())
    assert synthesis.num_ws == gan.num_ws
    given = StyleGAN(generator=StyleGANGenerator(8, 1, 8, 8, 2, max_filters=8),
                     discriminator=stylegan2_discriminator(8, 1, 8), seed=0)
    given.save(tmp_path / "given.keras")
    loaded = keras.models.load_model(tmp_path / "given.keras")
    assert (loaded.w_dim, loaded.num_ws) == (8, 4)
    with pytest.raises(TypeError, match="StyleGANGenerator"):
        StyleGAN(generator=keras.Sequential([keras.Input((8,)), keras.layers.Dense(64)]))


# -- the original form ------------------------------------------------------------------


@pytest.mark.single_backend
def test_the_original_form_is_adain_a_progan_discriminator_and_r1_every_step():
    gan = tiny_gan(compile=False, architecture="stylegan")
    assert type(gan) is ProgressiveStyleGAN and isinstance(gan, GrowingGAN)
    synthesis = gan.generator.synthesis
    assert isinstance(synthesis, StyleGANSynthesis) and synthesis.num_ws == 4
    assert len(synthesis.adains) == len(synthesis.noises) == 4
    assert all(isinstance(layer, AdaIN) for layer in synthesis.adains)
    assert not any(isinstance(layer, ModulatedConv2D) for layer in synthesis._flatten_layers())
    assert isinstance(gan.discriminator, ProGANDiscriminator)
    gan.compile()
    (r1,) = gan.penalties
    assert (r1.gamma, r1.interval) == (10.0, 1)
    d = gan.d_optimizer
    np.testing.assert_allclose(float(numpy(d.learning_rate)), 1e-3, rtol=1e-6)
    assert (d.beta_1, d.beta_2) == (0.0, 0.99)
    with pytest.raises(ValueError, match="use StyleGAN for StyleGAN2"):
        ProgressiveStyleGAN(architecture="stylegan2")


def test_the_original_form_grows_mixes_within_its_stage_and_resumes(tmp_path):
    # 4x4 for 16 images, then 8x8 fades in over 16: 4 steps of 8 reach its hold.
    gan = tiny_gan(compile=False, architecture="stylegan", images_per_stage=16, fade_images=16,
                   style_mixing=1.0)
    gan.compile(jit_compile=JIT)
    assert (gan.stage, gan.active_styles) == (0, 2)
    # At 4x4 only styles 0 and 1 act: the crossover is always at 1.
    assert {int(numpy(gan.draw_inputs(2)["mix_cutoff"])) for _ in range(8)} == {1}
    gan.fit(tiny_data(4 * BATCH), batch_size=BATCH, epochs=1, verbose=0)
    assert (gan.stage, gan.phase, gan.active_styles) == (1, 2, 4)
    assert gan.generate(2, seed=0, truncation_psi=0.5).shape == (2, 8, 8, 1)
    gan.save(tmp_path / "original.keras")
    loaded = keras.models.load_model(tmp_path / "original.keras")
    assert type(loaded) is ProgressiveStyleGAN and (loaded.phase, loaded.stage) == (2, 1)
    np.testing.assert_array_equal(numpy(loaded.generator.w_avg), numpy(gan.generator.w_avg))
    np.testing.assert_allclose(loaded.generate(2, seed=1), gan.generate(2, seed=1), atol=1e-6)


@pytest.mark.single_backend  # 20 s on TensorFlow, minutes on JAX's CPU compiler
def test_stylegan2_learns_two_modes():
    # Two 8x8 images (a bright disc on the left or right) with noise: after
    # training, samples lie near one of the two and cover both (each at
    # least 15%: JAX's run of the same test gave 105 / 23).
    keras.utils.set_random_seed(0)
    modes, data = two_disc_modes()
    gan = tiny_gan(max_filters=32, w_dim=32, latent_dim=32)

    def nearest_mode(images):
        distances = ((images[..., 0][:, None] - modes[None]) ** 2).mean(axis=(2, 3))
        return distances.min(axis=1).mean(), np.bincount(distances.argmin(axis=1), minlength=2)

    untrained, _ = nearest_mode(gan.generate(128, seed=1, use_ema=False))
    gan.fit(data[..., None].astype("float32"), batch_size=16, epochs=12, verbose=0)
    trained, counts = nearest_mode(gan.generate(128, seed=1))
    assert trained < 0.25 * untrained, (trained, untrained)
    assert counts.min() >= 0.15 * 128, counts
    truncated, _ = nearest_mode(gan.generate(128, seed=1, truncation_psi=0.5))
    assert math.isfinite(truncated)


def test_export_serves_mapping_synthesis_and_truncated_samples_from_tensorflow_alone(tmp_path):
    gan = tiny_gan(compile=False)
    # An untrained generator's noise strengths are 0, so served images are
    # deterministic and comparable; w_avg set so that truncation shows.
    gan.ema_generator.w_avg.assign(np.linspace(-1, 1, gan.w_dim).astype("float32"))
    path = export_stylegan(gan, str(tmp_path / "stylegan" / "1"))
    z = gan.sample_inputs(3, seed=0)["z"]
    ws = numpy(gan.ema_generator.styles(z))
    ws[:, 2:] = ws[::-1, 2:]  # a client's style mix
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "ws.npy", ws)
    code = f"""
import numpy as np, sys, tensorflow as tf
m = tf.saved_model.load({path!r})
z, ws = (tf.constant(np.load({str(tmp_path)!r} + name)) for name in ("/z.npy", "/ws.npy"))
mapped = m.signatures["mapping"](z=z)
out = dict(default=m.signatures["serving_default"](z=z)["images"],
           mixed=m.signatures["synthesis"](ws=ws)["images"], w=mapped["w"], w_avg=mapped["w_avg"],
           psi0=m.signatures["sample"](num_samples=tf.constant(2), seed=tf.constant(1),
                                       truncation_psi=tf.constant(0.0))["images"])
np.savez({str(tmp_path / "served.npz")!r}, **{{k: v.numpy() for k, v in out.items()}})
assert "keras_gans" not in sys.modules
"""
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    served = np.load(tmp_path / "served.npz")

    def uint8(images):
        return np.clip(np.round((images + 1) * 127.5), 0, 255).astype(int)

    assert served["default"].dtype == np.uint8 and served["default"].shape == (3, 8, 8, 1)
    assert np.abs(served["default"].astype(int) - uint8(gan.generate(z=z))).max() <= 1
    assert np.abs(served["mixed"].astype(int) - uint8(gan.generate(ws=ws))).max() <= 1
    np.testing.assert_allclose(served["w"], numpy(gan.ema_generator.mapping(z)), atol=1e-5)
    np.testing.assert_allclose(served["w_avg"][0], numpy(gan.ema_generator.w_avg), atol=1e-6)
    average = gan.generate(ws=np.tile(numpy(gan.ema_generator.w_avg), (1, gan.num_ws, 1)))
    assert np.abs(served["psi0"].astype(int) - uint8(average)).max() <= 1


# -- path length regularization ------------------------------------------------------------


class _LinearSynthesis:
    """What PathLength asks of a model, with images linear in w (so J_w^T y
    has a closed form): image = einsum(w, M)."""

    image_size, channels = 2, 1

    def __init__(self, ws, matrix):
        self.ws, self.matrix = ws, matrix
        self.seed_generator = keras.random.SeedGenerator(0)
        self.path_length_mean = keras.Variable(0.0, trainable=False)

    def path_length_styles(self, n):
        return keras.ops.convert_to_tensor(self.ws[:n])

    def synthesize(self, ws):
        return keras.ops.einsum("nlk,lkhwc->nhwc", ws, keras.ops.convert_to_tensor(self.matrix))


def test_path_length_is_the_norm_of_j_transpose_y_and_tracks_its_mean():
    rng = np.random.default_rng(0)
    ws = rng.normal(size=(4, 3, 5)).astype("float32")
    matrix = rng.normal(size=(3, 5, 2, 2, 1)).astype("float32")
    noise = rng.normal(size=(4, 2, 2, 1)).astype("float32")
    model = _LinearSynthesis(ws, matrix)
    penalty = gan_losses.PathLength(weight=2.0, decay=0.5, batch_shrink=2)
    jty = np.einsum("lkhwc,nhwc->nlk", matrix, noise)  # J_w^T y, per sample
    expected = np.sqrt((jty**2).sum(axis=2).mean(axis=1))
    lengths = keras.ops.stop_gradient(penalty.lengths(model, 4, noise=noise))
    np.testing.assert_allclose(numpy(lengths), expected, rtol=1e-5)
    # The penalty: half the batch (8 // 2 rows), the mean moved by decay.
    inputs = gan_losses.PenaltyInputs(keras.ops.zeros((8, 2, 2, 1)), None, None, None, None)
    lengths = numpy(keras.ops.stop_gradient(penalty.lengths(model, 4)))  # drawn noise
    assert lengths.shape == (4,) and np.all(lengths > 0)
    value = float(numpy(keras.ops.stop_gradient(penalty(model, inputs))))
    mean = float(numpy(model.path_length_mean))
    assert 0 < mean and value > 0
    assert penalty.get_config() == {"weight": 2.0, "interval": 4, "name": "path_length",
                                    "decay": 0.5, "batch_shrink": 2}
    assert isinstance(gan_losses.get_penalty(keras.saving.serialize_keras_object(penalty)),
                      gan_losses.PathLength)


def test_path_length_runs_every_k_steps_as_a_generator_phase_and_is_saved(tmp_path):
    gan = tiny_gan(path_length_weight=2.0, path_length_interval=2)
    assert [p.name for p in gan.phases][-2:] == ["generator", "path_length"]
    c = 2 / 3  # StyleGAN2's adjustment, now on G too
    np.testing.assert_allclose(float(numpy(gan.g_optimizer.learning_rate)), 2e-3 * c, rtol=1e-6)
    np.testing.assert_allclose(gan.g_optimizer.beta_2, 0.99**c, rtol=1e-6)
    history = gan.fit(tiny_data(4 * BATCH), batch_size=BATCH, epochs=1, verbose=0).history
    # 4 generator updates, and path length updates at steps 0 and 2.
    assert int(numpy(gan.g_optimizer.iterations)) == 6
    assert "path_length" in history and np.isfinite(history["path_length"][-1])
    mean = float(numpy(gan.path_length_mean))
    assert mean > 0
    gan.save(tmp_path / "pl.keras")
    loaded = keras.models.load_model(tmp_path / "pl.keras")
    assert (loaded.path_length_weight, loaded.path_length_interval) == (2.0, 2)
    assert float(numpy(loaded.path_length_mean)) == mean
    with pytest.raises(ValueError, match="StyleGAN2's"):
        tiny_gan(compile=False, architecture="stylegan", path_length_weight=2.0)


@pytest.mark.single_backend
def test_path_length_regularization_evens_out_the_lengths():
    """Minimising the penalty alone makes the generator's path lengths more
    alike across samples: their spread relative to their mean falls (by
    about a third in 30 updates; with decay 1 the target is the batch's mean
    length, so the penalty is the lengths' variance)."""
    gan = tiny_gan(path_length_weight=1.0, style_mixing=0.0)
    penalty = gan_losses.PathLength(1.0, decay=1.0, batch_shrink=1)
    noise = keras.random.normal((64, 8, 8, 1), seed=3) / 8.0
    gan.path_length_styles = lambda n: gan.generator.styles(  # the same 64 samples each time
        keras.random.normal((n, gan.latent_dim), seed=4))

    def spread():
        lengths = numpy(keras.ops.stop_gradient(penalty.lengths(gan, 64, noise=noise)))
        return lengths.std() / lengths.mean()

    inputs = gan_losses.PenaltyInputs(keras.ops.zeros((64, 8, 8, 1)), None, None, None, None)
    optimizer = keras.optimizers.Adam(1e-2)
    optimizer.build(gan.generator.trainable_variables)
    before = spread()
    for _ in range(30):
        gan.apply_update(optimizer, gan.generator.trainable_variables,
                         lambda: (penalty(gan, inputs), {}))
    after = spread()
    assert after < 0.8 * before, (before, after)
