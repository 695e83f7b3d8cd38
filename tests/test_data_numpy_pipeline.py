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


def test_a_file_only_the_decoder_rejects_is_counted_once(tmp_path):
    for i in range(4):
        Image.fromarray(np.full((8, 8, 3), 50 * i, np.uint8)).save(tmp_path / f"{i}.png")
    # Right header and end marker, garbage between: passes the quick check.
    (tmp_path / "liar.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 200 + b"\xff\xd9")
    with pytest.warns(UserWarning, match=r"skipped 1 of 5 files .* e\.g\. .*liar\.jpg"):
        ds = data.image_dataset(tmp_path, image_size=8, batch_size=2, pipeline="numpy")
    assert len(ds.images) == 4


def test_grey_alpha_arrays_lose_alpha_as_in_tf_data():
    x = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 2), dtype=np.uint8)
    kwargs = dict(image_size=8, channels=1, batch_size=4, shuffle=False, dtype="uint8")
    a = data.image_dataset(x, pipeline="numpy", **kwargs)[0]
    b = np.asarray(next(iter(data.image_dataset(x, pipeline="tf", **kwargs))))
    assert a.shape == b.shape == (4, 8, 8, 1)
    np.testing.assert_array_equal(a[..., 0], x[..., 0])
    np.testing.assert_array_equal(a, b)


def test_both_pipelines_give_the_same_pixels_for_tricky_files(tmp_path):
    from PIL import ImageOps

    # 16-bit grey PNG (Pillow's convert("L") clips it to white), a photo with
    # an EXIF orientation, WebP, a grey 8-bit BMP; a colour-palette BMP (which
    # TensorFlow would read as grey) is skipped by both.
    ramp = np.linspace(0, 65535, 16 * 16).astype(np.uint16).reshape(16, 16)
    Image.fromarray(ramp).save(tmp_path / "a16.png")
    quadrants = np.zeros((16, 16, 3), np.uint8)
    quadrants[:8, :8], quadrants[:8, 8:] = (255, 0, 0), (0, 255, 0)
    quadrants[8:, :8], quadrants[8:, 8:] = (0, 0, 255), (255, 255, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # taken with the phone turned: shown rotated 90 degrees clockwise
    Image.fromarray(quadrants).save(tmp_path / "b_turned.jpg", quality=95, exif=exif)
    Image.fromarray(quadrants).save(tmp_path / "c.webp", lossless=True)
    Image.fromarray(ramp.astype(np.uint8)).save(tmp_path / "d_grey.bmp")
    Image.fromarray(quadrants).convert("P").save(tmp_path / "e_palette.bmp")

    kwargs = dict(image_size=16, batch_size=4, shuffle=False, dtype="uint8")
    with pytest.warns(UserWarning, match="skipped 1 of 5 .*e_palette.bmp"):
        tf_images = np.asarray(next(iter(data.image_dataset(tmp_path, pipeline="tf", **kwargs))))
    with pytest.warns(UserWarning, match="skipped 1 of 5 .*e_palette.bmp"):
        np_images = data.image_dataset(tmp_path, pipeline="numpy", **kwargs)[0]
    np.testing.assert_array_equal(tf_images[[0, 2, 3]], np_images[[0, 2, 3]])
    # JPEG decoders differ a little.
    assert np.abs(tf_images[1].astype(int) - np_images[1]).mean() < 2
    np.testing.assert_array_equal(np_images[0, ..., 0], ramp >> 8)  # not clipped
    with Image.open(tmp_path / "b_turned.jpg") as photo:
        upright = np.asarray(ImageOps.exif_transpose(photo).convert("RGB")).astype(int)
    centres = (4, 4, 12, 12), (4, 12, 4, 12)  # of the quadrants
    assert np.abs(np_images[1].astype(int) - upright)[centres].max() <= 8
    np.testing.assert_array_equal(np_images[2], quadrants)
