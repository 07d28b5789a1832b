"""The main window: the composition root of Hilum's desktop application.

It owns the menus, the toolbar, the tabs, drag and drop and the status bar, and wires the parts
together: the reading room (:class:`viewer.reading_room.reading_room.ReadingRoom`), the active
model (:class:`viewer.model.lifecycle.ModelLifecycle`), the Training tab
(:mod:`viewer.training.availability`: the reading room's says what it lacks) and the Triage and
History tabs (:class:`viewer.window.triage_and_history.TriageAndHistory`). The model loads in
the background after the window is shown, so images can be read before it is ready.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QTabWidget,
    QWidget,
)

from engine import HilumError, Radiograph
from viewer.jobs import Job
from viewer.model.lifecycle import ModelLifecycle
from viewer.model.status import ModelStatusLabel
from viewer.pacs.integration import PacsIntegration
from viewer.reading_room.reading_room import ReadingRoom
from viewer.settings import Settings
from viewer.training.availability import training_page
from viewer.widgets.input_policy import ScopedKeys, install_wheel_policy
from viewer.window.dialogs import about_text, model_card_text, text_dialog
from viewer.window.triage_and_history import TriageAndHistory

if TYPE_CHECKING:  # imported for real on a worker thread: keeps start-up fast
    from engine.inference.prediction import Prediction
    from engine.inference.predictor import Predictor

#: The open dialog's filters; the default hides nothing (DICOM often has no extension: IM00001).
IMAGE_FILTER = (
    "All files: images, DICOM without an extension too (*);;"
    "Images by extension (*.dcm *.dicom *.dic *.jpg *.jpeg *.png)"
)
APP_TITLE = "Hilum"


class MainWindow(QMainWindow):
    """Hilum's main window.

    Args:
        settings: persisted preferences (tests pass a temporary store).
        parent: the Qt parent.

    Attributes:
        reading_room: the Reading room tab; ``view``, ``browser``, ``tags``, ``panel``, ``banner``
            and ``splitter`` are its parts.
        models: the active model.

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
        self.models = ModelLifecycle(self.settings, self)
        self.reading_room = ReadingRoom(self.settings, self.models)
        room = self.reading_room
        self.view, self.browser, self.tags = room.view, room.browser, room.tags
        self.panel, self.banner, self.splitter = room.panel, room.banner, room.splitter
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.add_tab(room, "Reading room")
        self.training_tab = training_page(
            self.settings, self, use_model=self.use_model, use_default=self.use_default_model
        )
        self.add_tab(self.training_tab, "Training")
        install_wheel_policy()  # the wheel changes a field only when it has focus
        self.keys = ScopedKeys(self, lambda: self.tabs.currentWidget() is room)
        self._build_status_bar()
        self._build_menus()
        self._connect()
        self._restore_settings()
        self.triage_history = TriageAndHistory(self)  # Triage + History tabs, Records menu
        self.pacs = PacsIntegration(self)  # PACS menu, listener, results (viewer/pacs/)

    # --- layout --------------------------------------------------------------------------------

    def add_tab(self, widget: QWidget, title: str) -> int:
        """Add a top-level tab (Triage, History, Training, ...); return its index."""
        return self.tabs.addTab(widget, title)

    def _build_status_bar(self) -> None:
        self._cursor_label = QLabel()
        self._window_label = QLabel()
        self._model_label = ModelStatusLabel(self.models)
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
        self.keys.add([action])  # one-key shortcuts: the reading room's, and no text field's
        action.setCheckable(checkable)
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
            self.reading_room.choose_export_png,
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
            view,
            "&Heatmap overlay",
            self.reading_room.set_heatmap_visible,
            ["H"],
            checkable=True,
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
        for action in (open_files, open_folder, fit, actual, self.invert_action, reset):
            toolbar.addAction(action)
        toolbar.addAction(self.heatmap_action)

    def _connect(self) -> None:
        room = self.reading_room
        self.view.pixel_hovered.connect(self._on_pixel)
        self.view.hover_left.connect(self._cursor_label.clear)
        self.view.window_changed.connect(self._on_window)
        self.panel.heatmap_toggled.connect(self.heatmap_action.setChecked)
        room.message.connect(self._show_message)
        room.image_shown.connect(self._on_image_shown)
        room.image_failed.connect(self._on_image_failed)
        room.prediction_shown.connect(self.prediction_shown)
        self.models.ready.connect(self.model_ready)
        self.models.failed.connect(self.model_failed)
        self.models.refused.connect(room.show_error)

    def _restore_settings(self) -> None:
        s = self.settings
        if not s.geometry.isEmpty():
            self.restoreGeometry(s.geometry)
        else:
            self.resize(1400, 900)
        self.heatmap_action.setChecked(s.heatmap_visible)
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
        self.reading_room.open_paths(chosen)

    def open_image(self, path: Path) -> None:
        """Read ``path`` in the background and show it in the reading room."""
        self.reading_room.open_image(path)

    def show_prediction(self, prediction: Prediction) -> None:
        """Show ``prediction`` of the image on screen (see :meth:`ReadingRoom.show_prediction`)."""
        self.reading_room.show_prediction(prediction)

    def export_png(self, path: Path) -> bool:
        """Save the image view as shown to ``path``; False (and a message) on failure."""
        return self.reading_room.export_png(path)

    @Slot(object)
    def _on_image_shown(self, radiograph: Radiograph) -> None:
        self.invert_action.setChecked(False)
        self.setWindowTitle(f"{radiograph.source.name} — {APP_TITLE}")
        self._rebuild_presets_menu()
        self.image_shown.emit(radiograph)

    @Slot(object)
    def _on_image_failed(self, error: BaseException) -> None:
        self.setWindowTitle(APP_TITLE)
        self._rebuild_presets_menu()
        self.image_failed.emit(error)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept drags of local files and folders."""
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Open the local files and folders dropped."""
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            self.open_paths(paths)
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
            action.triggered.connect(lambda _=False, p=preset: self.view.apply_preset(p))
        self.presets_menu.setEnabled(not self.presets_menu.isEmpty())

    @Slot()
    def _reset_view(self) -> None:
        self.invert_action.setChecked(False)
        self.view.reset()

    @Slot(int, int, float)
    def _on_pixel(self, x: int, y: int, value: float) -> None:
        self._cursor_label.setText(f"x {x}  y {y}  value {value:g}")

    @Slot(float, float)
    def _on_window(self, center: float, width: float) -> None:
        self._window_label.setText(f"W {width:.0f}  L {center:.0f}")

    # --- model ---------------------------------------------------------------------------------

    @property
    def predictor(self) -> Predictor | None:
        """The loaded model (``engine.inference.predictor.Predictor``), or ``None``."""
        return self.models.predictor

    def start_model(self) -> None:
        """Load the model chosen in the settings, or the shipped default, in the background."""
        self.models.start()

    def load_model(self, bundle: Path) -> Job:
        """Load the model bundle at ``bundle`` in the background (replacing the active one)."""
        return self.models.load(bundle)

    def use_model(self, bundle: Path) -> bool:
        """Check ``bundle``'s card, remember it and load it; False (and a message) if invalid."""
        return self.models.use(bundle)

    @Slot()
    def use_default_model(self) -> None:
        """Forget the chosen bundle and load the shipped default."""
        self.models.use_default()

    @Slot()
    def choose_model(self) -> None:
        """Ask for a model bundle folder; use it if its card is valid."""
        current = self.models.path
        start = str(current.parent if current else Path.home())
        chosen = QFileDialog.getExistingDirectory(self, "Choose a model bundle", start)
        if chosen:
            self.use_model(Path(chosen))

    @Slot()
    def show_model_card(self) -> None:
        """Show the active model's card: a readable summary, then the full JSON."""
        try:
            card = self.models.card()
            if card is None:
                raise HilumError("No model is loaded: choose a model bundle first.")
        except (HilumError, ImportError) as error:
            self.reading_room.show_error(error)
            return
        text_dialog(self, "Model card", model_card_text(card)).open()

    @Slot()
    def show_about(self) -> None:
        """Say what Hilum is and is not."""
        text_dialog(self, "About Hilum", about_text()).open()

    # --- messages and closing ------------------------------------------------------------------

    @Slot(str, int)
    def _show_message(self, text: str, timeout_ms: int) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def shutdown(self, timeout_ms: int = 15_000) -> bool:
        """Stop background work and wait for it (a TensorFlow import cannot be interrupted).

        Returns:
            True when every part's work ended within ``timeout_ms``.
        """
        stopped = [
            self.pacs.shutdown(timeout_ms),  # the listener first: no new arrivals while closing
            self.triage_history.shutdown(timeout_ms),  # batch, pending history writes, reports
            self.reading_room.shutdown(timeout_ms),
            self.models.shutdown(timeout_ms),
        ]
        return all(stopped)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember the layout, stop background work, close."""
        self.settings.geometry = self.saveGeometry()
        self.settings.layout_state = self.splitter.saveState()
        self.settings.sync()
        self.shutdown()
        super().closeEvent(event)
