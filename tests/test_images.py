import numpy as np
import pytest
from PIL import Image

from keras_gans import images


def test_to_uint8_maps_range_and_clips():
    out = images.to_uint8(np.array([-1.0, 0.0, 1.0, -3.0, 3.0]))
    assert out.dtype == np.uint8
    assert out.tolist() == [0, 128, 255, 0, 255]


def test_grid_layout_and_png(tmp_path):
    batch = np.zeros((5, 4, 6, 3), "uint8")
    batch[4] = 200
    grid = images.make_grid(batch, ncols=3, padding=1)
    assert grid.shape == (2 * 5 + 1, 3 * 7 + 1, 3)
    assert (grid[6:10, 8:14] == 200).all()  # the 5th image: row 1, column 1
    path = images.save_grid(batch, tmp_path / "g" / "grid.png", ncols=3)
    assert Image.open(path).size == (26, 14)  # default padding 2


def test_grid_of_grayscale_float_images(tmp_path):
    grid = images.make_grid(np.ones((4, 3, 3, 1)), padding=0)
    assert grid.shape == (6, 6, 1) and (grid == 255).all()
    images.save_grid(np.ones((4, 3, 3, 1)), tmp_path / "gray.png")


def test_grid_rejects_non_batches():
    with pytest.raises(ValueError, match=r"\(n, h, w, c\)"):
        images.make_grid(np.zeros((2, 2)))


@pytest.mark.single_backend
def test_to_unit_range_scales_integers_and_keeps_floats():
    from keras_gans.images import to_unit_range

    np.testing.assert_allclose(to_unit_range(np.array([0, 255, 51], np.uint8)), [-1.0, 1.0, -0.6])
    np.testing.assert_allclose(to_unit_range(np.array([0, 255], np.int64)), [-1.0, 1.0])
    floats = to_unit_range(np.array([0.25, -0.5], np.float64))
    assert floats.dtype == np.float32 and floats.tolist() == [0.25, -0.5]
