"""The trainer: fitting, metrics, hooks, serialization, resuming, learning."""

import numpy as np
import pytest

import keras
from helpers import JIT
from keras import layers

import keras_gans as kg


def tiny_dcgan(**kwargs):
    args = dict(image_size=16, channels=3, latent_dim=8, generator_width=8, discriminator_width=8, seed=1)
    args.update(kwargs)
    return kg.DCGAN(**args)


def images(n=64, size=16, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 3)).astype("float32")


def weights_of(model):
    return [keras.ops.convert_to_numpy(w).copy() for w in model.weights]


def opt_state(optimizer):
    return [keras.ops.convert_to_numpy(v).copy() for v in optimizer.variables]


@pytest.mark.parametrize(
    "jit_compile", [pytest.param(True, marks=pytest.mark.slow_on_torch), False]
)
def test_fit_alternates_updates_and_reports_metrics(jit_compile):
    gan = tiny_dcgan()
    gan.compile(d_steps=1, g_steps=2, jit_compile=jit_compile)
    before = weights_of(gan.generator)
    history = gan.fit(images(), batch_size=16, epochs=2, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    for values in history.history.values():
        assert len(values) == 2 and np.all(np.isfinite(values))
    assert 0 < history.history["d_real"][-1] < 1 and 0 < history.history["d_fake"][-1] < 1
    # 4 batches x 2 epochs: one D update and two G updates per batch.
    assert int(gan.d_optimizer.iterations) == 8
    assert int(gan.g_optimizer.iterations) == 16
    assert any(not np.allclose(a, b) for a, b in zip(before, weights_of(gan.generator)))
    # New noise every step, from the model's SeedGenerator (under jit too: a
    # draw baked into the compiled step would leave the counter still): per
    # batch one draw for D and one for the second G update (the first reuses
    # D's fakes).
    assert keras.ops.convert_to_numpy(gan.seed_generator.state)[1] == 8 * 2


def test_learning_rate_callbacks_reach_both_optimizers():
    # Keras' LearningRateScheduler and ReduceLROnPlateau change every
    # optimizer of `model.optimizer.optimizers`; the step must then use them.
    gan = tiny_dcgan()
    gan.compile(jit_compile=JIT)
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e-4 / (epoch + 1))
    logs = gan.fit(images(32), batch_size=16, epochs=2, verbose=0, callbacks=[schedule]).history
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        np.testing.assert_allclose(float(keras.ops.convert_to_numpy(optimizer.learning_rate)), 5e-5)
    np.testing.assert_allclose(logs["learning_rate_d_optimizer"], [1e-4, 5e-5], rtol=1e-6)
    np.testing.assert_allclose(logs["learning_rate_g_optimizer"], [1e-4, 5e-5], rtol=1e-6)
    assert int(gan.optimizer.iterations) == int(gan.d_optimizer.iterations) == 4  # TensorBoard's step
    # A zero rate freezes the networks: the compiled step reads the new rate.
    zero = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.0)
    before = weights_of(gan.generator) + weights_of(gan.discriminator)
    gan.fit(images(32), batch_size=16, epochs=1, verbose=0, callbacks=[zero])
    after = weights_of(gan.generator) + weights_of(gan.discriminator)
    trainable = {id(w) for w in gan.generator.trainable_weights + gan.discriminator.trainable_weights}
    weights = gan.generator.weights + gan.discriminator.weights
    for w, a, b in zip(weights, before, after):
        if id(w) in trainable:
            np.testing.assert_array_equal(a, b)


def test_non_probabilistic_losses_report_raw_scores():
    gan = tiny_dcgan()
    gan.compile(loss="wasserstein", jit_compile=JIT)
    logs = gan.fit(images(32), batch_size=16, epochs=1, verbose=0).history
    assert set(logs) == {"d_loss", "g_loss", "real_score", "fake_score"}


@pytest.mark.parametrize("loss", ["minimax", "least_squares", "hinge"])
def test_every_loss_trains_a_step(loss):
    gan = kg.VanillaGAN(data_shape=(4,), latent_dim=4, generator_units=(8,), discriminator_units=(8,), seed=0)
    gan.compile(loss=loss, jit_compile=JIT)
    logs = gan.train_on_batch(np.zeros((8, 4), "float32"), return_dict=True)
    assert np.isfinite(logs["d_loss"]) and np.isfinite(logs["g_loss"])


def test_evaluate_reports_without_updating():
    gan = tiny_dcgan()
    gan.compile(jit_compile=JIT)
    before = weights_of(gan)
    result = gan.evaluate(images(32), batch_size=16, verbose=0, return_dict=True)
    assert set(result) == {"d_loss", "g_loss", "d_real", "d_fake"}
    after = weights_of(gan)
    assert len(after) == len(before) and all(np.array_equal(a, b) for a, b in zip(before, after))
    assert int(gan.d_optimizer.iterations) == int(gan.g_optimizer.iterations) == 0


def test_generate_predict_and_call():
    gan = tiny_dcgan()
    out = gan.generate(5)
    assert out.shape == (5, 16, 16, 3) and out.dtype == np.float32
    assert out.min() >= -1 and out.max() <= 1
    np.testing.assert_allclose(gan.generate(3, seed=4), gan.generate(3, seed=4))
    assert not np.allclose(gan.generate(3), gan.generate(3))  # the SeedGenerator advances
    z = np.random.default_rng(0).normal(size=(6, 8)).astype("float32")
    np.testing.assert_allclose(gan.predict(z, verbose=0), gan.generate(z=z), atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(gan(z)), gan.generate(z=z), atol=1e-5)
    with pytest.raises(ValueError, match="Pass `n`"):
        gan.generate()
    with pytest.raises(ValueError, match=r"shape \(n, 8\)"):
        gan.generate(z=np.zeros((2, 3)))


def test_uint8_batches_are_scaled_on_device():
    gan = tiny_dcgan()
    real, _ = gan.unpack_batch(np.array([[[[0, 255, 128]]]], "uint8"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(real).ravel(), [-1, 1, 128 / 127.5 - 1], atol=1e-6)


def test_save_load_resumes_weights_and_both_optimizers(tmp_path):
    gan = tiny_dcgan()
    gan.compile(
        d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
        g_optimizer=keras.optimizers.RMSprop(5e-4),
        loss="least_squares",
        g_steps=2,
        jit_compile=JIT,
    )
    x = images()
    gan.fit(x, batch_size=16, epochs=1, verbose=0)
    path = tmp_path / "gan.keras"
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, kg.DCGAN)
    assert loaded.loss_pair.name == "least_squares" and loaded.g_steps == 2
    assert isinstance(loaded.g_optimizer, keras.optimizers.RMSprop)
    for a, b in zip(weights_of(gan), weights_of(loaded)):
        np.testing.assert_array_equal(a, b)
    for opt, opt2 in ((gan.d_optimizer, loaded.d_optimizer), (gan.g_optimizer, loaded.g_optimizer)):
        for a, b in zip(opt_state(opt), opt_state(opt2)):
            np.testing.assert_array_equal(a, b)
    # The noise stream continues where it was, rather than starting over.
    state = keras.ops.convert_to_numpy(gan.seed_generator.state)
    assert state.any()
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded.seed_generator.state), state)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded.sample_noise(4)),
        keras.ops.convert_to_numpy(gan.sample_noise(4)),
    )
    # Resume: iterations continue and weights keep changing.
    before = weights_of(loaded.generator)
    loaded.fit(x, batch_size=16, epochs=1, verbose=0)
    assert int(loaded.d_optimizer.iterations) == 8
    assert int(loaded.g_optimizer.iterations) == 16
    assert any(not np.allclose(a, b) for a, b in zip(before, weights_of(loaded.generator)))


class StopAt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("interrupted")


def test_backup_and_restore_resumes_an_interrupted_fit(tmp_path):
    x = images(32)
    gan = tiny_dcgan()
    gan.compile(jit_compile=JIT)
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    with pytest.raises(RuntimeError, match="interrupted"):
        gan.fit(x, batch_size=16, epochs=4, verbose=0, callbacks=[backup, StopAt(1)])
    assert int(gan.d_optimizer.iterations) == 4

    fresh = tiny_dcgan()
    fresh.compile(jit_compile=JIT)
    history = fresh.fit(x, batch_size=16, epochs=4, verbose=0, callbacks=[backup])
    # Epochs 0-1 were restored; only 2-3 ran, continuing the optimizer count.
    assert history.epoch == [2, 3]
    assert int(fresh.d_optimizer.iterations) == 8


def keras_io_dcgan_models(latent_dim=8):
    """The Sequential models of the keras.io DCGAN example (scaled down)."""
    discriminator = keras.Sequential(
        [
            keras.Input(shape=(16, 16, 3)),
            layers.Conv2D(8, 4, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Conv2D(16, 4, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Flatten(),
            layers.Dropout(0.2),
            layers.Dense(1),
        ],
        name="discriminator",
    )
    generator = keras.Sequential(
        [
            keras.Input(shape=(latent_dim,)),
            layers.Dense(4 * 4 * 16),
            layers.Reshape((4, 4, 16)),
            layers.Conv2DTranspose(16, 4, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Conv2DTranspose(8, 4, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Conv2D(3, 5, padding="same", activation="tanh"),
        ],
        name="generator",
    )
    return generator, discriminator


def test_user_built_models_train_and_round_trip(tmp_path):
    generator, discriminator = keras_io_dcgan_models()
    gan = kg.GAN(generator=generator, discriminator=discriminator, seed=3)
    assert gan.latent_dim == 8  # read from the generator's input
    gan.compile(jit_compile=JIT)
    gan.fit(images(32), batch_size=16, epochs=1, verbose=0)
    gan.save(tmp_path / "custom.keras")
    loaded = keras.models.load_model(tmp_path / "custom.keras")
    z = np.random.default_rng(1).normal(size=(2, 8)).astype("float32")
    np.testing.assert_allclose(loaded.generate(z=z), gan.generate(z=z), atol=1e-6)
    config = gan.get_config()
    assert config["latent_dim"] == 8 and config["seed"] == 3
    clone = kg.GAN.from_config(config)
    assert clone.generator.count_params() == generator.count_params()


def test_model_classes_save_the_networks_they_were_given(tmp_path):
    # Networks other than the class's own: the config must carry them, or
    # loading would rebuild default ones that the saved weights do not fit.
    generator = kg.models.mlp_generator((4,), 3, (5,), None)
    discriminator = kg.models.mlp_discriminator((4,), (6,), 0.0)
    gan = kg.VanillaGAN(latent_dim=3, generator=generator, discriminator=discriminator, seed=0)
    assert gan.data_shape == (4,)
    gan.compile(jit_compile=JIT)
    gan.save(tmp_path / "given.keras")
    loaded = keras.models.load_model(tmp_path / "given.keras")
    assert isinstance(loaded, kg.VanillaGAN) and loaded.data_shape == (4,)
    z = np.ones((2, 3), "float32")
    np.testing.assert_allclose(loaded.generate(z=z), gan.generate(z=z), atol=1e-6)


def test_a_custom_loss_pair_saves_and_loads(tmp_path):
    from test_losses import DOUBLED_HINGE

    gan = tiny_dcgan()
    gan.compile(loss=DOUBLED_HINGE, jit_compile=JIT)
    gan.save(tmp_path / "custom_loss.keras")
    loaded = keras.models.load_model(tmp_path / "custom_loss.keras")
    assert loaded.loss_pair == DOUBLED_HINGE
    logs = loaded.train_on_batch(images(16), return_dict=True)
    assert np.isfinite(logs["d_loss"]) and "real_score" in logs


CRITIC_W = np.array([3.0, 0.0, 4.0, 0.0], "float32")  # |w| = 5


def linear_gan(gan_class=kg.GAN, d_l2=None, g_l2=None, penalties=None, **kwargs):
    """A linear generator and critic with fixed weights (kernels optionally
    L2-regularized), SGD(0.01) and the Wasserstein loss: one step's updates
    have closed forms."""

    def dense(units, l2):
        return layers.Dense(units, kernel_regularizer=keras.regularizers.L2(l2) if l2 else None)

    generator = keras.Sequential([keras.Input((2,)), dense(4, g_l2)])
    generator.set_weights([np.arange(8, dtype="float32").reshape(2, 4) / 8, np.zeros(4, "float32")])
    critic = keras.Sequential([keras.Input((4,)), dense(1, d_l2)])
    critic.set_weights([CRITIC_W[:, None], np.zeros(1, "float32")])
    gan = gan_class(generator, critic, seed=0, **kwargs)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.01), g_optimizer=keras.optimizers.SGD(0.01),
                loss="wasserstein", penalties=penalties, jit_compile=JIT)
    return gan


def test_gradient_penalty_trains_through_input_gradients():
    # A linear critic w.x + b has the input gradient w everywhere, so the
    # penalty is 10 (|w| - 1)^2 = 160, and its gradient with respect to w,
    # 10 * 2 (|w| - 1) w / |w|, moves w by lr times that much more than the
    # same step without the penalty (same noise, same fakes). Its log needs
    # no declaration beyond the penalty itself.
    data = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    plain = linear_gan(penalties=[kg.losses.GradientPenalty(0.0)])
    penalised = linear_gan(penalties=[kg.losses.GradientPenalty(10.0)])
    logs = penalised.train_on_batch(data, return_dict=True)
    plain_logs = plain.train_on_batch(data, return_dict=True)
    np.testing.assert_allclose(logs["gradient_penalty"], 160.0, rtol=1e-5)
    assert plain_logs["gradient_penalty"] == 0.0
    np.testing.assert_allclose(logs["d_loss"] - plain_logs["d_loss"], 160.0, rtol=1e-5)
    w_plain = plain.discriminator.get_weights()[0][:, 0]
    w_penalised = penalised.discriminator.get_weights()[0][:, 0]
    np.testing.assert_allclose(w_plain - w_penalised, 0.01 * 10 * 2 * 4 * CRITIC_W / 5, rtol=1e-4)


@pytest.mark.parametrize("network", ["discriminator", "generator"])
def test_weight_regularizers_are_minimised(network):
    # L2(0.5) adds 0.5 |W|^2 to the network's loss and 0.5 * 2 W = W to its
    # gradient: with SGD(0.01) its kernel ends 0.01 W below an unregularized
    # twin's (same noise, same fakes). One network at a time: D's update
    # changes what G's gradient sees.
    data = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    plain, regularized = linear_gan(), linear_gan(**{f"{network[0]}_l2": 0.5})
    start = getattr(regularized, network).get_weights()[0]
    logs = regularized.train_on_batch(data, return_dict=True)
    plain_logs = plain.train_on_batch(data, return_dict=True)
    key = f"{network[0]}_loss"
    assert logs[key] > plain_logs[key]  # the logged loss includes the penalty
    difference = getattr(plain, network).get_weights()[0] - getattr(regularized, network).get_weights()[0]
    np.testing.assert_allclose(difference, 0.01 * start, rtol=1e-4, atol=1e-7)


def test_clear_errors():
    gan = tiny_dcgan()
    with pytest.raises(ValueError, match="compile"):
        gan.fit(images(16), batch_size=16, verbose=0)
    opt = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="different optimizer instances"):
        gan.compile(d_optimizer=opt, g_optimizer=opt)
    with pytest.raises(ValueError, match="d_optimizer"):
        gan.compile(optimizer="adam")
    with pytest.raises(ValueError, match="Unknown GAN loss"):
        gan.compile(loss="nope")
    unbuilt = keras.Sequential([layers.Dense(4)])
    with pytest.raises(ValueError, match="not built"):
        kg.GAN(generator=unbuilt, discriminator=gan.discriminator, latent_dim=8)


def eight_gaussians(n, rng, radius=2.0, std=0.02):
    angles = 2 * np.pi * np.arange(8) / 8
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return (centers[rng.integers(0, 8, n)] + rng.normal(0, std, (n, 2))).astype("float32"), centers


@pytest.mark.slow_on_torch
def test_vanilla_gan_learns_a_ring_of_eight_gaussians():
    """The classic mode-coverage check, with the non-saturating loss.

    Over five global seeds on JAX it covered 7-8 modes with 70-73% of
    samples near one; an unlucky shuffle order can leave 5 covered, hence
    the suite's fixed seed (conftest.py)."""
    rng = np.random.default_rng(0)
    data, centers = eight_gaussians(16384, rng)
    gan = kg.VanillaGAN(
        data_shape=(2,), latent_dim=16, generator_units=(128, 128), discriminator_units=(128, 128),
        dropout=0.0, output_activation=None, seed=0,
    )
    gan.compile(
        d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
        loss="non_saturating",
    )
    gan.fit(data, batch_size=256, epochs=40, verbose=0)
    samples = gan.generate(2000, seed=1)
    distances = np.linalg.norm(samples[:, None] - centers[None], axis=-1)
    near = distances.min(axis=1) < 0.25  # within ~12 std of a centre, on a ring of radius 2
    covered = np.bincount(distances.argmin(axis=1)[near], minlength=8) >= 40  # >= 2% each
    assert near.mean() > 0.5, f"only {near.mean():.0%} of samples near a mode"
    assert covered.sum() >= 6, f"only {covered.sum()} of 8 modes covered"


def test_discriminator_only_steps_raise_its_accuracy():
    rng = np.random.default_rng(0)
    # Real data: smooth gradients; fakes: an untrained generator's output.
    ramp = np.linspace(-1, 1, 16, dtype="float32")
    real = np.broadcast_to(ramp[None, :, None, None], (32, 16, 16, 3)).copy()
    real *= rng.uniform(0.5, 1.0, (32, 1, 1, 1)).astype("float32")
    gan = tiny_dcgan()
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5))

    def accuracy():
        fake = gan.generate(32, seed=5)
        d_real = keras.ops.convert_to_numpy(gan.discriminator(real, training=False))
        d_fake = keras.ops.convert_to_numpy(gan.discriminator(fake, training=False))
        return 0.5 * ((d_real > 0).mean() + (d_fake < 0).mean())

    before = accuracy()
    for _ in range(30):
        gan.apply_update(
            gan.d_optimizer,
            gan.discriminator_variables,
            lambda: gan.discriminator_loss(keras.ops.convert_to_tensor(real), gan.generate(32)),
        )
    after = accuracy()
    assert before < 0.9 and after > 0.9, (before, after)


def test_fit_on_a_dataset_does_not_warn_about_shuffle():
    # Keras warns on every fit(dataset) that its default shuffle=True is
    # ignored; the order is the dataset's, so GAN.fit defaults it off.
    import warnings

    batches = kg.data.image_dataset(images(16), image_size=16, batch_size=8, shuffle=False,
                                    pipeline="tf")
    gan = tiny_dcgan()
    gan.compile(jit_compile=JIT)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gan.fit(batches, epochs=1, verbose=0)
    assert not [w for w in caught if "shuffle" in str(w.message)]
    assert int(keras.ops.convert_to_numpy(gan.d_optimizer.iterations)) == 2


# -- the trainer's extension points -------------------------------------------------


@keras.saving.register_keras_serializable(package="test_gan")
def zero_d_loss(real_logits, fake_logits):
    return 0.0 * (keras.ops.mean(real_logits) + keras.ops.mean(fake_logits))


@keras.saving.register_keras_serializable(package="test_gan")
def zero_g_loss(fake_logits):
    return 0.0 * keras.ops.mean(fake_logits)


# Losses with zero gradients: only penalties move the weights.
ZERO_LOSS = kg.losses.GANLoss("zero", zero_d_loss, zero_g_loss, False)


@pytest.mark.parametrize("jit_compile", [pytest.param(True, marks=pytest.mark.slow_on_torch), False])
def test_a_lazy_penalty_changes_the_weights_on_exactly_its_steps(jit_compile):
    # The main losses have zero gradients, so SGD leaves every weight alone
    # except where R1 (every 4 steps) runs: steps 0, 4 and 8 of 10. On JAX
    # the conditional carries the trainer state through jit (lax.cond).
    data = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    gan = linear_gan()
    gan.compile(d_optimizer=keras.optimizers.SGD(0.01), g_optimizer=keras.optimizers.SGD(0.01),
                loss=ZERO_LOSS, penalties=[kg.losses.R1(gamma=2.0, interval=4)],
                jit_compile=jit_compile)
    assert [p.name for p in gan.phases] == ["discriminator", "r1", "generator"]
    changed, logged = [], []
    for _ in range(10):
        before = gan.discriminator.get_weights()[0].copy()
        logs = gan.train_on_batch(data, return_dict=True)
        changed.append(not np.allclose(before, gan.discriminator.get_weights()[0]))
        logged.append(logs["r1"])
    assert changed == [True, False, False, False] * 2 + [True, False]
    # R1 of a linear critic is gamma / 2 * |w|^2 on the steps it runs.
    assert logged[0] == pytest.approx(25.0, rel=1e-5) and logged[1] == 0.0
    assert int(keras.ops.convert_to_numpy(gan.progress.steps)) == 10
    # Lazily, the penalty's loss is multiplied by its interval: the first
    # step moved w by 0.01 * 4 * gamma / 2 * 2 w.
    fresh = linear_gan()
    fresh.compile(d_optimizer=keras.optimizers.SGD(0.01), g_optimizer=keras.optimizers.SGD(0.01),
                  loss=ZERO_LOSS, penalties=[kg.losses.R1(gamma=2.0, interval=4)],
                  jit_compile=jit_compile)
    fresh.train_on_batch(data)
    np.testing.assert_allclose(fresh.discriminator.get_weights()[0][:, 0],
                               CRITIC_W * (1 - 0.01 * 4 * 2.0), rtol=1e-5)


def test_phases_and_penalties_are_saved_and_continue(tmp_path):
    data = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    gan = linear_gan()
    gan.compile(d_optimizer=keras.optimizers.SGD(0.01), g_optimizer=keras.optimizers.SGD(0.01),
                loss=ZERO_LOSS, penalties=[kg.losses.R1(gamma=2.0, interval=4)], jit_compile=JIT)
    for _ in range(3):
        gan.train_on_batch(data)
    gan.save(tmp_path / "lazy.keras")
    loaded = keras.models.load_model(tmp_path / "lazy.keras")
    assert [(p.name, p.interval) for p in loaded.phases] == [
        ("discriminator", 1), ("r1", 4), ("generator", 1)]
    assert isinstance(loaded.penalties[0], kg.losses.R1) and loaded.penalties[0].gamma == 2.0
    assert int(keras.ops.convert_to_numpy(loaded.progress.steps)) == 3
    assert int(keras.ops.convert_to_numpy(loaded.progress.images)) == 3 * 8
    before = loaded.discriminator.get_weights()[0].copy()
    loaded.train_on_batch(data)  # step 3: not due
    np.testing.assert_array_equal(before, loaded.discriminator.get_weights()[0])
    loaded.train_on_batch(data)  # step 4: due
    assert not np.allclose(before, loaded.discriminator.get_weights()[0])


class CountingGAN(kg.GAN):
    """Counts its discriminator updates in a variable, from an after-update hook."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.d_updates = keras.Variable(0, dtype="int32", trainable=False, name="d_updates")

    def after_update(self, phase_name):
        hooks = super().after_update(phase_name)
        if phase_name == "discriminator":
            hooks.append(lambda step: self.d_updates.assign_add(1))
        return hooks


@pytest.mark.parametrize("jit_compile", [pytest.param(True, marks=pytest.mark.slow_on_torch), False])
def test_after_update_hooks_run_in_the_step_after_every_update(jit_compile):
    generator, discriminator = keras_io_dcgan_models()
    gan = CountingGAN(generator, discriminator, seed=0)
    gan.compile(d_steps=3, jit_compile=jit_compile)
    gan.fit(images(32), batch_size=16, epochs=1, verbose=0)
    assert int(keras.ops.convert_to_numpy(gan.d_updates)) == 2 * 3


class LeakyGAN(kg.GAN):
    """Assigns a variable no model or optimizer holds."""

    stray = None

    def after_update(self, phase_name):
        return [lambda step: LeakyGAN.stray.assign_add(1.0)] if phase_name == "generator" else []


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX drops untracked updates")
def test_jax_fails_loudly_on_an_update_outside_the_state():
    LeakyGAN.stray = keras.Variable(0.0, trainable=False, name="stray_counter")
    generator, discriminator = keras_io_dcgan_models()
    gan = LeakyGAN(generator, discriminator, seed=0)
    gan.compile(jit_compile=JIT)
    with pytest.raises(ValueError, match="not part of the model's state.*stray_counter"):
        gan.fit(images(16), batch_size=16, epochs=1, verbose=0)


def test_fresh_reals_give_each_critic_update_its_own_batch():
    # d_steps=2 with fresh reals splits a batch of 8 in two; with a frozen
    # linear critic (SGD 0), the last update's mean real score is w . mean of
    # the second half, not of the whole batch. The generator phase draws 4.
    halves = np.concatenate([np.ones((4, 4)), 3 * np.ones((4, 4))]).astype("float32")
    logs = {}
    for fresh in (False, True):
        gan = linear_gan()
        gan.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.0),
                    loss="wasserstein", d_steps=2, fresh_reals=fresh, jit_compile=JIT)
        logs[fresh] = gan.train_on_batch(halves, return_dict=True)
        state = keras.ops.convert_to_numpy(gan.seed_generator.state)[1]
        assert state == (2 if fresh else 2)  # one draw per D update; G reuses the last
    assert logs[False]["real_score"] == pytest.approx(2.0 * CRITIC_W.sum(), rel=1e-5)
    assert logs[True]["real_score"] == pytest.approx(3.0 * CRITIC_W.sum(), rel=1e-5)
    gan = linear_gan()
    gan.compile(d_steps=2, fresh_reals=True, reuse_fakes=False, jit_compile=JIT)
    step = kg.gan.StepState(gan.unpack_batch(halves), splits=2)
    assert int(step.batch_size) == 4
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(step.real_batch(1)[0]), halves[4:])


class TwinGAN(kg.GAN):
    """A second generator sharing the first one's layer (CoGAN ties layers
    this way); one phase updates both."""

    def __init__(self, generator, discriminator, twin, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.twin = twin

    def networks(self):
        return {**super().networks(), "twin": self.twin}

    def build_phases(self):
        phases = super().build_phases()
        twin_loss = lambda step, repeat: self.generator_loss(  # noqa: E731
            self.twin(keras.ops.ones((step.batch_size, 2))))
        phases[-1] = kg.gan.Phase("generator", networks=("generator", "twin"),
                                  optimizers=("g_optimizer",), loss=twin_loss, logs=("g_loss",))
        return phases


def test_a_variable_shared_by_two_networks_is_updated_once():
    shared = layers.Dense(4, name="shared")
    z = keras.Input((2,))
    generator = keras.Model(z, shared(z))
    twin = keras.Model(z, layers.Dense(4, name="own")(shared(z)))
    critic = keras.Sequential([keras.Input((4,)), layers.Dense(1)])
    gan = TwinGAN(generator, critic, twin, seed=0)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.1),
                loss="wasserstein", jit_compile=JIT)
    names, groups = gan.phase_updates(gan.phases[-1])
    assert [v.path for v in groups[0]].count(shared.kernel.path) == 1
    # The step equals one SGD step on the gradient taken once.
    _, _, (grad,) = kg.backend.value_and_grad(
        lambda: gan.generator_loss(twin(keras.ops.ones((3, 2)))), [shared.kernel])
    before = keras.ops.convert_to_numpy(shared.kernel).copy()
    gan.train_on_batch(np.zeros((3, 4), "float32"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(shared.kernel),
                               before - 0.1 * keras.ops.convert_to_numpy(grad), rtol=1e-5, atol=1e-7)


def _twin_gan():
    shared = layers.Dense(4, name="shared")
    z = keras.Input((2,))
    twin = keras.Model(z, layers.Dense(4, name="own")(shared(z)))
    critic = keras.Sequential([keras.Input((4,)), layers.Dense(1)])
    gan = TwinGAN(keras.Model(z, shared(z)), critic, twin, seed=0)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.1),
                loss="wasserstein", jit_compile=False)
    return gan


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's graph optimizer")
def test_the_optimized_tensorflow_step_reads_every_variable_before_updating_it():
    """Grappler drops the control edge from a forward read to the update of
    the same variable when another path implies it, and later folds that
    path away (the twin's kernel gradient needs no kernel): the update could
    then run first, so the shared layer's gradient sometimes (about 1 step
    in 10) saw the updated twin kernel. The step now orders every update
    after the loss and logs; checked in the graph as Grappler leaves it,
    where a single run would pass by luck."""
    import tensorflow as tf
    from tensorflow.core.protobuf import config_pb2
    from tensorflow.python.grappler import tf_optimizer

    gan = _twin_gan()
    graph = tf.function(gan.train_step).get_concrete_function(tf.zeros((3, 4))).graph
    reads, writes = {}, []  # resource -> forward reads; (update, resource)
    for op in graph.get_operations():
        if op.type == "ReadVariableOp":
            reads.setdefault(op.inputs[0].name, []).append(op.name)
        elif op.type == "AssignSubVariableOp":
            writes.append((op.name, op.inputs[0].name, list(reads.get(op.inputs[0].name, []))))
    meta = tf.compat.v1.train.export_meta_graph(graph_def=graph.as_graph_def(), graph=graph)
    meta.collection_def["train_op"].node_list.value.extend(
        [name for name, _, _ in writes] + [t.op.name for t in graph.outputs])
    nodes = {n.name: n for n in tf_optimizer.OptimizeGraph(config_pb2.ConfigProto(), meta).node}

    def ancestors(name):
        seen, stack = set(), [name]
        while stack:
            for edge in nodes[stack.pop()].input:
                parent = edge.lstrip("^").split(":")[0]
                if parent in nodes and parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return seen

    # SGD's updates of the critic's 2 variables and the generators' 4.
    assert len(writes) == 6 and all(before for _, _, before in writes)
    for update, _, before in writes:
        missing = [read for read in before if read in nodes and read not in ancestors(update)]
        assert not missing, f"{update} may run before its variable's reads {missing}"


def test_progress_counts_steps_and_images_and_survives_saving(tmp_path):
    gan = tiny_dcgan()
    gan.compile(jit_compile=JIT)
    gan.fit(images(48), batch_size=16, epochs=2, verbose=0)
    steps, seen = (int(keras.ops.convert_to_numpy(v)) for v in (gan.progress.steps, gan.progress.images))
    assert (steps, seen) == (6, 96)
    gan.save(tmp_path / "progress.keras")
    loaded = keras.models.load_model(tmp_path / "progress.keras")
    loaded.fit(images(16), batch_size=16, epochs=1, verbose=0)
    assert int(keras.ops.convert_to_numpy(loaded.progress.steps)) == 7
    assert int(keras.ops.convert_to_numpy(loaded.progress.images)) == 112


# -- the generator's moving average -------------------------------------------------


def test_ema_averages_the_generator_and_is_what_samples(tmp_path):
    gan = tiny_dcgan(ema_decay=0.9, ema_start=2)
    gan.compile(jit_compile=JIT)
    x = images(16)
    gan.train_on_batch(x)  # step 0 < ema_start: the average copies G
    for a, w in zip(gan.ema_generator.weights, gan.generator.weights):
        if w.trainable:
            np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(w))
    for _ in range(2):
        gan.train_on_batch(x)
    # Past the start: average = 0.9 average + 0.1 G after every G update.
    average = [keras.ops.convert_to_numpy(w).copy() for w in gan.ema_generator.weights]
    gan.train_on_batch(x)
    expected = [0.9 * a + 0.1 * keras.ops.convert_to_numpy(w)
                for a, w in zip(average, gan.generator.weights)]
    for w, e, a in zip(gan.generator.weights, expected, gan.ema_generator.weights):
        if w.trainable:
            np.testing.assert_allclose(keras.ops.convert_to_numpy(a), e, rtol=1e-5, atol=1e-7)
    # The average samples (its BatchNorm statistics follow its own weights,
    # not copies of G's), the raw generator on request.
    z = np.random.default_rng(2).normal(size=(4, 8)).astype("float32")
    ema_images = keras.ops.convert_to_numpy(gan.ema_generator(z, training=False))
    np.testing.assert_allclose(gan.generate(z=z), ema_images, atol=1e-6)
    raw = keras.ops.convert_to_numpy(gan.generator(z, training=False))
    np.testing.assert_allclose(gan.generate(z=z, use_ema=False), raw, atol=1e-6)
    assert not np.allclose(ema_images, raw)
    np.testing.assert_allclose(gan.predict(z, verbose=0), ema_images, atol=1e-6)
    moving = [(w, a) for w, a in zip(gan.generator.weights, gan.ema_generator.weights)
              if "moving_" in w.path]
    assert moving and not all(np.allclose(*map(keras.ops.convert_to_numpy, pair)) for pair in moving)
    # ... and they were recomputed: none is still at its initial 0 (mean) or 1 (variance).
    for _, average in moving:
        initial = 0.0 if "moving_mean" in average.path else 1.0
        assert not np.allclose(keras.ops.convert_to_numpy(average), initial), average.path
    assert not gan.ema_generator.trainable_weights
    assert not any(w.trainable for w in gan.ema_generator.weights)
    # No optimizer or trainable state holds the average.
    assert not {id(w) for w in gan.ema_generator.weights} & {id(w) for w in gan.trainable_weights}
    gan.save(tmp_path / "ema.keras")
    loaded = keras.models.load_model(tmp_path / "ema.keras")
    assert loaded.ema_decay == 0.9 and loaded.ema_start == 2
    np.testing.assert_allclose(loaded.generate(z=z), ema_images, atol=1e-6)
    with pytest.raises(ValueError, match="no EMA"):
        tiny_dcgan().generate(2, use_ema=True)


class ScheduledCriticGAN(CountingGAN):
    """Three discriminator updates on the first two steps, one afterwards:
    a count known only inside the step (WGAN's critic schedule)."""

    def build_phases(self):
        phases = super().build_phases()
        steps = self.progress.steps
        phases[0].repeats = lambda: keras.ops.where(steps.value < 2, 3, 1)
        return phases


@pytest.mark.parametrize("jit_compile", [pytest.param(True, marks=pytest.mark.slow_on_torch), False])
def test_a_phase_repeats_a_number_of_times_read_inside_the_step(jit_compile):
    generator, discriminator = keras_io_dcgan_models()
    gan = ScheduledCriticGAN(generator, discriminator, seed=0)
    gan.compile(jit_compile=jit_compile)
    logs = gan.fit(images(64), batch_size=16, epochs=1, verbose=0).history
    assert int(keras.ops.convert_to_numpy(gan.d_updates)) == 3 + 3 + 1 + 1
    assert int(keras.ops.convert_to_numpy(gan.d_optimizer.iterations)) == 8
    assert int(keras.ops.convert_to_numpy(gan.g_optimizer.iterations)) == 4
    assert np.isfinite(logs["d_loss"][0])


# -- augmenting what the discriminator sees -----------------------------------------


def test_diffaugment_is_applied_in_training_only_and_trains_the_generator_through_it():
    gan = tiny_dcgan(augment="translation,cutout")
    plain = tiny_dcgan()
    gan.set_weights(plain.get_weights())
    x = keras.ops.convert_to_tensor(images(8))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(gan.score(x)),
                                  keras.ops.convert_to_numpy(gan.discriminate(x)))
    assert not np.allclose(keras.ops.convert_to_numpy(gan.score(x, training=True)),
                           keras.ops.convert_to_numpy(plain.score(x, training=True)))
    # The generator's gradient flows through the augmentation: it is not
    # zero, and it differs from the gradient without it.
    z = gan.sample_noise(8)
    grads = {}
    for name, model in (("augmented", gan), ("plain", plain)):
        _, _, g = kg.backend.value_and_grad(
            lambda: model.generator_loss(model.generator(z, training=True)),
            model.generator.trainable_variables)
        grads[name] = np.concatenate([keras.ops.convert_to_numpy(v).ravel() for v in g])
    assert np.abs(grads["augmented"]).max() > 0
    assert not np.allclose(grads["augmented"], grads["plain"])
    with pytest.raises(ValueError, match="unknown name 'flip'"):
        tiny_dcgan(augment="color,flip")


def test_adaptive_augmentation_moves_p_on_its_interval_and_saves_it(tmp_path):
    # A target of -1 is always below the mean sign on reals, so p rises by
    # 16 images * 2 steps / 64 images = 0.5 after every second step.
    gan = tiny_dcgan(augment="color,translation", ada_target=-1.0, ada_interval=2,
                     ada_speed_kimg=0.064)
    gan.compile(jit_compile=JIT)
    logged = [gan.train_on_batch(images(16), return_dict=True)["augment_p"] for _ in range(3)]
    probability = lambda model: float(keras.ops.convert_to_numpy(model.augment_state.probability))  # noqa: E731
    assert logged[0] == 0.0 and logged[1:] == pytest.approx([0.5, 0.5])  # p after each step
    assert probability(gan) == pytest.approx(0.5)
    gan.save(tmp_path / "ada.keras")
    loaded = keras.models.load_model(tmp_path / "ada.keras")
    assert (loaded.augment, loaded.ada_target, loaded.ada_interval) == ("color,translation", -1.0, 2)
    assert probability(loaded) == pytest.approx(0.5)
    loaded.train_on_batch(images(16))  # the fourth step: p reaches 1 and stays there
    assert probability(loaded) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="augment policy"):
        tiny_dcgan(ada_target=0.6)


def test_fit_can_stop_on_divergence():
    x = np.random.default_rng(0).uniform(-1, 1, (32, 4)).astype("float32")

    def absurd():
        gan = kg.VanillaGAN(data_shape=(4,), latent_dim=2, seed=0)
        gan.compile(d_optimizer=keras.optimizers.Adam(1e6), g_optimizer=keras.optimizers.Adam(1e6),
                    jit_compile=JIT)
        return gan

    gan = absurd()
    history = gan.fit(x, batch_size=8, epochs=2, verbose=0).history  # off: trains on regardless
    weights = [keras.ops.convert_to_numpy(v) for v in gan.weights + gan.optimizer.variables]
    finite = np.all(np.isfinite(history["d_loss"])) and all(
        np.all(np.isfinite(w)) for w in weights if np.issubdtype(w.dtype, np.floating))
    assert not finite
    with pytest.raises(kg.callbacks.DivergenceError, match="training diverged"):
        absurd().fit(x, batch_size=8, epochs=2, verbose=0, stop_on_divergence=True)


def test_a_spectrally_normalized_critic_runs_in_training_mode_once_per_loss():
    # On PyTorch a second training-mode call would rewrite the kernel that
    # the first call's backward pass reads; everywhere, reals and fakes are
    # judged by the same normalized kernel.
    critic = keras.Sequential([keras.Input((4,)), kg.layers.spectral_norm(layers.Dense(6)),
                               layers.LeakyReLU(0.2), kg.layers.spectral_norm(layers.Dense(1))])
    generator = keras.Sequential([keras.Input((2,)), layers.Dense(4)])
    gan = kg.GAN(generator, critic, seed=0)
    gan.compile(loss="hinge", penalties=[kg.losses.R1(1.0)], jit_compile=JIT)
    assert gan._normalizes_once and not tiny_dcgan()._normalizes_once  # BatchNorm: both modes
    before = keras.ops.convert_to_numpy(critic.layers[-1].vector_u).copy()
    logs = gan.train_on_batch(np.random.default_rng(0).normal(size=(8, 4)).astype("float32"),
                              return_dict=True)
    assert np.isfinite(logs["d_loss"]) and np.isfinite(logs["r1"])
    assert not np.allclose(before, keras.ops.convert_to_numpy(critic.layers[-1].vector_u))


def test_fresh_reals_need_a_batch_that_splits():
    gan = linear_gan()
    gan.compile(loss="wasserstein", d_steps=3, fresh_reals=True, jit_compile=JIT)
    with pytest.raises(ValueError, match="multiple of 3"):
        kg.gan.StepState(gan.unpack_batch(np.zeros((8, 4), "float32")), splits=3)
