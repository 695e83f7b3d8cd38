"""Mixed precision: `mixed_float16` and `mixed_bfloat16` dtype policies.

Compute runs in float16/bfloat16; variables, optimizer state, the
discriminator's logits, the losses and the library generators' images stay
float32. Under float16 `GAN.compile` wraps both optimizers in a
`LossScaleOptimizer`: losses are scaled before differentiation, gradients
unscaled before the update, and the reported losses are the unscaled ones.
"""

import numpy as np
import pytest

import keras

import keras_gans as kg
from helpers import JIT
from test_gan import keras_io_dcgan_models

BACKEND = keras.backend.backend()
POLICIES = ["mixed_float16", "mixed_bfloat16"]


@pytest.fixture(params=POLICIES)
def policy(request):
    keras.config.set_dtype_policy(request.param)
    request.addfinalizer(lambda: keras.config.set_dtype_policy("float32"))
    return request.param


def tiny_vanilla(**kwargs):
    args = dict(data_shape=(4,), latent_dim=3, generator_units=(16,), discriminator_units=(16,),
                dropout=0.0, seed=0)
    args.update(kwargs)
    return kg.VanillaGAN(**args)


def tiny_dcgan():
    return kg.DCGAN(image_size=16, channels=3, latent_dim=8, generator_width=8,
                    discriminator_width=8, seed=1)


def user_gan():
    generator, discriminator = keras_io_dcgan_models()
    return kg.GAN(generator, discriminator, seed=3)


def data_for(gan, n=32):
    shape = tuple(gan.discriminator.input_shape[1:])
    return np.random.default_rng(0).uniform(-1, 1, (n,) + shape).astype("float32")


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def float_variables(variables):
    return [v for v in variables if "float" in v.dtype or "bfloat" in v.dtype]


@pytest.mark.parametrize("make", [tiny_vanilla, tiny_dcgan, user_gan], ids=["vanilla", "dcgan", "user"])
def test_short_fit_under_policy(policy, make):
    gan = make()
    gan.compile(jit_compile=JIT)
    compute = policy.split("_")[1]
    assert any(layer.compute_dtype == compute for layer in gan.generator.layers)
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer) == (
        policy == "mixed_float16"
    )
    history = gan.fit(data_for(gan), batch_size=16, epochs=1, verbose=0).history
    for values in history.values():
        assert np.all(np.isfinite(values))
    # Variables and optimizer state are float32 (counters are ints).
    assert {v.dtype for v in float_variables(gan.weights)} == {"float32"}
    assert {v.dtype for v in float_variables(gan.optimizer.variables)} == {"float32"}
    assert int(numpy(gan.d_optimizer.iterations)) == 2
    # Logits and losses are float32 even where the user's last layer is not.
    real = keras.ops.convert_to_tensor(data_for(gan, 4))
    fake = gan.generate_images(gan.draw_inputs(4))
    loss, logs = gan.discriminator_loss(real, fake)
    g_loss, _ = gan.generator_loss(fake)
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"
    assert keras.backend.standardize_dtype(g_loss.dtype) == "float32"
    assert all(keras.backend.standardize_dtype(v.dtype) == "float32" for v in logs.values())
    assert gan.generate(3).dtype == np.float32


@pytest.mark.parametrize("discriminator_label_mode", ["channels", "projection"])
def test_conditional_gan_trains_under_policy(policy, discriminator_label_mode):
    gan = kg.ConditionalGAN(
        num_classes=3, image_size=16, channels=1, latent_dim=8, generator_width=8,
        discriminator_width=8, discriminator_label_mode=discriminator_label_mode, seed=2,
    )
    gan.compile(jit_compile=JIT)
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer) == (
        policy == "mixed_float16"
    )
    images = np.random.default_rng(0).uniform(-1, 1, (16, 16, 16, 1)).astype("float32")
    labels = np.arange(16) % 3
    history = gan.fit(images, labels, batch_size=8, epochs=1, verbose=0).history
    assert all(np.all(np.isfinite(v)) for v in history.values())
    assert int(numpy(gan.g_optimizer.iterations)) == 2
    assert {v.dtype for v in float_variables(gan.weights)} == {"float32"}
    logits = gan.discriminate(keras.ops.convert_to_tensor(images[:3]), keras.ops.arange(3))
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"
    assert gan.generate(labels=[0, 1, 2], seed=0).dtype == np.float32


def test_cyclegan_trains_and_round_trips_under_policy(policy, tmp_path):
    gan = kg.CycleGAN(image_size=32, generator_filters=4, discriminator_filters=4,
                      num_residual_blocks=1, pool_size=2, seed=0)
    gan.compile(jit_compile=JIT)
    optimizers = [gan.g_ab_optimizer, gan.g_ba_optimizer, gan.d_a_optimizer, gan.d_b_optimizer]
    for optimizer in optimizers:
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer) == (
            policy == "mixed_float16"
        )
    rng = np.random.default_rng(0)
    a, b = (rng.uniform(-1, 1, (8, 32, 32, 3)).astype("float32") for _ in range(2))
    history = gan.fit(a, b, batch_size=4, epochs=1, verbose=0).history
    assert all(np.all(np.isfinite(v)) for v in history.values())
    for optimizer in optimizers:
        # Each step either updates or, on overflow, halves the loss scale
        # (float16 from a 2**15 scale often overflows at first).
        skipped = 0
        if policy == "mixed_float16":
            skipped = round(np.log2(2.0**15 / float(numpy(optimizer.dynamic_scale))))
        assert int(numpy(optimizer.iterations)) + skipped == 2
    assert {v.dtype for v in float_variables(gan.weights)} == {"float32"}
    assert gan.translate(a[:2]).dtype == np.float32
    if policy == "mixed_float16":
        gan.g_ba_optimizer.dynamic_scale.assign(512.0)  # as after overflows
    gan.save(tmp_path / "cyclegan.keras")
    loaded = keras.models.load_model(tmp_path / "cyclegan.keras")
    # The loss scales and inner optimizers' states come back, and training
    # goes on from them.
    for optimizer, restored in zip(optimizers, [loaded.g_ab_optimizer, loaded.g_ba_optimizer,
                                                loaded.d_a_optimizer, loaded.d_b_optimizer]):
        assert type(restored) is type(optimizer)
        assert len(restored.variables) == len(optimizer.variables)
        for v1, v2 in zip(optimizer.variables, restored.variables):
            np.testing.assert_array_equal(numpy(v1), numpy(v2))
    before = int(numpy(loaded.d_b_optimizer.iterations))
    history = loaded.fit(a, b, batch_size=4, epochs=1, verbose=0).history
    assert all(np.all(np.isfinite(v)) for v in history.values())
    if policy == "mixed_bfloat16":
        assert int(numpy(loaded.d_b_optimizer.iterations)) == before + 2


def test_a_joint_update_unscales_each_optimizer_by_its_own_scale():
    """A phase with an optimizer per network (CycleGAN's generators) takes
    one gradient, at the first optimizer's loss scale; the second
    LossScaleOptimizer has another scale and must still take its network's
    true step (without the rescale it would move 2**4 times too far)."""
    LSO = keras.optimizers.LossScaleOptimizer
    w1, w2 = keras.Variable([1.0, 2.0]), keras.Variable([3.0])
    first, second = LSO(keras.optimizers.SGD(0.1)), LSO(keras.optimizers.SGD(0.1))
    first.build([w1])
    second.build([w2])
    first.dynamic_scale.assign(2.0**6)
    second.dynamic_scale.assign(2.0**2)

    def loss():  # d/dw1 = 2 * w1, d/dw2 = 3
        return keras.ops.sum(w1 * w1) + 3.0 * keras.ops.sum(w2), {}

    tiny_vanilla()._apply([first, second], [[w1], [w2]], loss)
    np.testing.assert_allclose(numpy(w1), [1.0 - 0.1 * 2.0, 2.0 - 0.1 * 4.0], rtol=1e-6)
    np.testing.assert_allclose(numpy(w2), [3.0 - 0.1 * 3.0], rtol=1e-6)
    assert int(numpy(first.iterations)) == int(numpy(second.iterations)) == 1


@pytest.mark.parametrize("make", [tiny_vanilla, tiny_dcgan], ids=["vanilla", "dcgan"])
def test_library_models_output_float32(policy, make):
    """The library's generators and discriminators end in float32 layers:
    images keep full precision, logits need no cast."""
    gan = make()
    z = keras.random.normal((2, gan.latent_dim), seed=0)
    fake = gan.generator(z)
    assert keras.backend.standardize_dtype(fake.dtype) == "float32"
    assert keras.backend.standardize_dtype(gan.discriminator(fake).dtype) == "float32"


@pytest.mark.parametrize("jit_compile", [False, True])
def test_float16_loss_scaling_matches_float32_updates(jit_compile):
    """A scaled loss, unscaled gradients: one SGD step under mixed_float16
    moves the weights as float32 does (a missing unscale would move them
    2**15 times further) and reports the unscaled losses."""
    if jit_compile and BACKEND == "torch":
        pytest.skip("jit_compile on torch is torch.compile; not needed here")
    x = data_for(tiny_vanilla(), 16)

    def one_step():
        gan = tiny_vanilla()
        gan.set_weights(initial)
        gan.compile(
            d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1),
            jit_compile=jit_compile,
        )
        logs = gan.fit(x, batch_size=16, epochs=1, verbose=0, shuffle=False).history
        return gan, {k: v[0] for k, v in logs.items()}

    initial = tiny_vanilla().get_weights()
    reference, reference_logs = one_step()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        gan, logs = one_step()
    finally:
        keras.config.set_dtype_policy("float32")
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        assert float(numpy(optimizer.dynamic_scale)) == 2.0**15  # finite: not lowered
        assert int(numpy(optimizer.step_counter)) == 1
        assert float(numpy(optimizer.scale_loss(1.0))) == 2.0**15
    for key, value in reference_logs.items():
        assert logs[key] == pytest.approx(value, rel=2e-2, abs=2e-3), key
    for w0, w_ref, w in zip(initial, reference.get_weights(), gan.get_weights()):
        step_ref, step = w_ref - w0, w - w0
        # float16 compute moves single entries by several percent (torch's
        # CPU kernels, which vary between runs, up to ~7%); a missing or
        # doubled unscale would be off by a factor of 2**15.
        assert np.abs(step - step_ref).max() <= 0.15 * np.abs(step_ref).max() + 1e-4


def test_save_load_round_trips_under_policy(policy, tmp_path):
    gan = tiny_vanilla()
    gan.compile(jit_compile=JIT)
    x = data_for(gan)
    gan.fit(x, batch_size=16, epochs=1, verbose=0)
    if policy == "mixed_float16":
        gan.d_optimizer.dynamic_scale.assign(1024.0)  # as after overflows
        gan.g_optimizer.step_counter.assign(7)
    path = tmp_path / "gan.keras"
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.generator.layers[1].dtype_policy.name == policy
    for a, b in zip(gan.weights, loaded.weights):
        np.testing.assert_array_equal(numpy(a), numpy(b))
        assert a.dtype == b.dtype
    for optimizer, loaded_optimizer in (
        (gan.d_optimizer, loaded.d_optimizer),
        (gan.g_optimizer, loaded.g_optimizer),
    ):
        assert type(loaded_optimizer) is type(optimizer)
        assert len(loaded_optimizer.variables) == len(optimizer.variables)
        for a, b in zip(optimizer.variables, loaded_optimizer.variables):
            np.testing.assert_array_equal(numpy(a), numpy(b))
    if policy == "mixed_float16":
        assert float(numpy(loaded.d_optimizer.dynamic_scale)) == 1024.0
        assert int(numpy(loaded.g_optimizer.step_counter)) == 7
        assert isinstance(loaded.d_optimizer.inner_optimizer, keras.optimizers.Adam)
    history = loaded.fit(x, batch_size=16, epochs=1, verbose=0).history
    assert all(np.all(np.isfinite(v)) for v in history.values())
    assert int(numpy(loaded.d_optimizer.iterations)) == 4


def test_policy_is_restored_after_each_test():
    assert keras.config.dtype_policy().name == "float32"
