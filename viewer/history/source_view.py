"""The Sources dialog: each source of images and how much of it the model was validated on.

One row per source (DICOM institution, station, sending AE title or folder; see
:mod:`engine.workflows.source_drift`), from the history database: predictions made, out-of-domain
share and mean probability over its last 50 images, when it was last seen. A drifting source's
share says so, and the table opens sorted by share, so the site the banner names comes first.
Non-modal: the workstation stays usable while it is open. The statistics are read on the history
reader thread; the dialog only receives them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.workflows.history import History
from engine.workflows.source_drift import MINIMUM, THRESHOLD, WINDOW, SourceStatistics
from engine.workflows.source_drift import source_statistics as statistics_of
from viewer.errors import ErrorBanner
from viewer.history.history_view import local_time
from viewer.jobs import Job, JobRunner
from viewer.widgets.record_table import MISSING, Column, RecordTable, RecordTableModel


def share_text(stats: SourceStatistics) -> str:
    """The out-of-domain share as people read it: "12 % (6 of 50)", or "not checked"."""
    if stats.share is None:
        return "not checked"
    flag = " — drifting" if stats.drifting() else ""
    return f"{stats.share:.0%} ({stats.outside} of {stats.checked}){flag}"


COLUMNS = (
    Column("Source", lambda s: s.source, tooltip=lambda s: s.source, width=260),
    Column("Predictions", lambda s: str(s.predictions), key=lambda s: s.predictions, numeric=True),
    Column(
        f"Out of domain (last {WINDOW})",
        share_text,
        key=lambda s: MISSING if s.share is None else s.share,
        numeric=True,
        width=190,
    ),
    Column(
        f"Mean probability (last {WINDOW})",
        lambda s: f"{s.mean_probability:.3f}",
        key=lambda s: s.mean_probability,
        numeric=True,
        width=190,
    ),
    Column("Last seen", lambda s: local_time(s.last_seen), key=lambda s: s.last_id, width=150),
)


class SourcesDialog(QDialog):
    """Lists every source's rolling statistics; refreshed each time it is shown.

    Args:
        history: the open history database.
        parent: the Qt parent.
        reads: the history reader thread; by default a private one.

    Signals:
        listed(): a read ended and its outcome (rows, or an error) is shown.
    """

    listed = Signal()

    def __init__(
        self, history: History, parent: QWidget | None = None, reads: JobRunner | None = None
    ) -> None:
        super().__init__(parent)
        self._reads = reads or JobRunner(max_threads=1, parent=self, name="hilum-history")
        self._read: Job | None = None
        self.setWindowTitle("Image sources")
        self.resize(900, 360)
        self.history = history
        self.banner = ErrorBanner()
        explanation = QLabel(
            f"Where images came from, and the share the domain check found outside what the "
            f"model was validated on. A source with more than {THRESHOLD:.0%} out of domain over "
            f"its last {WINDOW} images (once it has {MINIMUM}) needs the model commissioned for "
            "that site before its results are relied on."
        )
        explanation.setWordWrap(True)
        self.model = RecordTableModel(COLUMNS, self)
        self.table = RecordTable(self.model, 2, Qt.SortOrder.DescendingOrder)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(refresh)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(explanation)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def sources(self) -> list[SourceStatistics]:
        """The sources listed, in the order shown."""
        return self.table.shown_records()

    @Slot()
    def refresh(self) -> None:
        """Reload the statistics from the history (read on the reader thread)."""
        job = self._reads.submit(statistics_of, self.history, callbacks=False)
        job.succeeded.connect(self._on_statistics)
        job.failed.connect(self._on_failed)
        self._read = job
        job.start()

    @Slot(object)
    def _on_statistics(self, found: list[SourceStatistics]) -> None:
        if self.sender() is self._read:
            self.banner.hide()
            self.model.set_records(found)
            self.listed.emit()

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        if self.sender() is self._read:
            self.banner.show_error(error)
            self.listed.emit()

    def show_sources(self) -> None:
        """Refresh and show the dialog (non-modal), raising it when already open."""
        self.refresh()
        self.show()
        self.raise_()
        self.activateWindow()
