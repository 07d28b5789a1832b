"""What goes to the PACS is what the screen shows: the user moves the threshold with the
keyboard, sends the result to a real Orthanc, and DCMTK's ``dsrdump`` reads back the SR's
threshold, label and heatmap strength: the screen's, not the card's."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pydicom
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from engine.inference.heatmap_strength import strength_legend
from engine.pacs.nodes import PacsNode
from tests.engine.tiny_bundles import make_bundle
from tests.pacs_support import ORTHANC_AET, Orthanc, dcmtk
from tests.viewer.helpers import LOAD_TIMEOUT_MS, MODEL_TIMEOUT_MS
from viewer.window.main_window import MainWindow

MakeWindow = Callable[..., MainWindow]


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("bundle") / "tiny")


def sr_value(dump: str, concept: str) -> str:
    """The value of the SR content item coded ``concept`` (99HILUM) in ``dsrdump``'s output."""
    found = re.search(rf"\({re.escape(concept)},99HILUM,\"[^\"]*\"\)=\"([^\"]*)\"", dump)
    assert found, f"no {concept} item in the SR:\n{dump}"
    return found.group(1)


def stored(orthanc: Orthanc, modality: str, folder: Path) -> Path:
    """The instance of ``modality`` Orthanc stored, written to ``folder``."""
    for instance in orthanc.instances():
        data = orthanc.instance_file(instance["ID"])
        if pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).Modality == modality:
            path = folder / f"result_{modality}.dcm"
            path.write_bytes(data)
            return path
    raise AssertionError(f"Orthanc stored no {modality} instance")


def test_the_sr_sent_carries_the_threshold_label_and_strength_on_screen(
    qtbot: QtBot, make_window: MakeWindow, orthanc: Orthanc, tiny_bundle: Path,
    chest_cr: Path, tmp_path: Path,
) -> None:  # fmt: skip
    window = make_window()
    with qtbot.waitSignal(window.model_ready, timeout=MODEL_TIMEOUT_MS):
        window.load_model(tiny_bundle)
    with qtbot.waitSignal(window.prediction_shown, timeout=MODEL_TIMEOUT_MS):
        window.open_paths([chest_cr])
    state, panel = window.reading_room.state, window.panel
    before = state.result()
    assert before is not None and not before.set_by_user
    slider = panel.threshold_control.slider
    slider.setFocus()
    # The user moves the threshold to the far end that flips the model's label.
    key = Qt.Key.Key_End if before.label == "PNEUMONIA" else Qt.Key.Key_Home
    QTest.keyClick(slider, key)
    shown = state.result()
    assert shown is not None and shown.set_by_user
    assert shown.threshold in (0.0, 1.0) and shown.threshold != before.threshold
    assert panel.label_text == shown.label != before.label
    assert f"{shown.heatmap_strength:.0%} strength" in panel.strength_text or (
        shown.heatmap_strength == 1.0 and "full strength" in panel.strength_text
    )

    node = PacsNode(ORTHANC_AET, "127.0.0.1", orthanc.dicom_port)
    with qtbot.waitSignal(window.pacs.results.result_sent, timeout=LOAD_TIMEOUT_MS) as sent:
        window.pacs.results.send_to(node)
    assert len(sent.args[0].sent) == 2 and sent.args[0].failed == ()
    dumped = dcmtk("dsrdump", "+Pc", stored(orthanc, "SR", tmp_path))  # with concept codes
    assert dumped.returncode == 0, dumped.stderr
    dump = dumped.stdout
    assert float(sr_value(dump, "THRESHOLD")) == pytest.approx(shown.threshold)
    assert sr_value(dump, "LABEL") == panel.label_text
    assert float(sr_value(dump, "HEATMAP-STRENGTH")) == pytest.approx(shown.heatmap_strength)
    assert sr_value(dump, "THRESHOLD-SET-BY") == "the user"
    capture = pydicom.dcmread(stored(orthanc, "OT", tmp_path))
    assert strength_legend(shown.probability, shown.threshold) in capture.ImageComments
