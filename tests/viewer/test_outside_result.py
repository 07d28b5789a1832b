"""An image outside what the model was validated on: the checks' headline in the label's place,
no label, no probability, no overlay, until one click reveals them marked unvalidated.

The real-model tests open real files with the shipped default model (its domain check flags
the NIH hospital's films, and the chest-radiograph check a hip CR); an external JPEG of the
training hospital stays in domain and is labelled as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QGroupBox, QLabel
from pytestqt.qtbot import QtBot

from engine.inference.domain_verdict import NOT_CHEST, OUTSIDE
from tests.viewer.helpers import MODEL_TIMEOUT_MS, fake_prediction
from viewer.disclosure import Disclosure
from viewer.resource_paths import default_model_dir
from viewer.widgets.rendering import qimage_to_array
from viewer.window.main_window import MainWindow

MakeWindow = Callable[..., MainWindow]
CLASS_WORDS = ("NORMAL", "PNEUMONIA")
#: Scores 1.51 on the default model's domain check (above 1 is outside): clearly outside.
NIH_IMAGE = "sites/nih/NORMAL/00001300_000.png"
#: A hip CR (dicom_manifest.csv: body part HIP): not a chest radiograph.
HIP_DICOM = "dicom/RG2_UNC.dcm"
#: An external image of the training hospital: in domain (score 0.89), probability 0.996.
EXTERNAL_IMAGE = "chest_xray/external/PNEUMONIA/person100_bacteria_477.jpeg"


def result_texts(window: MainWindow) -> str:
    """Every text shown in the panel's Prediction box (where the label is)."""
    box = next(b for b in window.panel.findChildren(QGroupBox) if b.title() == "Prediction")
    return "\n".join(label.text() for label in box.findChildren(QLabel) if label.isVisible())


def overlay_difference(window: MainWindow) -> float:
    """Mean difference between the view as rendered and the bare grey image."""
    composite = qimage_to_array(window.view.render_image())[..., :3].astype(int)
    gray = window.view.display_levels().astype(int)
    return float(np.abs(composite - gray[..., None]).mean())


@pytest.fixture
def default_window(qtbot: QtBot, make_window: MakeWindow) -> MainWindow:
    if default_model_dir() is None:
        pytest.skip("no shipped default model at resources/models/default")
    window = make_window()
    with qtbot.waitSignal(window.model_ready, timeout=MODEL_TIMEOUT_MS):
        window.start_model()
    return window


def open_predicted(qtbot: QtBot, window: MainWindow, path: Path) -> object:
    with qtbot.waitSignal(window.prediction_shown, timeout=MODEL_TIMEOUT_MS) as blocker:
        window.open_paths([path])
    return blocker.args[0]


def assert_result_hidden(window: MainWindow, headline: str) -> None:
    texts = result_texts(window)
    assert not any(word in texts for word in CLASS_WORDS), texts
    assert window.panel.notice.headline_text == headline
    disclosure = window.reading_room.disclosure
    assert disclosure.outside is not None and disclosure.outside.startswith(headline)
    assert window.panel.notice.sentence_text[1:] in disclosure.outside, "the checks' reason"
    assert window.panel.label_text == "" and window.panel.probability_text == ""
    assert not window.view.has_heatmap
    assert overlay_difference(window) < 0.01, "no overlay is drawn on the image"
    assert window.panel.notice.reveal_button.isVisible()


def test_outside_image_hides_the_result_until_one_click_reveals_it_marked_unvalidated(
    qtbot: QtBot, default_window: MainWindow, shared_data: Path
) -> None:
    window = default_window
    prediction = open_predicted(qtbot, window, shared_data / NIH_IMAGE)
    assert prediction.outside is not None and prediction.in_domain is False  # type: ignore[attr-defined]
    assert_result_hidden(window, OUTSIDE)

    QTest.mouseClick(window.panel.notice.reveal_button, Qt.MouseButton.LeftButton)
    assert window.panel.probability_text.endswith("% (unvalidated)")
    assert window.panel.label_text in {f"{word} (unvalidated)" for word in CLASS_WORDS}
    assert window.panel.heatmap_title.endswith("(unvalidated)")
    assert window.panel.strength_text.endswith("(unvalidated)")
    assert window.view.has_heatmap and window.view.heatmap_visible
    assert overlay_difference(window) > 0.5, "the revealed overlay changes the pixels"
    assert window.panel.notice.headline_text == OUTSIDE, "the headline stays once revealed"

    QTest.mouseClick(window.panel.notice.reveal_button, Qt.MouseButton.LeftButton)
    assert_result_hidden(window, OUTSIDE)

    open_predicted(qtbot, window, shared_data / EXTERNAL_IMAGE)
    assert window.panel.label_text in CLASS_WORDS
    assert window.panel.probability_text.endswith(" %")
    assert window.panel.notice.headline_text == ""
    assert not window.panel.notice.reveal_button.isVisible()
    assert window.view.has_heatmap and overlay_difference(window) > 0.5


def test_a_non_chest_dicom_says_so_and_the_reveal_does_not_carry_to_the_next_image(
    qtbot: QtBot, default_window: MainWindow, shared_data: Path
) -> None:
    window = default_window
    open_predicted(qtbot, window, shared_data / NIH_IMAGE)
    QTest.mouseClick(window.panel.notice.reveal_button, Qt.MouseButton.LeftButton)
    assert window.view.has_heatmap
    open_predicted(qtbot, window, shared_data / HIP_DICOM)
    assert_result_hidden(window, NOT_CHEST)
    assert "HIP" in window.panel.notice.sentence_text


def test_the_panel_labels_nothing_at_any_threshold_while_the_result_is_hidden(qtbot: QtBot) -> None:
    """Moving the operating point relabels a shown result, never a hidden one (the panel alone,
    a prediction made without a model)."""
    from viewer.reading_room.prediction_panel import PredictionPanel

    panel = PredictionPanel()
    qtbot.addWidget(panel)
    outside = replace(fake_prediction(probability=0.99), outside=f"{OUTSIDE}: unlike the rest.")
    panel.show_prediction(outside)
    panel.set_threshold(0.2)
    assert panel.label_text == "" and "Not drawn" in panel.strength_text
    panel.set_disclosure(Disclosure(outside.outside, revealed=True))
    assert panel.label_text == "PNEUMONIA (unvalidated)"
    assert panel.probability_text == "99.0 % (unvalidated)"
