"""Tests for keras_gans.models.biggan: BigGAN on the shared trainer."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import keras
from keras import layers
from helpers import JIT
from layer_checks import numpy
# 32 px images of 10 classes, optimizer updates, the sides a network attends at:
from test_sagan import NUM_CLASSES, attention_sides, iterations, tiny_data

from keras_gans.export import export_generator
from keras_gans.layers import ConditionalBatchNormalization
from keras_gans.models.biggan import (
    BigGAN,
    biggan_discriminator,
    biggan_generator,
    biggan_generator_widths,
)

LATENT_DIM = 12  # four chunks of 3 at 32 px: the projection's and three blocks'


def tiny_biggan(**kwargs):
    """32 px: G of 16 channels throughout, D of four 8-channel blocks."""
    options = dict(latent_dim=LATENT_DIM, shared_dim=8, generator_width=4,
                   discriminator_width=2, seed=0)
    options.update(kwargs)
    return BigGAN(NUM_CLASSES, image_size=32, channels=1, **options)


def output_gain(generator):
    """The last BatchNorm's gain: a weight that spectral norm never rewrites."""
    return numpy(generator.get_layer("g_output_bn").gamma)


@pytest.fixture(scope="module")
def trained():
    """A tiny BigGAN after 4 steps (8 D updates, 4 G updates), with an EMA
    that starts averaging at step 2."""
    keras.utils.set_random_seed(0)
    gan = tiny_biggan(ema_decay=0.5, ema_start=2)
    gan.compile(jit_compile=JIT)
    history = gan.fit(*tiny_data(), batch_size=16, epochs=2, verbose=0)
    return gan, history


def block_outputs(generator, blocks):
    """The generator's 4x4 map and each block's output, as one model."""
    names = ["g_reshape"] + [f"g_block{i}_add" for i in range(1, blocks + 1)]
    return keras.Model(generator.inputs, [generator.get_layer(n).output for n in names])


# -- networks -----------------------------------------------------------------------


@pytest.mark.single_backend
def test_widths_and_downsampling_follow_the_authors_tables():
    g = biggan_generator(5, 128, 3, width=1, attention=())
    # G_arch[128]: 16ch at 4x4, then 16ch, 8ch, 4ch, 2ch, ch.
    assert g.get_layer("g_reshape").output.shape[-1] == 16
    assert [g.get_layer(f"g_block{i}_add").output.shape[1:] for i in range(1, 6)] == [
        (8, 8, 16), (16, 16, 8), (32, 32, 4), (64, 64, 2), (128, 128, 1)]
    d = biggan_discriminator(5, 128, 3, width=1, attention=())
    assert [d.get_layer(f"d_block{i}_add").output.shape[1:] for i in range(1, 7)] == [
        (64, 64, 1), (32, 32, 2), (16, 16, 4), (8, 8, 8), (4, 4, 16), (4, 4, 16)]
    # The CIFAR networks: 4ch everywhere; D's last two blocks keep 8x8.
    assert biggan_generator_widths(32, 16) == (64, 64, 64, 64)
    d = biggan_discriminator(5, 32, 3, width=2)
    assert [d.get_layer(f"d_block{i}_add").output.shape[1:] for i in range(1, 5)] == [
        (16, 16, 8), (8, 8, 8), (8, 8, 8), (8, 8, 8)]
    with pytest.raises(ValueError, match="32, 64, 128, 256 px"):
        BigGAN(5, image_size=48)
    with pytest.raises(ValueError, match="multiple of 6; got 100: use e.g. 96 or 102"):
        biggan_generator(5, 128, latent_dim=100, width=1)


@pytest.mark.single_backend
def test_attention_sits_where_the_authors_put_it():
    def sides(gan):
        return attention_sides(gan.generator), attention_sides(gan.discriminator)

    # --G_attn 64 --D_attn 64 at 128 px; at 64 px only G has a 64x64 map.
    assert sides(BigGAN(5, 128, generator_width=8, discriminator_width=8)) == ([64], [64])
    assert sides(BigGAN(5, 64, generator_width=4, discriminator_width=8)) == ([64], [])
    assert sides(tiny_biggan()) == ([], [])  # none at 32 px, as on CIFAR
    # 8x8 exists in both 32 px networks (D keeps it for three blocks).
    gan = tiny_biggan(attention=(8,))
    assert sides(gan) == ([8], [8]) and gan.attention == (8,)
    with pytest.raises(ValueError, match=r"sides \[8, 16, 32\], so they cannot attend at \[4\]"):
        tiny_biggan(attention=(4,))


@pytest.mark.single_backend
def test_spectral_norm_and_orthogonal_init_everywhere_but_the_shared_embedding():
    gan = BigGAN(5, 64, generator_width=4, discriminator_width=8, attention=(32,))
    for network in (gan.generator, gan.discriminator):
        sublayers = list(network._flatten_layers(include_self=False))
        wrapped = {id(layer.layer) for layer in sublayers
                   if isinstance(layer, layers.SpectralNormalization)}
        weighted = [layer for layer in sublayers if isinstance(layer, (layers.Conv2D, layers.Dense))]
        assert len(weighted) >= 20  # attention's and conditional BN's maps included
        assert [layer.name for layer in weighted if id(layer) not in wrapped] == []
        assert all(isinstance(layer.kernel_initializer, keras.initializers.Orthogonal)
                   for layer in weighted), network.name
    embedding = gan.generator.get_layer("g_shared_embedding")
    assert isinstance(embedding, layers.Embedding) and embedding.input_dim == 5
    assert isinstance(embedding.embeddings_initializer, keras.initializers.Orthogonal)
    norms = [layer for layer in gan.generator.layers
             if isinstance(layer, ConditionalBatchNormalization)]
    assert len(norms) == 2 * 4 and all(norm.spectral_norm for norm in norms)


def test_hierarchical_chunks_reach_every_block():
    gan = tiny_biggan()
    g = gan.generator
    stages = block_outputs(g, 3)
    conditions = keras.Model(g.inputs, [g.get_layer(f"g_block{i}_condition").output
                                        for i in (1, 2, 3)])
    rng = np.random.default_rng(0)
    z = rng.standard_normal((2, LATENT_DIM)).astype("float32")
    labels = np.array([1, 6], "int32")
    base = [numpy(x) for x in stages([z, labels])]
    # Block i's condition is [shared embedding of the label, chunk i].
    table = numpy(g.get_layer("g_shared_embedding").embeddings)
    for i, condition in enumerate(conditions([z, labels]), start=1):
        expected = np.concatenate([table[labels], z[:, 3 * i:3 * (i + 1)]], axis=1)
        np.testing.assert_allclose(numpy(condition), expected, rtol=1e-6)
    # Changing chunk i changes stage i (chunk 0: the 4x4 map) and leaves the
    # stages before it as they were.
    for chunk in range(4):
        moved = z.copy()
        moved[:, 3 * chunk:3 * (chunk + 1)] += 1.0
        after = [numpy(x) for x in stages([moved, labels])]
        for stage in range(4):
            if stage < chunk:
                np.testing.assert_allclose(after[stage], base[stage], rtol=1e-5, atol=1e-6)
            else:
                assert np.abs(after[stage] - base[stage]).max() > 1e-4, (chunk, stage)


def test_conditional_batch_norm_gives_each_label_its_own_affine_map():
    g = tiny_biggan().generator
    norm = g.get_layer("g_block2_bn1")
    condition_of = keras.Model(g.inputs, g.get_layer("g_block2_condition").output)
    z = np.repeat(np.random.default_rng(1).standard_normal((1, LATENT_DIM)), 2, 0)
    conditions = numpy(condition_of([z.astype("float32"), np.array([2, 7], "int32")]))
    # One feature map, normalized with the (fresh) moving statistics, under two labels.
    x = np.repeat(np.random.default_rng(2).standard_normal((1, 8, 8, 16)), 2, 0).astype("float32")
    out = numpy(norm([x, conditions], training=False))
    normalized = x / np.sqrt(1.0 + norm.epsilon)
    gain, bias = (numpy(wrapper.layer.kernel) for wrapper in (norm.gain, norm.bias))
    scale = 1.0 + conditions @ gain  # (labels, channels)
    shift = conditions @ bias
    np.testing.assert_allclose(out, normalized * scale[:, None, None] + shift[:, None, None],
                               rtol=1e-4, atol=1e-5)
    assert np.abs(scale[0] - scale[1]).min() > 1e-4 and np.abs(shift[0] - shift[1]).min() > 1e-4


@pytest.mark.single_backend
def test_orthogonal_penalty_covers_g_kernels_but_not_the_embedding_and_matches_numpy():
    gan = tiny_biggan(attention=(16,))
    g = gan.generator
    kernels = [w for w in g.trainable_weights if w.path.endswith("kernel")]
    regularized = [w for w in g.trainable_weights if w.regularizer is not None]
    assert [w.path for w in regularized] == [w.path for w in kernels] and len(kernels) >= 20
    assert not any(w.regularizer for w in gan.discriminator.weights)  # the authors' D_ortho 0
    assert g.get_layer("g_shared_embedding").embeddings.regularizer is None

    def penalty(arrays):
        total = 0.0
        for w in arrays:
            w = w.reshape(-1, w.shape[-1]).astype("float64")
            gram = w.T @ w
            total += np.sum((gram - np.diag(np.diag(gram))) ** 2)
        return 1e-4 * total

    def model_penalty():
        return float(numpy(keras.ops.sum(keras.ops.stack(g.losses))))

    # Orthogonal kernels with at least as many rows as filters have
    # orthonormal filters: no penalty. Only the wide ones (the first dense
    # layer, 3 inputs -> 256 units) are penalized at first.
    tall = [numpy(w) for w in kernels if np.prod(w.shape[:-1]) >= w.shape[-1]]
    assert penalty(tall) < 1e-9
    assert model_penalty() == pytest.approx(penalty([numpy(w) for w in kernels]), rel=1e-4)
    assert model_penalty() > 0
    rng = np.random.default_rng(0)
    for w in kernels:
        w.assign(rng.standard_normal(w.shape).astype("float32") * 0.1)
    assert model_penalty() == pytest.approx(penalty([numpy(w) for w in kernels]), rel=1e-4)


@pytest.mark.single_backend
def test_bare_compile_gives_the_authors_setting():
    gan = tiny_biggan()
    gan.compile()
    assert gan.loss_pair.name == "hinge" and (gan.d_steps, gan.g_steps) == (2, 1)
    assert gan.fresh_reals
    for optimizer, learning_rate in ((gan.d_optimizer, 4e-4), (gan.g_optimizer, 1e-4)):
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert float(numpy(optimizer.learning_rate)) == pytest.approx(learning_rate)
        assert (optimizer.beta_1, optimizer.beta_2) == (0.0, 0.999)
    assert (gan.ema_decay, gan.ema_start) == (0.9999, 20_000)
    assert gan.orthogonal_strength == 1e-4 and gan.latent_dim == 12
    assert BigGAN(5, 32, generator_width=2, discriminator_width=2).latent_dim == 120
    gan.compile(loss="non_saturating", d_steps=1, fresh_reals=False,
                g_optimizer=keras.optimizers.SGD(0.1))
    assert gan.loss_pair.name == "non_saturating" and gan.d_steps == 1 and not gan.fresh_reals
    assert isinstance(gan.g_optimizer, keras.optimizers.SGD)
    assert tiny_biggan(orthogonal_strength=0).generator.losses == []


# -- sampling ---------------------------------------------------------------------------


@pytest.mark.single_backend
def test_truncated_latents_never_exceed_the_threshold_and_are_resampled():
    gan = tiny_biggan()
    for threshold in (0.25, 0.5, 1.0):
        z = gan.sample_inputs(4000, seed=3, truncation=threshold)["z"]
        assert np.abs(z).max() <= threshold
        # Resampled, not clipped: no mass piles up at the edges.
        assert np.mean(np.abs(z) > 0.99 * threshold) < 0.02
    plain = gan.sample_inputs(4000, seed=3)["z"]
    assert np.abs(plain).max() > 3.0
    images = gan.generate(labels=[0, 3, 3, 9], truncation=0.5, seed=1)
    drawn = gan.sample_inputs(4, seed=1, labels=[0, 3, 3, 9], truncation=0.5)
    np.testing.assert_allclose(images, gan.generate(inputs=drawn), atol=1e-6)
    assert np.abs(images - gan.generate(labels=[0, 3, 3, 9], seed=1)).max() > 1e-4


def test_labels_steer_the_generator():
    gan = tiny_biggan()
    z = np.repeat(np.random.default_rng(0).standard_normal((1, LATENT_DIM)), 2, 0)
    images = gan.generate(z=z, labels=[3, 7])
    assert np.abs(images[0] - images[1]).mean() > 1e-3
    same = gan.generate(z=z, labels=[3, 3])
    np.testing.assert_allclose(same[0], same[1], atol=1e-6)


# -- training, saving, export -------------------------------------------------------


def test_short_fit_updates_both_networks_and_the_average(trained):
    gan, history = trained
    assert set(history.history) == {"d_loss", "g_loss", "real_score", "fake_score"}
    assert all(np.all(np.isfinite(values)) for values in history.history.values())
    # Two D updates (of 8 fresh reals each) per G update.
    assert (iterations(gan.d_optimizer), iterations(gan.g_optimizer)) == (8, 4)
    fresh = tiny_biggan()
    for network, initial in ((gan.generator, fresh.generator),
                             (gan.discriminator, fresh.discriminator)):
        moved = [not np.allclose(numpy(a), numpy(b))
                 for a, b in zip(network.trainable_weights, initial.trainable_weights)]
        assert sum(moved) > len(moved) // 2, network.name
    # The EMA averaged the last steps: neither the generator nor a fresh copy.
    assert not np.allclose(output_gain(gan.ema_generator), output_gain(gan.generator))
    assert not np.allclose(output_gain(gan.ema_generator), output_gain(fresh.generator))


def test_gradient_accumulation_applies_every_second_update():
    """Keras' `gradient_accumulation_steps` inside the trainer's optimizer
    group: G (one update a step) moves on every second step; D (two a
    step) once a step."""
    gan = tiny_biggan(ema_decay=None)

    def adam(learning_rate, name):
        return keras.optimizers.Adam(learning_rate, beta_1=0.0, beta_2=0.999,
                                     gradient_accumulation_steps=2, name=name)

    gan.compile(d_optimizer=adam(4e-4, "d_optimizer"), g_optimizer=adam(1e-4, "g_optimizer"),
                jit_compile=JIT)
    images, labels = tiny_data(16)

    def state():  # weights that spectral norm never rewrites (not the logit's
        # bias, whose hinge gradient is 0 while all logits lie within the margins)
        d_bias = gan.discriminator.get_layer("d_block1_conv1_sn").layer.bias
        return output_gain(gan.generator), numpy(d_bias)

    g0, d0 = state()
    gan.fit(images, labels, batch_size=16, epochs=1, verbose=0)
    g1, d1 = state()
    np.testing.assert_array_equal(g1, g0)  # G accumulated its first gradient
    assert np.abs(d1 - d0).max() > 0  # D applied its two
    gan.fit(images, labels, batch_size=16, epochs=1, verbose=0)
    g2, d2 = state()
    assert np.abs(g2 - g1).max() > 0 and np.abs(d2 - d1).max() > 0
    # `iterations` counts the updates applied (Keras: calls // accumulation steps).
    assert (iterations(gan.d_optimizer), iterations(gan.g_optimizer)) == (2, 1)


def test_save_load_round_trip_and_resume(trained, tmp_path):
    gan, _ = trained
    path = tmp_path / "biggan.keras"
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, BigGAN) and loaded.num_classes == NUM_CLASSES
    assert loaded.loss_pair.name == "hinge" and loaded.d_steps == 2 and loaded.fresh_reals
    assert int(numpy(loaded.progress.steps)) == 4
    for saved, restored in zip(gan.d_optimizer.variables + gan.g_optimizer.variables,
                               loaded.d_optimizer.variables + loaded.g_optimizer.variables):
        np.testing.assert_allclose(numpy(saved), numpy(restored))
    for network in ("generator", "discriminator", "ema_generator"):
        for saved, restored in zip(getattr(gan, network).weights,
                                   getattr(loaded, network).weights):
            np.testing.assert_allclose(numpy(saved), numpy(restored))  # incl. SN's u, BN stats
    labels = [0, 4, 7]
    np.testing.assert_allclose(loaded.generate(labels=labels, seed=1, truncation=0.5),
                               gan.generate(labels=labels, seed=1, truncation=0.5), atol=1e-5)
    loaded.fit(*tiny_data(32), batch_size=16, epochs=1, verbose=0)
    assert (iterations(loaded.d_optimizer), iterations(loaded.g_optimizer)) == (12, 6)
    assert int(numpy(loaded.progress.steps)) == 6


@pytest.mark.single_backend
def test_config_round_trip():
    gan = BigGAN(3, image_size=64, channels=3, latent_dim=20, shared_dim=6,
                 generator_width=(32, 16, 16, 8, 8), discriminator_width=8, attention=(16, 32),
                 orthogonal_strength=5e-5, ema_decay=None)
    config = json.loads(json.dumps(gan.get_config()))
    assert "generator" not in config and config["attention"] == [16, 32]
    clone = BigGAN.from_config(config)
    assert clone.get_config() == config
    assert clone.ema_generator is None  # not the 0.9999 default
    for network, original in ((clone.generator, gan.generator),
                              (clone.discriminator, gan.discriminator)):
        assert network.count_params() == original.count_params()
    assert clone.generator.get_layer("g_project_sn").layer.kernel.regularizer.strength == 5e-5


def test_export_samples_with_truncation_from_tensorflow_alone(trained, tmp_path):
    import tensorflow as tf

    from keras_gans import sampling

    gan, _ = trained
    path = export_generator(gan, str(tmp_path / "biggan" / "1"))
    inputs = gan.sample_inputs(3, seed=0, labels=[0, 5, 9])
    np.savez(tmp_path / "inputs.npz", **inputs)
    code = f"""
import numpy as np, sys, tensorflow as tf
inputs = dict(np.load({str(tmp_path / "inputs.npz")!r}))
model = tf.saved_model.load({path!r})
serve, sample = model.signatures["serving_default"], model.signatures["sample"]
out = {{"served": serve(**{{k: tf.constant(v) for k, v in inputs.items()}})["images"]}}
labels = tf.constant([1, 1, 8, 2])
for name, truncation in (("half", 0.5), ("none", 0.0), ("negative", -1.0)):
    out[name] = sample(seed=tf.constant(7), labels=labels,
                       truncation=tf.constant(truncation))["images"]
np.savez({str(tmp_path / "out.npz")!r}, **{{k: v.numpy() for k, v in out.items()}})
assert "keras_gans" not in sys.modules
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    out = np.load(tmp_path / "out.npz")

    def as_uint8(images):
        return np.clip(np.round((images + 1) * 127.5), 0, 255).astype(int)

    assert out["served"].dtype == np.uint8 and out["served"].shape == (3, 32, 32, 1)
    assert np.abs(out["served"].astype(int) - as_uint8(gan.generate(inputs=inputs))).max() <= 1
    # The export's own draw: the same z as sampling.draw_tensorflow's, truncated in the graph.
    labels = np.array([1, 1, 8, 2], "int32")
    for name, truncation in (("half", 0.5), ("none", None)):
        drawn = sampling.draw_tensorflow(
            tf, gan.latents, tf.constant(4), tf.constant(7), labels=tf.constant(labels),
            truncation=None if truncation is None else tf.constant(truncation))
        z = drawn["z"].numpy()
        if truncation:
            assert np.abs(z).max() <= truncation
        expected = as_uint8(gan.generate(inputs={"z": z, "labels": labels}))
        assert np.abs(out[name].astype(int) - expected).max() <= 1, name
    np.testing.assert_array_equal(out["negative"], out["none"])  # 0 or less: none
    assert np.abs(out["half"].astype(int) - out["none"].astype(int)).max() > 0


# -- real data and learning ---------------------------------------------------------


@pytest.mark.single_backend
def test_short_fit_on_labelled_flowers(data_root, tmp_path):
    import keras_gans.data as gan_data

    # The first 10 photos of each of the 5 classes (decoding all 4,317 for a
    # shuffle buffer would cost more than the fit), linked as class folders.
    for folder in sorted((data_root / "flowers128").iterdir()):
        (tmp_path / folder.name).mkdir()
        for photo in sorted(folder.iterdir())[:10]:
            (tmp_path / folder.name / photo.name).symlink_to(photo)
    ds = gan_data.image_dataset(tmp_path, image_size=32, batch_size=16, with_labels=True,
                                seed=0)
    assert sorted(set(np.concatenate([np.asarray(y) for _, y in ds]).tolist())) == [0, 1, 2, 3, 4]
    gan = BigGAN(5, image_size=32, channels=3, latent_dim=LATENT_DIM, shared_dim=8,
                 generator_width=4, discriminator_width=2, seed=0)
    gan.compile(jit_compile=JIT)
    logs = gan.fit(ds.take(3), epochs=1, verbose=0).history
    assert all(np.isfinite(values[-1]) for values in logs.values())
    assert (iterations(gan.d_optimizer), iterations(gan.g_optimizer)) == (6, 3)
    assert gan.generate(labels=5, seed=0).shape == (5, 32, 32, 3)


@pytest.mark.single_backend
def test_learns_to_draw_the_requested_class():
    """Two classes of 32 px images, dark (class 0) and bright (class 1):
    after 240 steps (two D updates of 16 each), the generator draws each
    label's brightness, where untrained its two labels differ little."""
    rng = np.random.default_rng(0)
    labels = (np.arange(512) % 2).astype("int32")
    brightness = np.where(labels == 1, 0.6, -0.6)[:, None, None, None]
    images = np.clip(brightness + 0.2 * rng.standard_normal((512, 32, 32, 1)), -1, 1)
    gan = BigGAN(2, image_size=32, channels=1, latent_dim=LATENT_DIM, shared_dim=8,
                 generator_width=2, discriminator_width=2, ema_decay=None, seed=0)

    def adam(name):  # the authors' betas, a faster rate for a short run
        return keras.optimizers.Adam(1e-3, beta_1=0.0, beta_2=0.999, name=name)

    gan.compile(d_optimizer=adam("d_optimizer"), g_optimizer=adam("g_optimizer"),
                jit_compile=JIT)

    def gap():  # mean brightness of label 1's samples minus label 0's
        drawn = gan.generate(labels=np.arange(400) % 2, seed=1)
        return drawn[1::2].mean() - drawn[0::2].mean()

    untrained = gap()
    keras.utils.set_random_seed(0)
    gan.fit(images.astype("float32"), labels, batch_size=32, epochs=15, verbose=0)
    assert abs(untrained) < 0.3 and gap() > 0.8, (untrained, gap())
