"""Start Hilum as ``hilum view FILE`` does and report, as JSON on stdout, what the window showed.

Run as ``python -m tests.viewer.cold_start_driver FILE`` in a fresh process (see
``test_cold_start.py``): it calls the console command's :func:`viewer.entry.main` with
``["view", FILE]`` and watches the real window from the event loop until the prediction of
``FILE`` is recorded in the history database, an error shows, or :data:`GIVE_UP_SECONDS` pass.
Then it prints one :data:`VERDICT` line and quits the application. The verdict also carries what
the Training tab says when it is the reading room's note (``test_reading_room_alone.py``).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from viewer.entry import main
from viewer.training.availability import WorkstationNote
from viewer.window.main_window import MainWindow
from viewer.window.triage_and_history import default_history_path

#: The verdict line's prefix (the application prints other things on stdout too).
VERDICT = "HILUM-COLD-START "
#: Longest the driver waits for the prediction (TensorFlow's cold import takes ~4 s alone).
GIVE_UP_SECONDS = 240.0
_POLL_MS = 250


def recorded_predictions(file: Path) -> list[dict[str, Any]]:
    """The rows of the history database (in the user's data folder) about ``file``."""
    database = default_history_path()
    if not database.exists():
        return []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute(
            "SELECT path, model_id, probability, label FROM predictions WHERE path = ?",
            (str(file),),
        )
        return [dict(row) for row in rows]


def observe(file: Path) -> dict[str, Any]:
    """What the application shows now: the image's source, error dialogs and banner, records."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    windows = [w for w in app.topLevelWidgets() if isinstance(w, MainWindow)]
    dialogs = [
        f"{box.windowTitle()}: {box.text()}"
        for box in app.topLevelWidgets()
        if isinstance(box, QMessageBox) and box.isVisible()
    ]
    room = windows[0].reading_room if windows else None
    radiograph = room.view.radiograph if room is not None else None
    note = windows[0].training_tab if windows else None
    return {
        "window": bool(windows),
        "training_note": note.message.text() if isinstance(note, WorkstationNote) else None,
        "image": str(radiograph.source) if radiograph is not None else None,
        "dialogs": dialogs,
        "banner": room.banner.text() if room is not None else "",
        "records": recorded_predictions(file),
    }


def watch(file: Path) -> None:
    """Poll the window until the verdict on ``file`` is known, print it and quit."""
    watch_until(lambda: observe(file), lambda seen: bool(seen["records"]))


def watch_until(look: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool]) -> None:
    """Poll ``look()`` from the event loop until ``done(seen)``, an error shows or
    :data:`GIVE_UP_SECONDS` pass; then print the last ``seen`` as the verdict and quit."""
    deadline = time.monotonic() + GIVE_UP_SECONDS

    def poll() -> None:
        seen = look()
        if done(seen) or seen["dialogs"] or seen["banner"] or time.monotonic() > deadline:
            print(VERDICT + json.dumps(seen), flush=True)
            QApplication.quit()
            return
        QTimer.singleShot(_POLL_MS, poll)

    QTimer.singleShot(_POLL_MS, poll)


def run(file: Path) -> int:
    """Start the viewer on ``file`` through the console command's entry point; its exit code."""
    QApplication([sys.argv[0]])  # run_viewer uses this instance: the watch can be set up first
    watch(file)
    return main(["view", str(file)])


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
