"""benchmarks/quality.py's family entries: what makes their rows comparable
(the same real images per family, DCGAN's channels in SAGAN, reals and
samples mapped alike to the evaluator's input). No training."""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks"))
quality = pytest.importorskip("quality")

pytestmark = pytest.mark.single_backend


@pytest.mark.parametrize("family, reals", [("dcgan", 64), ("wgan", 320), ("wgangp", 320), ("sagan", 64)])
def test_a_step_reads_d_steps_batches_for_the_wgans(family, reals):
    gan = quality.family_gan(family, 32, 1, 8, seed=0)
    assert quality.reals_per_step(gan, 64) == reals


def _channels_by_side(model):
    """{side: channels} of the outputs of `model`'s convolutions."""
    import keras

    convs = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)
    return {layer.output.shape[1]: layer.output.shape[-1] for layer in model.layers
            if isinstance(layer, convs)}


def test_sagan_gets_dcgans_channels_at_each_side():
    dcgan = quality.family_gan("dcgan", 32, 3, 8, seed=0)
    sagan = quality.family_gan("sagan", 32, 3, 8, seed=0)
    g_widths, d_widths = quality.sagan_widths(32)
    assert (tuple(sagan.generator_width), tuple(sagan.discriminator_width)) == (g_widths, d_widths)
    # G: the 4x4 map, then the 8 and 16 px blocks (SAGAN's 32 px block has no
    # DCGAN counterpart: DCGAN goes from 16 px straight to the image).
    generator = _channels_by_side(dcgan.generator)
    assert [generator[side] for side in (4, 8, 16)] == list(g_widths[:3])
    # D: the 16, 8 and 4 px blocks; SAGAN's extra 4x4 block keeps the width.
    discriminator = _channels_by_side(dcgan.discriminator)
    assert [discriminator[side] for side in (16, 8, 4)] == list(d_widths[:3])
    assert d_widths[3] == d_widths[2]


def test_padded_digits_are_scored_on_the_original_pixels():
    digits = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    padded = quality.pad_to_32(digits)
    assert padded.shape == (3, 32, 32, 1) and padded[:, :2].max() == 0
    np.testing.assert_array_equal(quality.centre_28(padded), digits[..., None])


def test_reals_and_samples_are_upsampled_alike():
    reals = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    as_samples = reals.astype("float32") / 127.5 - 1.0  # what a generator gives
    up = quality.upsample_64(reals)
    assert up.shape == (2, 64, 64, 3) and up.min() >= -1.0 and up.max() <= 1.0
    np.testing.assert_allclose(up, quality.upsample_64(as_samples), atol=1e-6)
    # Interpolation, not nearest: a linear ramp stays a ramp, twice as fine.
    ramp = np.broadcast_to(np.linspace(-1, 1, 32, dtype="float32")[None, None, :, None], (1, 32, 32, 1))
    row = quality.upsample_64(ramp)[0, 10, 2:-2, 0]
    np.testing.assert_allclose(np.diff(row), np.diff(row).mean(), atol=1e-5)
