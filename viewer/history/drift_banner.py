"""The drift banner: a strip above the tabs when a source of images drifts out of domain.

:class:`DriftWatch` notices new history entries the way the History tab does (a timer asks for
the newest id once a second, so entries from the reading room, the triage list, the network and the
CLI all count) and then asks :func:`engine.workflows.source_drift.drifting_sources` which sources
have more than 20 % of their last 50 images out of domain. :class:`DriftBanner` names them, with
the share and what to do. It never blocks work (no dialog), can be dismissed, and comes back when
a dismissed source is still drifting after new images from it arrive. Its reads run on the
history reader thread (:func:`read_drift`), never on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from engine.workflows.history import History
from engine.workflows.source_drift import SourceStatistics, drifting_sources
from viewer.jobs import Job, JobRunner

#: How often the watch checks the history for new entries.
POLL_MS = 1000


def read_drift(history: History, unless: int | None) -> tuple[int, list[SourceStatistics]] | None:
    """The newest id and the drifting sources, or ``None`` when the newest id is still
    ``unless``; reader thread.

    Raises:
        HistoryError: the database cannot be read.
    """
    last_id = history.last_id()
    return None if last_id == unless else (last_id, drifting_sources(history))


class DriftBanner(QFrame):
    """A dismissible, non-modal warning strip naming the drifting sources.

    Signals:
        dismissed(): the user closed it.
        sources_requested(): the user asked for the Sources dialog.
    """

    dismissed = Signal()
    sources_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("driftBanner")
        self.setStyleSheet(
            "#driftBanner { background: #fff4e5; border: 1px solid #e6b36a; border-radius: 3px; }"
            "#driftBanner QLabel { color: #663c00; }"
        )
        self._message = QLabel()
        self._message.setWordWrap(True)
        self._message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sources_button = QPushButton("Show sources…")
        self.sources_button.clicked.connect(self.sources_requested)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss (it comes back if new images keep drifting)")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self._dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self._message, 1)
        layout.addWidget(self.sources_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_drift(self, sources: Sequence[SourceStatistics]) -> None:
        """Name ``sources`` (one paragraph each), or hide when there are none."""
        if not sources:
            self.hide()
            return
        self._message.setText("\n".join(stats.advice() for stats in sources))
        self.show()

    def text(self) -> str:
        """The message shown ("" when hidden), for tests and the status bar."""
        return self._message.text() if not self.isHidden() else ""

    @Slot()
    def _dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()


class DriftWatch(QObject):
    """Keeps ``banner`` showing the drifting sources of ``history``.

    Args:
        history: the open history database.
        banner: where drifting sources are named.
        parent: the Qt parent.
        reads: the history reader thread; by default a private one.

    Signals:
        checked(list): a check ended: the sources named (empty when the banner is hidden).
    """

    checked = Signal(list)

    def __init__(
        self,
        history: History,
        banner: DriftBanner,
        parent: QObject | None = None,
        reads: JobRunner | None = None,
    ):
        super().__init__(parent)
        self.history = history
        self.banner = banner
        self._reads = reads or JobRunner(max_threads=1, parent=self, name="hilum-history")
        self._read: Job | None = None
        self._seen_id = -1
        self._shown: list[SourceStatistics] = []
        self._dismissed: dict[str, int] = {}  # source -> its newest row id when dismissed
        banner.dismissed.connect(self._on_dismissed)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._timer.start()

    @Slot()
    def check(self) -> None:
        """Show the sources drifting now, except those dismissed with no new image since; then
        ``checked``. A history that cannot be read leaves the banner as it is (the History tab
        reports the error)."""
        self._start_read(None)

    def _start_read(self, unless: int | None) -> None:
        job = self._reads.submit(read_drift, self.history, unless, callbacks=False)
        job.succeeded.connect(self._on_read)
        job.failed.connect(lambda _error: self.checked.emit(self._shown))
        self._read = job
        job.start()

    @Slot(object)
    def _on_read(self, read: tuple[int, list[SourceStatistics]] | None) -> None:
        if read is not None:
            self._seen_id, drifting = read
            self._shown = [s for s in drifting if s.last_id > self._dismissed.get(s.source, 0)]
            self.banner.show_drift(self._shown)
        self.checked.emit(self._shown)

    @Slot()
    def _poll(self) -> None:
        if self._read is None or self._read.is_done:
            self._start_read(self._seen_id)

    @Slot()
    def _on_dismissed(self) -> None:
        self._dismissed.update((stats.source, stats.last_id) for stats in self._shown)
        self._shown = []

    def stop(self) -> None:
        """Stop watching (before the history is closed)."""
        self._timer.stop()
