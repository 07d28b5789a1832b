"""``hilum listen`` and ``hilum pacs echo|find|get|send`` against a real Orthanc and storescu."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pydicom
import pytest

from engine.cli import main
from engine.pacs.nodes import AllowedCaller, ListenerSettings
from engine.pacs.serving import serve
from tests.engine.tiny_bundles import make_bundle
from tests.pacs_support import Orthanc, dcmtk, free_port

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("bundle") / "tiny")


@pytest.fixture
def seeded(orthanc: Orthanc, chest_cr: Path) -> pydicom.Dataset:
    """Orthanc holding the chest CR, and knowing Hilum (AE HILUM)."""
    orthanc.seed(chest_cr)
    orthanc.add_modality("hilum", "HILUM", 104)
    return pydicom.dcmread(chest_cr, stop_before_pixels=True)


def test_echo_and_find_print_what_orthanc_holds(
    orthanc: Orthanc, seeded: pydicom.Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pacs", "echo", "--node", orthanc.node_text]) == 0
    assert "answered" in capsys.readouterr().out
    assert main(["pacs", "find", "--node", orthanc.node_text, "--modality", "CR", "--json"]) == 0
    matches = json.loads(capsys.readouterr().out)
    assert [m["study_uid"] for m in matches] == [seeded.StudyInstanceUID]
    assert matches[0]["patient_id"] == seeded.PatientID
    assert main(["pacs", "find", "--node", orthanc.node_text, "--id", "NOBODY"]) == 0
    assert capsys.readouterr().out.strip().endswith("0 match(es).")


def test_get_retrieves_with_c_get_and_with_c_move(
    orthanc: Orthanc, seeded: pydicom.Dataset, tmp_path: Path
) -> None:
    expected = f"{seeded.StudyInstanceUID}/{seeded.SOPInstanceUID}.dcm"
    uid = seeded.StudyInstanceUID
    assert (
        main(["pacs", "get", "--node", orthanc.node_text, uid, "--out", str(tmp_path / "g")]) == 0
    )
    assert (tmp_path / "g" / expected).is_file()
    port = free_port()
    orthanc.add_modality("hilum", "HILUM", port)
    moved = tmp_path / "m"
    argv = ["pacs", "get", "--node", orthanc.node_text, uid, "--out", str(moved)]
    assert main([*argv, "--method", "move", "--port", str(port)]) == 0
    assert (moved / expected).is_file()


def test_a_node_that_does_not_answer_exits_2_with_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["pacs", "echo", "--node", f"PACS@127.0.0.1:{free_port()}"]) == 2
    assert "no DICOM answer" in capsys.readouterr().err


def test_send_predicts_builds_exports_and_stores_the_results(
    orthanc: Orthanc,
    seeded: pydicom.Dataset,
    chest_cr: Path,
    tiny_bundle: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["pacs", "send", str(chest_cr), "--node", orthanc.node_text]
    assert main([*argv, "--model", str(tiny_bundle), "--export", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "sent 2 object(s)" in out
    exported = sorted((tmp_path / seeded.StudyInstanceUID).iterdir())
    assert len(exported) == 2
    classes = sorted(i["MainDicomTags"].get("SOPInstanceUID") for i in orthanc.instances())
    assert sorted([seeded.SOPInstanceUID, *(p.stem for p in exported)]) == classes


def test_listen_receives_and_stops_on_interrupt(
    pacs_tools: None, chest_cr: Path, tmp_path: Path
) -> None:
    command = [
        sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main())",
        "listen", "--port", "0", "--out", str(tmp_path), "--allow", "XRAY1",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Listening as HILUM on 127.0.0.1:"), first
        port = first.split("127.0.0.1:")[1].split(",")[0]
        sent = dcmtk("storescu", "-aet", "XRAY1", "-aec", "HILUM", "127.0.0.1", port, chest_cr)
        assert sent.returncode == 0, sent.stderr
        line = process.stdout.readline()
        process.send_signal(signal.SIGINT)
        rest = process.stdout.read()
    header = pydicom.dcmread(chest_cr, stop_before_pixels=True)
    path = tmp_path / header.StudyInstanceUID / f"{header.SOPInstanceUID}.dcm"
    assert line == f"received {path}\n"
    assert str(header.PatientName) not in first + line + rest
    assert "Stopped." in rest and process.returncode == 0


def test_listen_with_predict_reports_each_arrival_s_prediction(
    pacs_tools: None, tiny_bundle: Path, chest_cr: Path, tmp_path: Path
) -> None:
    from engine.inference.predictor import Predictor

    predictor = Predictor.load(tiny_bundle)
    settings = ListenerSettings(port=0, out_dir=tmp_path, allowed=(AllowedCaller("XRAY1"),))
    lines: list[str] = []
    stop = threading.Event()
    server = threading.Thread(
        target=serve,
        args=(settings, predictor),
        kwargs={"report": lines.append, "should_stop": stop.is_set},
    )
    server.start()
    try:
        while not lines:
            time.sleep(0.05)
        port = lines[0].split("127.0.0.1:")[1].split(",")[0]
        sent = dcmtk("storescu", "-aet", "XRAY1", "-aec", "HILUM", "127.0.0.1", port, chest_cr)
        assert sent.returncode == 0, sent.stderr
        deadline = time.monotonic() + 60
        while len(lines) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        server.join(timeout=30)
    expected = predictor.predict(chest_cr)
    assert lines[1].endswith(" s after arrival"), lines
    assert f": {expected.label} (probability {expected.probability:.3f}, threshold" in lines[1]
