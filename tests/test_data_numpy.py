"""The TensorFlow-free pipeline behind image_dataset(pipeline="numpy")."""

import numpy as np
import pytest
from PIL import Image

from helpers import JIT
from keras_gans import data


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(10):
            pixels = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "a" / "broken.jpg").write_bytes(b"\xff\xd8\xff" + b"0" * 100)  # truncated
    return tmp_path


def test_folder_batches_labels_and_range(folder):
    with pytest.warns(UserWarning, match="skipped 1 of 21"):
        ds = data.image_dataset(folder, image_size=16, batch_size=8, with_labels=True,
                                pipeline="numpy", seed=0)
    assert len(ds) == 2  # 20 images, drop_remainder
    x, y = ds[0]
    assert x.shape == (8, 16, 16, 3) and x.dtype == np.float32
    assert -1 <= x.min() and x.max() <= 1
    assert y.dtype == np.int32 and set(np.unique(ds.labels)) == {0, 1}


def test_matches_the_tf_pipeline_within_about_one_gray_level(folder):
    kwargs = dict(image_size=16, batch_size=20, shuffle=False, pipeline=None)
    with pytest.warns(UserWarning):
        a = next(iter(data.image_dataset(folder, **{**kwargs, "pipeline": "tf", "cache": False}))).numpy()
    with pytest.warns(UserWarning):
        b = data.image_dataset(folder, **{**kwargs, "pipeline": "numpy"})[0]
    assert np.abs(a - b).mean() < 2 / 127.5


def test_epochs_reshuffle_reproducibly_and_repeat_is_endless():
    x = np.arange(12, dtype=np.uint8).reshape(12, 1, 1, 1).repeat(2, 1).repeat(2, 2)
    ds = data.image_dataset(x, image_size=2, channels=1, batch_size=4, pipeline="numpy",
                            seed=3, dtype="uint8")
    first = np.concatenate([ds[i] for i in range(3)])[:, 0, 0, 0]
    assert sorted(first) == list(range(12))
    ds.on_epoch_end()
    second = np.concatenate([ds[i] for i in range(3)])[:, 0, 0, 0]
    assert sorted(second) == list(range(12)) and list(first) != list(second)
    endless = ds.repeat()
    assert endless.num_batches is None
    again = np.concatenate([endless[i] for i in range(3)])[:, 0, 0, 0]
    assert list(again) == list(first)  # same seed, same first epoch
    assert sorted(np.concatenate([endless[i] for i in range(3, 6)])[:, 0, 0, 0]) == list(range(12))


def test_arrays_resize_convert_and_flip():
    x = np.zeros((4, 8, 8, 3), np.uint8)
    x[:, :, :4] = 255  # left half white
    ds = data.image_dataset(x, image_size=4, channels=1, batch_size=4, pipeline="numpy",
                            flip=True, seed=0, shuffle=False)
    batch = ds[0]
    assert batch.shape == (4, 4, 4, 1)
    lefts = batch[:, :, 0, 0].mean(axis=1)
    assert set(np.round(lefts).astype(int)) == {-1, 1}  # some flipped, some not


def test_clear_errors_without_tensorflow_paths(tmp_path):
    with pytest.raises(ImportError, match="TensorFlow Datasets name"):
        data.image_dataset("mnist", pipeline="numpy")
    with pytest.raises(FileNotFoundError, match="no_such"):
        data.image_dataset(str(tmp_path / "no_such"), pipeline="numpy")
    with pytest.raises(ValueError, match="fewer than batch_size"):
        data.image_dataset(np.zeros((3, 4, 4), np.uint8), image_size=4, batch_size=8, pipeline="numpy")
    with pytest.raises(ValueError, match="pipeline"):
        data.image_dataset(np.zeros((3, 4, 4), np.uint8), pipeline="torch")


def test_trains_a_gan_through_fit():
    import keras_gans as kg

    x = np.random.default_rng(0).integers(0, 256, (32, 16, 16, 3), dtype=np.uint8)
    ds = data.image_dataset(x, image_size=16, batch_size=8, pipeline="numpy", dtype="uint8")
    gan = kg.DCGAN(image_size=16, channels=3, latent_dim=8, generator_width=4, discriminator_width=4)
    gan.compile(jit_compile=JIT)
    history = gan.fit(ds, epochs=2, verbose=0)
    assert len(history.history["d_loss"]) == 2 and int(gan.d_optimizer.iterations) == 8
