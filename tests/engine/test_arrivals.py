"""The arrivals queue: durable in the history database, claimed, completed, recovered after a
crash, and never emptied by anything but recorded predictions."""

from __future__ import annotations

import queue
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from engine.progress import Progress, ShouldStop, never_stop
from engine.workflows.arrivals import ArrivalQueue, predict_arrivals
from engine.workflows.history import History, HistoryError
from engine.workflows.triage import TriageRow
from tests.fakes import FakePrediction, FakeResult


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite"


def received(folder: Path, count: int) -> list[Path]:
    """``count`` files standing for received instances."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"1.2.{index}.dcm" for index in range(count)]
    for path in paths:
        path.write_bytes(b"received")
    return paths


def queue_of(history: History, paths: Sequence[Path], sender: str = "XRAY1") -> ArrivalQueue:
    """The history's arrivals queue, with ``paths`` queued as received from ``sender``."""
    arrivals = ArrivalQueue(history)
    for path in paths:
        arrivals.enqueue(path, sender)
    return arrivals


def fake_predict(paths: Sequence[Path], *, should_stop: ShouldStop) -> Iterator[FakeResult]:
    for path in paths:
        if should_stop():
            return
        yield FakeResult(path, FakePrediction(0.7, 0.4, "PNEUMONIA", "fake-1", path=path))


def ignore(_: Progress) -> None:
    """Progress is not what these tests check."""


def test_enqueue_claim_complete(db: Path, tmp_path: Path) -> None:
    first, second = received(tmp_path / "in", 2)
    with History(db) as history:
        arrivals = ArrivalQueue(history)
        arrivals.enqueue(first, "XRAY1")
        arrivals.enqueue(second, "XRAY2")
        arrivals.enqueue(first, "XRAY1")  # sent again: still one row
        assert [a.path for a in arrivals.pending()] == [first, second]
        claimed = arrivals.claim()
        assert [(a.path, a.sender) for a in claimed] == [(first, "XRAY1"), (second, "XRAY2")]
        assert arrivals.claim() == [], "a claimed arrival is not handed out twice"
        assert ArrivalQueue(history).claim() == [], "nor to another queue"
        arrivals.complete(first)
        assert [a.path for a in arrivals.pending()] == [second]


def test_arrivals_survive_closing_and_reopening(db: Path, tmp_path: Path) -> None:
    paths = received(tmp_path / "in", 3)
    with History(db) as history:
        arrivals = queue_of(history, paths)
    with History(db) as history:
        arrivals = ArrivalQueue(history)
        assert arrivals.recover() == 3
        assert [a.path for a in arrivals.claim(limit=2)] == paths[:2]
        assert [a.path for a in arrivals.claim(limit=2)] == paths[2:]


def test_a_crash_before_the_predictions_leaves_the_arrivals_to_the_next_start(
    db: Path, tmp_path: Path
) -> None:
    """Closed (the process dying) after claiming, without completing or releasing: the next
    session's queue gets every arrival back."""
    paths = received(tmp_path / "in", 2)
    history = History(db)
    arrivals = queue_of(history, paths)
    assert len(arrivals.claim()) == 2
    history.close()
    with History(db) as history:
        arrivals = ArrivalQueue(history)
        assert arrivals.claim() == [], "the dead session's claims hold until recovered"
        assert arrivals.recover() == 2
        assert [a.path for a in arrivals.claim()] == paths


def test_predict_arrivals_records_each_prediction_then_completes_it(
    db: Path, tmp_path: Path
) -> None:
    paths = received(tmp_path / "in", 3)
    sink: queue.SimpleQueue[TriageRow] = queue.SimpleQueue()
    with History(db) as history:
        arrivals = queue_of(history, paths)
        summary = predict_arrivals(
            arrivals, fake_predict, sink, history, on_progress=ignore, should_stop=never_stop
        )
        assert (summary.total, summary.done, summary.history_error) == (3, 3, "")
        assert arrivals.pending() == []
        recorded = sorted(entry.path for entry in history.query())
        assert recorded == [str(path) for path in paths]
        assert {entry.image_source for entry in history.query()} == {"XRAY1"}
    assert [sink.get_nowait().path for _ in paths] == paths


def test_arrivals_not_predicted_before_a_stop_wait_again(db: Path, tmp_path: Path) -> None:
    paths = received(tmp_path / "in", 4)
    sink: queue.SimpleQueue[TriageRow] = queue.SimpleQueue()
    done: list[Progress] = []

    def stop_after_two() -> bool:
        return len(done) > 2  # the headers' report, then two files

    with History(db) as history:
        arrivals = queue_of(history, paths)
        summary = predict_arrivals(
            arrivals, fake_predict, sink, history, on_progress=done.append,
            should_stop=stop_after_two,
        )  # fmt: skip
        assert (summary.done, summary.cancelled) == (2, True)  # stopped in the first lot
        assert [a.path for a in arrivals.pending()] == paths[2:]
        assert [a.path for a in arrivals.claim()] == paths[2:], "released, not left claimed"


def test_arrivals_are_predicted_lot_by_lot_until_none_waits_or_a_batch_wants_its_turn(
    db: Path, tmp_path: Path
) -> None:
    paths = received(tmp_path / "in", 5)
    sink: queue.SimpleQueue[TriageRow] = queue.SimpleQueue()
    lots: list[Progress] = []
    with History(db) as history:
        arrivals = queue_of(history, paths)
        summary = predict_arrivals(
            arrivals, fake_predict, sink, history, on_progress=lots.append,
            should_stop=never_stop, give_way=lambda: len(lots) > 0, limit=2,
        )  # fmt: skip
        assert (summary.total, summary.done, summary.cancelled) == (2, 2, False)
        assert [a.path for a in arrivals.pending()] == paths[2:], "the others wait their turn"
        summary = predict_arrivals(
            arrivals, fake_predict, sink, history, on_progress=ignore, should_stop=never_stop,
            limit=2,
        )  # fmt: skip
        assert (summary.total, summary.done) == (3, 3)
        assert arrivals.pending() == []
        assert history.count() == 5


def test_an_arrival_whose_prediction_cannot_be_recorded_stays_queued(
    db: Path, tmp_path: Path
) -> None:
    (path,) = received(tmp_path / "in", 1)
    history = History(db)
    arrivals = queue_of(history, [path])

    class Full(History):
        def add(self, entry: object) -> object:  # type: ignore[override]
            raise HistoryError("History: the disk is full.")

    full = Full(db)
    sink: queue.SimpleQueue[TriageRow] = queue.SimpleQueue()
    summary = predict_arrivals(
        arrivals, fake_predict, sink, full, on_progress=ignore, should_stop=never_stop
    )
    assert summary.history_error == "History: the disk is full."
    assert sink.get_nowait().path == path, "the row is still listed"
    assert [a.path for a in arrivals.pending()] == [path]
    full.close()
    history.close()
