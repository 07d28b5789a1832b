"""The Triage and History tabs and exports wired into the main window; PDF and PNG exports."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from engine.inference.prediction import Prediction
from engine.inference.shown_result import ShownResult
from engine.modeling.card import ModelCard
from engine.modeling.operating_point import OperatingPoint
from engine.modeling.preprocessing import Preprocessing
from tests.viewer.helpers import LOAD_TIMEOUT_MS, fake_prediction, open_and_wait
from viewer.jobs import JobRunner
from viewer.reading_room.report_export import ReportExporter, save_png
from viewer.window import triage_and_history as triage_history_module
from viewer.window.main_window import MainWindow
from viewer.window.triage_and_history import TriageAndHistory

MakeWindow = Callable[..., MainWindow]
CARD = ModelCard(
    "fake-model",
    "cnn",
    Preprocessing(64),
    "last_conv",
    0.4,
    name="Fake",
    operating_point=OperatingPoint(0.4, "youden", None, sensitivity=0.95, specificity=0.7),
)


@pytest.fixture
def make_triage_history(
    make_window: MakeWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], tuple[MainWindow, TriageAndHistory]]:
    """Main windows (with their Triage and History tabs) whose history is a temporary database."""
    monkeypatch.setattr(
        triage_history_module, "default_history_path", lambda: tmp_path / "h.sqlite"
    )

    def factory() -> tuple[MainWindow, TriageAndHistory]:
        window = make_window()
        return window, window.triage_history

    return factory


def prediction_for(path: Path, probability: float = 0.8) -> Prediction:
    return dataclasses.replace(fake_prediction(probability), path=path)


def test_adds_the_tabs_and_a_menu_before_help(
    make_triage_history: Callable[[], tuple[MainWindow, TriageAndHistory]],
) -> None:
    window, triage_history = make_triage_history()
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles[-2:] == ["Triage", "History"]
    menus = [action.text() for action in window.menuBar().actions()]
    assert menus.index("&Records") == menus.index("&Help") - 1
    assert not triage_history.pdf_action.isEnabled()
    assert triage_history.pdf_action.shortcut().toString() == "Ctrl+Shift+E"


def test_every_prediction_shown_is_recorded(
    qtbot: QtBot,
    make_triage_history: Callable[[], tuple[MainWindow, TriageAndHistory]],
    fullres_dir: Path,
) -> None:
    window, triage_history = make_triage_history()
    assert triage_history.history is not None and triage_history.history_view is not None
    image = open_and_wait(qtbot, window, next((fullres_dir / "NORMAL").iterdir())).source
    window.reading_room.state.set_threshold(0.2)  # the user's, for the session
    window.reading_room.show_prediction(prediction_for(image, 0.3))
    qtbot.waitUntil(lambda: triage_history.history.count() == 1, timeout=LOAD_TIMEOUT_MS)
    stored = triage_history.history.query()[0]
    assert (stored.path, stored.source, stored.model_id) == (str(image), "viewer", "fake-model")
    assert (stored.threshold, stored.label) == (0.2, "PNEUMONIA"), "as on screen"
    assert window.panel.label_text == "PNEUMONIA"
    assert len(stored.sha256) == 64
    assert triage_history.pdf_action.isEnabled()
    window.tabs.setCurrentWidget(triage_history.history_view)
    qtbot.waitUntil(
        lambda: len(triage_history.history_view.entries()) == 1, timeout=LOAD_TIMEOUT_MS
    )


def test_a_triage_row_opens_in_the_reading_room(
    qtbot: QtBot,
    make_triage_history: Callable[[], tuple[MainWindow, TriageAndHistory]],
    fullres_dir: Path,
) -> None:
    window, triage_history = make_triage_history()
    window.tabs.setCurrentWidget(triage_history.triage_list)
    image = next((fullres_dir / "PNEUMONIA").iterdir())
    with qtbot.waitSignal(window.image_shown, timeout=LOAD_TIMEOUT_MS) as blocker:
        triage_history.triage_list.open_requested.emit(image)
    assert blocker.args[0].source == image
    assert window.tabs.currentIndex() == 0


def test_triage_of_the_open_studies_needs_open_studies(
    qtbot: QtBot,
    make_triage_history: Callable[[], tuple[MainWindow, TriageAndHistory]],
    fullres_dir: Path,
) -> None:
    window, triage_history = make_triage_history()
    triage_history.triage_open_studies()
    assert "No studies are open" in window.banner.text()
    with qtbot.waitSignal(window.browser.index_ready, timeout=LOAD_TIMEOUT_MS):
        window.open_paths([fullres_dir / "NORMAL"])
    triage_history.triage_open_studies()
    assert window.tabs.currentWidget() is triage_history.triage_list
    assert (
        "Waiting for the model" in triage_history.triage_list.status.text()
    )  # no model in this test


def test_pdf_report_without_a_prediction_explains_why(
    make_triage_history: Callable[[], tuple[MainWindow, TriageAndHistory]],
) -> None:
    window, triage_history = make_triage_history()
    triage_history.choose_pdf_report()
    assert "Nothing to report yet" in window.banner.text()


def test_the_result_on_screen_is_of_the_image_shown_by_the_model_in_use(
    qtbot: QtBot, make_window: MakeWindow, fullres_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    first, second = sorted((fullres_dir / "NORMAL").iterdir())[:2]
    radiograph = open_and_wait(qtbot, window, second)
    room = window.reading_room
    own = dataclasses.replace(
        fake_prediction(0.8, shape=radiograph.pixels.shape), path=radiograph.source
    )
    window.show_prediction(own)
    assert room.result_on_screen() is None, "no model in use: no result to act on"
    in_use = SimpleNamespace(model_id=own.model_id)
    monkeypatch.setattr(type(room.models), "predictor", property(lambda _: in_use))
    shown = room.result_on_screen()
    assert shown is not None and (shown[0], shown[1].prediction, shown[2]) == (
        radiograph, own, in_use
    )  # fmt: skip
    window.show_prediction(dataclasses.replace(own, path=first))
    shown = room.result_on_screen()
    assert shown is not None and shown[1].prediction is own, "an earlier image's is dropped"
    window.show_prediction(dataclasses.replace(own, model_id="replaced-model"))
    assert room.result_on_screen() is None, "a prediction by a model since replaced"
    window.triage_history.choose_pdf_report()
    assert "Nothing to report yet" in window.banner.text()


def test_pdf_report_of_the_image_shown_is_written_in_the_background(
    qtbot: QtBot,
    make_triage_history: Callable[[], tuple[MainWindow, TriageAndHistory]],
    fullres_dir: Path,
    tmp_path: Path,
) -> None:
    window, triage_history = make_triage_history()
    radiograph = open_and_wait(qtbot, window, next((fullres_dir / "PNEUMONIA").iterdir()))
    prediction = dataclasses.replace(
        fake_prediction(0.8, shape=radiograph.pixels.shape), path=radiograph.source
    )
    target = tmp_path / "report.pdf"
    with qtbot.waitSignal(triage_history.exporter.saved, timeout=LOAD_TIMEOUT_MS) as blocker:
        triage_history.exporter.export_pdf(
            target, radiograph, ShownResult(prediction, 0.9, set_by_user=True), CARD
        )
    assert blocker.args == [target]
    assert target.read_bytes().startswith(b"%PDF-")
    assert "Saved" in window.statusBar().currentMessage()


def test_a_failed_pdf_export_is_reported(
    qtbot: QtBot, make_window: MakeWindow, fullres_dir: Path, tmp_path: Path
) -> None:
    window = make_window()
    radiograph = open_and_wait(qtbot, window, next((fullres_dir / "NORMAL").iterdir()))
    exporter = ReportExporter(JobRunner(parent=window), window)
    prediction = prediction_for(radiograph.source)
    with qtbot.waitSignal(exporter.failed, timeout=LOAD_TIMEOUT_MS) as blocker:
        exporter.export_pdf(
            tmp_path / "missing" / "r.pdf", radiograph, ShownResult.of(prediction), CARD
        )
    assert isinstance(blocker.args[0], OSError)


def test_save_png_writes_the_widget_atomically(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    label = QLabel("Hilum")
    qtbot.addWidget(label)
    label.resize(120, 40)
    label.show()
    target = save_png(label, tmp_path / "view.png")
    assert target.read_bytes().startswith(b"\x89PNG")
    assert [p.name for p in tmp_path.iterdir()] == ["view.png"]
    with pytest.raises(OSError):
        save_png(label, tmp_path / "no-such-folder" / "view.png")

    # The write fails half-way (disk full): the previous PNG stays whole, no temporary is left.
    previous = target.read_bytes()
    written: list[Path] = []

    def half_written(self: QPixmap, name: str, *_: object) -> bool:
        Path(name).write_bytes(previous[:20])
        written.append(Path(name))
        return False

    monkeypatch.setattr(QPixmap, "save", half_written)
    with pytest.raises(OSError, match="could not be written"):
        save_png(label, target)
    assert written and written[0] != target
    assert target.read_bytes() == previous
    assert [p.name for p in tmp_path.iterdir()] == ["view.png"]


def test_a_pdf_export_that_fails_while_writing_keeps_the_previous_report(
    qtbot: QtBot,
    make_window: MakeWindow,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from matplotlib.figure import Figure
    from PIL import Image

    image = tmp_path / "images" / "chest.png"
    image.parent.mkdir()
    Image.new("L", (64, 64), 100).save(image)
    window = make_window()
    radiograph = open_and_wait(qtbot, window, image)
    exporter = ReportExporter(JobRunner(parent=window), window)
    target = tmp_path / "reports" / "report.pdf"
    target.parent.mkdir()
    target.write_bytes(b"previous report")

    def half_written(self: Figure, path: Path, **_: object) -> None:
        Path(path).write_bytes(b"%PDF-1.4 half a page")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", half_written)
    with qtbot.waitSignal(exporter.failed, timeout=LOAD_TIMEOUT_MS) as blocker:
        exporter.export_pdf(target, radiograph, ShownResult.of(prediction_for(image)), CARD)
    assert isinstance(blocker.args[0], OSError)
    assert target.read_bytes() == b"previous report"
    assert [p.name for p in target.parent.iterdir()] == ["report.pdf"]


def test_the_pdf_of_an_image_outside_the_shipped_models_domain_gives_no_finding(
    tmp_path: Path, shared_data: Path
) -> None:
    """Real predictions of the shipped model: an external film (domain score 0.93, checked by
    hand) is reported with its label and the domain check; an NIH adult film (1.51) is reported
    as outside, even at a threshold the user moved."""
    import pypdfium2 as pdfium

    from engine import load_image
    from engine.inference.predictor import Predictor
    from engine.modeling.bundles import read_card
    from viewer.reading_room.report_export import write_report
    from viewer.resource_paths import default_model_dir

    model = default_model_dir()
    assert model is not None
    predictor, card = Predictor.load(model), read_card(model)

    def report_text(relative: str) -> str:
        radiograph = load_image(shared_data / relative)
        path = write_report(
            tmp_path / "r.pdf",
            radiograph,
            ShownResult(predictor.predict(radiograph), 0.2, set_by_user=True),
            card,
        )
        document = pdfium.PdfDocument(str(path))
        try:
            return " ".join(document[0].get_textpage().get_text_range().split())
        finally:
            document.close()

    inside = report_text("chest_xray/external/NORMAL/IM-0001-0001.jpeg")
    assert "NORMAL: probability 0.005" in inside
    assert "Domain check: inside what the model was validated on (score 0.93)" in inside
    outside = report_text("sites/nih/NORMAL/00001300_000.png")
    assert "Outside what this model was validated on File:" in outside
    assert "PNEUMONIA:" not in outside and "NORMAL:" not in outside
    assert "Label: none" in outside and "UNVALIDATED for this image" in outside
    assert "(domain score 1.51; above 1 is outside)" in outside
