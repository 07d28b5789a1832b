"""The main window end to end: opening files, errors, drag and drop, menus, settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from engine import Radiograph
from tests.viewer.helpers import LOAD_TIMEOUT_MS, fake_prediction, open_and_wait
from viewer.settings import Settings
from viewer.widgets.rendering import qimage_to_array, to_uint8
from viewer.window.main_window import MainWindow

MakeWindow = Callable[..., MainWindow]


def first_jpeg(fullres_dir: Path) -> Path:
    return sorted((fullres_dir / "NORMAL").glob("*.jpeg"))[0]


def corrupt_file(tmp_path: Path) -> Path:
    """A file that claims to be a JPEG but is cut off after its header."""
    path = tmp_path / "broken.jpeg"
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40)
    return path


def test_opening_a_real_jpeg_shows_it(
    qtbot: QtBot, make_window: MakeWindow, fullres_dir: Path
) -> None:
    window = make_window()
    path = first_jpeg(fullres_dir)
    radiograph = open_and_wait(qtbot, window, path)
    assert isinstance(radiograph, Radiograph) and radiograph.source == path
    rect = window.view.sceneRect()
    assert (rect.width(), rect.height()) == (radiograph.width, radiograph.height)
    shown = qimage_to_array(window.view.render_image())[..., 0].astype(int)
    assert np.abs(shown - to_uint8(radiograph.pixels)).mean() < 1.0
    assert path.name in window.windowTitle()
    assert window.settings.recent_paths[0] == path.resolve()
    assert window.tags.visible_keywords()[:2] == ["File", "Format"]


def test_opening_a_real_dicom_shows_it_with_its_tags(
    qtbot: QtBot, make_window: MakeWindow, dicom_dir: Path
) -> None:
    window = make_window()
    radiograph = open_and_wait(qtbot, window, dicom_dir / "RG1_UNCR.dcm")
    assert (radiograph.width, radiograph.height) == (1841, 1955)
    assert window.view.sceneRect().width() == 1841
    assert "PatientID" in window.tags.visible_keywords()
    assert not window.presets_menu.isEmpty()


def test_a_bad_file_shows_an_error_and_the_window_stays_usable(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path, fullres_dir: Path
) -> None:
    window = make_window()
    with qtbot.waitSignal(window.image_failed, timeout=LOAD_TIMEOUT_MS) as blocker:
        window.open_paths([corrupt_file(tmp_path)])
    assert "broken.jpeg" in str(blocker.args[0])
    assert window.banner.isVisible()
    assert "cannot be opened" in window.banner.text()
    assert window.view.radiograph is None
    open_and_wait(qtbot, window, first_jpeg(fullres_dir))
    assert not window.banner.isVisible()
    assert window.view.radiograph is not None


def test_an_undecodable_dicom_is_a_clear_error(
    qtbot: QtBot, make_window: MakeWindow, dicom_dir: Path
) -> None:
    window = make_window()
    with qtbot.waitSignal(window.image_failed, timeout=LOAD_TIMEOUT_MS):
        window.open_paths([dicom_dir / "RG2_JPLY.dcm"])
    assert "decoder" in window.banner.text()


def test_dropping_files_opens_them(
    qtbot: QtBot, make_window: MakeWindow, fullres_dir: Path
) -> None:
    window = make_window()
    path = first_jpeg(fullres_dir)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    with qtbot.waitSignal(window.image_shown, timeout=LOAD_TIMEOUT_MS):
        assert drop(window, mime)
    assert window.view.radiograph is not None and window.view.radiograph.source == path
    empty = QMimeData()
    empty.setText("not a file")
    assert not drop(window, empty)


def drop(window: MainWindow, mime: QMimeData) -> bool:
    """Drag ``mime`` over the middle of ``window`` and drop it, as real drag and drop events (Qt
    delivers a drop only to a widget that accepted the drag); True when the drop was taken."""
    spot, copy = window.rect().center(), Qt.DropAction.CopyAction
    button, keys = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(spot, copy, mime, button, keys)
    QApplication.sendEvent(window, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(QPointF(spot), copy, mime, button, keys)
    QApplication.sendEvent(window, event)
    return event.isAccepted()


def test_opening_a_folder_lists_it_and_shows_the_first_image(
    qtbot: QtBot, make_window: MakeWindow, dicom_dir: Path
) -> None:
    window = make_window()
    with qtbot.waitSignal(window.image_shown, timeout=LOAD_TIMEOUT_MS):
        window.open_paths([dicom_dir])
    assert len(window.browser.image_paths()) == 27
    assert window.view.radiograph is not None
    assert window.view.radiograph.source == window.browser.image_paths()[0]
    assert window.settings.last_folder == dicom_dir


def test_heatmap_action_toggles_the_overlay_and_persists(
    qtbot: QtBot, make_window: MakeWindow, fullres_dir: Path, settings: Settings
) -> None:
    window = make_window()
    radiograph = open_and_wait(qtbot, window, first_jpeg(fullres_dir))
    window.show_prediction(fake_prediction(shape=(radiograph.height, radiograph.width)))
    assert window.view.heatmap_visible
    assert window.panel.probability_text == "70.0 %"
    window.heatmap_action.trigger()
    assert not window.view.heatmap_visible
    assert not window.panel.heatmap_checkbox.isChecked()
    assert settings.heatmap_visible is False
    window.panel.set_opacity(0.8)
    assert settings.heatmap_opacity == pytest.approx(0.8)


def test_export_png_writes_the_view(
    qtbot: QtBot, make_window: MakeWindow, fullres_dir: Path, tmp_path: Path
) -> None:
    window = make_window()
    open_and_wait(qtbot, window, first_jpeg(fullres_dir))
    target = tmp_path / "view.png"
    assert window.export_png(target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_choosing_an_invalid_model_bundle_explains_why(
    make_window: MakeWindow, tmp_path: Path
) -> None:
    window = make_window()
    assert not window.use_model(tmp_path)
    assert window.banner.isVisible()
    assert window.settings.model_path is None


def test_other_engineers_can_add_tabs(make_window: MakeWindow) -> None:
    window = make_window()
    index = window.add_tab(QLabel("triage"), "Triage")
    assert window.tabs.tabText(0) == "Reading room"
    assert window.tabs.tabText(index) == "Triage"


def test_menus_show_their_shortcuts(make_window: MakeWindow) -> None:
    window = make_window()
    shortcuts = {
        action.text(): action.shortcut().toString()
        for menu in window.menuBar().findChildren(type(window.presets_menu))
        for action in menu.actions()
    }
    assert shortcuts["&Heatmap overlay"] == "H"
    assert shortcuts["&Invert"] == "I"
    assert shortcuts["&Open file(s)…"] == "Ctrl+O"


def test_layout_and_recent_files_survive_a_restart(
    qtbot: QtBot, make_window: MakeWindow, settings: Settings, fullres_dir: Path
) -> None:
    first = make_window()
    path = first_jpeg(fullres_dir)
    open_and_wait(qtbot, first, path)
    first.resize(1000, 700)
    first.close()
    second = make_window(settings)
    assert second.settings.recent_paths[0] == path.resolve()
    assert second.recent_menu.actions()[0].text() == str(path.resolve())


def test_the_heatmap_fades_below_the_operating_point_and_the_legend_says_so(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path
) -> None:
    """Grad-CAM is normalised per image, so a 2 % NORMAL image gets as hot a map as a 99 % one;
    the window must not show it as such (engine.inference.heatmap_strength)."""
    from PIL import Image

    image = tmp_path / "gray.png"
    Image.fromarray(np.full((96, 96), 128, dtype=np.uint8)).save(image)
    window = make_window()
    radiograph = open_and_wait(qtbot, window, image)
    window.panel.set_opacity(1.0)
    shape = (radiograph.height, radiograph.width)
    centre = (shape[0] // 2, shape[1] // 2)

    def overlay_at_centre() -> int:
        pixels = qimage_to_array(window.view.render_image())[..., :3].astype(int)
        gray = window.view.display_levels().astype(int)
        return int(np.abs(pixels[centre] - gray[centre]).max())

    window.show_prediction(fake_prediction(probability=0.99, threshold=0.4, shape=shape))
    assert overlay_at_centre() > 100  # the hot spot of a positive call, in full
    assert "full strength" in window.panel.strength_text

    window.show_prediction(fake_prediction(probability=0.02, threshold=0.4, shape=shape))
    assert overlay_at_centre() < 15, "a 2 % prediction shows a full-strength hot spot"
    assert "faded to 5% strength" in window.panel.strength_text

    window.panel.set_threshold(0.02)  # trying a lower operating point: the same image is positive
    assert overlay_at_centre() > 100
    assert "full strength" in window.panel.strength_text
