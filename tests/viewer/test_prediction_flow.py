"""Open an image -> prediction and heatmap on screen, with a real (tiny or shipped) model.

These tests import TensorFlow (a few seconds). The tiny bundle is untrained: it checks the wiring
(jobs, panel, overlay), not the model's quality. The shipped default model is used when present.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from engine.inference.predictor import Predictor
from tests.engine.tiny_bundles import make_bundle
from tests.viewer.helpers import MODEL_TIMEOUT_MS, open_and_wait
from viewer.resource_paths import default_model_dir
from viewer.widgets.rendering import qimage_to_array
from viewer.window.main_window import MainWindow

MakeWindow = Callable[..., MainWindow]


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("bundle") / "tiny")


def an_image(fullres_dir: Path) -> Path:
    return sorted((fullres_dir / "PNEUMONIA").glob("*.jpeg"))[0]


def assert_prediction_on_screen(window: MainWindow) -> None:
    assert window.panel.probability_text.endswith("%")
    assert window.panel.label_text in ("NORMAL", "PNEUMONIA")
    assert window.view.has_heatmap and window.view.heatmap_visible
    composite = qimage_to_array(window.view.render_image())[..., :3].astype(int)
    gray = window.view.display_levels().astype(int)
    assert np.abs(composite - gray[..., None]).mean() > 0.5, "the overlay changes the pixels"


def test_an_image_opened_before_the_model_is_predicted_when_it_is_ready(
    qtbot: QtBot, make_window: MakeWindow, tiny_bundle: Path, fullres_dir: Path
) -> None:
    window = make_window()
    open_and_wait(qtbot, window, an_image(fullres_dir))
    with qtbot.waitSignals(
        [window.model_ready, window.prediction_shown], timeout=MODEL_TIMEOUT_MS, order="strict"
    ):
        window.load_model(tiny_bundle)
    assert "tiny test model" in window.panel.model_text
    assert_prediction_on_screen(window)
    with qtbot.waitSignal(window.prediction_shown, timeout=MODEL_TIMEOUT_MS) as blocker:
        window.open_paths([sorted((fullres_dir / "NORMAL").glob("*.jpeg"))[0]])
    assert blocker.args[0].heatmap.shape == window.view.radiograph.pixels.shape


def test_the_default_model_predicts_the_image_shown(
    qtbot: QtBot, make_window: MakeWindow, fullres_dir: Path
) -> None:
    bundle = default_model_dir()
    if bundle is None:
        pytest.skip("no shipped default model at resources/models/default (the lead adds it)")
    window = make_window()
    with qtbot.waitSignal(window.model_ready, timeout=MODEL_TIMEOUT_MS):
        window.start_model()
    with qtbot.waitSignal(window.prediction_shown, timeout=MODEL_TIMEOUT_MS) as blocker:
        window.open_paths([an_image(fullres_dir)])
    assert_prediction_on_screen(window)
    # The viewer's path (job, model lifecycle, shown prediction) gives the engine's numbers.
    engine = Predictor.load(bundle).predict(an_image(fullres_dir))
    shown = blocker.args[0]
    assert shown.probability == pytest.approx(engine.probability, abs=1e-6)
    assert (shown.label, window.panel.label_text) == (engine.label, engine.label)


def test_show_model_card_gives_a_readable_summary_and_the_full_card(
    qtbot: QtBot, make_window: MakeWindow, tiny_bundle: Path
) -> None:
    from PySide6.QtWidgets import QDialog, QPlainTextEdit

    from engine.modeling.bundles import read_card

    window = make_window()
    with qtbot.waitSignal(window.model_ready, timeout=MODEL_TIMEOUT_MS):
        window.load_model(tiny_bundle)
    window.show_model_card()
    dialogs = [d for d in window.findChildren(QDialog) if d.windowTitle() == "Model card"]
    assert len(dialogs) == 1
    text = dialogs[0].findChild(QPlainTextEdit).toPlainText()
    card = read_card(tiny_bundle)
    assert text.startswith(f"Model: {card.name}")
    assert f"Operating point: threshold {card.threshold:.3f}" in text
    assert f'"model_sha256": "{card.model_sha256}"' in text  # the full JSON follows


def test_the_model_card_shows_figures_from_elsewhere_before_in_distribution(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    """The shipped card's summary leads with where the model was validated, in plain words (no
    parameter names before "Technical details"), then what to expect on images from elsewhere
    (the cross-fitted external figures), then the flattering in-distribution ones."""
    from PySide6.QtWidgets import QDialog, QPlainTextEdit

    from engine.modeling.bundles import read_card

    window = make_window()
    with qtbot.waitSignal(window.model_ready, timeout=MODEL_TIMEOUT_MS):
        window.load_model(default_model_dir())
    window.show_model_card()
    dialogs = [d for d in window.findChildren(QDialog) if d.windowTitle() == "Model card"]
    text = dialogs[0].findChild(QPlainTextEdit).toPlainText()
    card = read_card(default_model_dir())
    crossed = card.external["cross_fitted"]
    elsewhere = text.index(
        f"Expected on images from elsewhere ({crossed['n']} external images, calibration and "
        "threshold cross-fitted)"
    )
    assert f"accuracy {crossed['accuracy']:.3f}" in text
    assert elsewhere < text.index("In-distribution (validation split") < text.index("Robustness")
    lines = text.splitlines()
    assert lines[1].startswith("Validated on: Guangzhou") and "children aged 1–5 years" in lines[1]
    assert "platt" not in text[: text.index("Technical details")].lower()
    assert "Test-time augmentation: mean over identity, hflip, zoom_in, zoom_out" in text
