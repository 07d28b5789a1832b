"""The side panels: prediction, DICOM tags and the study browser."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from engine import load_image
from engine.inference.prediction_report import DISCLAIMER
from tests.engine.synthetic import dicom_dataset, gradient, write_dicom
from tests.viewer.helpers import LOAD_TIMEOUT_MS, fake_prediction
from viewer.jobs import JobRunner
from viewer.reading_room.dicom_tags import DicomTagsPanel
from viewer.reading_room.prediction_panel import HEATMAP_NOTE, PredictionPanel
from viewer.reading_room.study_browser import StudyBrowser


def panel_texts(panel: PredictionPanel) -> str:
    from PySide6.QtWidgets import QLabel

    return "\n".join(label.text() for label in panel.findChildren(QLabel))


def test_prediction_panel_relabels_live_without_touching_the_card(qtbot: QtBot) -> None:
    panel = PredictionPanel()
    qtbot.addWidget(panel)
    panel.set_model("cnn-2025", "CPU (2 cores, no GPU found)", 0.42)
    panel.show_prediction(fake_prediction(probability=0.55, threshold=0.42))
    assert panel.probability_text == "55.0 %"
    assert panel.label_text == "PNEUMONIA"
    assert panel.threshold == 0.42
    with qtbot.waitSignal(panel.threshold_changed, timeout=1_000):
        panel.set_threshold(0.6)
    assert panel.label_text == "NORMAL"
    panel.reset_threshold()
    assert panel.threshold == 0.42 and panel.label_text == "PNEUMONIA"
    assert "cnn-2025" in panel.model_text and "CPU" in panel.model_text


def test_prediction_panel_shows_warnings_the_note_and_the_disclaimer(qtbot: QtBot) -> None:
    panel = PredictionPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.show_prediction(fake_prediction(warnings=("The image looks out of distribution.",)))
    assert "out of distribution" in panel.warnings_text
    texts = panel_texts(panel)
    assert HEATMAP_NOTE in texts and DISCLAIMER in texts
    panel.clear_prediction("Reading…")
    assert panel.label_text == "" and panel.warnings_text == ""


def test_prediction_panel_names_the_kind_of_heatmap(qtbot: QtBot) -> None:
    """The dense baseline's map is gradient x input: the panel's title and legend say so, and a
    Grad-CAM model's prediction afterwards puts the name back."""
    panel = PredictionPanel()
    qtbot.addWidget(panel)
    panel.show_prediction(fake_prediction(heatmap_kind="gradient × input"))
    assert panel.heatmap_title == "Heatmap: gradient × input"
    assert "no convolutional layer" in panel.strength_text
    panel.set_threshold(0.9)  # relabelled at another threshold: the note stays
    assert "no convolutional layer" in panel.strength_text
    panel.show_prediction(fake_prediction())
    assert panel.heatmap_title == "Heatmap: Grad-CAM"
    assert "no convolutional layer" not in panel.strength_text


def test_prediction_panel_heatmap_controls_emit(qtbot: QtBot) -> None:
    panel = PredictionPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.opacity_changed, timeout=1_000) as blocker:
        panel.set_opacity(0.7)
    assert blocker.args == [0.7]
    with qtbot.waitSignal(panel.colormap_changed, timeout=1_000) as blocker:
        panel.set_colormap("inferno")
    assert blocker.args == ["inferno"]
    with qtbot.waitSignal(panel.heatmap_toggled, timeout=1_000) as blocker:
        panel.heatmap_checkbox.setChecked(False)
    assert blocker.args == [False]


def test_tags_panel_filters_by_keyword_and_value(qtbot: QtBot, dicom_dir: Path) -> None:
    panel = DicomTagsPanel()
    qtbot.addWidget(panel)
    panel.show_radiograph(load_image(dicom_dir / "RG1_UNCR.dcm"))
    everything = panel.visible_keywords()
    assert {"PatientID", "Modality", "TransferSyntaxUID"} <= set(everything)
    panel.set_filter("modality")
    assert panel.visible_keywords() == ["Modality"]
    panel.set_filter("(0008,0060)")
    assert panel.visible_keywords() == ["Modality"]
    panel.set_filter("")
    assert panel.visible_keywords() == everything


def test_tags_panel_keeps_sequence_parents_of_matches(qtbot: QtBot, dicom_dir: Path) -> None:
    panel = DicomTagsPanel()
    qtbot.addWidget(panel)
    panel.show_radiograph(load_image(dicom_dir / "vlut_04.dcm"))
    panel.set_filter("LUTDescriptor")
    assert panel.visible_keywords() == ["VOILUTSequence"]


def test_tags_panel_lists_an_element_that_does_not_convert_as_unreadable(
    qtbot: QtBot, tmp_path: Path
) -> None:
    ds = dicom_dataset(gradient())
    ds.StudyDescription = "CHEST PA"
    path = write_dicom(tmp_path / "odd.dcm", ds)
    data = path.read_bytes()
    at = data.index(b"\x08\x00\x30\x10LO")  # (0008,1030) Study Description, explicit VR
    path.write_bytes(data[: at + 4] + b"SW" + data[at + 6 :])  # a VR pydicom does not know
    panel = DicomTagsPanel()
    qtbot.addWidget(panel)
    panel.show_radiograph(load_image(path))
    keywords = panel.visible_keywords()
    assert "(unreadable)" in keywords and "PatientID" in keywords
    panel.set_filter("Unknown Value Representation")
    assert panel.visible_keywords() == ["(unreadable)"]


def test_study_browser_lists_patients_and_skipped_files(qtbot: QtBot, dicom_dir: Path) -> None:
    runner = JobRunner()
    browser = StudyBrowser(runner)
    qtbot.addWidget(browser)
    with qtbot.waitSignal(browser.index_ready, timeout=LOAD_TIMEOUT_MS) as blocker:
        browser.open_paths([dicom_dir])
    index = blocker.args[0]
    assert len(index.patients) > 3
    assert len(browser.image_paths()) == 27
    assert browser.skipped_rows() == ["dicom_manifest.csv: " + index.skipped[0].reason]
    top = [browser.tree.topLevelItem(i).text(0) for i in range(browser.tree.topLevelItemCount())]
    assert "Skipped (1)" in top
    qtbot.waitUntil(lambda: browser.thumbnails_pending() == 0, timeout=60_000)
    item = browser.tree.findItems("RG1_UNCR.dcm", qtbot_match_flags(), 0)[0]
    assert not item.icon(0).isNull()
    with qtbot.waitSignal(browser.image_selected, timeout=1_000) as selected:
        browser.tree.setCurrentItem(item)
    assert selected.args == [dicom_dir / "RG1_UNCR.dcm"]
    browser.shutdown()
    assert runner.shutdown()


def qtbot_match_flags():
    from PySide6.QtCore import Qt

    return Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive
