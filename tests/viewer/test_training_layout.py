"""The Training tab as a user first sees it: its buttons in sight at 1600 x 1000, where models
are saved, with real clicks to open and change the folder, an unreadable file's whole reason (the
curves' colours: tests/engine/test_plots.py)."""

from __future__ import annotations

import html
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog, QPushButton, QScrollArea, QWidget
from pytestqt.qtbot import QtBot

from tests.viewer.helpers import show_widget
from viewer.training.dataset_panel import DatasetPanel
from viewer.window.main_window import MainWindow

MakeWindow = Callable[..., MainWindow]


def fully_visible(widget: QWidget) -> bool:
    """True when all of ``widget`` is on screen: shown, and clipped by no scroll area."""
    return widget.isVisible() and widget.visibleRegion().boundingRect() == widget.rect()


def button(parent: QWidget, text: str) -> QPushButton:
    (found,) = [b for b in parent.findChildren(QPushButton) if b.text() == text]
    return found


def test_choose_start_and_cancel_are_in_sight_at_1600_by_1000(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window()
    window.resize(1600, 1000)
    window.tabs.setCurrentWidget(window.training_tab)
    tab = window.training_tab
    qtbot.waitUntil(lambda: tab.isVisible())
    column = tab.findChild(QScrollArea)
    assert column.horizontalScrollBar().maximum() == 0  # nothing to scroll sideways to
    choose = button(tab.dataset, "Choose…")
    for widget in (choose, tab.start_button, tab.cancel_button, tab.model_folder.open_button):
        assert fully_visible(widget), widget


class UrlCatcher(QObject):
    """Takes the place of the file manager: records the URLs Hilum asks the system to open."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_the_tab_says_where_models_are_saved_and_opens_or_changes_it(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    window.tabs.setCurrentWidget(window.training_tab)
    row = window.training_tab.model_folder
    home_models = Path.home() / "Hilum" / "models"
    assert row.label.text() == f"Trained models are saved in {home_models}"
    chosen = tmp_path / "site models"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(chosen))
    QTest.mouseClick(button(row, "Change…"), Qt.MouseButton.LeftButton)
    assert row.label.text() == f"Trained models are saved in {chosen}"
    assert window.training_tab.settings.model_folder == chosen
    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        QTest.mouseClick(row.open_button, Qt.MouseButton.LeftButton)
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [url.toLocalFile() for url in catcher.urls] == [str(chosen)]
    assert chosen.is_dir()  # created, so that there is something to open


def test_an_unreadable_training_file_has_its_whole_reason_in_a_wrapping_tooltip(
    qtbot: QtBot, tiny_train_set: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    shutil.copytree(tiny_train_set, folder)
    (folder / "NORMAL" / "broken.jpeg").write_bytes(b"\xff\xd8\xff\xe0 cut short")
    panel = show_widget(qtbot, DatasetPanel(), (420, 400))
    with qtbot.waitSignal(panel.scanned, timeout=60_000) as blocker:
        panel.set_folder(folder)
    ((path, reason),) = blocker.args[0].unreadable
    assert path.name == "broken.jpeg"
    assert panel.status.toolTip() == f"<p>{html.escape(f'{path}: {reason}')}</p>"
