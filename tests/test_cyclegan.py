"""Tests for keras_gans.models.cyclegan and its SavedModel export."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import keras
from helpers import JIT

from keras_gans.callbacks import TranslationGrid
from keras_gans.export_cyclegan import export_translator
from keras_gans.layers import ImagePool
from keras_gans.models.cyclegan import CycleGAN, patchgan_discriminator, resnet_generator
from keras_gans.optimizers import LinearDecay

SIZE = 32
OPTIMIZERS = ("g_ab_optimizer", "g_ba_optimizer", "d_a_optimizer", "d_b_optimizer")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_cyclegan(**kwargs):
    kwargs.setdefault("pool_size", 4)
    return CycleGAN(
        image_size=SIZE, generator_filters=8, discriminator_filters=8, num_residual_blocks=1,
        seed=0, **kwargs,
    )


def domains(n=16, seed=0):
    """Smooth random images (A) and their colour negatives (B), in [-1, 1]."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(-1, 1, (n, 4, 4, 3)).astype("float32")
    a = np.repeat(np.repeat(coarse, SIZE // 4, axis=1), SIZE // 4, axis=2)
    b = -np.random.default_rng(seed + 1).permutation(a)
    return a, b


def numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def iterations(optimizer):
    return int(numpy(optimizer.iterations))


@pytest.fixture(scope="module")
def trained():
    """A tiny CycleGAN after 6 short epochs (48 steps), shared by several tests."""
    keras.utils.set_random_seed(0)
    gan = tiny_cyclegan()
    gan.compile(learning_rate=1e-3, total_steps=96, jit_compile=JIT)
    a, b = domains()
    history = gan.fit(a, b, batch_size=2, epochs=6, verbose=0)
    return gan, history.history, (a, b)


# -- networks -------------------------------------------------------------------------


@pytest.mark.single_backend
def test_network_shapes_and_defaults():
    g = resnet_generator(SIZE, 3, filters=8, num_residual_blocks=2)
    assert g.output_shape == (None, SIZE, SIZE, 3)
    residual_blocks = {layer.name.split("_")[1] for layer in g.layers if layer.name.startswith("g_res")}
    assert len(residual_blocks) == 2
    for size, blocks, patches in ((128, 6, 14), (256, 9, 30)):
        g = resnet_generator(size, filters=2)
        assert sum(layer.name.endswith("_add") for layer in g.layers) == blocks
        assert patchgan_discriminator(size, filters=2).output_shape == (None, patches, patches, 1)
    norms = [layer for layer in g.layers if isinstance(layer, keras.layers.GroupNormalization)]
    # Instance normalisation: one group per channel.
    assert norms and all(layer.groups == layer.gamma.shape[0] for layer in norms)


def test_model_parts():
    gan = tiny_cyclegan()
    assert gan.identity_weight == 5.0 and gan.cycle_weight == 10.0
    assert gan.generator_ab is gan.generator and gan.discriminator_b is gan.discriminator
    assert isinstance(gan.pool_a, ImagePool) and gan.pool_a.pool_size == 4
    assert len(gan.generator_variables) == 2 * len(gan.generator_ab.trainable_variables)


# -- training -------------------------------------------------------------------------


def test_metrics_and_cycle_loss_falls(trained):
    _, history, _ = trained
    assert set(history) == {
        "g_ab_loss", "g_ba_loss", "d_a_loss", "d_b_loss", "cycle_loss", "identity_loss"
    }
    for values in history.values():
        assert np.all(np.isfinite(values))
    cycle = history["cycle_loss"]
    assert all(later < earlier for earlier, later in zip(cycle, cycle[1:])), cycle
    assert cycle[-1] < 0.95 * cycle[0], cycle


def test_identity_loss_is_zero_weighted_when_asked():
    a, b = domains(2)
    for weight in (0.0, None):
        gan = tiny_cyclegan(identity_weight=weight)
        loss, logs = gan.generator_loss(a, b, training=False)
        # Through NumPy: float() of a torch tensor that requires grad warns.
        loss = float(keras.ops.convert_to_numpy(loss))
        logs = {k: float(keras.ops.convert_to_numpy(v)) for k, v in logs.items()}
        expected = logs["g_ab_loss"] + logs["g_ba_loss"] + 10.0 * logs["cycle_loss"]
        if weight == 0.0:
            assert logs["identity_loss"] == 0.0
        else:
            assert logs["identity_loss"] > 0.0
            expected += 5.0 * logs["identity_loss"]
        np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_learning_rate_decays_over_the_second_half(trained):
    schedule = LinearDecay(2e-4, total_steps=100)
    rates = [float(numpy(schedule(step))) for step in (0, 50, 75, 100, 120)]
    np.testing.assert_allclose(rates, [2e-4, 2e-4, 1e-4, 0.0, 0.0], atol=1e-9)
    assert LinearDecay.from_config(schedule.get_config()).decay_start == 50
    gan, _, _ = trained
    # The fixture ran 48 of 96 steps: the decay starts now, from the full rate,
    # which a constant rate would give too; so check each optimizer's schedule.
    for key in OPTIMIZERS:
        optimizer = getattr(gan, key)
        assert iterations(optimizer) == 48
        np.testing.assert_allclose(float(numpy(optimizer.learning_rate)), 1e-3, rtol=1e-5)
        # A LossScaleOptimizer (mixed precision) holds the schedule inside.
        schedule = getattr(optimizer, "inner_optimizer", optimizer)._learning_rate
        assert isinstance(schedule, LinearDecay) and schedule.total_steps == 96
        np.testing.assert_allclose(float(numpy(schedule(72))), 5e-4, rtol=1e-5)


def test_set_total_steps_redraws_the_schedule_of_a_finished_run():
    # A run compiled for 2 steps has decayed to a rate of 0: more steps
    # change nothing until the schedule is redrawn for a longer run.
    a, b = domains(2)
    gan = tiny_cyclegan()
    gan.compile(learning_rate=1e-3, total_steps=2, jit_compile=JIT)
    gan.train_on_batch(a, b)
    gan.train_on_batch(a, b)
    before = [numpy(w).copy() for w in gan.generator_ab.trainable_weights]
    gan.train_on_batch(a, b)
    assert all(np.array_equal(x, numpy(w)) for x, w in zip(before, gan.generator_ab.trainable_weights))
    assert gan.set_total_steps(8) == 4 and gan.set_total_steps(8) == 0
    for key in OPTIMIZERS:
        schedule = getattr(gan, key)._learning_rate
        assert isinstance(schedule, LinearDecay) and (schedule.total_steps, schedule.decay_start) == (8, 4)
    gan.train_on_batch(a, b)
    assert not all(np.array_equal(x, numpy(w)) for x, w in zip(before, gan.generator_ab.trainable_weights))


def test_translation_preserves_shape_dtype_and_range(trained):
    gan, _, (a, _) = trained
    uint8 = np.clip(np.round((a[:3] + 1) * 127.5), 0, 255).astype(np.uint8)
    for direction in ("a_to_b", "b_to_a"):
        out = gan.translate(uint8, direction)
        assert out.shape == uint8.shape and out.dtype == np.uint8
        out = gan.translate(a[:3], direction)
        assert out.shape == a[:3].shape and out.dtype == np.float32
        assert out.min() >= -1.0 and out.max() <= 1.0
    single = gan.translate(uint8[0])
    assert single.shape == uint8[0].shape and single.dtype == np.uint8
    with pytest.raises(ValueError, match="direction"):
        gan.translate(a, "sideways")
    with pytest.raises(ValueError, match="shape"):
        gan.translate(np.zeros((1, 16, 16, 3), "float32"))


# -- saving ---------------------------------------------------------------------------


def test_save_load_keeps_all_four_optimizers_and_resumes(trained, tmp_path):
    gan, _, (a, b) = trained
    path = tmp_path / "cyclegan.keras"
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, CycleGAN)
    for key in OPTIMIZERS:
        saved, restored = getattr(gan, key), getattr(loaded, key)
        assert iterations(restored) == 48
        assert len(saved.variables) == len(restored.variables) > 2
        for v1, v2 in zip(saved.variables, restored.variables):
            np.testing.assert_allclose(numpy(v1), numpy(v2), err_msg=v1.path)
    assert isinstance(loaded.g_ab_optimizer._learning_rate, LinearDecay)
    for pool in ("pool_a", "pool_b"):
        np.testing.assert_array_equal(
            numpy(getattr(loaded, pool).images), numpy(getattr(gan, pool).images)
        )
        assert int(numpy(getattr(loaded, pool).count)) == 4
    np.testing.assert_allclose(loaded.translate(a[:2]), gan.translate(a[:2]), atol=1e-5)
    loaded.fit(a[:4], b[:4], batch_size=2, epochs=1, verbose=0)
    for key in OPTIMIZERS:
        assert iterations(getattr(loaded, key)) == 50


def test_config_round_trip():
    gan = tiny_cyclegan(identity_weight=0.0, cycle_weight=5.0)
    clone = CycleGAN.from_config(json.loads(json.dumps(gan.get_config())))
    assert (clone.identity_weight, clone.cycle_weight, clone.pool_size) == (0.0, 5.0, 4)
    assert clone.generator_ba.count_params() == gan.generator_ba.count_params()


def test_compile_rejects_a_shared_optimizer():
    gan = tiny_cyclegan()
    adam = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="different optimizer instances"):
        gan.compile(g_ab_optimizer=adam, g_ba_optimizer=adam)
    with pytest.raises(ValueError, match="g_ab_optimizer, g_ba_optimizer, d_a_optimizer, d_b_optimizer, not d_optimizer"):
        gan.compile(d_optimizer=adam)


# -- bad input --------------------------------------------------------------------------


def write_images(folder, n):
    from PIL import Image

    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        Image.fromarray(np.full((40, 40, 3), 20 * i, np.uint8)).save(os.path.join(folder, f"{i}.png"))


def test_missing_or_empty_domain_fails_early(tmp_path):
    from keras_gans.data import unpaired_dataset

    write_images(tmp_path / "only_a" / "trainA", 3)
    with pytest.raises(FileNotFoundError, match="Domain B"):
        unpaired_dataset(str(tmp_path / "only_a"), image_size=SIZE)
    os.makedirs(tmp_path / "only_a" / "trainB")
    with pytest.raises(ValueError, match="Domain B"):
        unpaired_dataset(str(tmp_path / "only_a"), image_size=SIZE)

    gan = tiny_cyclegan()
    gan.compile(jit_compile=JIT)
    a, b = domains(4)
    with pytest.raises(ValueError, match="both domains"):
        gan.fit(a, batch_size=2, epochs=1, verbose=0)
    import tensorflow as tf

    with pytest.raises(ValueError, match="both domains"):
        gan.fit(tf.data.Dataset.from_tensor_slices(a).batch(2), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"Domain B images have shape \(16, 16, 3\)"):
        gan.fit(a, b[:, :16, :16], batch_size=2, epochs=1, verbose=0)
    assert iterations(gan.d_a_optimizer) == 0


@pytest.mark.single_backend
def test_script_reports_a_missing_domain_in_one_line(tmp_path):
    write_images(tmp_path / "data" / "trainA", 2)
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "scripts", "train_cyclegan.py"),
         "--data", str(tmp_path / "data"), "--image-size", "128", "--out", str(tmp_path / "run")],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert "Domain B" in lines[-1] and "Traceback" not in result.stderr
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "scripts", "train_cyclegan.py"), "--data-a", "x"],
        capture_output=True, text=True,
    )
    # TensorFlow may log its start-up lines first; the error is one line.
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("train_cyclegan.py: error: give both")


# -- grids and export -----------------------------------------------------------------


def test_translation_grid(trained, tmp_path):
    from PIL import Image

    gan, _, (a, b) = trained
    grid = TranslationGrid(tmp_path, a[:2], b[:3])
    grid.set_model(gan)
    grid.on_epoch_end(0)
    # Rows a -> G(a) -> F(G(a)) for 2 images of A, then 3 of B; 3 columns.
    image = Image.open(tmp_path / "epoch_0001.png")
    assert image.size == (3 * (SIZE + 2) + 2, 5 * (SIZE + 2) + 2)
    with pytest.raises(ValueError, match="TranslationGrid"):
        gan.grid_inputs(4)


def test_export_serves_both_directions_from_tensorflow_alone(trained, tmp_path):
    gan, _, (a, _) = trained
    path = export_translator(gan, str(tmp_path / "translator" / "1"))
    images = np.clip(np.round((a[:3] + 1) * 127.5), 0, 255).astype(np.uint8)
    np.save(tmp_path / "images.npy", images)
    code = f"""
import numpy as np, sys, tensorflow as tf
images = tf.constant(np.load({str(tmp_path / "images.npy")!r}))
model = tf.saved_model.load({path!r})
out = {{d: model.signatures[d](image=images)["image"].numpy() for d in ("a_to_b", "b_to_a")}}
# A client that names no signature gets uint8 images too: A to B.
out["default"] = model.signatures["serving_default"](image=images)["image"].numpy()
np.savez({str(tmp_path / "out.npz")!r}, **out)
assert "keras_gans" not in sys.modules
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    out = np.load(tmp_path / "out.npz")
    for direction in ("a_to_b", "b_to_a"):
        served = out[direction]
        assert served.dtype == np.uint8 and served.shape == images.shape
        expected = gan.translate(images, direction)
        assert np.abs(served.astype(int) - expected.astype(int)).max() <= 1, direction
    assert out["default"].dtype == np.uint8
    np.testing.assert_array_equal(out["default"], out["a_to_b"])


def test_short_fit_on_daisy2sunflower(data_root):
    """The shared unpaired flower domains train through unpaired_dataset."""
    from keras_gans import data

    folder = data_root / "cyclegan128" / "daisy2sunflower"
    ds = data.unpaired_dataset(folder / "trainA", folder / "trainB", image_size=32, batch_size=2, seed=0)
    gan = tiny_cyclegan()
    gan.compile(jit_compile=JIT)
    history = gan.fit(ds, epochs=1, steps_per_epoch=3, verbose=0)
    assert all(np.isfinite(v).all() for v in history.history.values())
    assert {"cycle_loss", "g_ab_loss", "d_b_loss"} <= set(history.history)
