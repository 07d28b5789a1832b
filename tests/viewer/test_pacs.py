"""The viewer's PACS part: settings, arrivals into the browser and the triage list, query/retrieve,
sending and exporting results; against a real Orthanc, with storescu as the X-ray unit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pydicom
import pytest
from pytestqt.qtbot import QtBot

from engine.errors import ConfigError
from engine.inference.predictor import Predictor
from engine.pacs.nodes import AllowedCaller, ListenerSettings, PacsNode
from engine.workflows.history import HistoryError
from tests.engine.tiny_bundles import make_bundle
from tests.pacs_support import ORTHANC_AET, Orthanc, dcmtk
from tests.viewer.helpers import LOAD_TIMEOUT_MS, MODEL_TIMEOUT_MS, open_and_wait
from viewer.pacs.settings import PacsSettings
from viewer.pacs.settings_dialog import PacsSettingsDialog
from viewer.settings import Settings
from viewer.window.main_window import MainWindow

MakeWindow = Callable[..., MainWindow]
SENDER = "XRAY1"


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("bundle") / "tiny")


def listening(window: MainWindow, folder: Path, *nodes: PacsNode) -> int:
    """Turn the window's listener on (any free port, SENDER allowed); return its port."""
    listener = ListenerSettings(port=0, out_dir=folder, allowed=(AllowedCaller(SENDER),))
    window.pacs.apply_settings(listener, True, list(nodes))
    assert window.pacs.listener is not None
    return window.pacs.listener.port


def storescu(port: int, *files: Path) -> None:
    sent = dcmtk("storescu", "-aet", SENDER, "-aec", "HILUM", "127.0.0.1", port, *files)
    assert sent.returncode == 0, sent.stderr


def with_model(qtbot: QtBot, window: MainWindow, bundle: Path) -> None:
    with qtbot.waitSignal(window.model_ready, timeout=MODEL_TIMEOUT_MS):
        window.load_model(bundle)


def test_settings_persist_and_the_listener_is_off_by_default(
    make_window: MakeWindow, settings: Settings, tmp_path: Path
) -> None:
    window = make_window()
    assert window.pacs.listener is None and not window.pacs.listener_action.isChecked()
    stored = PacsSettings(settings)
    assert stored.listener.host == "127.0.0.1"
    node = PacsNode("ORTHANC", "10.0.0.5", 4242, "C-GET", "Archive")
    stored.nodes = [node]
    stored.listener = ListenerSettings(
        out_dir=tmp_path, allowed=(AllowedCaller.parse("A@1.2.3.4"),)
    )
    again = PacsSettings(settings)
    assert again.nodes == [node]
    assert again.listener.allowed == (AllowedCaller("A", "1.2.3.4"),)
    settings.store.setValue("pacs/nodes", "not json")
    assert again.nodes == []


def test_the_settings_dialog_explains_an_invalid_value(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = PacsSettingsDialog(ListenerSettings(out_dir=tmp_path), False, [])
    qtbot.addWidget(dialog)
    row = dialog.add_node_row(None)
    for column, text in enumerate(("Archive", "NAME_MUCH_TOO_LONG_FOR_AN_AE", "pacs.local")):
        dialog.table.item(row, column).setText(text)
    with pytest.raises(ConfigError):
        dialog.read_form()
    dialog.accept()
    assert "not a valid DICOM AE title" in dialog.message.text()
    dialog.table.item(row, 1).setText("ARCHIVE")
    dialog.enabled.setChecked(True)
    dialog.accept()
    assert "Allowed senders is empty" in dialog.message.text()
    dialog.allowed.setPlainText("XRAY1\nPACS@10.1.1.1")
    dialog.accept()
    assert dialog.result_enabled and dialog.result_nodes == [
        PacsNode("ARCHIVE", "pacs.local", 104, "C-MOVE", "Archive")
    ]
    assert [str(a) for a in dialog.result_listener.allowed] == ["XRAY1", "PACS@10.1.1.1"]


def test_the_listener_will_not_start_without_an_allow_list(
    make_window: MakeWindow, tmp_path: Path
) -> None:
    window = make_window()
    window.pacs.apply_settings(ListenerSettings(port=0, out_dir=tmp_path), True, [])
    assert window.pacs.listener is None
    assert "needs an allow-list" in window.banner.text()


def test_arriving_images_are_listed_and_predicted_into_the_triage_list(
    qtbot: QtBot, make_window: MakeWindow, pacs_tools: None, tiny_bundle: Path,
    chest_cr: Path, small_cr: Path, tmp_path: Path,
) -> None:  # fmt: skip
    window = make_window()
    with_model(qtbot, window, tiny_bundle)
    port = listening(window, tmp_path)
    triage_list = window.triage_history.triage_list
    with qtbot.waitSignals(
        [window.pacs.arrivals_listed, triage_list.finished], timeout=MODEL_TIMEOUT_MS
    ):
        storescu(port, chest_cr)
    header = pydicom.dcmread(chest_cr, stop_before_pixels=True)
    path = tmp_path / header.StudyInstanceUID / f"{header.SOPInstanceUID}.dcm"
    assert [row.path for row in triage_list.rows()] == [path]
    # The received copy is predicted as the engine predicts the file that was sent.
    sent = Predictor.load(tiny_bundle).predict(chest_cr)
    received = triage_list.rows()[0]
    assert received.probability == pytest.approx(sent.probability, abs=1e-6)
    assert received.label == sent.label
    qtbot.waitUntil(lambda: path in window.browser.image_paths(), timeout=LOAD_TIMEOUT_MS)

    with qtbot.waitSignal(triage_list.finished, timeout=MODEL_TIMEOUT_MS):
        storescu(port, small_cr)
    assert len(triage_list.rows()) == 2, "a second arrival adds a row, keeping the first"
    qtbot.waitUntil(lambda: len(window.browser.image_paths()) == 2, timeout=LOAD_TIMEOUT_MS)
    window.pacs.set_listener(False)
    assert window.pacs.listener is None


def test_a_received_image_is_queued_before_the_sender_hears_success_and_outlives_a_batch(
    qtbot: QtBot, make_window: MakeWindow, pacs_tools: None, tiny_bundle: Path,
    chest_cr: Path, small_cr: Path, tmp_path: Path,
) -> None:  # fmt: skip
    """Issue 19: arrivals lived in memory and a user's batch cancelled them. Now the queue row
    is committed before storescu hears "success" (before any model is loaded here), and a
    folder batch asked for meanwhile does not drop it: both are predicted and listed."""
    window = make_window()
    received = tmp_path / "received"
    port = listening(window, received)
    triage_list = window.triage_history.triage_list
    storescu(port, chest_cr)  # returns once Hilum answered "success"
    header = pydicom.dcmread(chest_cr, stop_before_pixels=True)
    arrival = received / header.StudyInstanceUID / f"{header.SOPInstanceUID}.dcm"
    assert [a.path for a in triage_list.arrivals.pending()] == [arrival]
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "small.dcm").write_bytes(small_cr.read_bytes())
    triage_list.run([folder])  # waits for the model, like the arrival
    with_model(qtbot, window, tiny_bundle)
    qtbot.waitUntil(
        lambda: not triage_list.is_running and not triage_list.arrivals.pending(),
        timeout=MODEL_TIMEOUT_MS,
    )
    assert sorted(row.path for row in triage_list.rows()) == sorted([arrival, folder / "small.dcm"])
    assert all(row.probability is not None for row in triage_list.rows())


def test_a_dicom_result_is_sent_to_the_pacs_and_exported(
    qtbot: QtBot, make_window: MakeWindow, orthanc: Orthanc, tiny_bundle: Path,
    chest_cr: Path, tmp_path: Path,
) -> None:  # fmt: skip
    window = make_window()
    with_model(qtbot, window, tiny_bundle)
    with qtbot.waitSignal(window.prediction_shown, timeout=MODEL_TIMEOUT_MS):
        window.open_paths([chest_cr])
    assert window.pacs.results.send_action.isEnabled()
    node = PacsNode(ORTHANC_AET, "127.0.0.1", orthanc.dicom_port)
    with qtbot.waitSignal(window.pacs.results.result_sent, timeout=LOAD_TIMEOUT_MS) as sent:
        window.pacs.results.send_to(node)
    assert len(sent.args[0].sent) == 2 and sent.args[0].failed == ()
    series = orthanc.rest("GET", "/series?expand")
    assert sorted(s["MainDicomTags"]["Modality"] for s in series) == ["OT", "SR"]
    with qtbot.waitSignal(window.pacs.results.result_exported, timeout=LOAD_TIMEOUT_MS) as exported:
        window.pacs.results.export_to(tmp_path)
    assert len(exported.args[0]) == 2 and all(p.is_file() for p in exported.args[0])


def test_a_jpeg_result_cannot_be_sent(
    make_window: MakeWindow, qtbot: QtBot, fullres_dir: Path
) -> None:
    window = make_window()
    open_and_wait(qtbot, window, sorted((fullres_dir / "NORMAL").glob("*.jpeg"))[0])
    assert not window.pacs.results.send_action.isEnabled()
    window.pacs.results.send_to(PacsNode("ANY", "127.0.0.1", 104))
    assert "open a DICOM image" in window.banner.text()


def test_query_retrieve_finds_a_study_and_opens_it(
    qtbot: QtBot, make_window: MakeWindow, orthanc: Orthanc, chest_cr: Path, tmp_path: Path
) -> None:
    orthanc.seed(chest_cr)
    orthanc.add_modality("hilum", "HILUM", 104)
    window = make_window()
    node = PacsNode(ORTHANC_AET, "127.0.0.1", orthanc.dicom_port, "C-GET", "Archive")
    window.pacs.apply_settings(ListenerSettings(out_dir=tmp_path), False, [node])
    dialog = window.pacs.show_query_dialog()
    assert dialog is not None
    qtbot.addWidget(dialog)
    dialog.modality.setText("CR")
    dialog.search()
    qtbot.waitUntil(lambda: not dialog.busy and dialog.table.rowCount() == 1, timeout=20_000)
    header = pydicom.dcmread(chest_cr, stop_before_pixels=True)
    assert dialog.table.item(0, 1).text() == header.PatientID
    dialog.table.selectRow(0)
    with qtbot.waitSignals([window.pacs.arrivals_listed, window.image_shown], timeout=20_000):
        dialog.retrieve_selected()
    shown = window.view.radiograph
    assert shown is not None and shown.sop_instance_uid == header.SOPInstanceUID
    assert shown.source.parent == tmp_path / header.StudyInstanceUID


def test_damaged_settings_are_reported_and_kept_not_silently_reset(
    make_window: MakeWindow, settings: Settings
) -> None:
    """Issue 19: a damaged listener setting silently became the default. Now the user is told
    which file and key, what is used instead and what to do, and the damaged value is kept."""
    damaged = '{"ae_title": "HILUM", "port": "eleven", "out_dir": "/in", "allowed": ["X"],'
    settings.store.setValue("pacs/listener", damaged)
    settings.store.setValue(
        "pacs/nodes", '[{"ae_title": "ARCHIVE", "host": "pacs", "port": 104}, {"ae_title": 5}]'
    )
    stored = PacsSettings(settings)
    assert stored.listener == ListenerSettings()
    assert [node.ae_title for node in stored.nodes] == ["ARCHIVE"], "the sound node is kept"
    settings_file = Path(settings.store.fileName())
    listener_problem = stored.problems["pacs/listener"]
    assert f"pacs/listener in {settings_file}" in listener_problem
    assert "not valid JSON" in listener_problem and "uses the default listener" in listener_problem
    assert "PACS > PACS settings" in listener_problem
    assert "node 2" in stored.problems["pacs/nodes"]
    (copy,) = settings_file.parent.glob("damaged-pacs-listener-*.json")
    assert copy.read_text() == damaged and str(copy) in listener_problem
    assert sorted(PacsSettings(settings).check()) == sorted(stored.problems.values())
    assert len(list(settings_file.parent.glob("damaged-pacs-*.json"))) == 2

    window = make_window()
    assert "pacs/listener" in window.banner.text() and "pacs/nodes" in window.banner.text()
    window.pacs.apply_settings(ListenerSettings(allowed=(AllowedCaller("X"),)), False, [])
    assert window.pacs.settings.check() == [], "saving replaces the damaged values"


def test_an_image_that_cannot_be_queued_is_refused_and_the_user_told(
    qtbot: QtBot, make_window: MakeWindow, pacs_tools: None, small_cr: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    window = make_window()
    port = listening(window, tmp_path)
    arrivals = window.triage_history.triage_list.arrivals

    def full(*_: object) -> None:
        raise HistoryError(f"History {arrivals.history.path}: could not queue it (disk full).")

    monkeypatch.setattr(arrivals, "enqueue", full)
    sent = dcmtk("storescu", "-aet", SENDER, "-aec", "HILUM", "127.0.0.1", port, small_cr)
    assert sent.returncode != 0, "the X-ray unit heard a failure, not success"
    qtbot.waitUntil(lambda: "could not be queued" in window.banner.text(), timeout=LOAD_TIMEOUT_MS)
    assert "disk full" in window.banner.text() and "send it again" in window.banner.text()
