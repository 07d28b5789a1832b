"""Hilum's C-FIND, C-MOVE and C-GET against a real Orthanc, seeded with DCMTK's storescu."""

from __future__ import annotations

import logging
from pathlib import Path

import pydicom
import pytest

from engine.errors import PacsError
from engine.pacs.network import echo
from engine.pacs.nodes import AllowedCaller, ListenerSettings, PacsNode
from engine.pacs.query import StudyQuery, find
from engine.pacs.retrieve import get_study, move_study
from engine.pacs.scp import StorageListener
from engine.pacs.storage import ReceivedInstance
from engine.progress import Progress
from tests.pacs_support import ORTHANC_AET, Orthanc, free_port

HILUM = "HILUM"


@pytest.fixture
def node(orthanc: Orthanc) -> PacsNode:
    """Orthanc as Hilum's node; Orthanc knows Hilum (C-FIND/C-GET need that, not a port)."""
    orthanc.add_modality("hilum", HILUM, 104)
    return PacsNode(ORTHANC_AET, "127.0.0.1", orthanc.dicom_port)


@pytest.fixture
def two_studies(orthanc: Orthanc, dicom_dir: Path) -> tuple[Path, Path]:
    files = (dicom_dir / "RG1_UNCR.dcm", dicom_dir / "RG3_J2KR.dcm")
    orthanc.seed(*files)
    return files


def header(path: Path) -> pydicom.Dataset:
    return pydicom.dcmread(path, stop_before_pixels=True)


def test_echo_reaches_orthanc(node: PacsNode) -> None:
    echo(node, local_ae_title=HILUM)


def test_find_studies_by_patient_id_modality_and_date_range(
    node: PacsNode, two_studies: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    first = header(two_studies[0])
    progress: list[Progress] = []
    with caplog.at_level(logging.DEBUG):
        everything = find(node, StudyQuery(), on_progress=progress.append)
    assert sorted(m.study_uid for m in everything) == sorted(
        header(path).StudyInstanceUID for path in two_studies
    )
    assert [p.done for p in progress] == [1, 2]
    assert str(first.PatientName) not in caplog.text, "no patient names in the logs"

    matches = find(node, StudyQuery(patient_id=str(first.PatientID), modality="CR"))
    assert len(matches) == 1
    match = matches[0]
    assert match.study_uid == first.StudyInstanceUID
    assert match.patient_name == str(first.PatientName)
    assert match.study_date == first.StudyDate
    assert match.modalities == "CR"
    assert match.instances == 1

    day = str(first.StudyDate)
    assert len(find(node, StudyQuery(dates=f"{day}-{day}"))) >= 1
    assert find(node, StudyQuery(dates="19000101-19000102")) == []
    assert find(node, StudyQuery(modality="MR")) == []


def test_find_at_patient_level(node: PacsNode, two_studies: tuple[Path, Path]) -> None:
    ids = sorted(str(header(path).PatientID) for path in two_studies)
    patients = find(node, StudyQuery(level="PATIENT"))
    assert sorted(p.patient_id for p in patients) == ids
    assert all(p.study_uid == "" and p.studies == 1 for p in patients)


def test_cancelling_a_find_keeps_the_matches_so_far(
    node: PacsNode, two_studies: tuple[Path, Path]
) -> None:
    assert len(find(node, StudyQuery(), should_stop=lambda: True)) == 1


def test_c_move_brings_a_study_into_the_listener(
    orthanc: Orthanc, node: PacsNode, two_studies: tuple[Path, Path], tmp_path: Path
) -> None:
    received: list[ReceivedInstance] = []
    settings = ListenerSettings(
        HILUM, free_port(), tmp_path / "in", (AllowedCaller(ORTHANC_AET, "127.0.0.1"),)
    )
    orthanc.add_modality("hilum", HILUM, settings.port)
    study = header(two_studies[1])
    with StorageListener(settings, received.append):
        summary = move_study(node, study.StudyInstanceUID, destination=HILUM)
    assert (summary.completed, summary.failed, summary.cancelled) == (1, 0, False)
    assert [i.path for i in received] == [
        tmp_path / "in" / study.StudyInstanceUID / f"{study.SOPInstanceUID}.dcm"
    ]
    assert received[0].sender == ORTHANC_AET
    stored = pydicom.dcmread(received[0].path)
    assert stored.PixelData == pydicom.dcmread(two_studies[1]).PixelData


def test_c_move_to_an_unknown_destination_says_what_to_configure(
    node: PacsNode, two_studies: tuple[Path, Path]
) -> None:
    uid = header(two_studies[0]).StudyInstanceUID
    with pytest.raises(PacsError, match="failure status") as failure:
        move_study(node, uid, destination="NOBODY")
    assert "add Hilum to its DICOM nodes" in str(failure.value)


def test_c_get_writes_the_study_and_reports_progress(
    node: PacsNode, two_studies: tuple[Path, Path], tmp_path: Path
) -> None:
    study = header(two_studies[0])
    progress: list[Progress] = []
    summary = get_study(node, study.StudyInstanceUID, tmp_path, on_progress=progress.append)
    assert (summary.completed, summary.failed) == (1, 0)
    expected = tmp_path / study.StudyInstanceUID / f"{study.SOPInstanceUID}.dcm"
    assert [i.path for i in summary.instances] == [expected]
    assert pydicom.dcmread(expected).PixelData == pydicom.dcmread(two_studies[0]).PixelData
    assert [i.sender for i in summary.instances] == [ORTHANC_AET]


def test_a_closed_port_and_a_wrong_ae_title_give_clear_errors(orthanc: Orthanc) -> None:
    with pytest.raises(PacsError, match=r"no DICOM answer at 127\.0\.0\.1"):
        echo(PacsNode("NOBODY", "127.0.0.1", free_port()), local_ae_title=HILUM)
    with pytest.raises(PacsError, match=r"rejected the association \(called AE title"):
        echo(PacsNode("WRONG", "127.0.0.1", orthanc.dicom_port), local_ae_title=HILUM)


def test_cancelling_a_retrieve_stops_it_and_leaves_only_whole_files(
    orthanc: Orthanc, node: PacsNode, small_cr: Path, tmp_path: Path
) -> None:
    study = pydicom.dcmread(small_cr)
    copies = []
    for number in range(6):  # one study of six instances
        study.SOPInstanceUID = f"{study.SOPInstanceUID.rsplit('.', 1)[0]}.{900 + number}"
        copies.append(tmp_path / f"{number}.dcm")
        study.save_as(copies[-1])
    orthanc.seed(*copies)
    reports: list[Progress] = []
    summary = get_study(
        node,
        study.StudyInstanceUID,
        tmp_path / "in",
        on_progress=reports.append,
        should_stop=lambda: bool(reports),  # stop at the first progress report
    )
    assert summary.cancelled
    assert summary.completed < 6 and len(summary.instances) < 6
    received = sorted((tmp_path / "in").rglob("*.dcm"))
    assert received == sorted(i.path for i in summary.instances)
    assert all(pydicom.dcmread(path).PixelData == study.PixelData for path in received)
    assert [p for p in (tmp_path / "in").rglob(".*")] == []
