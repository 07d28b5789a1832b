"""The prediction history: storing, filtering, reopening, crash safety, threads, schema."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import textwrap
import threading
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.workflows import history as history_module
from engine.workflows.arrivals import ArrivalQueue
from engine.workflows.history import History, HistoryError
from engine.workflows.history_entry import HistoryEntry
from tests.fakes import FakePrediction


def entry(path: str, probability: float = 0.5, **changes: object) -> HistoryEntry:
    fields: dict[str, object] = {
        "path": path,
        "sha256": "ab" * 32,
        "model_id": "cnn-1",
        "probability": probability,
        "threshold": 0.4,
        "label": "PNEUMONIA" if probability >= 0.4 else "NORMAL",
        "source": "worklist",
    }
    fields.update(changes)
    return HistoryEntry(**fields)  # type: ignore[arg-type]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite"


def test_add_then_query_round_trips_every_field(db: Path) -> None:
    with History(db) as history:
        stored = history.add(entry("/x/a.dcm", 0.91, warnings=("out of distribution",)))
        assert stored.id > 0
        assert history.query() == [stored]
        assert history.count() == 1
        assert history.last_id() == stored.id


def test_query_is_newest_first_and_limited(db: Path) -> None:
    with History(db) as history:
        for index in range(5):
            history.add(entry(f"/x/{index}.png"))
        assert [e.path for e in history.query(limit=3)] == ["/x/4.png", "/x/3.png", "/x/2.png"]
        assert len(history.query(limit=None)) == 5


def test_filters_by_text_label_model_and_dates(db: Path) -> None:
    now = datetime.now(UTC)
    with History(db) as history:
        history.add(entry("/ward/Child_A.dcm", 0.9, time=(now - timedelta(days=3)).isoformat()))
        history.add(entry("/ward/child_b.jpeg", 0.1, model_id="mobilenet-2"))
        history.add(entry("/other/100%_sure.png", 0.7))
        assert {e.path for e in history.query(text="CHILD")} == {
            "/ward/Child_A.dcm",
            "/ward/child_b.jpeg",
        }
        assert [e.path for e in history.query(text="%_")] == ["/other/100%_sure.png"]
        assert [e.path for e in history.query(label="NORMAL")] == ["/ward/child_b.jpeg"]
        assert [e.path for e in history.query(model_id="mobilenet-2")] == ["/ward/child_b.jpeg"]
        recent = history.query(since=now - timedelta(days=1))
        assert {e.path for e in recent} == {"/ward/child_b.jpeg", "/other/100%_sure.png"}
        assert [e.path for e in history.query(until=now - timedelta(days=1))] == [
            "/ward/Child_A.dcm"
        ]
        assert history.query(text="ward", label="PNEUMONIA", model_id="cnn-1")[0].path == (
            "/ward/Child_A.dcm"
        )
        assert history.model_ids() == ["cnn-1", "mobilenet-2"]


def test_entries_survive_closing_and_reopening(db: Path) -> None:
    with History(db) as history:
        first = history.add(entry("/x/a.png", 0.2))
    with History(db) as history:
        assert history.query() == [first]
        second = history.add(entry("/x/b.png", 0.8))
        assert second.id > first.id


def test_database_uses_wal_journal(db: Path) -> None:
    History(db).close()
    with closing(sqlite3.connect(db)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == history_module.SCHEMA_VERSION


def test_from_prediction_hashes_the_file_bytes(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(b"not really a png")
    prediction = FakePrediction(0.8, 0.5, "PNEUMONIA", "cnn-1", ("low contrast",), image)
    made = HistoryEntry.from_prediction(prediction, "viewer")
    assert made.sha256 == hashlib.sha256(b"not really a png").hexdigest()
    assert (made.path, made.label, made.warnings) == (str(image), "PNEUMONIA", ("low contrast",))
    assert made.time.endswith("+00:00")


def test_a_vanished_file_is_recorded_without_a_hash_and_with_the_reason(
    tmp_path: Path, db: Path
) -> None:
    gone = FakePrediction(0.1, 0.5, "NORMAL", "cnn-1", path=tmp_path / "gone.dcm")
    made = HistoryEntry.from_prediction(gone, "cli")
    assert made.sha256 is None
    assert made.hash_error is not None and "gone.dcm could not be read" in made.hash_error
    assert "No such file" in made.hash_error
    with History(db) as history:
        history.add(made)
    with History(db) as history:  # the reason is stored, not only carried in memory
        (stored,) = history.query()
    assert (stored.sha256, stored.hash_error) == (None, made.hash_error)


def test_from_prediction_needs_a_path_and_a_known_source(tmp_path: Path) -> None:
    in_memory = FakePrediction(0.1, 0.5, "NORMAL", "cnn-1")
    with pytest.raises(ValueError, match="no file path"):
        HistoryEntry.from_prediction(in_memory, "viewer")
    with pytest.raises(ValueError, match="expected one of viewer, worklist, cli"):
        HistoryEntry.from_prediction(in_memory, "email", path=tmp_path / "a.png")


def test_a_crash_keeps_every_committed_entry(db: Path) -> None:
    """A process killed mid-way (``os._exit``, no clean-up) loses only the uncommitted row."""
    script = textwrap.dedent(
        f"""
        import os
        from engine.workflows.history import History
        from engine.workflows.history_entry import HistoryEntry
        history = History({str(db)!r})
        for index in range(5):
            history.add(HistoryEntry(f"/x/{{index}}.png", "", "cnn-1", 0.5, 0.4, "PNEUMONIA"))
            print(index, flush=True)
        history._db.execute("BEGIN")
        history._db.execute(
            "INSERT INTO predictions (path, sha256, model_id, probability, threshold, label,"
            " time, source) VALUES ('/x/lost.png', '', 'cnn-1', 0.5, 0.4, 'NORMAL', 't', 'cli')"
        )
        os._exit(1)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.split() == ["0", "1", "2", "3", "4"]
    with History(db) as history:
        assert sorted(e.path for e in history.query()) == [f"/x/{i}.png" for i in range(5)]


def test_concurrent_writers_and_readers_share_one_history(db: Path) -> None:
    history = History(db)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for index in range(25):
                history.add(entry(f"/w{worker}/{index}.png"))
                history.query(text=f"/w{worker}/", limit=5)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    entries = history.query(limit=None)
    history.close()
    assert len(entries) == 100
    assert len({e.id for e in entries}) == 100


def test_a_newer_schema_is_refused(db: Path) -> None:
    History(db).close()
    with closing(sqlite3.connect(db)) as raw:
        raw.execute("PRAGMA user_version = 99")
    with pytest.raises(HistoryError, match=r"newer Hilum \(schema 99"):
        History(db)


def test_a_file_that_is_not_a_database_is_a_clear_error(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is a text file, not SQLite" * 100)
    with pytest.raises(HistoryError, match=r"not a usable history database.*Move the file aside"):
        History(db)


def test_migrations_upgrade_an_older_database_and_keep_its_entries(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with History(db) as history:
        history.add(entry("/x/old.png"))
    upgraded = (*history_module.MIGRATIONS, ("ALTER TABLE predictions ADD COLUMN note TEXT",))
    monkeypatch.setattr(history_module, "MIGRATIONS", upgraded)
    monkeypatch.setattr(history_module, "SCHEMA_VERSION", len(upgraded))
    with History(db) as history:
        assert [e.path for e in history.query()] == ["/x/old.png"]
    with closing(sqlite3.connect(db)) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(upgraded)
        assert "note" in [row[1] for row in raw.execute("PRAGMA table_info(predictions)")]


def test_an_unknown_source_is_refused_on_add(db: Path) -> None:
    with History(db) as history, pytest.raises(ValueError, match="'pacs'"):
        history.add(entry("/x/a.png", source="pacs"))


def test_the_checks_verdict_round_trips(db: Path, tmp_path: Path) -> None:
    outside = "Outside what this model was validated on: unlike the training images."
    with History(db) as history:
        out = history.add(
            entry("/x/nih.png", 0.99, in_domain=False, domain_score=1.51, outside=outside)
        )
        inside = history.add(entry("/x/ext.jpeg", 0.2, in_domain=True, domain_score=0.4))
        unchecked = history.add(entry("/x/old-model.png", 0.3))
    with History(db) as history:
        assert history.query() == [unchecked, inside, out]
    assert (out.in_domain, out.domain_score, out.outside) == (False, 1.51, outside)
    image = tmp_path / "a.png"
    image.write_bytes(b"png")
    made = HistoryEntry.from_prediction(
        FakePrediction(
            0.9,
            0.5,
            "PNEUMONIA",
            "m",
            path=image,
            outside=outside,
            in_domain=False,
            domain_score=1.2,
        ),
        "viewer",
    )
    assert (made.in_domain, made.domain_score, made.outside) == (False, 1.2, outside)


def test_a_database_without_the_verdict_columns_gains_them_and_keeps_its_entries(
    db: Path,
) -> None:
    """A history written before the checks' verdict was stored: its entries read with the
    verdict unknown, new entries store it, and the schema version is left alone."""
    db.parent.mkdir(parents=True)
    with closing(sqlite3.connect(db)) as raw:
        for statement in history_module.MIGRATIONS[0]:
            raw.execute(statement)
        raw.execute(
            "INSERT INTO predictions (path, sha256, model_id, probability, threshold, label, time,"
            " source, warnings) VALUES ('/x/old.png', '', 'cnn-1', 0.8, 0.4, 'PNEUMONIA',"
            " '2025-01-01T00:00:00.000+00:00', 'viewer', '[\"low contrast\"]')"
        )
        raw.execute("PRAGMA user_version = 1")
        raw.commit()
    with History(db) as history:
        (old,) = history.query()
        assert (old.path, old.label, old.warnings) == ("/x/old.png", "PNEUMONIA", ("low contrast",))
        assert (old.in_domain, old.domain_score, old.outside) == (None, None, None)
        assert old.sha256 is None and old.hash_error is not None  # "" of an older Hilum
        assert "could not be read" in old.hash_error
        new = history.add(entry("/x/new.png", in_domain=False, domain_score=2.0, outside="Outside"))
    with History(db) as history:  # reopening adds nothing twice
        assert history.query()[0] == new
    with closing(sqlite3.connect(db)) as raw:
        names = [row[1] for row in raw.execute("PRAGMA table_info(predictions)")]
        assert names[-4:] == ["in_domain", "domain_score", "outside", "hash_error"]
        assert raw.execute("PRAGMA user_version").fetchone()[0] == history_module.SCHEMA_VERSION
    with History(db) as history:  # and the arrivals queue, added when missing too
        ArrivalQueue(history).enqueue("/in/new.dcm", "XRAY1")
        assert [(a.path, a.sender) for a in ArrivalQueue(history).pending()] == [
            (Path("/in/new.dcm"), "XRAY1")
        ]
