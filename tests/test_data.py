"""Tests for keras_gans.data: every source kind, the preprocessing, and the
errors a user sees for bad input. Synthetic files are made in tmp_path; the
real datasets are used only when $KERAS_GANS_DATA is set."""

import os
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest
from PIL import Image, ImageOps

from keras_gans import data

RED, GREEN = (255, 0, 0), (0, 255, 0)


def save(path, array, format=None, mode=None, **options):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.asarray(array, dtype=np.uint8))
    if mode:
        image = image.convert(mode)
    image.save(path, format=format, **options)
    return path


def solid(value, height=32, width=48, channels=3):
    return np.full((height, width, channels), value, np.uint8)


def collect(ds):
    """All batches of one epoch, concatenated."""
    batches = [tuple(np.asarray(t) for t in b) if isinstance(b, tuple) else (np.asarray(b),)
               for b in ds]
    return tuple(np.concatenate(parts) for parts in zip(*batches))


@pytest.fixture
def class_folder(tmp_path):
    """12 'cat' and 8 'dog' 32x48 JPEGs, each a distinct solid grey."""
    root = tmp_path / "pets"
    for i in range(20):
        name = "cat" if i < 12 else "dog"
        save(root / name / f"{i:02d}.jpg", solid(10 + 12 * i))
    return root


# -- folders ------------------------------------------------------------------


def test_folder_with_class_subfolders(class_folder):
    folder = data.scan_image_folder(class_folder)
    assert folder.class_names == ["cat", "dog"]
    assert len(folder.files) == 20 and folder.skipped == []
    assert folder.labels == [0] * 12 + [1] * 8

    ds = data.image_dataset(class_folder, image_size=16, batch_size=4, with_labels=True)
    images, labels = next(iter(ds))
    assert images.shape == (4, 16, 16, 3) and images.dtype == "float32"
    assert labels.shape == (4,) and labels.dtype == "int32"
    assert int(ds.cardinality()) == 5  # known, for Keras' progress bar
    images, labels = collect(ds)
    assert images.shape == (20, 16, 16, 3)
    assert images.min() >= -1 and images.max() <= 1
    assert np.bincount(labels).tolist() == [12, 8]


def test_range_reaches_both_ends(tmp_path):
    save(tmp_path / "black.png", solid(0))
    save(tmp_path / "white.png", solid(255))
    (images,) = collect(data.image_dataset(tmp_path, 8, batch_size=2, shuffle=False))
    np.testing.assert_allclose(images[0], -1.0)
    np.testing.assert_allclose(images[1], 1.0)


def test_center_crop_keeps_the_middle(tmp_path):
    wide = np.zeros((32, 48, 3), np.uint8)
    wide[:] = GREEN
    wide[:, :8] = wide[:, -8:] = RED
    tall = np.transpose(wide, (1, 0, 2))
    save(tmp_path / "wide.png", wide)
    save(tmp_path / "tall.png", tall)
    (images,) = collect(data.image_dataset(tmp_path, 16, batch_size=2))
    green = np.array([-1.0, 1.0, -1.0])
    np.testing.assert_allclose(images, np.broadcast_to(green, images.shape), atol=1e-6)


def test_non_square_size_crops_to_its_aspect_ratio(tmp_path):
    save(tmp_path / "a.png", solid(128, 40, 40))
    (images,) = collect(data.image_dataset(tmp_path, (8, 16), batch_size=1))
    assert images.shape == (1, 8, 16, 3)


def test_channel_conversions(tmp_path):
    grey = save(tmp_path / "grey" / "g.png", solid(200, channels=1)[..., 0])
    rgba = np.zeros((32, 48, 4), np.uint8)
    rgba[:] = (200, 100, 50, 0)  # fully transparent: the alpha is dropped
    save(tmp_path / "rgba" / "a.png", rgba)
    save(tmp_path / "rgb" / "c.png", solid((255, 0, 0)))

    (images,) = collect(data.image_dataset(grey.parent, 8, channels=3, batch_size=1))
    assert images.shape == (1, 8, 8, 3)
    np.testing.assert_allclose(images, 200 / 127.5 - 1, atol=1e-6)

    (images,) = collect(data.image_dataset(tmp_path / "rgba", 8, batch_size=1))
    np.testing.assert_allclose(images[0, 0, 0], np.array([200, 100, 50]) / 127.5 - 1, atol=1e-6)

    (images,) = collect(data.image_dataset(tmp_path / "rgb", 8, channels=1, batch_size=1))
    assert images.shape == (1, 8, 8, 1)
    # ITU-R 601 luma of pure red: 0.2989 * 255 = 76.
    np.testing.assert_allclose(images, 76 / 127.5 - 1, atol=1e-6)


def test_all_formats_load(tmp_path):
    image = solid((30, 60, 90))
    save(tmp_path / "a.png", image)
    save(tmp_path / "b.bmp", image)
    save(tmp_path / "c.gif", image)
    save(tmp_path / "d.jpeg", image)
    save(tmp_path / "e.JPG", image, format="JPEG")
    save(tmp_path / "f.png", solid(90, channels=1)[..., 0], mode="P")  # palette
    folder = data.scan_image_folder(tmp_path)
    assert len(folder.files) == 6 and folder.skipped == []
    (images,) = collect(data.image_dataset(tmp_path, 8, batch_size=6))
    assert images.shape == (6, 8, 8, 3)


def test_drop_remainder(class_folder):
    kept = list(data.image_dataset(class_folder, 8, batch_size=8))
    assert [len(b) for b in kept] == [8, 8]
    kept = list(data.image_dataset(class_folder, 8, batch_size=8, drop_remainder=False))
    assert [len(b) for b in kept] == [8, 8, 4]
    with pytest.raises(ValueError, match="fewer than batch_size=32"):
        data.image_dataset(class_folder, 8, batch_size=32)


def test_seeded_shuffle_is_reproducible_and_reshuffles(class_folder):
    def order(ds):
        (images,) = collect(ds)
        return images.mean(axis=(1, 2, 3)).round(3).tolist()

    first = data.image_dataset(class_folder, 8, batch_size=20, seed=7)
    again = data.image_dataset(class_folder, 8, batch_size=20, seed=7)
    other = data.image_dataset(class_folder, 8, batch_size=20, seed=8)
    assert order(first) == order(again)
    assert order(first) != order(other)
    assert order(first) != order(first)  # a new order each epoch
    unshuffled = order(data.image_dataset(class_folder, 8, batch_size=20, shuffle=False))
    assert unshuffled == sorted(unshuffled)


def test_flip(tmp_path):
    half = np.zeros((16, 16, 3), np.uint8)
    half[:, 8:] = 255
    for i in range(20):
        save(tmp_path / f"{i:02d}.png", half)
    upright = half / 127.5 - 1.0  # as scaled to [-1, 1]
    ds = data.image_dataset(tmp_path, 16, batch_size=20, flip=True, seed=0)
    epochs = []
    for _ in range(2):
        (images,) = collect(ds)
        flipped = images[:, 0, 0, 0] > 0  # the left column is white
        # Whole images: pixel by pixel, any +-1 image matches one or the other.
        assert all(np.array_equal(image, upright[:, ::-1] if f else upright)
                   for image, f in zip(images, flipped))
        assert 0 < flipped.sum() < 20  # both kinds occur
        epochs.append(flipped.tolist())
    assert epochs[0] != epochs[1]
    (images,) = collect(data.image_dataset(tmp_path, 16, batch_size=20))
    assert np.all(images[:, 0, 0, 0] < 0)  # flip=False by default


def test_missing_folder(tmp_path):
    missing = tmp_path / "nowhere"
    for source in (missing, str(missing)):
        with pytest.raises(FileNotFoundError, match="nowhere"):
            data.image_dataset(source)


def test_empty_folder(tmp_path):
    with pytest.raises(ValueError, match=r"No images in .*empty"):
        data.image_dataset(tmp_path)


def test_folder_without_images_lists_what_it_found(tmp_path):
    for i in range(3):
        (tmp_path / f"notes{i}.txt").write_text("hello")
    (tmp_path / "photo.tiff").write_bytes(b"II*\x00")
    with pytest.raises(ValueError) as info:
        data.image_dataset(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and ".jpg" in message
    assert ".txt (3)" in message and ".tiff (1)" in message


def test_corrupt_files_are_skipped(tmp_path):
    for i in range(10):
        save(tmp_path / "ok" / f"{i}.jpg", solid(20 * i))
    good = (tmp_path / "ok" / "0.jpg").read_bytes()
    png = save(tmp_path / "ok.png", solid(9)).read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.jpg").write_bytes(b"")
    (bad / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (bad / "text.jpg").write_text("this is not an image " * 10)
    (bad / "truncated.png").write_bytes(png[: len(png) // 2])
    (tmp_path / "ok.png").unlink()

    folder = data.scan_image_folder(tmp_path)
    assert len(folder.files) == 10 and len(folder.skipped) == 4
    with pytest.warns(UserWarning, match=r"skipped 4 of 14 files that are not decodable"):
        ds = data.image_dataset(tmp_path, 8, batch_size=3, drop_remainder=False)
    for _ in range(2):
        (images,) = collect(ds)
        assert len(images) == 10


def test_undecodable_file_that_passes_the_quick_check(tmp_path):
    # Right header and end marker, garbage between: only the decoder can tell,
    # and the pipeline must drop it instead of failing the epoch. The epoch
    # keeps its length (5) by repeating one good image.
    for i in range(4):
        save(tmp_path / f"{i}.png", solid(50 * i))
    (tmp_path / "liar.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 200 + b"\xff\xd9")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about up front
        ds = data.image_dataset(tmp_path, 8, batch_size=1, drop_remainder=False)
    with pytest.warns(UserWarning, match=r"cannot decode, e\.g\. .*liar\.jpg"):
        (first,) = collect(ds)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # named once: later epochs read the cache
        (second,) = collect(ds)
    for images in (first, second):
        grey_levels = np.round((images.mean(axis=(1, 2, 3)) + 1) * 127.5)
        assert len(images) == 5 and set(grey_levels) == {0, 50, 100, 150}


def test_labels_need_class_subfolders(tmp_path, class_folder):
    save(tmp_path / "flat" / "a.png", solid(1))
    with pytest.raises(ValueError, match="class subfolders"):
        data.image_dataset(tmp_path / "flat", batch_size=1, with_labels=True)
    save(class_folder / "loose.png", solid(1))
    with pytest.raises(ValueError, match="1 images lie directly in"):
        data.image_dataset(class_folder, batch_size=1, with_labels=True)
    assert len(list(data.image_dataset(class_folder, 8, batch_size=21))) == 1


def test_class_sorted_folder_is_mixed_despite_a_small_shuffle_buffer(tmp_path, monkeypatch):
    # As flowers sorted by class with 10k of 20k+ images in the buffer, scaled
    # down: the first batch must not come from the first class alone.
    monkeypatch.setattr(data, "_FULL_SHUFFLE_LIMIT", 100)
    monkeypatch.setattr(data, "_SHUFFLE_BUFFER", 50)
    for c in range(3):
        for i in range(50):
            save(tmp_path / f"class{c}" / f"{i:02d}.png", solid(80 * c, 4, 4))
    ds = data.image_dataset(tmp_path, 4, batch_size=15, with_labels=True, seed=0)
    _, labels = next(iter(ds))
    assert set(np.asarray(labels).tolist()) == {0, 1, 2}
    images, labels = collect(ds)  # still each image once, with its label
    assert np.bincount(labels).tolist() == [50, 50, 50]
    np.testing.assert_allclose(images[:, 0, 0, 0], labels * 80 / 127.5 - 1, atol=1e-6)


def test_palette_bmps_are_skipped_grey_ones_kept(tmp_path):
    # TensorFlow reads an 8-bit BMP's palette indices as grey levels: right
    # for a grey ramp palette only.
    colour = solid((200, 30, 40), 8, 8)
    save(tmp_path / "palette.bmp", colour, mode="P")
    save(tmp_path / "grey.bmp", solid(90, 8, 8, 1)[..., 0])
    save(tmp_path / "rgb.bmp", colour)
    folder = data.scan_image_folder(tmp_path)
    assert [os.path.basename(f) for f in folder.skipped] == ["palette.bmp"]
    with pytest.warns(UserWarning, match=r"skipped 1 of 3 .*colour palette.*palette\.bmp"):
        ds = data.image_dataset(tmp_path, 8, batch_size=2, shuffle=False, dtype="uint8")
    images = np.asarray(next(iter(ds)))
    assert images[0, 0, 0].tolist() == [90] * 3 and images[1, 0, 0].tolist() == [200, 30, 40]


def test_jpegs_with_data_after_the_image_load_truncated_ones_do_not(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (48, 48, 3))
    jpeg = save(tmp_path / "plain.jpg", pixels).read_bytes()
    progressive = save(tmp_path / "progressive.jpg", pixels, progressive=True).read_bytes()
    trailer = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()  # a phone's appendix
    (tmp_path / "motion.jpg").write_bytes(jpeg + trailer)
    (tmp_path / "progressive_motion.jpg").write_bytes(progressive + trailer)
    # An EXIF thumbnail (a JPEG with its own end marker) before the image.
    thumbnail = (b"\xff\xd8" + jpeg[2:300]) + b"\xff\xd9"
    app1 = b"\xff\xe1" + (len(thumbnail) + 8).to_bytes(2, "big") + b"Exif\x00\x00" + thumbnail
    with_thumbnail = jpeg[:2] + app1 + jpeg[2:]
    (tmp_path / "thumbnail.jpg").write_bytes(with_thumbnail)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "truncated.jpg").write_bytes(jpeg[: len(jpeg) * 2 // 3])
    (bad / "truncated_progressive.jpg").write_bytes(progressive[: len(progressive) * 2 // 3])
    (bad / "truncated_thumbnail.jpg").write_bytes(with_thumbnail[: len(app1) + 200])

    folder = data.scan_image_folder(tmp_path)
    assert sorted(os.path.basename(f) for f in folder.skipped) == [
        "truncated.jpg", "truncated_progressive.jpg", "truncated_thumbnail.jpg"]
    assert len(folder.files) == 5
    with pytest.warns(UserWarning, match="skipped 3 of 8"):
        ds = data.image_dataset(tmp_path, 48, batch_size=5, shuffle=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # all five decode
        (images,) = collect(ds)
    # motion.jpg, plain.jpg, progressive.jpg, progressive_motion.jpg, thumbnail.jpg
    np.testing.assert_array_equal(images[0], images[1])
    np.testing.assert_array_equal(images[2], images[3])
    np.testing.assert_array_equal(images[1], images[4])


def test_webp_loads_and_other_image_formats_are_counted(tmp_path):
    Image.fromarray(solid((10, 200, 30), 8, 8)).save(tmp_path / "a.webp", lossless=True)
    webp = (tmp_path / "a.webp").read_bytes()
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[:] = (100, 50, 25, 128)  # TensorFlow's decoder wants its alpha asked for
    Image.fromarray(rgba).save(tmp_path / "a_alpha.webp", quality=95)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "truncated.webp").write_bytes(webp[:-5])
    frames = [Image.fromarray(solid(v, 8, 8)) for v in (0, 255)]  # animated: skipped
    frames[0].save(tmp_path / "sub" / "animated.webp", save_all=True, append_images=frames[1:])
    save(tmp_path / "b.png", solid(90, 8, 8))
    for name in ("c.tif", "d.TIF", "e.heic"):
        (tmp_path / name).write_bytes(b"II*\x00" + bytes(100))
    (tmp_path / "notes.txt").write_text("not an image format: no warning")
    folder = data.scan_image_folder(tmp_path)
    assert [os.path.basename(f) for f in folder.files] == ["a.webp", "a_alpha.webp", "b.png"]
    skipped = sorted(os.path.basename(f) for f in folder.skipped)
    assert skipped == ["animated.webp", "truncated.webp"]
    assert folder.ignored == {".tif": 2, ".heic": 1}
    with pytest.warns(UserWarning) as record:
        ds = data.image_dataset(tmp_path, 8, batch_size=3, shuffle=False, dtype="uint8")
    messages = [str(w.message) for w in record]
    assert any("skipped 2 of 5" in m for m in messages)
    assert any("ignored 3 files in image formats that are not read: .tif (2), .heic (1)" in m
               for m in messages)
    images = np.asarray(next(iter(ds))).astype(int)
    assert images[0, 0, 0].tolist() == [10, 200, 30]
    assert np.abs(images[1, 0, 0] - [100, 50, 25]).max() <= 2  # lossy
    assert images[2, 0, 0].tolist() == [90] * 3


def test_files_that_fail_to_decode_are_named_once(tmp_path, class_folder):
    # Past the quick check, only the decoder can tell: the file is dropped
    # and a warning names it, once (cache=False decodes it every epoch).
    liar = b"\xff\xd8\xff\xe0" + b"\x00" * 200 + b"\xff\xd9"
    root = tmp_path / "mixed"
    for i in range(4):
        save(root / f"{i}.png", solid(50 * i))
    (root / "1b_liar.jpg").write_bytes(liar)  # mid-epoch
    (root / "z_liar.jpg").write_bytes(liar)  # last: found when the epoch wraps
    ds = data.image_dataset(root, 8, batch_size=1, drop_remainder=False, shuffle=False,
                            cache=False)
    with pytest.warns(UserWarning) as record:
        (images,) = collect(ds)
    assert len(images) == 6
    messages = [str(w.message) for w in record if "cannot decode" in str(w.message)]
    assert len(messages) == 2, messages
    assert "skipped 1 file(s) that TensorFlow cannot decode" in messages[0]
    assert "1b_liar.jpg (1 in all so far)" in messages[0]
    assert "z_liar.jpg (2 in all so far)" in messages[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        collect(ds)  # named already
        # An epoch cut short is no failure.
        good = data.image_dataset(class_folder, 8, batch_size=4, cache=False)
        list(good.take(1))
        collect(good)


def test_exif_orientation_turns_photos_upright(tmp_path):
    # Four coloured quadrants: each of the 8 orientations shows them differently.
    quadrants = np.zeros((16, 16, 3), np.uint8)
    quadrants[:8, :8], quadrants[:8, 8:] = (255, 0, 0), (0, 255, 0)
    quadrants[8:, :8], quadrants[8:, 8:] = (0, 0, 255), (255, 255, 255)
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        save(tmp_path / f"{orientation}.jpg", quadrants, quality=95, exif=exif)
    exif[0x0112] = 6
    save(tmp_path / "turned.webp", quadrants, lossless=True, exif=exif)
    assert data.scan_image_folder(tmp_path).orientations == [*range(1, 9), 6]
    ds = data.image_dataset(tmp_path, 16, batch_size=9, shuffle=False, dtype="uint8")
    images = np.asarray(next(iter(ds))).astype(int)
    centres = (4, 4, 12, 12), (4, 12, 4, 12)  # of the quadrants, away from JPEG's ringing
    for name, image in zip([*(f"{o}.jpg" for o in range(1, 9)), "turned.webp"], images):
        with Image.open(tmp_path / name) as photo:
            upright = np.asarray(ImageOps.exif_transpose(photo).convert("RGB")).astype(int)
        assert np.abs(image - upright)[centres].max() <= 8, name


# -- arrays and .npz files -------------------------------------------------------


def test_uint8_grayscale_array():
    x = np.zeros((10, 28, 28), np.uint8)
    x[5:] = 255
    (images,) = collect(data.image_dataset(x, 28, channels=1, batch_size=5, shuffle=False))
    assert images.shape == (10, 28, 28, 1) and images.dtype == np.float32
    np.testing.assert_allclose(images[:5], -1.0)
    np.testing.assert_allclose(images[5:], 1.0)
    (images,) = collect(data.image_dataset(x, 32, channels=3, batch_size=5))
    assert images.shape == (10, 32, 32, 3)


@pytest.mark.parametrize("low, high", [(0.0, 1.0), (-1.0, 1.0)])
def test_float_arrays(low, high):
    x = np.linspace(low, high, 6 * 8 * 8 * 3).reshape(6, 8, 8, 3).astype(np.float64)
    (images,) = collect(data.image_dataset(x, 8, batch_size=6, shuffle=False))
    expected = (x - low) / (high - low) * 2 - 1
    np.testing.assert_allclose(images, expected, atol=1e-5)


def test_arrays_with_labels():
    x = np.random.default_rng(0).integers(0, 256, (12, 8, 8, 3), dtype=np.uint8)
    y = np.arange(12) % 3
    ds = data.image_dataset((x, y), 8, batch_size=4, with_labels=True, shuffle=False)
    assert int(ds.cardinality()) == 3
    images, labels = collect(ds)
    assert labels.tolist() == y.tolist() and labels.dtype == np.int32
    np.testing.assert_allclose(images, x / 127.5 - 1, atol=1e-6)
    with pytest.raises(ValueError, match=r"pass `\(x, y\)`"):
        data.image_dataset(x, with_labels=True)


@pytest.mark.parametrize(
    "source, match",
    [
        (np.zeros((10, 10), np.uint8), r"got shape \(10, 10\)"),
        (np.zeros((4, 3, 8, 8), np.uint8), "channels-first"),
        (np.array([["a"]]), "dtype <U1"),
        ((np.zeros((4, 8, 8), np.uint8), np.zeros(3, int)), r"shape \(4,\).*got shape \(3,\)"),
        ((np.zeros((4, 8, 8), np.uint8), np.zeros(4)), "float64"),
        (np.full((4, 8, 8), 300, np.int32), r"0\.\.255"),
    ],
)
def test_bad_arrays(source, match):
    with pytest.raises(ValueError, match=match):
        data.image_dataset(source, 8, batch_size=1, with_labels=isinstance(source, tuple))


def test_npz_files(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (8, 8, 8), dtype=np.uint8)
    y = np.arange(8)
    np.savez(tmp_path / "keras.npz", x_train=x, y_train=y, x_test=x[:4], y_test=y[:4])
    np.savez(tmp_path / "custom.npz", imgs=x, lbls=y)
    np.savez(tmp_path / "other.npz", meta=np.arange(3), pictures=x)

    def load(name, **kwargs):
        return collect(data.image_dataset(
            tmp_path / name, 8, channels=1, batch_size=4, shuffle=False, **kwargs
        ))

    images, labels = load("keras.npz", with_labels=True)
    assert images.shape == (8, 8, 8, 1) and labels.tolist() == y.tolist()
    images, labels = load("keras.npz", with_labels=True, split="test")
    assert labels.tolist() == [0, 1, 2, 3]
    images, labels = load("custom.npz", with_labels=True, image_key="imgs", label_key="lbls")
    assert labels.tolist() == y.tolist()
    (images,) = load("other.npz")  # no x_train: the first 3-D array
    np.testing.assert_allclose(images[..., 0], x / 127.5 - 1, atol=1e-6)

    with pytest.raises(ValueError, match=r"no label array 'y_train'.*imgs \(8, 8, 8\), lbls \(8,\)"):
        load("custom.npz", with_labels=True, image_key="imgs")
    with pytest.raises(ValueError, match=r"no array 'x_valid'.*x_train.*y_test"):
        load("keras.npz", split="valid")


def test_class_sorted_arrays_are_mixed_despite_a_small_shuffle_buffer(monkeypatch):
    monkeypatch.setattr(data, "_FULL_SHUFFLE_LIMIT", 100)
    monkeypatch.setattr(data, "_SHUFFLE_BUFFER", 50)
    y = np.repeat(np.arange(3), 50)
    x = (y * 80).astype(np.uint8)[:, None, None].repeat(4, 1).repeat(4, 2)
    ds = data.image_dataset((x, y), 4, channels=1, batch_size=15, with_labels=True, seed=0)
    _, labels = next(iter(ds))
    assert set(np.asarray(labels).tolist()) == {0, 1, 2}
    images, labels = collect(ds)
    np.testing.assert_allclose(images[:, 0, 0, 0], labels * 80 / 127.5 - 1, atol=1e-6)


@pytest.fixture
def fake_gpu(monkeypatch):
    """TensorFlow reports a GPU (ops still run on the CPU: soft placement)."""
    import tensorflow as tf

    real = tf.config.list_physical_devices
    gpu = tf.config.PhysicalDevice("/physical_device:GPU:0", "GPU")
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: [gpu] if kind == "GPU" else real(kind))


def test_no_copy_to_the_gpu_unless_asked(fake_gpu):
    from keras_gans import cli

    x = np.zeros((8, 4, 4, 3), np.uint8)
    ds = data.image_dataset(x, 4, batch_size=2)
    assert int(ds.cardinality()) == 4  # known: no prefetch_to_device stage
    asked = data.image_dataset(x, 4, batch_size=2, prefetch_to_device=True)
    assert type(asked._input_dataset).__name__ == "_CopyToDeviceDataset"
    # tf.data wants the copy last: repeat_for_steps repeats before it.
    repeated = cli.repeat_for_steps(asked, 3)
    assert type(repeated._input_dataset).__name__ == "_CopyToDeviceDataset"
    assert len(list(repeated.take(10))) == 10
    assert len(list(cli.repeat_for_steps(ds, 3).take(10))) == 10


# -- TensorFlow Datasets -----------------------------------------------------------


def test_unknown_tfds_name():
    with pytest.raises(ValueError, match=r"'no_such_dataset_xyz'.*tfds.list_builders"):
        data.image_dataset("no_such_dataset_xyz")


def test_tfds_download_failure(tmp_path, monkeypatch):
    # A real attempt offline retries for minutes, so make it fail at once.
    import requests
    import tensorflow_datasets as tfds

    def offline(self, *args, **kwargs):
        raise requests.exceptions.ConnectionError("Failed to resolve 'storage.googleapis.com'")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", offline)
    with pytest.raises(data.DatasetDownloadError) as info:
        data.image_dataset("mnist", data_dir=tmp_path)
    message = str(info.value)
    assert "'mnist'" in message and "offline" in message and "data_dir" in message
    assert isinstance(info.value, RuntimeError)
    assert isinstance(info.value.__cause__, requests.exceptions.ConnectionError)

    with pytest.raises(data.DatasetDownloadError, match="not prepared.*download=False"):
        data.image_dataset("mnist", data_dir=tmp_path, download=False)


def test_tfds_errors_before_download(tmp_path):
    with pytest.raises(ValueError, match="'celeb_a' has no labels"):
        data.image_dataset("celeb_a", data_dir=tmp_path, with_labels=True)
    with pytest.raises(ValueError, match="no feature 'picture'"):
        data.image_dataset("mnist", data_dir=tmp_path, image_key="picture")


def test_tfds_pipeline_with_mock_data(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        ds = data.image_dataset("mnist", 16, batch_size=4, with_labels=True, data_dir=tmp_path)
        images, labels = collect(ds)
    assert images.shape == (12, 16, 16, 3) and labels.dtype == np.int32
    assert images.min() >= -1 and images.max() <= 1
    # mnist is grayscale, so the three channels are equal.
    np.testing.assert_allclose(images[..., 0], images[..., 2])


def test_mistyped_folder_without_tfds_names_the_path(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # not installed
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        data.image_dataset("flowers")
    assert str(info.value) == ("No such file or folder: flowers (if you meant the TFDS "
                               "dataset 'flowers': pip install tensorflow-datasets)")


# -- unpaired (CycleGAN) ------------------------------------------------------------


@pytest.fixture
def two_domains(tmp_path):
    root = tmp_path / "a2b"
    ramp = np.linspace(0, 255, 40 * 40 * 3).reshape(40, 40, 3).astype(np.uint8)
    for i in range(6):
        save(root / "trainA" / f"{i}.png", ramp)
        save(root / "testA" / f"{i}.png", solid(40 * i, 40, 40))
    for i in range(4):
        save(root / "trainB" / f"{i}.png", ramp)
        save(root / "testB" / f"{i}.png", solid(60 * i, 40, 40))
    return root


def test_unpaired_training(two_domains):
    ds = data.unpaired_dataset(two_domains / "trainA", two_domains / "trainB",
                               image_size=16, batch_size=2, seed=1)
    batches = list(ds)
    assert len(batches) == int(ds.cardinality()) == 3  # 6 images in A
    a, b = batches[0]
    assert a.shape == (2, 16, 16, 3) and b.shape == (2, 16, 16, 3)
    assert a.dtype == "float32" and np.abs(a).max() <= 1

    def crops(**augmentation):
        ds = data.unpaired_dataset(two_domains / "trainA", two_domains / "trainB",
                                   image_size=16, batch_size=2, seed=1, **augmentation)
        return {np.asarray(x).tobytes() for batch in ds for images in batch for x in images}

    # Random jitter: the same image, resized to 18 (16 * 286/256) and randomly
    # cropped, so crops differ; without flips, which alone would make two.
    assert len(crops(flip=False)) > 1
    assert len(crops(jitter=False, flip=False)) == 1


def test_unpaired_test_mode_and_layout_folder(two_domains):
    ds = data.unpaired_dataset(two_domains, image_size=8, training=False)
    epochs = []
    for _ in range(2):
        pairs = [(float(np.mean(a)), float(np.mean(b))) for a, b in ds]
        epochs.append(pairs)
    assert len(epochs[0]) == 6 and epochs[0] == epochs[1]  # fixed order
    a_means = [round((m + 1) * 127.5) for m, _ in epochs[0]]
    b_means = [round((m + 1) * 127.5) for _, m in epochs[0]]
    assert a_means == [0, 40, 80, 120, 160, 200]
    assert b_means == [0, 60, 120, 180, 0, 60]  # B wraps around


def test_unpaired_from_tfds_cycle_gan(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=3):  # splits trainA, trainB, ...
        ds = data.unpaired_dataset("cycle_gan/horse2zebra", image_size=16, data_dir=tmp_path)
        pairs = list(ds)
    assert len(pairs) == 3 and pairs[0][1].shape == (1, 16, 16, 3)


def test_unpaired_errors(two_domains, tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        data.unpaired_dataset(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="Domain B.*nowhere"):
        data.unpaired_dataset(two_domains / "trainA", tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="Domain B: No images"):
        data.unpaired_dataset(two_domains / "trainA", tmp_path / "empty")
    only_a = tmp_path / "only_a"
    save(only_a / "trainA" / "0.png", solid(0))
    with pytest.raises(FileNotFoundError, match="Domain B folder not found.*trainB"):
        data.unpaired_dataset(only_a)


def test_unpaired_count_is_known_on_a_gpu(two_domains, fake_gpu):
    # train_cyclegan.py counts the batches of an epoch with cardinality().
    ds = data.unpaired_dataset(two_domains, image_size=8, batch_size=2, seed=0)
    assert int(ds.cardinality()) == 3


# -- without TensorFlow --------------------------------------------------------------


NO_TF_CLIENT = """
import sys
sys.modules["tensorflow"] = None  # as if TensorFlow were not installed
import numpy as np
import keras_gans as kg
ds = kg.data.image_dataset(np.zeros((8, 8, 8, 3), "uint8"), image_size=8, batch_size=4)
print("pipeline:", type(ds).__name__, ds[0].shape)
for call in (lambda: kg.data.image_dataset("mnist"),
             lambda: kg.data.unpaired_dataset("a", "b"),
             lambda: kg.export.export_generator(kg.DCGAN(16, 1, 8, 4, 4), "/tmp/x/1")):
    try:
        call()
    except ImportError as e:
        print("ImportError:", e)
"""


@pytest.mark.single_backend
def test_without_tensorflow_arrays_load_and_tf_features_say_so():
    env = dict(os.environ, KERAS_BACKEND="jax")
    out = subprocess.run([sys.executable, "-c", NO_TF_CLIENT], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[0] == "pipeline: ImageBatches (4, 8, 8, 3)"
    errors = [line for line in lines if line.startswith("ImportError")]
    assert len(errors) == 3, out.stdout
    assert "TensorFlow Datasets name" in errors[0]
    assert "needs TensorFlow" in errors[1] and "needs TensorFlow" in errors[2]


# -- real data ($KERAS_GANS_DATA) ----------------------------------------------------


def test_flowers128(data_root):
    root = data_root / "flowers128"
    folder = data.scan_image_folder(root)
    assert len(folder.files) == 4317 and folder.skipped == []
    assert folder.class_names == ["daisy", "dandelion", "rose", "sunflower", "tulip"]
    assert np.bincount(folder.labels).tolist() == [764, 1052, 784, 733, 984]

    ds = data.image_dataset(root, 128, batch_size=64, with_labels=True, seed=0)
    seen = set()
    for images, labels in ds.take(3):  # the shuffle buffer still decodes all
        assert images.shape == (64, 128, 128, 3) and images.dtype == "float32"
        assert -1 <= float(np.min(images)) and float(np.max(images)) <= 1
        seen.update(np.asarray(labels).tolist())
    assert seen == set(range(5))


def test_mnist_npz(data_root):
    path = data_root / "mnist" / "mnist.npz"
    ds = data.image_dataset(path, 28, channels=1, batch_size=1000, with_labels=True,
                            shuffle=False, cache=False)
    images, labels = collect(ds)
    assert images.shape == (60000, 28, 28, 1)
    assert labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    # The mean pixel of x_train is 33.3184 (see SOURCES.md).
    assert abs((images.mean() + 1) * 127.5 - 33.3184) < 1e-3


def test_cyclegan_daisy2sunflower(data_root):
    root = data_root / "cyclegan128" / "daisy2sunflower"
    ds = data.unpaired_dataset(root, image_size=128, batch_size=4, seed=0)
    for a, b in ds.take(2):
        assert a.shape == (4, 128, 128, 3) and b.shape == (4, 128, 128, 3)
    test = data.unpaired_dataset(root, image_size=64, training=False)
    assert sum(1 for _ in test) == 76  # testA has 76 images, testB 73
