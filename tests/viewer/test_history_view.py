"""The History tab: lists the database, survives reopening, filters, follows new entries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolButton
from pytestqt.qtbot import QtBot

from engine.workflows.history import History, HistoryError
from engine.workflows.history_entry import HistoryEntry
from tests.viewer.helpers import show_widget
from viewer.history import history_view
from viewer.history.history_view import ANY, POLL_MS, HistoryView


def entry(path: str, probability: float, model_id: str = "cnn-1") -> HistoryEntry:
    label = "PNEUMONIA" if probability >= 0.5 else "NORMAL"
    return HistoryEntry(path, "c0" * 32, model_id, probability, 0.5, label, source="viewer")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite"
    with History(path) as history:
        history.add(entry("/ward/alice/chest.dcm", 0.91))
        history.add(entry("/ward/bob/chest.jpeg", 0.12))
        history.add(entry("/clinic/carol.png", 0.66, model_id="mobilenet-2"))
    return path


@pytest.fixture
def make_view(qtbot: QtBot) -> Iterator[Callable[[Path], HistoryView]]:
    """Factory of shown history views; their databases are closed afterwards."""
    opened: list[History] = []

    def factory(path: Path) -> HistoryView:
        history = History(path)
        opened.append(history)
        return show_widget(qtbot, HistoryView(history))

    yield factory
    for history in opened:
        history.close()


def names(view: HistoryView) -> list[str]:
    return [Path(e.path).name for e in view.entries()]


def test_lists_every_entry_newest_first(make_view: Callable[[Path], HistoryView], db: Path) -> None:
    view = make_view(db)
    assert names(view) == ["carol.png", "chest.jpeg", "chest.dcm"]
    assert view.count_label.text() == "3 of 3 predictions"
    assert view.table.proxy.index(0, 2).data() == "0.660"


def test_history_survives_closing_and_reopening_the_view_and_database(
    qtbot: QtBot, make_view: Callable[[Path], HistoryView], db: Path
) -> None:
    first = make_view(db)
    first.history.add(entry("/ward/dave.png", 0.8))
    first.close()
    first.history.close()
    reopened = make_view(db)
    assert names(reopened) == ["dave.png", "carol.png", "chest.jpeg", "chest.dcm"]


def test_text_label_and_model_filters(make_view: Callable[[Path], HistoryView], db: Path) -> None:
    view = make_view(db)
    view.text_filter.setText("WARD")
    assert names(view) == ["chest.jpeg", "chest.dcm"]
    view.label_filter.setCurrentText("PNEUMONIA")
    assert names(view) == ["chest.dcm"]
    view.text_filter.clear()
    view.label_filter.setCurrentText(ANY)
    models = [view.model_filter.itemText(i) for i in range(view.model_filter.count())]
    assert models == [ANY, "cnn-1", "mobilenet-2"]
    view.model_filter.setCurrentText("mobilenet-2")
    assert names(view) == ["carol.png"]
    assert view.count_label.text() == "1 of 3 predictions"


def test_refreshes_when_entries_are_added_elsewhere(
    qtbot: QtBot, make_view: Callable[[Path], HistoryView], db: Path
) -> None:
    """An entry written by another connection (the CLI, the triage list) appears by itself."""
    view = make_view(db)
    view.model_filter.setCurrentText("cnn-1")
    with History(db) as other:
        other.add(entry("/ward/erin.png", 0.7, model_id="densenet-3"))
        other.add(entry("/ward/frank.png", 0.3))
    qtbot.waitUntil(lambda: "frank.png" in names(view), timeout=5 * POLL_MS)
    assert "erin.png" not in names(view)  # the model filter still applies
    assert view.model_filter.currentText() == "cnn-1"
    assert "densenet-3" in [view.model_filter.itemText(i) for i in range(view.model_filter.count())]


#: Probabilities whose text sorts differently from their values: as Python writes them
#: ("1e-05" after "0.9"), and as the table shows them (0.0951 and 0.0949 both read "0.095", and
#: are recorded in the wrong order for one direction, so a text sort fails either way).
TRICKY_PROBABILITIES = (0.9, 0.10, 0.0951, 0.0949, 1e-05, 1.0, 0.095)


def test_sorting_by_probability_is_numeric(
    make_view: Callable[[Path], HistoryView], tmp_path: Path
) -> None:
    view = make_view(tmp_path / "tricky.sqlite")
    for index, probability in enumerate(TRICKY_PROBABILITIES):
        view.history.add(entry(f"/x/{index}.png", probability))
    view.refresh()
    numeric = sorted(TRICKY_PROBABILITIES)
    view.table.sortByColumn(2, Qt.SortOrder.AscendingOrder)
    assert [e.probability for e in view.entries()] == numeric
    assert view.table.proxy.index(0, 2).data() == "0.000"
    view.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    assert [e.probability for e in view.entries()] == numeric[::-1]
    assert view.table.proxy.index(0, 2).data() == "1.000"


def test_double_click_asks_to_open_the_file(
    qtbot: QtBot, make_view: Callable[[Path], HistoryView], db: Path
) -> None:
    view = make_view(db)
    index = view.table.proxy.index(1, 1)
    point = view.table.visualRect(index).center()
    with qtbot.waitSignal(view.open_requested, timeout=5_000) as blocker:
        qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=point)
        qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert blocker.args == [Path("/ward/bob/chest.jpeg")]


def test_an_unreadable_database_is_shown_in_the_banner(
    make_view: Callable[[Path], HistoryView], db: Path
) -> None:
    view = make_view(db)
    view.history.close()
    view.refresh()
    assert "cannot be read" in view.banner.text()
    assert names(view) == ["carol.png", "chest.jpeg", "chest.dcm"]  # what was listed stays


def test_each_entry_shows_the_checks_verdict_and_no_label_when_outside(
    make_view: Callable[[Path], HistoryView], db: Path
) -> None:
    outside = "Not a chest radiograph: the DICOM header says body part HIP."
    with History(db) as history:
        history.add(replace(entry("/ward/hip.dcm", 0.99), in_domain=False, outside=outside))
        history.add(replace(entry("/ward/dan.jpeg", 0.3), in_domain=True, domain_score=0.4))
    view = make_view(db)
    proxy = view.table.proxy
    titles = [
        view.model.headerData(i, Qt.Orientation.Horizontal) for i in range(proxy.columnCount())
    ]
    label, verdict, probability = (titles.index(t) for t in ("Label", "Verdict", "Probability"))
    rows = {Path(e.path).name: row for row, e in enumerate(view.entries())}

    def cell(name: str, column: int) -> str:
        return str(proxy.index(rows[name], column).data())

    assert (cell("hip.dcm", verdict), cell("hip.dcm", label)) == ("Not chest", "—")
    assert cell("hip.dcm", probability) == "0.990 (unvalidated)"
    assert (cell("dan.jpeg", verdict), cell("dan.jpeg", label)) == ("Validated", "NORMAL")
    assert cell("chest.jpeg", verdict) == "No domain check"  # recorded without the check


def test_a_failing_check_for_new_entries_is_shown_once_then_cleared_when_it_works(
    qtbot: QtBot, make_view: Callable[[Path], HistoryView], db: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Issue 19: the once-a-second check hid its errors, so the list silently stopped
    following the database. Now the banner says so, once, and the check backs off."""
    monkeypatch.setattr(history_view, "RETRY_MS", 1500)  # 30 s in use
    view = make_view(db)
    newest = view.history.last_id
    failures: list[int] = []

    def unreadable() -> int:
        failures.append(1)
        raise HistoryError(f"History {db}: cannot be read (disk I/O error).")

    monkeypatch.setattr(view.history, "last_id", unreadable)
    qtbot.waitUntil(view.banner.isVisible, timeout=5 * POLL_MS)
    assert "disk I/O error" in view.banner.text()
    assert "checks again every 1 s" in view.banner.text()
    QTest.mouseClick(view.banner.findChild(QToolButton), Qt.MouseButton.LeftButton)
    seen = len(failures)
    qtbot.waitUntil(lambda: len(failures) > seen + 1, timeout=10 * POLL_MS)
    assert not view.banner.isVisible(), "the same failure is not shown again"

    view.history.add(entry("/ward/dave.png", 0.4))
    monkeypatch.setattr(view.history, "last_id", newest)
    qtbot.waitUntil(lambda: "dave.png" in names(view), timeout=10 * POLL_MS)
    assert not view.banner.isVisible()


def test_an_entry_without_a_hash_says_why(
    make_view: Callable[[Path], HistoryView], tmp_path: Path
) -> None:
    view = make_view(tmp_path / "unhashed.sqlite")
    reason = "/ward/gone.png could not be read to hash it when recorded (No such file)"
    view.history.add(replace(entry("/ward/gone.png", 0.3), sha256=None, hash_error=reason))
    view.refresh()
    cell = view.table.proxy.index(0, 9)
    assert cell.data() == "not hashed"
    assert cell.data(Qt.ItemDataRole.ToolTipRole) == f"No content hash: {reason}."
