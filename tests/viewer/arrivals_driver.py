"""Two sessions of Hilum for the arrivals queue's restart test (``test_cold_start.py``).

``python -m tests.viewer.arrivals_driver died FILE...`` is the session that died: it queues the
files as images received from XRAY1 in the history database of the user's data folder, claims
them for prediction, and ends without predicting them or cleaning up (``os._exit``).
``python -m tests.viewer.arrivals_driver start FILE...`` then starts Hilum as plain ``hilum``
does and watches the real window until the files' predictions are recorded and the queue is
empty (or an error shows), printing a :data:`tests.viewer.cold_start_driver.VERDICT` line.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from engine.workflows.arrivals import ArrivalQueue
from engine.workflows.history import History
from tests.viewer.cold_start_driver import observe, recorded_predictions, watch_until
from viewer.app import APPLICATION, ORGANIZATION
from viewer.entry import main
from viewer.window.main_window import MainWindow
from viewer.window.triage_and_history import default_history_path


def died(files: list[Path]) -> None:
    """Queue ``files`` as received, claim them, and die before predicting any."""
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    arrivals = ArrivalQueue(History(default_history_path()))
    for file in files:
        arrivals.enqueue(file, "XRAY1")
    assert len(arrivals.claim()) == len(files)
    sys.stdout.flush()
    os._exit(0)


def waiting() -> int:
    """Arrivals still in the queue of the history database."""
    with sqlite3.connect(f"file:{default_history_path()}?mode=ro", uri=True) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM arrivals").fetchone()[0])


def look(files: list[Path]) -> dict[str, Any]:
    """What the application shows of the arrivals: the triage list's rows, the records, the
    queue, and any error dialog or banner."""
    seen = observe(files[0])
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
    triage_list = window.triage_history.triage_list
    seen["banner"] = seen["banner"] or (
        triage_list.banner.text() if triage_list.banner.isVisible() else ""
    )
    seen["records"] = [record for file in files for record in recorded_predictions(file)]
    seen["listed"] = sorted(str(row.path) for row in triage_list.rows())
    seen["waiting"] = waiting()
    return seen


def start(files: list[Path]) -> int:
    """Start the viewer as ``hilum`` does, watching until every file is predicted."""
    QApplication([sys.argv[0]])
    watch_until(
        lambda: look(files),
        lambda seen: len(seen["records"]) == len(files) and seen["waiting"] == 0,
    )
    return main([])


if __name__ == "__main__":
    mode, *names = sys.argv[1:]
    paths = [Path(name) for name in names]
    if mode == "died":
        died(paths)
    sys.exit(start(paths))
