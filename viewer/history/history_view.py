"""The History tab: every prediction shown or batch-run, newest first, filterable.

Each entry shows the checks' verdict; an image outside what the model was validated on has no
label shown and its probability greyed and marked unvalidated
(:mod:`viewer.widgets.verdict_columns`).

Filtering is done by the database (:meth:`engine.workflows.history.History.query`), so the
view stays quick with years of entries; it shows the newest :data:`ROW_LIMIT` matches. The view
refreshes itself when entries are added, by whichever part of Hilum or another process (the
CLI): a timer asks the database for its newest id once a second (one indexed query) and reloads
when it changed and the tab is visible. When that check fails (the file was removed, the disk
went away) the banner says so once, with what to do, and the view checks again every
:data:`RETRY_MS` until the database answers, then clears the banner and catches up.

An entry whose file could not be hashed when it was recorded shows "not hashed" in the SHA-256
column, with the reason in its tooltip.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.modeling.labelled_folders import CLASS_NAMES
from engine.workflows.history import History, HistoryError
from engine.workflows.history_entry import HistoryEntry
from viewer.errors import ErrorBanner
from viewer.widgets.record_table import Column, RecordTable, RecordTableModel
from viewer.widgets.verdict_columns import label_column, probability_column, verdict_column

#: Most rows listed at once (the newest matches).
ROW_LIMIT = 5000
#: How often the view checks for new entries.
POLL_MS = 1000
#: How often it checks again while the database cannot be read.
RETRY_MS = 30_000
ANY = "Any"


def local_time(stored: str) -> str:
    """A stored UTC time shown in local time, to the second."""
    try:
        return datetime.fromisoformat(stored).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return stored


COLUMNS = (
    # Sorted by id: the order entries were recorded in, exact even within one millisecond.
    Column(
        "Time",
        lambda e: local_time(e.time),
        key=lambda e: e.id,
        tooltip=lambda e: e.time,
        width=150,
    ),
    Column("File", lambda e: Path(e.path).name, tooltip=lambda e: e.path, width=220),
    probability_column(),
    label_column(),
    verdict_column(),
    Column("Threshold", lambda e: f"{e.threshold:.3f}", key=lambda e: e.threshold, numeric=True),
    Column("Model", lambda e: e.model_id, width=160),
    Column("Source", lambda e: e.source),
    Column("Warnings", lambda e: " ".join(e.warnings), tooltip=lambda e: "\n".join(e.warnings)),
    Column(
        "SHA-256",
        lambda e: e.sha256[:12] if e.sha256 else "not hashed",
        tooltip=lambda e: e.sha256 or f"No content hash: {e.hash_error}.",
    ),
)


class HistoryView(QWidget):
    """Lists and filters the prediction history.

    Args:
        history: the open history database.
        parent: the Qt parent.

    Signals:
        open_requested(Path): the user double-clicked an entry.
        sources_requested(): the user asked for the Sources dialog (per-source drift).
    """

    open_requested = Signal(Path)
    sources_requested = Signal()

    def __init__(self, history: History, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self._seen_id = -1
        self._poll_error = ""  # the check's failure shown, "" while it works

        self.text_filter = QLineEdit()
        self.text_filter.setPlaceholderText("Filter by file or folder name…")
        self.text_filter.setClearButtonEnabled(True)
        self.label_filter = QComboBox()
        self.label_filter.addItems([ANY, *CLASS_NAMES])
        self.model_filter = QComboBox()
        self.model_filter.addItem(ANY)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        self.sources_button = QPushButton("Sources…")
        self.sources_button.setToolTip("Each source: out-of-domain share, mean probability")
        self.sources_button.clicked.connect(self.sources_requested)
        self.count_label = QLabel()
        self.banner = ErrorBanner()
        self.model = RecordTableModel(COLUMNS, self)
        self.table = RecordTable(self.model, 0, Qt.SortOrder.DescendingOrder)  # newest first
        self.table.doubleClicked.connect(self._on_double_click)

        filters = QHBoxLayout()
        filters.addWidget(self.text_filter, 1)
        filters.addWidget(QLabel("Label"))
        filters.addWidget(self.label_filter)
        filters.addWidget(QLabel("Model"))
        filters.addWidget(self.model_filter)
        filters.addWidget(refresh)
        filters.addWidget(self.sources_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(filters)
        layout.addWidget(self.count_label)
        layout.addWidget(self.table, 1)

        self.text_filter.textChanged.connect(self.refresh)
        self.label_filter.currentIndexChanged.connect(self.refresh)
        self.model_filter.currentIndexChanged.connect(self.refresh)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._timer.start()
        self.refresh()

    def entries(self) -> list[HistoryEntry]:
        """The entries listed, in the order shown."""
        return self.table.shown_records()

    @Slot()
    def refresh(self) -> None:
        """Reload the entries that match the filters."""
        label = self.label_filter.currentText()
        model = self.model_filter.currentText()
        try:
            self._seen_id = self.history.last_id()
            self._update_models()
            entries = self.history.query(
                text=self.text_filter.text().strip(),
                label=None if label == ANY else label,
                model_id=None if model == ANY else model,
                limit=ROW_LIMIT,
            )
            total = self.history.count()
        except HistoryError as error:
            self.banner.show_error(error)
            return
        self.banner.hide()
        self.model.set_records(entries)
        text = f"{len(entries)} of {total} predictions"
        if len(entries) == ROW_LIMIT:
            text += f" (the newest {ROW_LIMIT})"
        self.count_label.setText(text)

    def _update_models(self) -> None:
        """Offer every model id in the history, keeping the current choice."""
        wanted = [ANY, *self.history.model_ids()]
        present = [self.model_filter.itemText(i) for i in range(self.model_filter.count())]
        if wanted == present:
            return
        current = self.model_filter.currentText()
        self.model_filter.blockSignals(True)
        self.model_filter.clear()
        self.model_filter.addItems(wanted)
        self.model_filter.setCurrentIndex(wanted.index(current) if current in wanted else 0)
        self.model_filter.blockSignals(False)

    @Slot()
    def _poll(self) -> None:
        if not self.isVisible():
            return
        try:
            changed = self.history.last_id() != self._seen_id
        except HistoryError as error:
            self._poll_failed(error)
            return
        if self._poll_error:
            self._poll_error = ""
            self._timer.setInterval(POLL_MS)
            self.refresh()  # catches up, and hides the banner
        elif changed:
            self.refresh()

    def _poll_failed(self, error: HistoryError) -> None:
        """Say once what went wrong (not each second), and check less often until it works."""
        self._timer.setInterval(RETRY_MS)
        if str(error) == self._poll_error:
            return
        self._poll_error = str(error)
        self.banner.show_error(
            HistoryError(
                f"{error} This list is not updated meanwhile: Hilum checks again every "
                f"{RETRY_MS // 1000} s (or press Refresh once the file is back)."
            )
        )

    def showEvent(self, event: QShowEvent) -> None:
        """Catch up with entries added while the tab was hidden."""
        super().showEvent(event)
        self._poll()

    @Slot(QModelIndex)
    def _on_double_click(self, index: QModelIndex) -> None:
        entry: HistoryEntry = self.table.record_at(index)
        self.open_requested.emit(Path(entry.path))
