"""Fixtures for viewer tests: windows that clean up after themselves, temporary settings.

``make_window`` follows napari's ``make_napari_viewer``: the test asks for as many windows as it
needs and the fixture closes them, stops their background work and checks nothing was left
running, whatever the test did.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QStandardPaths
from pytestqt.qtbot import QtBot

from tests.viewer.helpers import show_widget
from viewer.jobs import JobRunner
from viewer.settings import Settings
from viewer.window import triage_and_history
from viewer.window.main_window import MainWindow

# The window's history database and any other per-user file go to Qt's test locations
# (~/.qttest), never to the user's real data folder.
QStandardPaths.setTestModeEnabled(True)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings in a temporary INI file (never the user's real preferences)."""
    return Settings(QSettings(str(tmp_path / "hilum.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def make_window(
    qtbot: QtBot, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., MainWindow]]:
    """Factory of shown main windows; every window is closed and its jobs joined afterwards.

    Their history is the test's own (not the one in ~/.qttest shared by every run): arrivals
    a failed run left in a shared queue would be predicted in the next run's windows."""
    history = tmp_path / "window-history.sqlite"
    monkeypatch.setattr(triage_and_history, "default_history_path", lambda: history)
    windows: list[MainWindow] = []

    def factory(store: Settings | None = None) -> MainWindow:
        window = show_widget(qtbot, MainWindow(store or settings), (1200, 800))
        windows.append(window)
        return window

    yield factory
    for window in windows:
        window.close()  # asks nothing: a test that trains answers the question itself
        assert window.shutdown(), "the window's background work did not stop in time"
        assert window.training_tab.shutdown(), "the Training tab's work did not stop in time"
        busy = [runner for runner in window.findChildren(JobRunner) if not runner.wait(0)]
        assert not busy, f"{len(busy)} job runner(s) still had work queued or running"
    # The decoder pool's processes (one pool per process by design, closed at exit) are not
    # multiprocessing children; any multiprocessing child a window started must be gone.
    children = multiprocessing.active_children()
    assert not children, f"child processes outlived the test: {[c.name for c in children]}"
