"""The Triage and History tabs and the PDF report, wired into the main window.

Why a separate module: the main window stays the composition root of the reading room, and this
feature plugs into it through the window's public API only (``add_tab``, the menu bar, the
``model_ready`` and ``prediction_shown`` signals, ``open_image``), with two lines on the window's
side: create :class:`TriageAndHistory` in ``__init__`` and call
:meth:`TriageAndHistory.shutdown` when closing.
The drift banner (:mod:`viewer.history.drift_banner`) goes above the tabs, so it is seen from
every tab; the Sources dialog opens from it, from the History tab and from the Records menu.

The history database lives in the user's data folder (``QStandardPaths.AppDataLocation``). Every
prediction the reading room shows is recorded there on a worker thread (hashing a large DICOM
file and the durable commit never stall the GUI); batch results are recorded by the triage list's
own worker. A history that cannot be opened (damaged file, read-only folder) is reported in the
banner and everything else keeps working.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, QStandardPaths, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QStatusBar, QTabWidget, QVBoxLayout, QWidget

from engine.errors import HilumError
from engine.workflows.history import History, HistoryError
from engine.workflows.history_entry import HistoryEntry
from engine.workflows.source_drift import recorded_source
from viewer.history.drift_banner import DriftBanner, DriftWatch
from viewer.history.history_view import HistoryView
from viewer.history.source_view import SourcesDialog
from viewer.jobs import JobRunner
from viewer.reading_room.report_export import ReportExporter
from viewer.triage.triage_list import TriageList

if TYPE_CHECKING:
    from engine.inference.prediction import Prediction
    from engine.inference.predictor import Predictor

HISTORY_FILE = "history.sqlite"


class TriageAndHistoryHost(Protocol):
    """What :class:`TriageAndHistory` uses of the main window (its public API, nothing else)."""

    banner: Any
    browser: Any
    reading_room: Any
    panel: Any
    settings: Any
    tabs: QTabWidget
    model_ready: Any
    prediction_shown: Any

    def add_tab(self, widget: QWidget, title: str) -> int: ...

    def open_image(self, path: Path) -> None: ...

    def menuBar(self) -> QMenuBar: ...

    def statusBar(self) -> QStatusBar: ...

    def takeCentralWidget(self) -> QWidget: ...

    def setCentralWidget(self, widget: QWidget) -> None: ...


def default_history_path() -> Path:
    """The history database in the user's data folder (per user, per application)."""
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(folder) / HISTORY_FILE


def record_shown(history: History, prediction: Any) -> HistoryEntry:
    """Record a prediction the reading room showed, with the image's source (worker thread:
    hashes the file and may read its header)."""
    entry = HistoryEntry.from_prediction(prediction, "viewer")
    source = recorded_source(history, entry.sha256, entry.path)
    return history.add(dataclasses.replace(entry, image_source=source))


class TriageAndHistory(QObject):
    """Adds the Triage and History tabs, their menu and the PDF report to ``window``.

    Args:
        window: the main window.
        db_path: the history database; :func:`default_history_path` by default.

    Attributes:
        history: the open history, or ``None`` when it could not be opened.
        triage_list: the Triage tab.
        history_view: the History tab, or ``None`` without a history.
        drift_banner: names the sources drifting out of domain (above the tabs).
        drift_watch: keeps the banner up to date, or ``None`` without a history.
        sources_dialog: the Sources dialog, or ``None`` without a history.
        exporter: writes PDF reports in the background.
    """

    def __init__(self, window: TriageAndHistoryHost, db_path: Path | None = None) -> None:
        super().__init__(window)  # type: ignore[arg-type]  # the host is a QMainWindow
        self._window = window
        self._writer = JobRunner(max_threads=1, parent=self)
        self.history: History | None = None
        try:
            self.history = History(db_path or default_history_path())
        except HistoryError as error:
            window.banner.show_error(error)
        self.triage_list = TriageList(self.history)
        window.add_tab(self.triage_list, "Triage")
        self.history_view: HistoryView | None = None
        self.drift_banner = DriftBanner()
        self.drift_watch: DriftWatch | None = None
        self.sources_dialog: SourcesDialog | None = None
        if self.history is not None:
            self.history_view = HistoryView(self.history)
            window.add_tab(self.history_view, "History")
            self.history_view.open_requested.connect(self.open_in_reading_room)
            self.sources_dialog = SourcesDialog(self.history, window)  # type: ignore[arg-type]
            self.history_view.sources_requested.connect(self.show_sources)
            self.drift_banner.sources_requested.connect(self.show_sources)
            self.drift_watch = DriftWatch(self.history, self.drift_banner, self)
        self._put_above_tabs(self.drift_banner)
        self.exporter = ReportExporter(self._writer, window)
        self._build_menu()
        self.triage_list.open_requested.connect(self.open_in_reading_room)
        self.exporter.saved.connect(self._on_saved)
        self.exporter.failed.connect(window.banner.show_error)
        window.model_ready.connect(self._on_model_ready)
        window.prediction_shown.connect(self._on_prediction_shown)

    def _build_menu(self) -> None:
        bar = self._window.menuBar()
        menu = QMenu("&Records", bar)
        entries = (
            ("&Triage the open studies", self.triage_open_studies, "Ctrl+T"),
            ("Triage a &folder…", self.triage_list.choose_folder, "Ctrl+Shift+T"),
            ("Export PDF &report…", self.choose_pdf_report, "Ctrl+Shift+E"),
            ("Show the &triage list", partial(self._show_tab, self.triage_list), "Ctrl+Shift+W"),
            ("Show the &history", partial(self._show_tab, self.history_view), "Ctrl+Shift+H"),
            ("Image &sources…", self.show_sources, "Ctrl+Shift+S"),
        )
        for text, slot, shortcut in entries:
            action = QAction(text, menu)
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(slot)
            menu.addAction(action)
        self.pdf_action = menu.actions()[2]
        self.pdf_action.setEnabled(False)
        self.history_action = menu.actions()[4]
        self.history_action.setEnabled(self.history_view is not None)
        menu.actions()[5].setEnabled(self.sources_dialog is not None)
        help_menu = next((a for a in bar.actions() if a.text() == "&Help"), None)
        if help_menu is None:
            bar.addMenu(menu)
        else:
            bar.insertMenu(help_menu, menu)

    def _put_above_tabs(self, banner: QWidget) -> None:
        """Show ``banner`` above the window's tabs (the tabs are the central widget)."""
        holder = QWidget()
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(banner)
        layout.addWidget(self._window.takeCentralWidget(), 1)
        self._window.setCentralWidget(holder)

    @Slot()
    def show_sources(self) -> None:
        """Open the Sources dialog (each source's out-of-domain share and mean probability)."""
        if self.sources_dialog is not None:
            self.sources_dialog.show_sources()

    def _show_tab(self, widget: Any) -> None:
        if widget is not None:
            self._window.tabs.setCurrentWidget(widget)

    @Slot(Path)
    def open_in_reading_room(self, path: Path) -> None:
        """Show ``path`` in the reading room (from a triage list or history row)."""
        self._window.tabs.setCurrentIndex(0)
        self._window.open_image(path)

    @Slot()
    def triage_open_studies(self) -> None:
        """Run the triage list over every image of the study browser."""
        paths = self._window.browser.image_paths()
        if not paths:
            self._window.banner.show_error(
                HilumError("No studies are open: open a folder first, or triage a folder.")
            )
            return
        self._show_tab(self.triage_list)
        self.triage_list.run(paths)

    @Slot(object)
    def _on_model_ready(self, predictor: Predictor) -> None:
        from engine.inference.predictor import predict_many  # TensorFlow is loaded by now

        self.triage_list.set_batch_predictor(partial(predict_many, predictor))

    @Slot(object)
    def _on_prediction_shown(self, _: Prediction) -> None:
        """Record the result as the screen shows it (the label at the threshold in force)."""
        self.pdf_action.setEnabled(True)
        result = self._window.reading_room.state.result()
        if self.history is None or result is None or result.path is None:
            return
        job = self._writer.submit(record_shown, self.history, result, callbacks=False)
        job.failed.connect(self._window.banner.show_error)
        job.start()

    @Slot()
    def choose_pdf_report(self) -> None:
        """Ask where to save the PDF report of the image shown, and write it."""
        current = self._window.reading_room.result_on_screen()
        if current is None:
            self._window.banner.show_error(
                HilumError("Nothing to report yet: open an image and wait for its prediction.")
            )
            return
        radiograph, result, predictor = current
        path = self.exporter.choose_pdf_path(radiograph, self._window.settings.last_folder)
        if path is not None:
            self.exporter.export_pdf(path, radiograph, result, predictor.bundle.card)

    @Slot(Path)
    def _on_saved(self, path: Path) -> None:
        self._window.statusBar().showMessage(f"Saved {path}", 10_000)

    def shutdown(self, timeout_ms: int = 15_000) -> bool:
        """Stop the batch, finish pending history writes and reports, close the history.

        Returns:
            True when all of that work ended within ``timeout_ms`` (each).
        """
        stopped = self.triage_list.shutdown(timeout_ms)
        # not shutdown(): queued history writes must still run
        written = self._writer.wait(timeout_ms)
        if self.drift_watch is not None:
            self.drift_watch.stop()
        if self.history is not None:
            self.history.close()
        return stopped and written
