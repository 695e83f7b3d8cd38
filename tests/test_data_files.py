"""Tests for keras_gans.data.files: which files of a folder are images (the
quick structural check, skipped and ignored files), their classes and EXIF
orientations, and the errors for missing or empty folders."""

import os
import warnings

import numpy as np
import pytest
from PIL import Image, ImageOps

from data_helpers import collect, save, solid
from keras_gans import data


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


def test_a_folder_of_broken_links_says_so(tmp_path):
    # A link made from a relative path resolves against the link's folder,
    # so it points nowhere: the error names that, not "not an image".
    save(tmp_path / "real" / "a.jpg", solid(40))
    links = tmp_path / "links"
    links.mkdir()
    (links / "a.jpg").symlink_to("real/a.jpg")
    with pytest.raises(ValueError, match=r"links to files that do not exist.*real/a\.jpg"):
        data.image_dataset(links)
    (links / "b.jpg").symlink_to(tmp_path / "real" / "a.jpg")  # absolute: read
    assert data.scan_image_folder(links).files == [str(links / "b.jpg")]


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


# -- real data ($KERAS_GANS_DATA) ---------------------------------------------


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
