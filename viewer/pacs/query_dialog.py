"""Query/Retrieve: search a PACS for studies (C-FIND) and bring one into Hilum (C-MOVE/C-GET).

Both run as :class:`viewer.jobs.Job` s with a progress bar and a Cancel button; the dialog stays
responsive and can be closed (closing cancels). Retrieved images arrive like any received image
(the integration adds them to the study browser and the triage list).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.errors import HilumError
from engine.pacs.nodes import PacsNode
from engine.pacs.query import QueryMatch, StudyQuery, find
from engine.progress import Progress
from viewer.errors import ErrorBanner
from viewer.jobs import Job, JobRunner

#: ``retrieve(node, study_uid, on_progress=..., should_stop=...)`` -> a RetrieveSummary.
Retrieve = Callable[..., Any]
COLUMNS = (
    ("Patient", "patient_name"),
    ("Patient ID", "patient_id"),
    ("Study date", "study_date"),
    ("Modalities", "modalities"),
    ("Accession", "accession"),
    ("Description", "description"),
    ("Images", "instances"),
)
STUDY_ROLE = Qt.ItemDataRole.UserRole


class QueryDialog(QWidget):
    """The Query/Retrieve window.

    Args:
        nodes: the PACS nodes to choose from.
        runner: runs the queries and retrieves.
        retrieve: fetches one study (see :data:`Retrieve`).
        local_ae_title: Hilum's AE title.
        parent: the Qt parent.

    Signals:
        retrieved(object): a retrieve ended (its summary).
    """

    retrieved = Signal(object)

    def __init__(
        self,
        nodes: list[PacsNode],
        runner: JobRunner,
        retrieve: Retrieve,
        local_ae_title: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Query/Retrieve")
        self._nodes = nodes
        self._runner = runner
        self._retrieve = retrieve
        self._local_ae_title = local_ae_title
        self._job: Job | None = None

        self.node = QComboBox()
        self.node.addItems([f"{node.label} ({node})" for node in nodes])
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. DOE^JO*")
        self.patient_id = QLineEdit()
        self.dates = QLineEdit()
        self.dates.setPlaceholderText("YYYYMMDD or YYYYMMDD-YYYYMMDD")
        self.modality = QLineEdit()
        self.modality.setPlaceholderText("e.g. CR or DX")
        self.accession = QLineEdit()
        form = QFormLayout()
        for label, field in (
            ("PACS", self.node),
            ("Patient name", self.name),
            ("Patient ID", self.patient_id),
            ("Study date", self.dates),
            ("Modality", self.modality),
            ("Accession", self.accession),
        ):
            form.addRow(label, field)
        self.search_button = QPushButton("Search")
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.search)
        self.retrieve_button = QPushButton("Retrieve study")
        self.retrieve_button.setEnabled(False)
        self.retrieve_button.clicked.connect(self.retrieve_selected)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.status = QLabel("Search a PACS for studies.")
        self.status.setWordWrap(True)
        self.banner = ErrorBanner()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([title for title, _ in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(self.retrieve_selected)
        bar = QHBoxLayout()
        for button in (self.search_button, self.retrieve_button, self.cancel_button):
            bar.addWidget(button)
        bar.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(form)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        self.resize(900, 560)

    @property
    def busy(self) -> bool:
        """True while a search or a retrieve runs."""
        return self._job is not None and not self._job.is_done

    def _chosen_node(self) -> PacsNode:
        return self._nodes[self.node.currentIndex()]

    @Slot()
    def search(self) -> None:
        """Query the chosen PACS with the form's criteria (a job)."""
        if self.busy:
            return
        try:
            query = StudyQuery(
                patient_name=self.name.text(),
                patient_id=self.patient_id.text(),
                dates=self.dates.text(),
                modality=self.modality.text(),
                accession=self.accession.text(),
            )
        except HilumError as error:
            self.banner.show_error(error)
            return
        node = self._chosen_node()
        self.table.setRowCount(0)
        self._start(
            find, node, query, local_ae_title=self._local_ae_title, text=f"Searching {node}…"
        ).succeeded.connect(self._show_matches)

    @Slot()
    def retrieve_selected(self) -> None:
        """Retrieve the selected study (a job)."""
        rows = self.table.selectionModel().selectedRows()
        if self.busy or not rows:
            return
        item = self.table.item(rows[0].row(), 0)
        study_uid = str(item.data(STUDY_ROLE)) if item is not None else ""
        node = self._chosen_node()
        job = self._start(self._retrieve, node, study_uid, text=f"Retrieving from {node}…")
        job.succeeded.connect(self._on_retrieved)

    def _start(self, fn: Callable[..., Any], *args: Any, text: str, **kwargs: Any) -> Job:
        self.banner.hide()
        self.status.setText(text)
        self.progress.setRange(0, 0)
        job = self._runner.submit(fn, *args, **kwargs)
        job.progress.connect(self._on_progress)
        job.failed.connect(self._on_failed)
        job.finished.connect(self._on_finished)
        self._job = job
        self._set_busy(True)
        return job.start()

    @Slot()
    def cancel(self) -> None:
        """Stop the search or retrieve (what arrived so far stays)."""
        if self._job is not None:
            self._job.cancel()
            self.cancel_button.setEnabled(False)

    def _set_busy(self, busy: bool) -> None:
        self.search_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self._update_buttons()

    @Slot()
    def _update_buttons(self) -> None:
        selected = bool(self.table.selectionModel().selectedRows())
        self.retrieve_button.setEnabled(selected and not self.busy)

    @Slot(object)
    def _on_progress(self, report: Progress) -> None:
        if report.total:
            self.progress.setRange(0, report.total)
            self.progress.setValue(report.done)
        self.status.setText(report.message)

    @Slot(object)
    def _show_matches(self, matches: list[QueryMatch]) -> None:
        self.table.setRowCount(len(matches))
        for row, match in enumerate(matches):
            for column, (_, key) in enumerate(COLUMNS):
                value = getattr(match, key)
                item = QTableWidgetItem("" if value is None else str(value))
                item.setData(STUDY_ROLE, match.study_uid)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.status.setText(f"{len(matches)} stud{'y' if len(matches) == 1 else 'ies'} found.")

    @Slot(object)
    def _on_retrieved(self, summary: Any) -> None:
        text = f"{summary.completed} image(s) retrieved"
        text += f", {summary.failed} failed" if summary.failed else ""
        self.status.setText(text + (" — cancelled." if summary.cancelled else "."))
        self.retrieved.emit(summary)

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        self.banner.show_error(error)
        self.status.setText("Stopped by an error (see above).")

    @Slot()
    def _on_finished(self) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self._set_busy(False)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing cancels what runs."""
        self.cancel()
        super().closeEvent(event)
