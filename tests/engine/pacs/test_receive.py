"""Hilum's storage receiver against DCMTK's storescu/echoscu, the allow-list and dropped links."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pynetdicom import AE
from pynetdicom.dimse_messages import C_STORE_RQ
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.dsutils import encode
from pynetdicom.pdu import P_DATA_TF

from engine import load_image
from engine.pacs.nodes import AllowedCaller, ListenerSettings
from engine.pacs.scp import StorageListener
from engine.pacs.storage import STATUS_OUT_OF_RESOURCES, ReceivedInstance, RefusedInstance
from tests.pacs_support import dcmtk

SENDER = "XRAY1"


@pytest.fixture
def received() -> list[ReceivedInstance]:
    return []


@pytest.fixture
def listener(
    tmp_path: Path, pacs_tools: None, received: list[ReceivedInstance]
) -> Iterator[StorageListener]:
    settings = ListenerSettings(
        port=0, out_dir=tmp_path / "received", allowed=(AllowedCaller(SENDER),)
    )
    with StorageListener(settings, received.append) as running:
        yield running


def storescu(listener: StorageListener, *files: Path, calling: str = SENDER) -> str:
    """Send ``files`` in one association, proposing JPEG 2000 lossless and uncompressed."""
    result = dcmtk(
        "storescu", "-xv", "-aet", calling, "-aec", "HILUM", "127.0.0.1", listener.port, *files
    )
    return f"status {result.returncode}\n{result.stdout}{result.stderr}"


def pixel_bytes(path: Path) -> bytes:
    return bytes(pydicom.dcmread(path).PixelData)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_storescu_images_land_whole_in_study_folders_and_read_back(
    listener: StorageListener, received: list[ReceivedInstance], dicom_dir: Path
) -> None:
    sources = [
        dicom_dir / "RG1_UNCR.dcm",  # CR, uncompressed
        dicom_dir / "RG2_J2KR.dcm",  # CR, JPEG 2000 lossless
        dicom_dir
        / "NIH_CXR_DX_1.3.6.1.4.1.11129.5.5.110503645592756492463169821050252582267888.dcm",
    ]
    output = storescu(listener, *sources)
    assert output.startswith("status 0"), output
    assert len(received) == 3
    for source, instance in zip(sources, received, strict=True):
        header = pydicom.dcmread(source, stop_before_pixels=True)
        expected = (
            listener.settings.out_dir / header.StudyInstanceUID / (f"{header.SOPInstanceUID}.dcm")
        )
        assert instance.path == expected and expected.is_file()
        assert instance.sender == SENDER
        assert pixel_bytes(expected) == pixel_bytes(source), "pixel data is stored as sent"
        assert load_image(expected).pixels.shape == (header.Rows, header.Columns)
    assert received[1].sop_class == "Computed Radiography Image Storage"
    assert files_under(listener.settings.out_dir) == sorted(i.path for i in received)


def test_echoscu_is_answered_by_an_allowed_caller(listener: StorageListener) -> None:
    result = dcmtk("echoscu", "-aet", SENDER, "-aec", "HILUM", "127.0.0.1", listener.port)
    assert result.returncode == 0, result.stderr


def test_a_caller_not_on_the_allow_list_is_rejected_at_association(
    listener: StorageListener, received: list[ReceivedInstance], small_cr: Path
) -> None:
    output = storescu(listener, small_cr, calling="STRANGER")
    assert not output.startswith("status 0")
    assert "Calling AE Title Not Recognized" in output
    assert listener.rejected == 1
    assert received == [] and files_under(listener.settings.out_dir) == []


# After Hilum rejects the association, storescu's abort can reach pynetdicom's state machine
# while it waits for the transport to close (Sta13), and pynetdicom's reactor thread raises
# InvalidEventError there (seen once in a fully loaded suite, never alone). The rejection and its
# result are what this test checks; the library's own thread noise is not.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_an_allowed_title_from_another_host_is_rejected(
    tmp_path: Path, pacs_tools: None, small_cr: Path
) -> None:
    settings = ListenerSettings(
        port=0, out_dir=tmp_path, allowed=(AllowedCaller.parse(f"{SENDER}@10.20.30.40"),)
    )
    with StorageListener(settings) as listener:
        output = storescu(listener, small_cr)
        assert "Calling AE Title Not Recognized" in output
        assert listener.rejected == 1
    assert files_under(tmp_path) == []


def test_a_connection_dropped_mid_transfer_leaves_no_file(
    listener: StorageListener, received: list[ReceivedInstance], chest_cr: Path, small_cr: Path
) -> None:
    dataset = pydicom.dcmread(chest_cr)
    ae = AE(ae_title=SENDER)
    ae.add_requested_context(dataset.SOPClassUID, dataset.file_meta.TransferSyntaxUID)
    assoc = ae.associate("127.0.0.1", listener.port, ae_title="HILUM")
    assert assoc.is_established
    request = C_STORE()
    request.MessageID = 1
    request.AffectedSOPClassUID = dataset.SOPClassUID
    request.AffectedSOPInstanceUID = dataset.SOPInstanceUID
    request.Priority = 2
    request.DataSet = io.BytesIO(encode(dataset, False, True))  # Explicit VR Little Endian
    context_id = assoc.accepted_contexts[0].context_id
    message = C_STORE_RQ()
    message.primitive_to_message(request)
    pdus = list(message.encode_msg(context_id, assoc.acceptor.maximum_length))
    assert len(pdus) > 4, "the image spans many PDUs"
    sock = assoc.dul.socket.socket
    for primitive in pdus[: len(pdus) // 2]:  # half the image, then the cable is pulled
        pdu = P_DATA_TF()
        pdu.from_primitive(primitive)
        sock.sendall(pdu.encode())
    sock.close()
    assoc.kill()
    deadline = time.monotonic() + 10
    while listener.active_associations() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listener.active_associations() == 0
    assert received == []
    assert files_under(listener.settings.out_dir) == [], "no partial or hidden temporary file"
    assert storescu(listener, small_cr).startswith("status 0"), "the listener still works"
    assert [i.path.name for i in received] == [f"{pydicom.dcmread(small_cr).SOPInstanceUID}.dcm"]


def test_logs_hold_no_patient_data(
    listener: StorageListener, chest_cr: Path, caplog: pytest.LogCaptureFixture
) -> None:
    header = pydicom.dcmread(chest_cr, stop_before_pixels=True)
    with caplog.at_level(logging.DEBUG):
        assert storescu(listener, chest_cr).startswith("status 0")
        listener.stop()
    text = caplog.text
    assert "Received a Computed Radiography Image Storage from XRAY1" in text
    for value in (str(header.PatientName), str(header.PatientID)):
        assert value not in text


def test_an_instance_the_receiver_cannot_take_in_charge_is_answered_with_a_failure(
    tmp_path: Path, pacs_tools: None, small_cr: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """When ``on_received`` cannot queue the image durably, the sender must not hear
    "success" (it may delete its copy then): it hears Out of Resources and keeps it."""

    def cannot_queue(instance: ReceivedInstance) -> None:
        raise RefusedInstance(STATUS_OUT_OF_RESOURCES, "the arrivals queue cannot be written")

    settings = ListenerSettings(
        port=0, out_dir=tmp_path / "received", allowed=(AllowedCaller(SENDER),)
    )
    with StorageListener(settings, cannot_queue) as listener:
        output = storescu(listener, small_cr)
    assert not output.startswith("status 0"), "storescu heard a failure"
    assert "the arrivals queue cannot be written" in caplog.text
