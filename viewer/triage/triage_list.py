"""The Triage tab: batch triage of a folder or of the study list, most suspicious first.

The model runs over every image through :func:`engine.workflows.triage.triage` (which calls
:func:`engine.inference.predictor.predict_many`), in one :class:`viewer.jobs.Job` (progress bar,
Cancel), off the GUI thread. Results stream into a
sortable table (probability sorts as a number) while the batch runs: the worker puts each row in
a thread-safe queue and reports progress; the progress slot, on the GUI thread, moves the queued
rows into the table. Each prediction is recorded in the history on the worker thread as soon as
it is made (:class:`engine.workflows.history.History` is thread-safe), so a crash loses none
of them.
Images outside what the model was validated on carry their verdict and no label, and are sorted
apart, after the others (:mod:`viewer.widgets.verdict_columns`).
Images received over the network wait in the durable arrivals queue of the history database
(:mod:`engine.workflows.arrivals`; written on the network thread before the sender hears
"success"). :meth:`TriageList.predict_arrivals` predicts them after the batch running, adding
their rows; a user's batch never cancels them and keeps their rows: asked for while arrivals are
being predicted, it waits for the lot in hand, then runs, and the rest follow. Arrivals left by a
session that died are predicted once a model is ready. Without a history (it could not be
opened) the queue lives in memory: arrivals are predicted, but not after a restart.
Double-clicking a row asks the main window to open the image (``open_requested``); the table can
be exported as CSV (:func:`engine.workflows.triage.csv_text`, the format of ``hilum predict
--csv``, written atomically).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.atomic_files import write_text
from engine.progress import Progress
from engine.workflows.arrivals import ArrivalQueue, predict_arrivals
from engine.workflows.history import History, HistoryError
from engine.workflows.triage import BatchPredict, TriageRow, TriageSummary, csv_text, triage
from viewer.errors import ErrorBanner, describe
from viewer.jobs import Job, JobRunner
from viewer.widgets.record_table import Column, RecordTable, RecordTableModel
from viewer.widgets.verdict_columns import (
    label_column,
    outside_group,
    probability_column,
    verdict_column,
)

COLUMNS = (
    probability_column(),
    label_column(missing="error"),
    verdict_column(),
    Column("File", lambda row: row.path.name, tooltip=lambda row: str(row.path), width=260),
    Column("Patient", lambda row: row.patient, width=120),
    Column("Study date", lambda row: row.study_date),
    Column("Source", lambda row: row.source, tooltip=lambda row: row.source, width=160),
    Column("Warnings / error", lambda row: row.remark, tooltip=lambda row: row.remark),
)


class TriageList(QWidget):
    """The batch triage tab.

    Args:
        history: where each prediction is recorded and arrivals wait, or ``None`` to record
            nothing (arrivals then wait in memory).
        runner: runs the batch; by default a private one-thread runner (so that a batch never
            delays the image being read in the reading room).
        parent: the Qt parent.

    Attributes:
        arrivals: the queue of images received over the network (thread-safe: the listener
            writes into it from its network threads).

    Signals:
        open_requested(Path): the user double-clicked a row.
        finished(TriageSummary): a batch ended (completed or cancelled), or the arrivals
            waiting were predicted.
    """

    open_requested = Signal(Path)
    finished = Signal(object)

    def __init__(
        self,
        history: History | None = None,
        runner: JobRunner | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._history = history
        self._runner = runner or JobRunner(max_threads=1, parent=self)
        self._predict: BatchPredict | None = None
        self._job: Job | None = None
        self._sink: queue.SimpleQueue[TriageRow] = queue.SimpleQueue()
        self._pending: list[Path] | None = None  # the user's batch waiting for its turn
        self._own_queue = history is None
        self.arrivals = ArrivalQueue(History(":memory:") if history is None else history)
        self._arrivals_waiting = False
        self._give_way = threading.Event()  # set: the arrivals job lets a user's batch run
        self._arrivals_job = False  # the running job predicts arrivals
        self._received: set[Path] = set()  # rows of arrivals: kept when a user's batch starts

        self.model = RecordTableModel(COLUMNS, self)
        # Most suspicious first: that is the point of triage. Images outside what the model was
        # validated on are kept after the others whatever the sort: their probability means
        # nothing, so an out-of-domain 99 % must not top a pneumonia-first list; listed last
        # (not hidden), they stay in view to be read without the model's help.
        self.table = RecordTable(self.model, 0, Qt.SortOrder.DescendingOrder, group=outside_group)
        self.table.doubleClicked.connect(self._on_double_click)
        self.banner = ErrorBanner()
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.status = QLabel("Run the model over a folder to triage it.")
        self.status.setWordWrap(True)
        self.run_button = QPushButton("Run on folder…")
        self.run_button.setToolTip("Predict every image in a folder (sub-folders included)")
        self.run_button.clicked.connect(self.choose_folder)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.choose_csv)

        bar = QHBoxLayout()
        for button in (self.run_button, self.cancel_button, self.export_button):
            bar.addWidget(button)
        bar.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        self._recover_arrivals()

    def _recover_arrivals(self) -> None:
        """Find the arrivals a previous session left unpredicted (it closed or died first)."""
        try:
            waiting = self.arrivals.recover()
        except HistoryError as error:
            self.banner.show_error(error)
            return
        if waiting:
            self._arrivals_waiting = True
            self.status.setText(
                f"{waiting} image(s) received before Hilum last closed wait for their "
                "prediction: they are predicted once the model is ready."
            )

    # --- model and runs ------------------------------------------------------------------------

    def set_batch_predictor(self, predict: BatchPredict | None) -> None:
        """Use ``predict`` (``predict_many`` bound to the active model) for the next batches.

        A batch asked for while no model was ready starts now.
        """
        self._predict = predict
        if predict is not None and not self.is_running:
            self._start_next()

    @property
    def is_running(self) -> bool:
        """True while a batch runs."""
        return self._job is not None and not self._job.is_done

    def rows(self) -> list[TriageRow]:
        """The rows listed (the last batch's and the arrivals'), in the order predicted."""
        return self.model.records()

    @Slot()
    def choose_folder(self) -> None:
        """Ask for a folder and triage it."""
        folder = QFileDialog.getExistingDirectory(self, "Triage a folder of images")
        if folder:
            self.run([Path(folder)])

    def run(self, paths: Sequence[str | Path]) -> None:
        """Triage the images under ``paths`` (files and folders), replacing the table's rows
        (the arrivals' rows stay).

        A batch of the user's already running is cancelled first; arrivals being predicted are
        not: the batch waits for the lot in hand. Without a model the batch waits for one.
        """
        chosen = [Path(path) for path in paths]
        if not chosen:
            return
        self._pending = chosen
        if self.is_running and self._arrivals_job:
            self._give_way.set()
            self._arrivals_waiting = True  # the rest of them, after this batch
            self.status.setText(
                "Finishing the images received from the network… your batch starts then."
            )
        elif self.is_running:
            self.cancel()
            self.status.setText("Stopping the previous batch…")
        elif self._predict is None:
            self.status.setText("Waiting for the model to load… the batch starts then.")
        else:
            self._start(chosen)

    @Slot()
    def predict_arrivals(self) -> None:
        """Predict the arrivals waiting in :attr:`arrivals`, adding their rows to the table:
        now, or after the batch running, or once a model is ready."""
        self._arrivals_waiting = True
        if self._predict is not None and not self.is_running:
            self._start_next()

    def _start_next(self) -> None:
        """Start the batch asked for with run(), else predict the arrivals waiting."""
        if self._pending is not None:
            self._start(self._pending)
        elif self._arrivals_waiting:
            self._start_arrivals()

    def _start(self, paths: list[Path]) -> None:
        if self._predict is None:
            return
        self._pending = None
        self.model.set_records([row for row in self.rows() if row.path in self._received])
        self._submit(triage, paths)

    def _start_arrivals(self) -> None:
        self._arrivals_waiting = False
        self._give_way.clear()
        self._submit(predict_arrivals, self.arrivals, give_way=self._give_way.is_set)

    def _submit(self, work: Any, what: Any, **kwargs: Any) -> None:
        """Run ``work(what, predict, sink, history, ...)`` on the runner: :func:`triage` of
        the user's paths, or :func:`predict_arrivals` of the queue."""
        self._sink = queue.SimpleQueue()
        arrivals = self._arrivals_job = work is predict_arrivals
        if not arrivals:  # a pass over the arrivals may find none: it changes nothing then
            self.banner.hide()
            self.progress.setRange(0, 0)
            self.status.setText("Finding images…")
        job = self._runner.submit(work, what, self._predict, self._sink, self._history, **kwargs)
        job.progress.connect(self._on_progress)
        job.succeeded.connect(self._on_succeeded)
        job.failed.connect(self._on_failed)
        job.finished.connect(self._on_finished)
        self._job = job
        self._set_running(True)
        job.start()

    @Slot()
    def cancel(self) -> None:
        """Stop the user's batch after the current file (the rows so far stay); arrivals being
        predicted are not the user's to cancel."""
        if self._job is not None and not self._arrivals_job:
            self._job.cancel()
            self.cancel_button.setEnabled(False)

    def shutdown(self, timeout_ms: int = 15_000) -> bool:
        """Cancel the batch and wait for its thread; True when it ended in time.

        Arrivals not predicted yet stay in the queue, for the next start."""
        self._pending = None
        self._arrivals_waiting = False
        ended = self._runner.shutdown(timeout_ms)
        if self._own_queue and ended:
            self.arrivals.history.close()
        return ended

    def _set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running and not self._arrivals_job)
        self.export_button.setEnabled(not running and self.model.rowCount() > 0)

    def _drain(self) -> None:
        rows: list[TriageRow] = []
        while True:
            try:
                rows.append(self._sink.get_nowait())
            except queue.Empty:
                break
        if self._arrivals_job:
            self._received.update(row.path for row in rows)
        self.model.append(rows)

    @Slot(object)
    def _on_progress(self, report: Progress) -> None:
        if self.sender() is not self._job:
            return
        self._drain()
        if report.total is not None:
            self.progress.setRange(0, max(report.total, 1))
            self.progress.setValue(report.done)
        self.status.setText(
            f"{report.done} of {report.total} — {report.message}" if report.total else ""
        )

    @Slot(object)
    def _on_succeeded(self, summary: TriageSummary) -> None:
        if self.sender() is not self._job:
            return
        self._drain()
        if self._arrivals_job and summary.total == 0:
            return  # nothing was waiting: no batch to report
        errors = sum(1 for row in self.model.records() if row.error)
        text = f"{summary.done} of {summary.total} images"
        text += " received from the network" if self._arrivals_job else ""
        text += " — cancelled." if summary.cancelled else " done."
        if errors:
            text += f" {errors} could not be read (see the last column)."
        self.status.setText(text)
        if summary.history_error:
            self.banner.show_error(HistoryError(summary.history_error))
        self.finished.emit(summary)

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        if self.sender() is not self._job:
            return
        self._drain()
        self.banner.show_error(error)
        self.status.setText(f"The batch stopped: {describe(error)[0]}.")
        self.finished.emit(TriageSummary(self.model.rowCount(), self.model.rowCount(), False))

    @Slot()
    def _on_finished(self) -> None:
        if self.sender() is not self._job:
            return
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self._set_running(False)
        if self._predict is not None:
            self._start_next()

    # --- rows ----------------------------------------------------------------------------------

    @Slot(QModelIndex)
    def _on_double_click(self, index: QModelIndex) -> None:
        row: TriageRow = self.table.record_at(index)
        self.open_requested.emit(row.path)

    @Slot()
    def choose_csv(self) -> None:
        """Ask where to save the table as CSV."""
        target, _ = QFileDialog.getSaveFileName(
            self, "Export the triage list", str(Path.home() / "triage.csv"), "CSV (*.csv)"
        )
        if target:
            try:
                self.export_csv(Path(target))
            except OSError as error:
                self.banner.show_error(error)

    def export_csv(self, path: Path) -> Path:
        """Write the table, in the order shown, to ``path`` as CSV (atomically).

        Raises:
            OSError: the file cannot be written (a previous file is left untouched).
        """
        rows: list[Any] = self.table.shown_records()
        write_text(path, csv_text(rows))
        self.status.setText(f"Saved {len(rows)} rows to {path}.")
        return path
