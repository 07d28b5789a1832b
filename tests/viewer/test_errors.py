"""Errors become messages: typed engine errors in the banner, bugs in a dialog, never a crash."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from engine import ImageReadError, ModelFileError
from viewer.errors import ErrorBanner, describe, install_excepthooks


def test_describe_keeps_engine_messages_and_flags_bugs(tmp_path) -> None:
    error = ImageReadError(tmp_path / "x.dcm", "The file is empty (0 bytes).", "Copy it again.")
    title, message = describe(error)
    assert title == "The image cannot be opened" and message == str(error)
    assert describe(ModelFileError("bad card"))[0] == "The model cannot be used"
    title, message = describe(ZeroDivisionError("division by zero"))
    assert title == "Unexpected error" and "ZeroDivisionError" in message


def test_banner_shows_and_hides(qtbot: QtBot) -> None:
    banner = ErrorBanner()
    qtbot.addWidget(banner)
    banner.show_error(ModelFileError("The card is missing."))
    assert banner.isVisible() and "The card is missing." in banner.text()
    banner.hide()
    assert banner.text() == ""


@pytest.fixture
def hooks(qtbot: QtBot) -> Iterator[QWidget]:
    parent = QWidget()
    qtbot.addWidget(parent)
    saved = sys.excepthook, threading.excepthook
    install_excepthooks(lambda: parent)
    yield parent
    sys.excepthook, threading.excepthook = saved


def open_dialogs() -> list[QMessageBox]:
    return [
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    ]


def test_uncaught_exceptions_in_any_thread_open_a_dialog(
    qtbot: QtBot, hooks: QWidget, capsys: pytest.CaptureFixture
) -> None:
    def boom() -> None:
        raise RuntimeError("worker bug")

    thread = threading.Thread(target=boom)
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: bool(open_dialogs()), timeout=2_000)
    dialog = open_dialogs()[0]
    assert "worker bug" in dialog.text() and "RuntimeError" in dialog.detailedText()
    dialog.close()
    assert "worker bug" in capsys.readouterr().err
