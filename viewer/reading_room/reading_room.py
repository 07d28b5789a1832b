"""The reading room: study browser, image view, prediction panel and DICOM tags, and their flow.

The flow for one image:

1. ``load_image`` runs as a job; on success the image view, tags and panel show the radiograph;
2. when a model is loaded, ``engine.inference.predictor.predict`` runs as a job on the model's
   own thread (:class:`viewer.model.lifecycle.ModelLifecycle`);
3. its ``Prediction`` (probability, heatmap, warnings) goes to the panel and the view, as much
   of it as the image's :class:`viewer.disclosure.Disclosure` allows: for an image outside what
   the model was validated on, the checks' headline instead of the label, and no probability or
   overlay until the user reveals them (per image: the next image starts hidden again).

Only the newest request counts: results of an image the user already left are dropped. Images
can be read while the model is still loading; the prediction follows when it is ready.

What is on screen is one :class:`~engine.workflows.reading_state.ReadingState`: the panel, the
overlay and the study list follow it; the PDF, history and PACS read :meth:`result_on_screen`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QSplitter, QTabWidget, QVBoxLayout, QWidget

from engine import Radiograph, StudyIndex, load_image
from engine.imaging.dicom_tags import HeaderRow, header_rows
from engine.workflows.reading_state import ReadingState
from viewer.disclosure import Disclosure
from viewer.errors import ErrorBanner, describe
from viewer.jobs import Job, JobRunner
from viewer.model.lifecycle import ModelLifecycle
from viewer.reading_room.dicom_tags import DicomTagsPanel
from viewer.reading_room.frame_bar import FrameBar
from viewer.reading_room.image_view import ImageView
from viewer.reading_room.prediction_panel import PredictionPanel
from viewer.reading_room.report_export import save_png
from viewer.reading_room.study_browser import StudyBrowser
from viewer.settings import Settings

if TYPE_CHECKING:  # imported for real on the model's thread: keeps start-up fast
    from engine.inference.prediction import Prediction
    from engine.inference.predictor import Predictor
    from engine.inference.shown_result import ShownResult


def read_for_display(path: Path, frame: int = 0) -> tuple[Radiograph, tuple[HeaderRow, ...]]:
    """The image (frame ``frame`` of a multi-frame one) and its header rows, read together on a
    worker thread."""
    radiograph = load_image(path, frame)
    return radiograph, header_rows(radiograph)


def run_prediction(predictor: Predictor, radiograph: Radiograph) -> Prediction:
    """``engine.inference.predictor.predict`` on a radiograph already read (model's thread)."""
    from engine.inference.predictor import predict

    return predict(predictor, radiograph)


class ReadingRoom(QWidget):
    """The reading room tab: browser | banner over image view | prediction panel and tags.

    Args:
        settings: heatmap preferences and the splitter layout are kept there.
        models: the active model (its thread runs the predictions).
        parent: the Qt parent.

    Signals:
        image_shown(Radiograph): an image is on screen.
        image_failed(BaseException): an image could not be read (the banner says why).
        prediction_shown(object): a prediction and its heatmap are on screen.
        message(str, int): a status-bar message and how long to show it (ms; 0 = until replaced).
    """

    image_shown = Signal(object)
    image_failed = Signal(object)
    prediction_shown = Signal(object)
    message = Signal(str, int)

    def __init__(
        self, settings: Settings, models: ModelLifecycle, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.models = models
        self._io = JobRunner(parent=self)
        self._load_job: Job | None = None
        self._predict_job: Job | None = None
        self._reading: Path | None = None  # the file being read
        #: The image on screen and what is said about it: every view follows it.
        self.state = ReadingState()
        #: What of the prediction on screen is shown (one place decides, for every view).
        self.disclosure = Disclosure()
        self._heat_strength = -1.0  # the strength the heatmap on screen was drawn at
        self._open_first_indexed = False
        self.view = ImageView()
        self.view.setAcceptDrops(False)
        self.frames = FrameBar()  # "Frame k / n" and its controls, for a multi-frame image
        self.banner = ErrorBanner()
        self.browser = StudyBrowser(self._io)
        self.tags = DicomTagsPanel()
        self.panel = PredictionPanel(self.state)
        self._build()
        self._connect()
        self._restore()

    def _build(self) -> None:
        center = QWidget()
        center_layout = QVBoxLayout(center)
        center_layout.setContentsMargins(0, 0, 0, 0)
        center_layout.setSpacing(0)
        center_layout.addWidget(self.banner)
        center_layout.addWidget(self.view, 1)
        center_layout.addWidget(self.frames)
        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(self.panel, "Prediction")
        self.side_tabs.addTab(self.tags, "DICOM tags")
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.browser)
        self.splitter.addWidget(center)
        self.splitter.addWidget(self.side_tabs)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([300, 780, 360])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    def _connect(self) -> None:
        self.browser.image_selected.connect(self.open_image)
        self.frames.frame_requested.connect(self.open_frame)
        self.browser.index_ready.connect(self._on_index_ready)
        self.browser.failed.connect(self.show_error)
        self.panel.heatmap_toggled.connect(self.set_heatmap_visible)
        self.panel.opacity_changed.connect(self._on_opacity)
        self.panel.colormap_changed.connect(self._on_colormap)
        self.panel.reveal_toggled.connect(self.reveal_result)
        self.models.loading.connect(self._on_model_loading)
        self.models.ready.connect(self._on_model_ready)
        self.models.failed.connect(self._on_model_failed)
        self.models.missing.connect(self._on_model_missing)
        self.state.subscribe(self._on_state)

    def _restore(self) -> None:
        s = self.settings
        if not s.layout_state.isEmpty():
            self.splitter.restoreState(s.layout_state)
        self.panel.set_heatmap_controls(s.heatmap_visible, s.heatmap_opacity, s.colormap)
        self.view.set_heatmap_visible(s.heatmap_visible)
        self.view.set_heatmap_opacity(s.heatmap_opacity)
        self.view.set_colormap(s.colormap)

    # --- images --------------------------------------------------------------------------------

    def open_paths(self, paths: Sequence[Path]) -> None:
        """List files and folders in the study browser and show the first image."""
        first = paths[0]
        self._open_first_indexed = not first.is_file()
        self.browser.open_paths(list(paths))
        if first.is_file():
            self.open_image(first)

    @Slot(int)
    def open_frame(self, frame: int) -> None:
        """Show (and predict) frame ``frame`` of the multi-frame image on screen."""
        if self.view.radiograph is not None:
            self.open_image(self.view.radiograph.source, frame)

    @Slot(Path)
    def open_image(self, path: Path, frame: int = 0) -> None:
        """Read ``path`` (its frame ``frame``) in the background and show it (then predict, if a
        model is ready)."""
        for job in (self._load_job, self._predict_job):
            if job is not None:
                job.cancel()
                job.withdraw()
        self._predict_job = None
        self._reading = path
        self.message.emit(f"Reading {path.name}…", 0)
        self.panel.clear_prediction("Reading the image…")
        job = self._io.submit(read_for_display, path, frame, callbacks=False)
        job.succeeded.connect(self._on_image_loaded)
        job.failed.connect(self._on_image_failed)
        self._load_job = job
        job.start()

    @Slot(object)
    def _on_image_loaded(self, loaded: tuple[Radiograph, tuple[HeaderRow, ...]]) -> None:
        if self.sender() is not self._load_job:
            return
        radiograph, header = loaded
        self.banner.hide()
        self.disclosure = Disclosure()
        self.view.set_radiograph(radiograph)
        self.frames.show_frame(radiograph.frame_index, radiograph.frame_count)
        self.tags.show_radiograph(radiograph, header)
        self.state.show_image(radiograph, radiograph.frame_index)
        message = f"{radiograph.source.name}: {radiograph.width} x {radiograph.height}"
        if radiograph.warnings:
            message += " — " + " ".join(radiograph.warnings)
        self.message.emit(message, 15_000)
        self.image_shown.emit(radiograph)
        self._predict()

    @Slot(object)
    def _on_image_failed(self, error: BaseException) -> None:
        if self.sender() is not self._load_job:
            return
        self.view.set_radiograph(None)
        self.frames.show_frame(0, 1)
        self.tags.clear()
        if self._reading is not None:
            self.state.fail(self._reading, describe(error)[1])
        self.show_error(error)
        self.image_failed.emit(error)

    @Slot(object)
    def _on_index_ready(self, index: StudyIndex) -> None:
        if self._open_first_indexed:
            self._open_first_indexed = False
            images = index.images()
            if images:
                self.open_image(images[0])

    # --- predictions ---------------------------------------------------------------------------

    def _predict(self) -> None:
        radiograph = self.view.radiograph
        if radiograph is None:
            return
        predictor = self.models.predictor
        if predictor is None:
            self.panel.set_status(
                "Waiting for the model to load…"
                if self.models.is_loading
                else "No model loaded: choose one in the Model menu."
            )
            return
        self.panel.set_status("Predicting…")
        job = self.models.runner.submit(
            run_prediction, predictor, radiograph, callbacks=False, urgent=True
        )
        job.succeeded.connect(self._on_prediction)
        job.failed.connect(self._on_prediction_failed)
        self._predict_job = job
        job.start()

    @Slot(object)
    def _on_prediction(self, prediction: Prediction) -> None:
        if self.sender() is self._predict_job:
            self.show_prediction(prediction)

    def result_on_screen(self) -> tuple[Radiograph, ShownResult, Predictor] | None:
        """The image on screen, its result as shown and the model that made it, or ``None``.

        The one rule for "the result on screen", used by every action on it (PDF report, history,
        send to PACS, export as DICOM): the reading state's result (the label and heatmap
        strength at the threshold in force), which must be of the file shown and made by the
        model in use. A prediction of an earlier image, or by a model since replaced, is not this
        image's result, and no report or DICOM object is made of it.
        """
        radiograph, result = self.state.image, self.state.result()
        predictor = self.models.predictor
        if radiograph is None or result is None or predictor is None:
            return None
        if result.path != radiograph.source or result.model_id != predictor.model_id:
            return None
        return radiograph, result, predictor

    def show_prediction(self, prediction: Prediction) -> None:
        """Show ``prediction`` of the image on screen (through the reading state: panel,
        heatmap), then ``prediction_shown``; a prediction of another file is dropped."""
        disclosure = Disclosure.of(prediction)
        self.disclosure = disclosure
        self._heat_strength = -1.0
        self.panel.show_prediction(prediction, disclosure)
        if self.state.prediction is prediction:
            self.prediction_shown.emit(prediction)

    def _on_state(self, change: str) -> None:
        """Follow the reading state: the heatmap, and the study list's highlight."""
        if change == "image":
            self._heat_strength = -1.0
            self.browser.follow(self.state.path)
        self._show_heatmap()

    @Slot(bool)
    def reveal_result(self, revealed: bool) -> None:
        """Show (or hide again) the unvalidated result of the image on screen: the panel's
        probability and label, and the heatmap overlay, all marked unvalidated."""
        self.disclosure.revealed = revealed
        self.panel.set_disclosure(self.disclosure)
        self._heat_strength = -1.0
        self._show_heatmap()

    def _show_heatmap(self) -> None:
        """Overlay the reading state's heatmap, faded at the threshold in force
        (:mod:`engine.inference.heatmap_strength`); redrawn only when that strength changes.
        Nothing is drawn without a prediction, or while the disclosure hides the result."""
        result = self.state.result()
        heatmap = None if result is None else result.faded_heatmap
        if result is None or heatmap is None or not self.disclosure.shows_result:
            if self.view.has_heatmap:
                self.view.set_heatmap(None)
            self._heat_strength = -1.0
            return
        if abs(result.heatmap_strength - self._heat_strength) >= 0.005:
            self._heat_strength = result.heatmap_strength
            self.view.set_heatmap(heatmap)

    @Slot(object)
    def _on_prediction_failed(self, error: BaseException) -> None:
        if self.sender() is not self._predict_job:
            return
        self.panel.set_status(f"No prediction: {describe(error)[1]}")
        self.show_error(error)

    @Slot(Path)
    def _on_model_loading(self, bundle: Path) -> None:
        self.panel.set_model_status(f"Loading model {bundle.name}… (images can be viewed now)")

    @Slot(object)
    def _on_model_ready(self, predictor: Predictor) -> None:
        card = predictor.bundle.card
        self.panel.set_model(
            card.display_name,
            str(predictor.device),
            predictor.threshold,
            card.class_names,
            model_id=predictor.model_id,
        )
        if self.view.radiograph is not None and self.state.prediction is None:
            self._predict()

    @Slot(object)
    def _on_model_failed(self, error: BaseException) -> None:
        self.panel.set_model_status(describe(error)[1])
        self.show_error(error)

    @Slot()
    def _on_model_missing(self) -> None:
        self.panel.set_model_status(
            "No model is installed. Choose a model bundle from the Model menu to get predictions."
        )

    # --- heatmap, export, errors ---------------------------------------------------------------

    @Slot(bool)
    def set_heatmap_visible(self, visible: bool) -> None:
        """Show or hide the heatmap overlay (remembered)."""
        self.view.set_heatmap_visible(visible)
        self.panel.heatmap_checkbox.setChecked(visible)
        self.settings.heatmap_visible = visible

    @Slot(float)
    def _on_opacity(self, opacity: float) -> None:
        self.view.set_heatmap_opacity(opacity)
        self.settings.heatmap_opacity = opacity

    @Slot(str)
    def _on_colormap(self, name: str) -> None:
        self.view.set_colormap(name)
        self.settings.colormap = name

    @Slot()
    def choose_export_png(self) -> None:
        """Ask where to save the current view as PNG."""
        folder = self.settings.last_folder or Path.home()
        name = self.view.radiograph.source.stem if self.view.radiograph else "hilum"
        target, _ = QFileDialog.getSaveFileName(
            self, "Export view as PNG", str(folder / f"{name}_view.png"), "PNG (*.png)"
        )
        if target:
            self.export_png(Path(target))

    def export_png(self, path: Path) -> bool:
        """Save the image view as shown (window, zoom, overlay, scale bar) to ``path``,
        atomically; a failure is shown in the error banner and returns False."""
        try:
            save_png(self.view, path)
        except OSError as error:
            self.show_error(error)
            return False
        self.message.emit(f"Saved {path}", 10_000)
        return True

    @Slot(object)
    def show_error(self, error: BaseException) -> None:
        """Show ``error`` in the banner and its summary in the status bar."""
        self.banner.show_error(error)
        self.message.emit(describe(error)[0], 10_000)

    def shutdown(self, timeout_ms: int = 15_000) -> bool:
        """Stop reading images and wait for the readers; True when they ended in time."""
        browsed = self.browser.shutdown(timeout_ms)
        return self._io.shutdown(timeout_ms) and browsed
