"""Drift per source: where an image came from, and each source's rolling out-of-domain share."""

from __future__ import annotations

import queue
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest

from engine.progress import ShouldStop
from engine.workflows.history import History
from engine.workflows.history_entry import HistoryEntry
from engine.workflows.source_drift import (
    MINIMUM,
    drifting_sources,
    file_source,
    recorded_source,
    source_statistics,
)
from engine.workflows.triage import TriageRow, triage
from tests.fakes import FakePrediction

PHILIPS = "Philips Medical Systems Hamburg"


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    with History(tmp_path / "history.sqlite") as opened:
        yield opened


def record(
    history: History,
    source: str,
    in_domain: list[bool | None],
    probability: float = 0.5,
    start: int = 0,
) -> None:
    """One entry per verdict, each of a distinct image, as triage records them."""
    for number, verdict in enumerate(in_domain, start=start):
        prediction = FakePrediction(probability, 0.4, "PNEUMONIA", "fake-1", in_domain=verdict)
        entry = HistoryEntry.from_prediction(
            prediction, "worklist", path=f"/site/{source}/{number}.png", image_source=source
        )
        history.add(entry)


def test_sources_from_real_dicom_headers(dicom_dir: Path) -> None:
    assert file_source(dicom_dir / "RG1_UNCI.dcm") == PHILIPS
    assert file_source(dicom_dir / "RG2_UNC.dcm") == "HUP CR ER01"
    # The sender's AE title does not override the header's institution.
    assert file_source(dicom_dir / "RG3_UNCR.dcm", "MODALITY1") == "N.C.C. HIGASHI"


def test_station_name_when_the_institution_is_missing(dicom_dir: Path, tmp_path: Path) -> None:
    dataset = pydicom.dcmread(dicom_dir / "RG1_UNCI.dcm")
    del dataset.InstitutionName
    dataset.save_as(tmp_path / "no_institution.dcm")
    assert file_source(tmp_path / "no_institution.dcm", "MODALITY1") == "THORAVISION"


def test_calling_ae_then_folder_when_the_header_names_neither(
    dicom_dir: Path, tmp_path: Path
) -> None:
    # Institution Name present but empty, no Station Name.
    anonymous = tmp_path / "received" / "1.2.3" / "HasFragmentSequence_XA_JPEGbaseline.dcm"
    anonymous.parent.mkdir(parents=True)
    shutil.copy(dicom_dir / anonymous.name, anonymous)
    assert file_source(anonymous, "CR_ROOM_2") == "CR_ROOM_2"
    assert file_source(anonymous, "  ") == str(anonymous.parent)
    nih = next(dicom_dir.glob("NIH_CXR_DX_*.dcm"))  # neither attribute
    assert file_source(nih) == str(dicom_dir)


def test_plain_images_and_unreadable_files_are_their_folder(
    train_dir: Path, tmp_path: Path
) -> None:
    jpeg = next((train_dir / "NORMAL").glob("*.jpeg"))
    assert file_source(jpeg) == str(train_dir / "NORMAL")
    assert file_source(jpeg, "SENDER") == "SENDER"
    damaged = tmp_path / "damaged.dcm"
    damaged.write_bytes(b"\0" * 128 + b"DICM" + b"\xff" * 40)
    assert file_source(damaged) == str(tmp_path)
    assert file_source(tmp_path / "gone" / "x.dcm") == str(tmp_path / "gone")


def test_share_and_mean_cover_the_last_50_distinct_images(history: History) -> None:
    # 20 old images all out of domain, then 50 with 5 out: the window sees only the 50.
    record(history, "Site A", [False] * 20, probability=0.9)
    record(history, "Site A", [False] * 5 + [True] * 45, probability=0.3, start=20)
    record(history, "Site B", [True, None, False])
    a, b = source_statistics(history)
    assert (a.source, a.predictions, a.window, a.checked, a.outside) == ("Site A", 70, 50, 50, 5)
    assert a.share == pytest.approx(0.1)
    assert a.mean_probability == pytest.approx(0.3)
    # A model without a domain check (None) leaves the image out of the share.
    assert (b.source, b.window, b.checked, b.outside, b.share) == ("Site B", 3, 2, 1, 0.5)
    assert (a.last_id, b.last_id) == (70, history.last_id()) and b.last_seen >= a.last_seen


def test_an_image_shown_again_counts_once_with_its_newest_verdict(history: History) -> None:
    for verdict in [False] * 12 + [True]:
        prediction = FakePrediction(0.5, 0.4, "NORMAL", "fake-1", in_domain=verdict)
        entry = HistoryEntry.from_prediction(prediction, "viewer", "/x/one.png", "Site A")
        history.add(entry)
    (stats,) = source_statistics(history)
    assert (stats.predictions, stats.window, stats.outside) == (13, 1, 0)


def test_the_20_percent_rule_edge(history: History) -> None:
    record(history, "Ten", [False] * 10 + [True] * 40)
    record(history, "Eleven", [False] * 11 + [True] * 39)
    assert [stats.source for stats in drifting_sources(history)] == ["Eleven"]
    (eleven,) = drifting_sources(history)
    assert "Eleven: 11 of the last 50 (22%)" in eleven.advice()
    assert "commission the model for this site" in eleven.advice()


def test_no_drift_below_the_minimum_number_of_images(history: History) -> None:
    assert MINIMUM == 10
    record(history, "Nine", [False] * 3 + [True] * 6)
    record(history, "Ten", [False] * 3 + [True] * 7)
    assert [stats.source for stats in drifting_sources(history)] == ["Ten"]
    assert [s.source for s in drifting_sources(history, minimum=9)] == ["Nine", "Ten"]


def test_an_image_seen_before_keeps_its_recorded_source(history: History, train_dir: Path) -> None:
    """A network arrival predicted in the triage list (source: its sender) and opened later in the
    reading room keeps its sender, not its receive folder; an unknown image gets its folder."""
    jpeg = next((train_dir / "NORMAL").glob("*.jpeg"))
    prediction = FakePrediction(0.5, 0.4, "NORMAL", "fake-1", path=jpeg)
    first = history.add(HistoryEntry.from_prediction(prediction, "worklist", None, "CR_ROOM_2"))
    assert recorded_source(history, first.sha256, jpeg) == "CR_ROOM_2"
    assert recorded_source(history, "ff" * 32, jpeg) == str(jpeg.parent)
    assert recorded_source(history, "", jpeg) == str(jpeg.parent)


def test_images_without_a_source_are_not_a_source(history: History) -> None:
    history.add(HistoryEntry("/x/a.png", "", "fake-1", 0.5, 0.4, "NORMAL", in_domain=False))
    assert source_statistics(history) == []
    with pytest.raises(ValueError, match="at least 1"):
        source_statistics(history, window=0)


def test_columns_are_added_to_an_older_history_once(tmp_path: Path) -> None:
    """A schema-1 database gains the columns; one that already has ``in_domain`` (added by
    another change first) gains only the rest; old rows read with no source and no verdict."""
    db = tmp_path / "history.sqlite"
    with History(db) as history:
        history.add(HistoryEntry("/x/old.png", "", "fake-1", 0.5, 0.4, "NORMAL"))
    with closing(sqlite3.connect(db)) as raw:
        raw.execute("DROP INDEX predictions_image_source")
        raw.execute("ALTER TABLE predictions DROP COLUMN image_source")
    with History(db) as history, History(db) as second:
        (old,) = history.query()
        assert (old.image_source, old.in_domain) == ("", None)
        assert second.count() == 1
    with closing(sqlite3.connect(db)) as raw:
        columns = [row[1] for row in raw.execute("PRAGMA table_info(predictions)")]
    assert columns.count("image_source") == 1 and columns.count("in_domain") == 1


@dataclass(frozen=True)
class Result:
    path: Path
    prediction: FakePrediction | None = None
    error: str | None = None


def out_of_domain(paths: Sequence[Path], *, should_stop: ShouldStop) -> Iterator[Result]:
    """Stands in for ``predict_many``: every image out of domain."""
    for path in paths:
        prediction = FakePrediction(0.8, 0.4, "PNEUMONIA", "fake-1", path=path, in_domain=False)
        yield Result(path, prediction)


def test_triage_records_each_image_source_and_verdict(
    dicom_dir: Path, history: History, tmp_path: Path
) -> None:
    received = tmp_path / "1.2.3" / "NIH.dcm"
    received.parent.mkdir()
    shutil.copy(next(dicom_dir.glob("NIH_CXR_DX_*.dcm")), received)
    files = [dicom_dir / "RG1_UNCI.dcm", received]
    sink: queue.SimpleQueue[TriageRow] = queue.SimpleQueue()
    triage(
        files,
        out_of_domain,
        sink,
        history,
        on_progress=lambda report: None,
        should_stop=lambda: False,
        calling_aes={received: "NIH_PACS"},
    )
    assert [sink.get_nowait().source for _ in files] == [PHILIPS, "NIH_PACS"]
    entries = history.query()
    assert {(e.image_source, e.in_domain) for e in entries} == {
        (PHILIPS, False),
        ("NIH_PACS", False),
    }
