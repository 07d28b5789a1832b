"""Drift per source in the window: the Triage tab's Source column, the Sources dialog and the
banner."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from engine.progress import ShouldStop
from tests.fakes import FakePrediction
from tests.viewer.helpers import fake_prediction, open_and_wait
from viewer.window import triage_and_history as triage_history_module
from viewer.window.main_window import MainWindow
from viewer.window.triage_and_history import TriageAndHistory

TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Result:
    path: Path
    prediction: FakePrediction | None = None
    error: str | None = None


def verdicts(paths: Sequence[Path], *, should_stop: ShouldStop) -> Iterator[Result]:
    """Stands in for ``predict_many``: files named out* are out of domain."""
    for path in paths:
        outside = path.name.startswith("out")
        yield Result(
            path, FakePrediction(0.6, 0.4, "PNEUMONIA", "fake-1", path=path, in_domain=not outside)
        )


def images(folder: Path, outside: int, inside: int, first: int = 0) -> list[Path]:
    """Distinct small PNGs (distinct bytes: the statistics count an image once)."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for number in range(first, first + outside + inside):
        name = f"out{number:03d}.png" if number - first < outside else f"in{number:03d}.png"
        pixels = np.full((8, 8), number % 256, np.uint8)
        pixels[0, 0] = number // 256
        Image.fromarray(pixels).save(folder / name)
        made.append(folder / name)
    return made


@pytest.fixture
def triage_history(
    make_window: Callable[..., MainWindow], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> TriageAndHistory:
    """The Triage and History tabs of a main window whose history is a temporary database, with
    a fake model."""
    monkeypatch.setattr(
        triage_history_module, "default_history_path", lambda: tmp_path / "h.sqlite"
    )
    window = make_window()
    window.triage_history.triage_list.set_batch_predictor(verdicts)
    return window.triage_history


def triage(
    qtbot: QtBot, triage_history: TriageAndHistory, paths: Sequence[Path], **senders: str
) -> None:
    """Run the triage list over ``paths`` (as received from ``senders`` when given) and wait."""
    with qtbot.waitSignal(triage_history.triage_list.finished, timeout=TIMEOUT_MS):
        if senders:
            for path in paths:
                triage_history.triage_list.arrivals.enqueue(path, senders["ae"])
            triage_history.triage_list.predict_arrivals()
        else:
            triage_history.triage_list.run(list(paths))


def test_banner_names_a_source_past_20_percent_and_can_be_dismissed(
    qtbot: QtBot, triage_history: TriageAndHistory, tmp_path: Path
) -> None:
    site = tmp_path / "site_a"
    triage(qtbot, triage_history, images(site, outside=11, inside=39))
    banner = triage_history.drift_banner
    qtbot.waitUntil(banner.isVisible, timeout=TIMEOUT_MS)  # the watch's own timer found it
    assert f"Images from {site}: 11 of the last 50 (22%)" in banner.text()
    assert "commission the model for this site" in banner.text()
    assert {row.source for row in triage_history.triage_list.rows()} == {str(site)}

    QTest.mouseClick(banner.close_button, Qt.MouseButton.LeftButton)
    assert not banner.isVisible()
    assert triage_history.drift_watch is not None and triage_history.drift_watch.check() == []
    assert not banner.isVisible()  # dismissed, and no new image from the site since

    triage(qtbot, triage_history, images(site, outside=1, inside=0, first=50))
    qtbot.waitUntil(banner.isVisible, timeout=TIMEOUT_MS)  # still drifting after a new image
    assert "11 of the last 50 (22%)" in banner.text()  # the oldest fell out of the window

    triage(qtbot, triage_history, images(site, outside=0, inside=10, first=51))
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=TIMEOUT_MS)  # back under 20 %


@pytest.mark.parametrize(("outside", "inside"), [(10, 40), (3, 6)], ids=["20%", "9 images"])
def test_no_banner_at_20_percent_or_below_10_images(
    qtbot: QtBot, triage_history: TriageAndHistory, tmp_path: Path, outside: int, inside: int
) -> None:
    triage(qtbot, triage_history, images(tmp_path / "site", outside, inside))
    assert triage_history.history is not None and triage_history.history.count() == outside + inside
    assert triage_history.drift_watch is not None and triage_history.drift_watch.check() == []
    assert not triage_history.drift_banner.isVisible()


def test_sources_dialog_lists_each_source(
    qtbot: QtBot, triage_history: TriageAndHistory, tmp_path: Path
) -> None:
    triage(qtbot, triage_history, images(tmp_path / "local", outside=2, inside=8))
    received = images(tmp_path / "received" / "1.2.3", outside=0, inside=4, first=100)
    triage(qtbot, triage_history, received, ae="CR_ROOM_2")
    assert [row.source for row in triage_history.triage_list.rows()[-4:]] == ["CR_ROOM_2"] * 4
    assert triage_history.history_view is not None and triage_history.sources_dialog is not None
    triage_history.history_view.window().show()
    QTest.mouseClick(triage_history.history_view.sources_button, Qt.MouseButton.LeftButton)
    dialog = triage_history.sources_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=TIMEOUT_MS)
    rows = {stats.source: stats for stats in dialog.sources()}
    assert set(rows) == {"CR_ROOM_2", str(tmp_path / "local")}
    local = rows[str(tmp_path / "local")]
    assert (local.predictions, local.outside, local.checked) == (10, 2, 10)
    assert dialog.model.data(dialog.model.index(0, 2)) == "20% (2 of 10)"  # sorted by name
    assert rows["CR_ROOM_2"].mean_probability == pytest.approx(0.6)


def test_an_arrival_opened_in_the_reading_room_keeps_its_sender(
    qtbot: QtBot, triage_history: TriageAndHistory, tmp_path: Path
) -> None:
    received = images(tmp_path / "received" / "1.2.3", outside=0, inside=1)
    triage(qtbot, triage_history, received, ae="CR_ROOM_2")
    history = triage_history.history
    assert history is not None and history.count() == 1
    window = triage_history.parent()
    assert isinstance(window, MainWindow)
    open_and_wait(qtbot, window, received[0])
    shown = replace(fake_prediction(0.3, 0.4), path=received[0], in_domain=True)
    window.reading_room.show_prediction(shown)  # as the model's result arrives
    qtbot.waitUntil(lambda: history.count() == 2, timeout=TIMEOUT_MS)
    newest = history.query(limit=1)[0]
    assert (newest.source, newest.image_source, newest.in_domain) == ("viewer", "CR_ROOM_2", True)
