"""Nodes, the allow-list and the receive folder's rules, without a network."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ComputedRadiographyImageStorage, ExplicitVRLittleEndian, JPEGExtended12Bit

from engine.errors import ConfigError
from engine.pacs.nodes import AllowedCaller, ListenerSettings, PacsNode
from engine.pacs.query import StudyQuery
from engine.pacs.storage import (
    STATUS_CANNOT_UNDERSTAND,
    STATUS_DOES_NOT_MATCH,
    STATUS_OUT_OF_RESOURCES,
    RefusedInstance,
    decodable_transfer_syntaxes,
    store_encoded,
)


def test_a_node_parses_from_aet_at_host_colon_port() -> None:
    node = PacsNode.parse("ORTHANC@10.0.0.5:4242")
    assert (node.ae_title, node.host, node.port, str(node)) == (
        "ORTHANC",
        "10.0.0.5",
        4242,
        "ORTHANC@10.0.0.5:4242",
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ORTHANC@10.0.0.5", "AET@host:port"),
        ("A_TITLE_LONGER_THAN_16@host:104", "not a valid DICOM AE title"),
        ("PACS@host:99999", "not a TCP port"),
        ("PACS@http://pacs:104", "not a host name"),
        ("BAD\\AET@host:104", "not a valid DICOM AE title"),
    ],
)
def test_an_invalid_node_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        PacsNode.parse(text)


def test_the_allow_list_matches_title_and_optionally_host() -> None:
    settings = ListenerSettings(
        allowed=(AllowedCaller.parse("XRAY1"), AllowedCaller.parse("PACS@10.1.1.1"))
    )
    assert settings.host == "127.0.0.1", "loopback unless told otherwise"
    assert settings.admits("XRAY1", "192.168.0.9")
    assert settings.admits("PACS", "10.1.1.1")
    assert not settings.admits("PACS", "10.1.1.2")
    assert not settings.admits("XRAY2", "192.168.0.9")
    assert not ListenerSettings().admits("XRAY1", "127.0.0.1"), "an empty list admits no one"


def test_a_study_query_checks_its_date_range() -> None:
    assert StudyQuery(dates="20240101-").identifier().StudyDate == "20240101-"
    with pytest.raises(ConfigError, match="YYYYMMDD-YYYYMMDD"):
        StudyQuery(dates="2024-01-01")


def test_jpeg_extended_is_not_accepted_and_uncompressed_is() -> None:
    syntaxes = decodable_transfer_syntaxes()
    assert syntaxes[0] == ExplicitVRLittleEndian
    assert JPEGExtended12Bit not in syntaxes


def encoded(study_uid: str, sop_uid: str) -> bytes:
    """A tiny CR data set as a sender would encode it (hostile UIDs allowed)."""
    ds = Dataset()
    ds.SOPClassUID = ComputedRadiographyImageStorage
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.SOPInstanceUID = sop_uid
        ds.StudyInstanceUID = study_uid
    ds.PatientName = "Test^Patient"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # pydicom warns about the invalid UIDs, on purpose here
        warnings.simplefilter("ignore")
        ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def store(data: bytes, out_dir: Path, sop_uid: str) -> Path:
    return store_encoded(
        data, out_dir, sop_instance_uid=sop_uid, sop_class="1.2.3", sender="XRAY1"
    ).path


def test_an_instance_is_stored_under_its_study_as_sent(tmp_path: Path) -> None:
    data = encoded("1.2.3.4", "1.2.3.4.5")
    path = store(data, tmp_path, "1.2.3.4.5")
    assert path == tmp_path / "1.2.3.4" / "1.2.3.4.5.dcm"
    assert path.read_bytes() == data
    assert pydicom.dcmread(path).PatientName == "Test^Patient"


@pytest.mark.parametrize(
    ("study", "sop", "request_uid", "status"),
    [
        ("../../etc", "1.2.3", "1.2.3", STATUS_CANNOT_UNDERSTAND),  # a path, not a UID
        ("1.2.3", "1.2/../../x", "1.2/../../x", STATUS_CANNOT_UNDERSTAND),
        ("1.2.3", "1.2.3.4", "1.2.3.5", STATUS_DOES_NOT_MATCH),
    ],
)
def test_a_hostile_or_inconsistent_instance_is_refused(
    tmp_path: Path, study: str, sop: str, request_uid: str, status: int
) -> None:
    with pytest.raises(RefusedInstance) as refused:
        store(encoded(study, sop), tmp_path / "in", request_uid)
    assert refused.value.status == status
    assert not (tmp_path / "in").exists() or list((tmp_path / "in").rglob("*")) == []
    assert list(tmp_path.parent.glob("etc*")) == []


def test_garbage_is_refused_and_a_full_disk_reported(tmp_path: Path) -> None:
    with pytest.raises(RefusedInstance) as refused:
        store(b"DICM" * 10, tmp_path, "1.2")
    assert refused.value.status == STATUS_CANNOT_UNDERSTAND
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    with pytest.raises(RefusedInstance) as refused:
        store(encoded("1.2", "1.2.3"), blocked, "1.2.3")
    assert refused.value.status == STATUS_OUT_OF_RESOURCES
