"""The image view: what is rendered for an image, a window, an inversion and a heatmap."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from engine import Radiograph, Window, load_image
from tests.viewer.helpers import show_widget, wheel_over
from viewer.reading_room.image_view import ImageView
from viewer.reading_room.scale_bar import nice_length
from viewer.widgets.rendering import qimage_to_array, to_uint8


@pytest.fixture(scope="module")
def chest_cr(dicom_dir: Path) -> Radiograph:
    """RG1: a real 1955 x 1841 15-bit MONOCHROME1 chest CR."""
    return load_image(dicom_dir / "RG1_UNCR.dcm")


@pytest.fixture
def view(qtbot: QtBot) -> ImageView:
    return show_widget(qtbot, ImageView(), (800, 700))


def rendered(view: ImageView) -> np.ndarray:
    """The scene at image resolution, RGB."""
    return qimage_to_array(view.render_image())[..., :3].astype(int)


def test_shows_the_default_display_at_full_resolution(
    view: ImageView, chest_cr: Radiograph
) -> None:
    view.set_radiograph(chest_cr)
    rect = view.sceneRect()
    assert (rect.width(), rect.height()) == (chest_cr.width, chest_cr.height)
    pixels = rendered(view)
    expected = to_uint8(chest_cr.pixels).astype(int)
    assert np.abs(pixels[..., 0] - expected).mean() < 1.0
    assert 0 < view.scale_factor < 1, "a 2k image is fitted into an 800 px view"


def test_presets_and_invert_change_the_rendered_pixels(
    view: ImageView, chest_cr: Radiograph
) -> None:
    view.set_radiograph(chest_cr)
    default = rendered(view)
    names = [p.name for p in view.presets()]
    assert names[0].startswith("Default") and names[-1].startswith("Automatic")
    view.apply_preset(view.presets()[-1])
    automatic = rendered(view)
    assert np.abs(automatic - default).mean() > 5
    view.set_inverted(True)
    inverted = rendered(view)
    assert np.abs(inverted + automatic - 255).max() <= 1
    view.reset()
    assert not view.inverted and view.window is None
    assert np.abs(rendered(view) - default).max() <= 1


def test_right_drag_changes_width_and_level(
    qtbot: QtBot, view: ImageView, chest_cr: Radiograph
) -> None:
    view.set_radiograph(chest_cr)
    start = view.effective_window()
    before = rendered(view)
    viewport = view.viewport()
    origin = QPoint(300, 300)
    with qtbot.waitSignal(view.window_changed, timeout=2_000):
        qtbot.mousePress(viewport, Qt.MouseButton.RightButton, pos=origin)
        qtbot.mouseMove(viewport, QPoint(380, 260))
    qtbot.mouseRelease(viewport, Qt.MouseButton.RightButton, pos=QPoint(380, 260))
    window = view.window
    assert window is not None and start is not None
    assert window.width > start.width, "dragging right widens the window"
    assert window.center < start.center, "dragging up lowers the level"
    assert np.abs(rendered(view) - before).mean() > 1


def test_window_maths_follow_the_display_order(view: ImageView, chest_cr: Radiograph) -> None:
    """MONOCHROME1 inversion comes after the VOI, the user's invert on top of it."""
    view.set_radiograph(chest_cr)
    window = Window(15000, 30000, "test", "LINEAR")
    view.set_window(window)
    shown = view.display_levels()
    assert chest_cr.inverted
    value_low = np.unravel_index(np.argmin(chest_cr.values), chest_cr.values.shape)
    assert shown[value_low] > 200, "lowest value is white in MONOCHROME1"


def test_heatmap_toggle_and_opacity_change_the_composite(
    view: ImageView, chest_cr: Radiograph
) -> None:
    view.set_radiograph(chest_cr)
    plain = rendered(view)
    heat = np.zeros((32, 32), np.float32)
    heat[8:24, 8:24] = 1.0
    view.set_heatmap(heat)
    view.set_heatmap_visible(True)
    view.set_heatmap_opacity(0.8)
    strong = rendered(view)
    view.set_heatmap_opacity(0.2)
    weak = rendered(view)
    center = (slice(900, 1000), slice(900, 1000))
    assert (
        np.abs(strong[center] - plain[center]).mean()
        > np.abs(weak[center] - plain[center]).mean()
        > 3
    )
    corner = (slice(0, 100), slice(0, 100))
    assert np.abs(strong[corner] - plain[corner]).max() <= 1, "zero heat stays transparent"
    view.set_colormap("viridis")
    assert np.abs(rendered(view)[center] - weak[center]).mean() > 1
    view.set_heatmap_visible(False)
    assert not view.heatmap_visible
    assert np.abs(rendered(view) - plain).max() <= 1


def test_zoom_fit_and_actual_size(qtbot: QtBot, view: ImageView, chest_cr: Radiograph) -> None:
    view.set_radiograph(chest_cr)
    fitted = view.scale_factor
    view.zoom_in()
    assert view.scale_factor == pytest.approx(fitted * 1.25)
    view.actual_size()
    assert view.scale_factor == pytest.approx(1.0)
    view.fit()
    assert view.scale_factor == pytest.approx(fitted)


def test_pixel_under_the_cursor_is_reported_in_modality_units(
    qtbot: QtBot, view: ImageView, chest_cr: Radiograph
) -> None:
    view.set_radiograph(chest_cr)
    with qtbot.waitSignal(view.pixel_hovered, timeout=2_000) as blocker:
        qtbot.mouseMove(view.viewport(), QPoint(400, 350))
    x, y, value = blocker.args
    assert 0 <= x < chest_cr.width and 0 <= y < chest_cr.height
    assert value == pytest.approx(float(chest_cr.values[y, x]))


def test_scale_bar_is_drawn_only_with_a_pixel_spacing(
    view: ImageView, chest_cr: Radiograph
) -> None:
    view.set_radiograph(chest_cr)
    without = qimage_to_array(view.viewport().grab().toImage())
    view.set_radiograph(dataclasses.replace(chest_cr, pixel_spacing=(0.1, 0.1)))
    with_bar = qimage_to_array(view.viewport().grab().toImage())
    h = with_bar.shape[0]
    corner = (slice(h - 40, h), slice(0, 200))
    yellow = (with_bar[corner][..., 0] > 200) & (with_bar[corner][..., 2] < 80)
    assert yellow.sum() > 50
    assert not ((without[corner][..., 0] > 200) & (without[corner][..., 2] < 80)).any()


def test_the_zoom_is_shown_in_the_corner_and_follows_the_wheel(
    view: ImageView, chest_cr: Radiograph
) -> None:
    assert view.zoom_text == ""
    view.set_radiograph(chest_cr)
    fitted = view.scale_factor
    assert view.zoom_text == f"{100 * fitted:.0f} %"
    assert wheel_over(view.viewport(), notches=1) is not None  # a real wheel notch zooms in
    assert view.scale_factor == pytest.approx(fitted * 1.25)
    assert view.zoom_text == f"{125 * fitted:.0f} %"
    shot = qimage_to_array(view.viewport().grab().toImage())
    h, w = shot.shape[:2]
    corner = shot[h - 30 : h, w - 120 : w]
    assert ((corner[..., 0] > 200) & (corner[..., 2] < 80)).sum() > 10  # drawn in yellow


@pytest.mark.parametrize(
    ("target", "expected"), [(123.0, 100.0), (57.0, 50.0), (0.3, 0.2), (2.0, 2.0)]
)
def test_nice_length(target: float, expected: float) -> None:
    assert nice_length(target) == pytest.approx(expected)
