import importlib.util

import numpy as np
import pytest
from PIL import Image

import keras_gans as kg
from helpers import JIT
from keras_gans.callbacks import (DivergenceError, LossPlot, SampleGrid, StopOnDivergence,
                                  TensorBoardGrids, check_weights)


@pytest.fixture
def gan():
    model = kg.DCGAN(image_size=16, channels=3, latent_dim=8, generator_width=4, discriminator_width=4, seed=0)
    model.compile(jit_compile=JIT)
    return model


def data():
    return np.random.default_rng(0).uniform(-1, 1, (32, 16, 16, 3)).astype("float32")


def test_sample_grid_files_per_epoch_and_final(tmp_path, gan):
    grid = SampleGrid(tmp_path / "samples", every_n_epochs=2, num_samples=9, seed=3)
    gan.fit(data(), batch_size=16, epochs=4, verbose=0, callbacks=[grid])
    names = sorted(p.name for p in (tmp_path / "samples").iterdir())
    assert names == ["epoch_0002.png", "epoch_0004.png", "final.png"]
    image = Image.open(tmp_path / "samples" / "final.png")
    assert image.size == (3 * 18 + 2, 3 * 18 + 2)  # 3x3 tiles of 16 px, padding 2


def test_same_seed_same_grid_and_weights_change_it(tmp_path, gan):
    a = SampleGrid(tmp_path / "a", seed=5, num_samples=4)
    b = SampleGrid(tmp_path / "b", seed=5, num_samples=4)
    for cb in (a, b):
        cb.set_model(gan)
        cb.save("x.png")
    pixels = [np.asarray(Image.open(tmp_path / d / "x.png")) for d in "ab"]
    np.testing.assert_array_equal(*pixels)
    gan.fit(data(), batch_size=16, epochs=1, verbose=0)
    a.save("y.png")
    # Fixed inputs: the grid changes only because the weights did.
    assert not np.array_equal(pixels[0], np.asarray(Image.open(tmp_path / "a" / "y.png")))


def test_sample_grid_truncation_resamples_the_fixed_latents(tmp_path, gan):
    plain = SampleGrid(tmp_path / "a", seed=5, num_samples=64)
    truncated = SampleGrid(tmp_path / "b", seed=5, num_samples=64, truncation=0.5)
    for cb in (plain, truncated):
        cb.set_model(gan)
        cb.save("x.png")
    z, z_truncated = plain._grid_inputs()["z"], truncated._grid_inputs()["z"]
    assert np.abs(z).max() > 0.5 and np.abs(z_truncated).max() <= 0.5
    # Entries already inside the bound are kept: a resampling, not a rescaling.
    inside = np.abs(z) <= 0.5
    np.testing.assert_array_equal(z_truncated[inside], z[inside])


def test_sample_grid_validates():
    with pytest.raises(ValueError, match="every_n_epochs"):
        SampleGrid("x", every_n_epochs=0)


def test_loss_plot_draws_each_step(tmp_path, gan):
    plot = LossPlot(tmp_path / "plots" / "losses.png", steps_path=tmp_path / "steps.csv")
    history = gan.fit(data(), batch_size=8, epochs=2, verbose=0, callbacks=[plot])
    assert Image.open(tmp_path / "plots" / "losses.png").size == (800, 800)  # two panels
    assert plot.steps == [1, 2, 3, 4, 5, 6, 7, 8] and plot.epochs == [0] * 4 + [1] * 4
    assert plot.epoch_ends == {0: 4, 1: 8}
    # The steps' values, recovered from Keras' running means, average to the
    # epoch's logs, and are not those means.
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        values = np.asarray(plot.values[key])
        np.testing.assert_allclose([values[:4].mean(), values[4:].mean()], history.history[key],
                                   rtol=1e-4)
        assert len(set(values[:4].round(6))) == 4
    # steps.csv holds them, and a new LossPlot (a resumed run) reads them back.
    again = LossPlot(tmp_path / "again.png", steps_path=tmp_path / "steps.csv")
    assert again.steps == plot.steps and again.epoch_ends == {0: 4}
    np.testing.assert_allclose(again.values["d_loss"], plot.values["d_loss"], rtol=1e-6)
    gan.fit(data(), batch_size=8, epochs=3, initial_epoch=2, verbose=0, callbacks=[again])
    assert again.steps == list(range(1, 13)) and again.epoch_ends == {0: 4, 1: 8, 2: 12}
    assert (tmp_path / "steps.csv").read_text().count("\n") == 13


@pytest.mark.single_backend
def test_loss_plot_recovers_each_step_from_running_means(tmp_path):
    plot = LossPlot(tmp_path / "losses.png", keys=["d_loss", "fid"])
    losses = [4.0, 2.0, 3.0, 7.0]
    plot.on_epoch_begin(0)
    for k in range(1, 5):  # what Keras logs after k batches: the mean so far
        plot.on_train_batch_end(k - 1, {"d_loss": np.mean(losses[:k])})
    plot.on_epoch_end(0, {"d_loss": np.mean(losses), "fid": 40.0})
    np.testing.assert_allclose(plot.values["d_loss"], losses)
    # steps_per_execution=2: one record per execution, the mean of its steps.
    plot.on_epoch_begin(1)
    for end in (1, 3):
        plot.on_train_batch_end(end, {"d_loss": np.mean(losses[: end + 1])})
    assert plot.steps == [1, 2, 3, 4, 6, 8]
    np.testing.assert_allclose(plot.values["d_loss"][4:], [3.0, 5.0])
    # Epoch-end-only logs are kept at the end of their epoch.
    assert plot.epoch_values == {"fid": {0: 40.0}}
    plot.draw()
    assert Image.open(tmp_path / "losses.png").size == (800, 550)  # one panel


@pytest.mark.single_backend
def test_loss_plot_of_a_long_run_and_pyplot_left_alone(tmp_path):
    import matplotlib

    plot = LossPlot(tmp_path / "losses.png")
    rng = np.random.default_rng(0)
    for step in range(1, 5001):  # more steps than MAX_POINTS: drawn from bins
        plot.record_step(step, step // 1000, {"d_loss": rng.normal(1.0, 0.1),
                                              "real_score": rng.normal()})
    plot.values["d_loss"][10] = float("nan")
    previous = matplotlib.get_backend()
    matplotlib.use("svg")  # a backend of the user's, e.g. a notebook's inline one
    try:
        plot.draw()
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(previous)
    assert Image.open(tmp_path / "losses.png").size == (800, 800)  # the critic's panel too


def test_an_absurd_learning_rate_stops_at_once(tmp_path):
    import keras

    model = kg.VanillaGAN(data_shape=(4,), latent_dim=2, seed=0)
    model.compile(d_optimizer=keras.optimizers.Adam(1e6), g_optimizer=keras.optimizers.Adam(1e6),
                  jit_compile=JIT)
    x = np.random.default_rng(0).uniform(-1, 1, (32, 4)).astype("float32")
    grid = SampleGrid(tmp_path / "samples", num_samples=4)
    with pytest.raises(DivergenceError) as info:
        model.fit(x, batch_size=8, epochs=20, verbose=0, callbacks=[StopOnDivergence(), grid])
    error, message = info.value, str(info.value)
    # Within the first epoch: a loss went NaN (or, on torch, Adam's second
    # moment overflowed first, which the epoch's end finds in the weights).
    assert error.epoch == 0 and 1 <= error.step <= 4
    if error.batch is not None:
        assert message.startswith(f"training diverged at step {error.step} (epoch 1, batch "
                                  f"{error.batch + 1}): ")
        assert error.what.endswith(" is nan") or error.what.endswith(" is inf")
    else:
        assert message.startswith("training diverged at the end of epoch 1 (step 4): ")
        assert error.what.endswith("holds NaN or infinite values")
    assert message.endswith("; try a lower learning rate, or resume from the last good checkpoint")
    assert grid.saved == []  # stopped before a grid was drawn from the bad weights


def test_check_weights_names_the_bad_variable():
    model = kg.DCGAN(image_size=16, channels=3, latent_dim=8, generator_width=4,
                     discriminator_width=4, seed=0)
    model.compile(jit_compile=JIT)
    check_weights(model)  # finite: nothing
    variable = model.discriminator.trainable_weights[0]
    values = np.zeros(variable.shape, "float32")
    values.flat[3] = np.inf
    variable.assign(values)
    with pytest.raises(DivergenceError, match=rf"^training diverged before saving: "
                       rf"{variable.path} holds NaN or infinite values; "):
        check_weights(model, "before saving")


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None,
                    reason="tf.summary needs TensorBoard")
def test_tensorboard_grids_writes_the_grids(tmp_path, gan):
    import tensorflow as tf

    grid = SampleGrid(tmp_path / "samples", num_samples=4)
    gan.fit(data(), batch_size=16, epochs=2, verbose=0,
            callbacks=[grid, TensorBoardGrids(tmp_path / "tb", grid)])
    images = []
    for path in (tmp_path / "tb" / "samples").iterdir():
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            images += [(event.step, v.tag) for v in event.summary.value]
    assert images == [(1, "samples"), (2, "samples")]
