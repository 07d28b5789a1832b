"""Pure rendering helpers: numbers in, pixels out, no widgets."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Window
from engine.imaging.radiograph import percentile_window
from viewer.widgets.rendering import (
    COLORMAPS,
    colormap_lut,
    composite,
    downsample,
    gray_qimage,
    heatmap_rgba,
    qimage_to_array,
    rgba_qimage,
    to_uint8,
    window_levels,
)


def test_to_uint8_rounds_and_clips() -> None:
    levels = to_uint8(np.array([[-1.0, 0.0, 0.5, 1.0, 2.0]], np.float32))
    assert levels.tolist() == [[0, 0, 128, 255, 255]]


def test_window_levels_maps_the_window_and_inverts_after_it() -> None:
    values = np.array([[0.0, 100.0, 200.0]], np.float32)
    window = Window(100.0, 200.0, "test", "LINEAR_EXACT")
    assert window_levels(values, window, invert=False).tolist() == [[0, 128, 255]]
    assert window_levels(values, window, invert=True).tolist() == [[255, 128, 0]]


def test_automatic_window_ignores_a_few_extreme_pixels() -> None:
    values = np.linspace(0, 1000, 100_000, dtype=np.float32)
    values[:10] = -50_000
    window = percentile_window(values.reshape(100, 1000))
    assert 0 <= window.low < 20 and 980 < window.high <= 1000


def test_downsample_keeps_the_longest_side_within_the_limit() -> None:
    image = np.zeros((2000, 1500), np.float32)
    assert max(downsample(image, 1024).shape) <= 1024
    assert downsample(image, 4000).shape == image.shape


@pytest.mark.parametrize("name", COLORMAPS)
def test_colormap_luts_are_256_rgb_rows(name: str) -> None:
    lut = colormap_lut(name)
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    assert len({tuple(row) for row in lut}) > 100


def test_unknown_colormap_names_the_choices() -> None:
    with pytest.raises(ValueError, match="expected one of jet"):
        colormap_lut("rainbow-unicorn")


def test_heatmap_alpha_is_the_heat_and_composite_respects_opacity() -> None:
    heat = np.array([[0.0, 1.0]], np.float32)
    rgba = heatmap_rgba(heat, "jet")
    assert rgba[..., 3].tolist() == [[0, 255]]
    gray = np.array([[100, 100]], np.uint8)
    none = composite(gray, rgba, 0.0)
    half = composite(gray, rgba, 0.5)
    full = composite(gray, rgba, 1.0)
    assert (none == 100).all()
    assert (half[0, 0] == 100).all(), "zero heat leaves the image untouched"
    assert (full[0, 1] == rgba[0, 1, :3]).all()
    assert np.abs(half[0, 1].astype(int) - 100).sum() > 0


def test_composite_refuses_a_heatmap_of_another_shape() -> None:
    with pytest.raises(ValueError, match="differs"):
        composite(np.zeros((4, 4), np.uint8), np.zeros((2, 2, 4), np.uint8), 0.5)


def test_qimages_round_trip_their_pixels() -> None:
    levels = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    assert (qimage_to_array(gray_qimage(levels))[..., 0] == levels).all()
    rgba = np.random.default_rng(0).integers(0, 256, (3, 5, 4), dtype=np.uint8)
    assert (qimage_to_array(rgba_qimage(rgba)) == rgba).all()
