import numpy as np
import pytest
from PIL import Image

import keras_gans as kg
from helpers import JIT
from keras_gans.callbacks import LossPlot, SampleGrid


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


def test_sample_grid_validates():
    with pytest.raises(ValueError, match="every_n_epochs"):
        SampleGrid("x", every_n_epochs=0)


def test_loss_plot_redraws_each_epoch(tmp_path, gan):
    plot = LossPlot(tmp_path / "plots" / "losses.png")
    gan.fit(data(), batch_size=16, epochs=2, verbose=0, callbacks=[plot])
    assert (tmp_path / "plots" / "losses.png").stat().st_size > 1000
    assert len(plot.history["d_loss"]) == 2 and len(plot.history["g_loss"]) == 2
    width, height = Image.open(tmp_path / "plots" / "losses.png").size
    assert (width, height) == (700, 400)


def test_loss_plot_aligns_late_keys_and_leaves_pyplot_alone(tmp_path):
    import matplotlib

    plot = LossPlot(tmp_path / "losses.png", keys=["d_loss", "fid"])
    plot.record(0, {"d_loss": 1.0})
    plot.record(1, {"d_loss": 0.5, "fid": 40.0})  # e.g. FIDCallback(every_n_epochs=2)
    assert plot.epochs == [1, 2]
    np.testing.assert_array_equal(plot.history["fid"], [np.nan, 40.0])
    previous = matplotlib.get_backend()
    matplotlib.use("svg")  # a backend of the user's, e.g. a notebook's inline one
    try:
        plot.draw()
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(previous)
    assert (tmp_path / "losses.png").stat().st_size > 1000
