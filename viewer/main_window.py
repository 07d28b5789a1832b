"""The main window: the composition root of the reading room.

It owns the menus, the tabs, drag and drop, the status bar and the active model, and wires the
widgets together. The flow for one image (../shared/GUIDE.md, "The flows"):

1. ``load_image`` runs as a job; on success the image view, tags and panel show the radiograph;
2. when a model is loaded, ``engine.inference.predictor.predict`` runs as a job on the model's own
thread;
3. its ``Prediction`` (probability, heatmap, warnings) goes to the panel and the view.

Only the newest request counts: results of an image the user already left are dropped. The model
(TensorFlow import, load, warm-up: seconds) loads in the background after the window is shown, so
images can be read before it is ready.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QMimeData, Qt, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine import HilumError, Radiograph, StudyIndex, load_image
from engine.inference.prediction_report import DISCLAIMER
from engine.modeling.card_summary import describe_card
from viewer.errors import ErrorBanner, describe
from viewer.jobs import Job, JobRunner
from viewer.reading_room.dicom_tags import DicomTagsPanel
from viewer.reading_room.image_view import ImageView, Preset
from viewer.reading_room.prediction_panel import HEATMAP_NOTE, PredictionPanel
from viewer.reading_room.report_export import save_png
from viewer.reading_room.study_browser import StudyBrowser
from viewer.records import Records
from viewer.resource_paths import default_model_dir
from viewer.settings import Settings
from viewer.training.training_tab import TrainingTab  # Training tab (issue 6)

if TYPE_CHECKING:  # imported for real on a worker thread: keeps start-up fast
    from engine.inference.predictor import Prediction, Predictor

IMAGE_FILTER = "Images (*.dcm *.dicom *.dic *.jpg *.jpeg *.png);;All files (*)"
APP_TITLE = "Hilum"


def load_predictor(bundle: Path) -> Predictor:
    """Import the inference engine (and TensorFlow) and load ``bundle``: run on a worker thread.

    Raises:
        HilumError: the bundle cannot be used.
        ImportError: this build has no inference engine.
    """
    from engine.inference.predictor import Predictor

    return Predictor.load(bundle)


def run_prediction(predictor: Predictor, radiograph: Radiograph) -> Prediction:
    """``engine.inference.predictor.predict`` on a radiograph already read (run on the model's
    thread)."""
    from engine.inference.predictor import predict

    return predict(predictor, radiograph)


def read_model_card(bundle: Path) -> dict[str, Any]:
    """The card of ``bundle`` (quick: JSON only, no TensorFlow)."""
    from engine.modeling.bundles import read_card

    return read_card(bundle)


class MainWindow(QMainWindow):
    """Hilum's main window.

    Args:
        settings: persisted preferences (tests pass a temporary store).
        parent: the Qt parent.

    Signals:
        image_shown(Radiograph): an image is on screen.
        image_failed(BaseException): an image could not be read (the banner says why).
        prediction_shown(object): a prediction and its heatmap are on screen.
        model_ready(object): a model finished loading.
        model_failed(BaseException): a model could not be loaded.
    """

    image_shown = Signal(object)
    image_failed = Signal(object)
    prediction_shown = Signal(object)
    model_ready = Signal(object)
    model_failed = Signal(object)

    def __init__(self, settings: Settings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else Settings()
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self._io = JobRunner(parent=self)
        self._model_runner = JobRunner(max_threads=1, parent=self)
        self._load_job: Job | None = None
        self._predict_job: Job | None = None
        self._model_job: Job | None = None
        self._predictor: Predictor | None = None
        self._model_path: Path | None = None
        self._prediction: Prediction | None = None
        self._open_first_indexed = False

        self.view = ImageView()
        self.view.setAcceptDrops(False)
        self.banner = ErrorBanner()
        self.browser = StudyBrowser(self._io)
        self.tags = DicomTagsPanel()
        self.panel = PredictionPanel()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self._build_reading_room()
        # --- Training tab (viewer/training/training_tab.py, issue 6) ---
        self.training_tab = TrainingTab(self.settings)
        self.add_tab(self.training_tab, "Training")
        self.training_tab.promoted.connect(self.use_model)
        self.training_tab.default_requested.connect(self.use_default_model)
        self.training_tab.guard_close(self)
        # --- end Training tab ---
        self._build_status_bar()
        self._build_menus()
        self._connect()
        self._restore_settings()
        self.records = Records(self)  # Worklist + History tabs, Records menu (viewer/records.py)

    # --- layout --------------------------------------------------------------------------------

    def _build_reading_room(self) -> None:
        center = QWidget()
        center_layout = QVBoxLayout(center)
        center_layout.setContentsMargins(0, 0, 0, 0)
        center_layout.setSpacing(0)
        center_layout.addWidget(self.banner)
        center_layout.addWidget(self.view, 1)
        side = QTabWidget()
        side.addTab(self.panel, "Prediction")
        side.addTab(self.tags, "DICOM tags")
        self.side_tabs = side
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.browser)
        self.splitter.addWidget(center)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([300, 780, 360])
        self.add_tab(self.splitter, "Reading room")
        self.setCentralWidget(self.tabs)

    def add_tab(self, widget: QWidget, title: str) -> int:
        """Add a top-level tab (Worklist, History, Training, ...); return its index."""
        return self.tabs.addTab(widget, title)

    def _build_status_bar(self) -> None:
        self._cursor_label = QLabel()
        self._window_label = QLabel()
        self._model_label = QLabel("Model: not loaded")
        bar = self.statusBar()
        for label in (self._cursor_label, self._window_label, self._model_label):
            bar.addPermanentWidget(label)

    def _action(
        self,
        menu: QMenu,
        text: str,
        slot: Any,
        shortcuts: Sequence[str | QKeySequence] = (),
        checkable: bool = False,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setCheckable(checkable)
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        open_files = self._action(
            file, "&Open file(s)…", self.choose_files, [QKeySequence.StandardKey.Open]
        )
        open_folder = self._action(file, "Open &folder…", self.choose_folder, ["Ctrl+Shift+O"])
        self.recent_menu = file.addMenu("Open &recent")
        file.addSeparator()
        self._action(
            file,
            "&Export view as PNG…",
            self.choose_export_png,
            ["Ctrl+E"],
            tip="Save what the image view shows, overlay included, as a PNG",
        )
        file.addSeparator()
        self._action(file, "&Quit", self.close, [QKeySequence.StandardKey.Quit])

        view = bar.addMenu("&View")
        fit = self._action(view, "&Fit to window", self.view.fit, ["F"])
        actual = self._action(view, "&Actual size (1:1)", self.view.actual_size, ["1"])
        self._action(view, "Zoom &in", self.view.zoom_in, ["+", "=", "Ctrl++"])
        self._action(view, "Zoom &out", self.view.zoom_out, ["-", "Ctrl+-"])
        view.addSeparator()
        self.invert_action = self._action(
            view, "&Invert", self.view.set_inverted, ["I"], checkable=True
        )
        reset = self._action(
            view, "&Reset view", self._reset_view, ["R"], tip="Default window, no inversion, fitted"
        )
        self.presets_menu = view.addMenu("Window &presets")
        view.addSeparator()
        self.heatmap_action = self._action(
            view, "&Heatmap overlay", self._set_heatmap_visible, ["H"], checkable=True
        )

        model = bar.addMenu("&Model")
        self._action(model, "&Choose model bundle…", self.choose_model)
        self._action(model, "Use the &default model", self.use_default_model)
        self._action(model, "Show model &card…", self.show_model_card)

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&About Hilum", self.show_about)

        toolbar = self.addToolBar("View")
        toolbar.setObjectName("viewToolbar")
        toolbar.setMovable(False)
        for action in (
            open_files,
            open_folder,
            fit,
            actual,
            self.invert_action,
            reset,
            self.heatmap_action,
        ):
            toolbar.addAction(action)

    def _connect(self) -> None:
        self.view.pixel_hovered.connect(self._on_pixel)
        self.view.hover_left.connect(self._cursor_label.clear)
        self.view.window_changed.connect(self._on_window)
        self.browser.image_selected.connect(self.open_image)
        self.browser.index_ready.connect(self._on_index_ready)
        self.browser.failed.connect(self._show_error)
        self.panel.heatmap_toggled.connect(self._set_heatmap_visible)
        self.panel.opacity_changed.connect(self._on_opacity)
        self.panel.colormap_changed.connect(self._on_colormap)

    def _restore_settings(self) -> None:
        s = self.settings
        if not s.geometry.isEmpty():
            self.restoreGeometry(s.geometry)
        else:
            self.resize(1400, 900)
        if not s.layout_state.isEmpty():
            self.splitter.restoreState(s.layout_state)
        self.panel.set_heatmap_controls(s.heatmap_visible, s.heatmap_opacity, s.colormap)
        self.heatmap_action.setChecked(s.heatmap_visible)
        self.view.set_heatmap_visible(s.heatmap_visible)
        self.view.set_heatmap_opacity(s.heatmap_opacity)
        self.view.set_colormap(s.colormap)
        self._rebuild_recent_menu()

    # --- opening -------------------------------------------------------------------------------

    def open_paths(self, paths: Sequence[str | Path]) -> None:
        """Open files and folders: list them in the study browser and show the first image."""
        chosen = [Path(p) for p in paths]
        if not chosen:
            return
        for path in chosen:
            if path.exists():
                self.settings.add_recent(path)
        first = chosen[0]
        self.settings.last_folder = first if first.is_dir() else first.parent
        self._rebuild_recent_menu()
        self._open_first_indexed = not first.is_file()
        self.browser.open_paths(chosen)
        if first.is_file():
            self.open_image(first)

    @Slot(Path)
    def open_image(self, path: Path) -> None:
        """Read ``path`` in the background and show it (then predict, if a model is ready)."""
        for job in (self._load_job, self._predict_job):
            if job is not None:
                job.cancel()
                job.withdraw()
        self._predict_job = None
        self.statusBar().showMessage(f"Reading {path.name}…")
        self.panel.clear_prediction("Reading the image…")
        job = self._io.submit(load_image, path, callbacks=False)
        job.succeeded.connect(self._on_image_loaded)
        job.failed.connect(self._on_image_failed)
        self._load_job = job
        job.start()

    @Slot(object)
    def _on_image_loaded(self, radiograph: Radiograph) -> None:
        if self.sender() is not self._load_job:
            return
        self.banner.hide()
        self._prediction = None
        self.view.set_radiograph(radiograph)
        self.invert_action.setChecked(False)
        self.tags.show_radiograph(radiograph)
        self.browser.select_path(radiograph.source)
        self.setWindowTitle(f"{radiograph.source.name} — {APP_TITLE}")
        self._rebuild_presets_menu()
        message = f"{radiograph.source.name}: {radiograph.width} x {radiograph.height}"
        if radiograph.warnings:
            message += " — " + " ".join(radiograph.warnings)
        self.statusBar().showMessage(message, 15_000)
        self.image_shown.emit(radiograph)
        self._predict()

    @Slot(object)
    def _on_image_failed(self, error: BaseException) -> None:
        if self.sender() is not self._load_job:
            return
        self.view.set_radiograph(None)
        self.tags.clear()
        self.panel.clear_prediction("No image")
        self.setWindowTitle(APP_TITLE)
        self._rebuild_presets_menu()
        self._show_error(error)
        self.image_failed.emit(error)

    @Slot(object)
    def _on_index_ready(self, index: StudyIndex) -> None:
        if self._open_first_indexed:
            self._open_first_indexed = False
            images = index.images()
            if images:
                self.open_image(images[0])

    def handle_drop(self, mime: QMimeData) -> bool:
        """Open the local files and folders in ``mime``; False when it holds none."""
        paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
        if not paths:
            return False
        self.open_paths(paths)
        return True

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept drags of local files and folders."""
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Open what was dropped."""
        if self.handle_drop(event.mimeData()):
            event.acceptProposedAction()

    @Slot()
    def choose_files(self) -> None:
        """Ask for image files and open them."""
        folder = str(self.settings.last_folder or Path.home())
        files, _ = QFileDialog.getOpenFileNames(self, "Open images", folder, IMAGE_FILTER)
        if files:
            self.open_paths(files)

    @Slot()
    def choose_folder(self) -> None:
        """Ask for a folder and open every image in it."""
        folder = str(self.settings.last_folder or Path.home())
        chosen = QFileDialog.getExistingDirectory(self, "Open a folder of images", folder)
        if chosen:
            self.open_paths([chosen])

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_paths
        for path in recent:
            action = self.recent_menu.addAction(str(path))
            action.triggered.connect(lambda _=False, p=path: self.open_paths([p]))
        if recent:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear recent", self._clear_recent)
        self.recent_menu.setEnabled(bool(recent))

    @Slot()
    def _clear_recent(self) -> None:
        self.settings.clear_recent()
        self._rebuild_recent_menu()

    # --- view ----------------------------------------------------------------------------------

    def _rebuild_presets_menu(self) -> None:
        self.presets_menu.clear()
        for number, preset in enumerate(self.view.presets(), start=1):
            action = self.presets_menu.addAction(preset.name)
            if number <= 9:
                action.setShortcut(QKeySequence(f"Ctrl+{number}"))
            action.triggered.connect(lambda _=False, p=preset: self._apply_preset(p))
        self.presets_menu.setEnabled(not self.presets_menu.isEmpty())

    def _apply_preset(self, preset: Preset) -> None:
        self.view.apply_preset(preset)

    @Slot()
    def _reset_view(self) -> None:
        self.invert_action.setChecked(False)
        self.view.reset()

    @Slot(bool)
    def _set_heatmap_visible(self, visible: bool) -> None:
        self.view.set_heatmap_visible(visible)
        self.heatmap_action.setChecked(visible)
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

    @Slot(int, int, float)
    def _on_pixel(self, x: int, y: int, value: float) -> None:
        self._cursor_label.setText(f"x {x}  y {y}  value {value:g}")

    @Slot(float, float)
    def _on_window(self, center: float, width: float) -> None:
        self._window_label.setText(f"W {width:.0f}  L {center:.0f}")

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
            self._show_error(error)
            return False
        self.statusBar().showMessage(f"Saved {path}", 10_000)
        return True

    # --- model ---------------------------------------------------------------------------------

    @property
    def predictor(self) -> Predictor | None:
        """The loaded model (``engine.inference.predictor.Predictor``), or ``None``."""
        return self._predictor

    def start_model(self) -> None:
        """Load the model chosen in the settings, or the shipped default, in the background."""
        chosen = self.settings.model_path
        bundle = chosen if chosen is not None and chosen.is_dir() else default_model_dir()
        if bundle is None:
            self._set_model_text("No model: choose a model bundle (Model menu)")
            self.panel.set_model_status(
                "No model is installed. Choose a model bundle from the "
                "Model menu to get predictions."
            )
            return
        self.load_model(bundle)

    def load_model(self, bundle: Path) -> Job:
        """Load the model bundle at ``bundle`` in the background (replacing the active one)."""
        self._predictor = None
        self._model_path = bundle
        self._set_model_text(f"Model: loading {bundle.name}…")
        self.panel.set_model_status(f"Loading model {bundle.name}… (images can be viewed now)")
        job = self._model_runner.submit(load_predictor, bundle, callbacks=False)
        job.succeeded.connect(self._on_model_loaded)
        job.failed.connect(self._on_model_failed)
        self._model_job = job
        return job.start()

    @Slot(object)
    def _on_model_loaded(self, predictor: Predictor) -> None:
        if self.sender() is not self._model_job:
            return
        self._predictor = predictor
        card = predictor.bundle.card
        name = str(card.get("name") or predictor.model_id)
        self.panel.set_model(
            name,
            str(predictor.device),
            predictor.threshold,
            card.get("class_names") or ("NORMAL", "PNEUMONIA"),
        )
        self._set_model_text(f"Model: {name} · {predictor.device.kind}")
        self._model_label.setToolTip(f"{predictor.model_id} on {predictor.device}")
        self.model_ready.emit(predictor)
        if self.view.radiograph is not None and self._prediction is None:
            self._predict()

    @Slot(object)
    def _on_model_failed(self, error: BaseException) -> None:
        if self.sender() is not self._model_job:
            return
        if isinstance(error, ImportError):
            error = HilumError(
                "Predictions are not available: this build of Hilum has no "
                f"inference engine ({error}). Images can still be viewed."
            )
        self._set_model_text("Model: not available")
        self.panel.set_model_status(describe(error)[1])
        self._show_error(error)
        self.model_failed.emit(error)

    def _set_model_text(self, text: str) -> None:
        self._model_label.setText(text)

    def _predict(self) -> None:
        radiograph = self.view.radiograph
        if radiograph is None:
            return
        if self._predictor is None:
            waiting = self._model_job is not None and not self._model_job.is_done
            self.panel.set_status(
                "Waiting for the model to load…"
                if waiting
                else "No model loaded: choose one in the Model menu."
            )
            return
        self.panel.set_status("Predicting…")
        job = self._model_runner.submit(
            run_prediction, self._predictor, radiograph, callbacks=False
        )
        job.succeeded.connect(self._on_prediction)
        job.failed.connect(self._on_prediction_failed)
        self._predict_job = job
        job.start()

    @Slot(object)
    def _on_prediction(self, prediction: Prediction) -> None:
        if self.sender() is self._predict_job:
            self.show_prediction(prediction)

    def show_prediction(self, prediction: Prediction) -> None:
        """Show ``prediction`` of the image on screen: panel, heatmap, ``prediction_shown``."""
        self._prediction = prediction
        self.panel.show_prediction(prediction)
        self.view.set_heatmap(prediction.heatmap)
        self.prediction_shown.emit(prediction)

    @Slot(object)
    def _on_prediction_failed(self, error: BaseException) -> None:
        if self.sender() is not self._predict_job:
            return
        self.panel.set_status(f"No prediction: {describe(error)[1]}")
        self._show_error(error)

    @Slot()
    def choose_model(self) -> None:
        """Ask for a model bundle folder; use it if its card is valid."""
        start = str(self._model_path.parent if self._model_path else Path.home())
        chosen = QFileDialog.getExistingDirectory(self, "Choose a model bundle", start)
        if chosen:
            self.use_model(Path(chosen))

    def use_model(self, bundle: Path) -> bool:
        """Check ``bundle``'s card, remember it and load it; False (and a message) if invalid."""
        try:
            read_model_card(bundle)
        except (HilumError, ImportError) as error:
            self._show_error(error)
            return False
        self.settings.model_path = bundle
        self.load_model(bundle)
        return True

    @Slot()
    def use_default_model(self) -> None:
        """Forget the chosen bundle and load the shipped default."""
        self.settings.model_path = None
        self.start_model()

    @Slot()
    def show_model_card(self) -> None:
        """Show the active model's card as formatted JSON."""
        card = self._predictor.bundle.card if self._predictor is not None else None
        if card is None and self._model_path is not None:
            try:
                card = read_model_card(self._model_path)
            except (HilumError, ImportError) as error:
                self._show_error(error)
                return
        if card is None:
            self._show_error(HilumError("No model is loaded: choose a model bundle first."))
            return
        text = f"{describe_card(card)}\n\nThe full card:\n{json.dumps(card, indent=2, default=str)}"
        self._text_dialog("Model card", text).open()

    @Slot()
    def show_about(self) -> None:
        """Say what Hilum is and is not."""
        self._text_dialog(
            "About Hilum",
            f"Hilum — offline chest X-ray workstation.\n\n{DISCLAIMER}\n\n{HEATMAP_NOTE}",
        ).open()

    def _text_dialog(self, title: str, text: str) -> QDialog:
        dialog = QDialog(self)
        dialog.setWindowTitle(title)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        body = QPlainTextEdit(text)
        body.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(body)
        layout.addWidget(buttons)
        dialog.resize(640, 480)
        return dialog

    # --- errors and closing --------------------------------------------------------------------

    @Slot(object)
    def _show_error(self, error: BaseException) -> None:
        self.banner.show_error(error)
        self.statusBar().showMessage(describe(error)[0], 10_000)

    def shutdown(self, timeout_ms: int = 15_000) -> None:
        """Stop background work and wait for it (a TensorFlow import cannot be interrupted)."""
        self.records.shutdown(timeout_ms)  # Worklist batch, pending history writes, reports
        self.browser.shutdown()
        self._io.shutdown(timeout_ms)
        self._model_runner.shutdown(timeout_ms)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember the layout, stop background work, close."""
        self.settings.geometry = self.saveGeometry()
        self.settings.layout_state = self.splitter.saveState()
        self.settings.sync()
        self.shutdown()
        super().closeEvent(event)
