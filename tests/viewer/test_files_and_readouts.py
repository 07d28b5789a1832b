"""What the window tells about files and itself: the open dialog hides no DICOM file without an
extension, the reason a file was skipped can be read whole, the About box names the version, a
multi-frame image says which frame is on screen and changes frame by key and button."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog, QFileDialog, QListView, QPlainTextEdit
from pytestqt.qtbot import QtBot

from tests.viewer.helpers import LOAD_TIMEOUT_MS, open_and_wait, show_widget
from viewer.jobs import JobRunner
from viewer.reading_room.study_browser import StudyBrowser
from viewer.window import dialogs
from viewer.window.main_window import IMAGE_FILTER, MainWindow

MakeWindow = Callable[..., MainWindow]


@pytest.fixture
def dicom_without_extension(tmp_path: Path, dicom_dir: Path) -> Path:
    """A real DICOM file named as archives name them: no extension."""
    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copyfile(dicom_dir / "RG1_UNCR.dcm", folder / "IM00001")
    shutil.copyfile(dicom_dir / "CR-MONO1-10-chest.dcm", folder / "chest.dcm")
    return folder / "IM00001"


def test_the_open_dialog_lists_dicom_files_without_an_extension(
    qtbot: QtBot, dicom_without_extension: Path
) -> None:
    folder = dicom_without_extension.parent
    dialog = QFileDialog(None, "Open images", str(folder), IMAGE_FILTER)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)  # the same filters, inspectable
    show_widget(qtbot, dialog)
    listing = dialog.findChild(QListView, "listView")

    def names() -> set[str]:
        model, root = listing.model(), listing.rootIndex()
        return {model.index(row, 0, root).data() for row in range(model.rowCount(root))}

    qtbot.waitUntil(lambda: "chest.dcm" in names(), timeout=LOAD_TIMEOUT_MS)
    assert dialog.selectedNameFilter() == IMAGE_FILTER.split(";;")[0]  # the default
    assert "IM00001" in names()  # the old default, "Images (*.dcm ...)", hid it


def test_a_dicom_file_without_an_extension_opens_by_its_content(
    qtbot: QtBot, make_window: MakeWindow, dicom_without_extension: Path
) -> None:
    window = make_window()
    radiograph = open_and_wait(qtbot, window, dicom_without_extension)
    assert radiograph.format == "DICOM" and radiograph.source == dicom_without_extension


def test_the_whole_reason_of_a_skipped_file_can_be_read(
    qtbot: QtBot, tmp_path: Path, dicom_dir: Path
) -> None:
    shutil.copyfile(dicom_dir / "CR-MONO1-10-chest.dcm", tmp_path / "chest.dcm")
    (tmp_path / "notes.jpg").write_bytes(b"not an image at all, though its name says JPEG")
    browser = show_widget(qtbot, StudyBrowser(JobRunner()), (260, 400))  # as narrow as it gets
    with qtbot.waitSignal(browser.index_ready, timeout=LOAD_TIMEOUT_MS) as blocker:
        browser.open_paths([tmp_path])
    (skipped,) = blocker.args[0].skipped
    assert len(skipped.reason) > 60  # longer than the column shows
    tree = browser.tree
    node = tree.findItems("Skipped (1)", Qt.MatchFlag.MatchStartsWith, 0)[0]
    QTest.mouseClick(
        tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(node).center()
    )
    QTest.keyClick(tree, Qt.Key.Key_Right)  # expand
    QTest.keyClick(tree, Qt.Key.Key_Down)  # the skipped file
    assert tree.currentItem().text(0) == "notes.jpg"
    assert browser.reason_text == f"{skipped.path}: {skipped.reason}"
    assert tree.currentItem().toolTip(1).startswith("<p>")  # rich text: the tooltip wraps
    browser.shutdown()


def test_the_about_box_names_the_version(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window()
    (about,) = [a for a in window.menuBar().actions() if a.text() == "&Help"]
    about.menu().actions()[0].trigger()
    (box,) = [d for d in window.findChildren(QDialog) if d.windowTitle() == "About Hilum"]
    text = box.findChild(QPlainTextEdit).toPlainText()
    box.reject()  # a window-modal box left open would block the input of later tests
    assert text.startswith(f"Hilum {metadata.version('hilum')} — ")


def test_the_version_falls_back_to_the_project_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    assert re.fullmatch(r"\d+\.\d+\.\d+", dialogs.hilum_version())  # pyproject.toml's
    monkeypatch.setattr(dialogs, "PYPROJECT", Path("/nonexistent/pyproject.toml"))
    assert dialogs.hilum_version() == "unknown"


def test_a_multiframe_image_says_its_frame_and_changes_it_by_key_and_button(
    qtbot: QtBot, make_window: MakeWindow, dicom_dir: Path
) -> None:
    window = make_window()
    with qtbot.waitActive(window):
        window.activateWindow()
    first = open_and_wait(qtbot, window, dicom_dir / "HasFragmentSequence_XA_JPEGbaseline.dcm")
    bar = window.reading_room.frames
    assert bar.isVisible() and bar.text == "Frame 1 / 96"
    assert not bar.buttons["previous"].isEnabled()
    window.view.setFocus()
    with qtbot.waitSignal(window.image_shown, timeout=LOAD_TIMEOUT_MS) as shown:
        QTest.keyClick(window.view, Qt.Key.Key_PageDown)
    assert shown.args[0].frame_index == 1 and bar.text == "Frame 2 / 96"
    with qtbot.waitSignal(window.image_shown, timeout=LOAD_TIMEOUT_MS) as shown:
        QTest.mouseClick(bar.buttons["last"], Qt.MouseButton.LeftButton)
    last = shown.args[0]
    assert last.frame_index == 95 and bar.text == "Frame 96 / 96"
    assert not bar.buttons["next"].isEnabled()
    assert np.abs(last.pixels - first.pixels).mean() > 0.01  # another frame is on screen
    open_and_wait(qtbot, window, dicom_dir / "CR-MONO1-10-chest.dcm")
    assert not bar.isVisible() and bar.text == ""
