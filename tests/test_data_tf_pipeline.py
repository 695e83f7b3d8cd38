"""Tests for keras_gans.data.tf_pipeline: the tf.data pipeline of
image_dataset (crop, resize, channels, shuffle, flips, labels, decoder
failures) and unpaired_dataset. Synthetic files are made in tmp_path; the
real datasets are used only when $KERAS_GANS_DATA is set."""

import warnings

import numpy as np
import pytest

from data_helpers import collect, save, solid
from keras_gans import data
from keras_gans.data import tf_pipeline

RED, GREEN = (255, 0, 0), (0, 255, 0)


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
    monkeypatch.setattr(tf_pipeline, "_FULL_SHUFFLE_LIMIT", 100)
    monkeypatch.setattr(tf_pipeline, "_SHUFFLE_BUFFER", 50)
    for c in range(3):
        for i in range(50):
            save(tmp_path / f"class{c}" / f"{i:02d}.png", solid(80 * c, 4, 4))
    ds = data.image_dataset(tmp_path, 4, batch_size=15, with_labels=True, seed=0)
    _, labels = next(iter(ds))
    assert set(np.asarray(labels).tolist()) == {0, 1, 2}
    images, labels = collect(ds)  # still each image once, with its label
    assert np.bincount(labels).tolist() == [50, 50, 50]
    np.testing.assert_allclose(images[:, 0, 0, 0], labels * 80 / 127.5 - 1, atol=1e-6)


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


# -- arrays -------------------------------------------------------------------


def test_class_sorted_arrays_are_mixed_despite_a_small_shuffle_buffer(monkeypatch):
    monkeypatch.setattr(tf_pipeline, "_FULL_SHUFFLE_LIMIT", 100)
    monkeypatch.setattr(tf_pipeline, "_SHUFFLE_BUFFER", 50)
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


# -- unpaired (CycleGAN) ------------------------------------------------------


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


# -- real data ($KERAS_GANS_DATA) ---------------------------------------------


def test_cyclegan_daisy2sunflower(data_root):
    root = data_root / "cyclegan128" / "daisy2sunflower"
    ds = data.unpaired_dataset(root, image_size=128, batch_size=4, seed=0)
    for a, b in ds.take(2):
        assert a.shape == (4, 128, 128, 3) and b.shape == (4, 128, 128, 3)
    test = data.unpaired_dataset(root, image_size=64, training=False)
    assert sum(1 for _ in test) == 76  # testA has 76 images, testB 73
