"""The training data folder: its images per class and split, unreadable files, class balance.

The folder is scanned off the GUI thread (:func:`engine.modeling.dataset_summary.scan_dataset`
decodes every file, seconds for thousands of images); choosing another folder cancels a scan under
way.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
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

from engine.modeling.dataset_summary import SPLITS, DatasetSummary, scan_dataset
from engine.modeling.labelled_folders import CLASS_NAMES
from engine.progress import Progress
from viewer.errors import describe, wrapped_tip
from viewer.jobs import Job, JobRunner
from viewer.widgets.lazy_figure import LazyFigure

_SHOWN_UNREADABLE = 20


class DatasetPanel(QWidget):
    """Choose a data folder and see what it holds.

    Signals:
        folder_changed(Path): a new folder was chosen (its scan has started).
        scanned(DatasetSummary): the scan finished.
        scan_failed(BaseException): the folder cannot be used (the panel says why).
    """

    folder_changed = Signal(Path)
    scanned = Signal(object)
    scan_failed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder: Path | None = None
        self.summary: DatasetSummary | None = None
        self._runner = JobRunner(max_threads=1, parent=self)
        self._job: Job | None = None

        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText(
            "Type or choose a folder with NORMAL/ and PNEUMONIA/, or chest_xray/"
        )
        self.path_edit.returnPressed.connect(self._use_typed_folder)
        choose = QPushButton("Choose…")
        choose.clicked.connect(self.choose_folder)
        self.progress = QProgressBar()
        self.progress.setFormat("Checking images… %p%")
        self.progress.hide()
        self.table = QTableWidget(len(SPLITS), len(CLASS_NAMES) + 1)
        self.table.setHorizontalHeaderLabels([*CLASS_NAMES, "total"])
        self.table.setVerticalHeaderLabels(list(SPLITS))
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMaximumHeight(120)
        self.status = QLabel("No data folder chosen.")
        self.status.setWordWrap(True)
        self.chart = LazyFigure((3.2, 1.4), height=140)

        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(choose)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.table)
        layout.addWidget(self.status)
        layout.addWidget(self.chart)

    @Slot()
    def choose_folder(self) -> None:
        """Ask for the data folder and scan it."""
        start = str(self.folder or Path.home())
        chosen = QFileDialog.getExistingDirectory(self, "Choose the training data folder", start)
        if chosen:
            self.set_folder(Path(chosen))

    @Slot()
    def _use_typed_folder(self) -> None:
        typed = Path(self.path_edit.text().strip()).expanduser()
        if typed.is_dir():
            self.set_folder(typed)
        else:
            self.status.setText(f"There is no folder at {typed}: check the path, or Choose… one.")

    def set_folder(self, folder: Path, *, fraction: float = 0.125, seed: int = 42) -> Job:
        """Show ``folder`` and scan it in the background (validation carved with ``seed``)."""
        if self._job is not None:
            self._job.cancel()
        self.folder = folder
        self.summary = None
        self.path_edit.setText(str(folder))
        self.status.setText("Checking every image…")
        self.progress.setValue(0)
        self.progress.show()
        job = self._runner.submit(scan_dataset, folder, fraction=fraction, seed=seed)
        job.progress.connect(self._on_progress)
        job.succeeded.connect(self._on_scanned)
        job.failed.connect(self._on_failed)
        self._job = job
        self.folder_changed.emit(folder)
        return job.start()

    @Slot(object)
    def _on_progress(self, report: Progress) -> None:
        if self.sender() is self._job and report.total:
            self.progress.setMaximum(report.total)
            self.progress.setValue(report.done)

    @Slot(object)
    def _on_scanned(self, summary: DatasetSummary | None) -> None:
        if self.sender() is not self._job or summary is None:
            return
        self.progress.hide()
        self.summary = summary
        for row, split in enumerate(SPLITS):
            counts = summary.counts.get(split)
            values = (
                [*(counts[name] for name in CLASS_NAMES), sum(counts.values())] if counts else []
            )
            for column in range(len(CLASS_NAMES) + 1):
                text = str(values[column]) if values else "—"
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        unreadable = summary.unreadable
        self.status.setText(
            f"{summary.total} images; validation: {summary.validation}; "
            f"{len(unreadable)} unreadable file(s)"
            + (" (skipped in training; hover for the list)." if unreadable else ".")
        )
        self.status.setToolTip(
            wrapped_tip(*(f"{path}: {reason}" for path, reason in unreadable[:_SHOWN_UNREADABLE]))
        )
        self._plot_balance(summary)
        self.scanned.emit(summary)

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        if self.sender() is not self._job:
            return
        self.progress.hide()
        self.status.setText(describe(error)[1])
        self.table.clearContents()
        if self.chart.created:
            self.chart.figure.clear()
            self.chart.canvas.draw_idle()
        self.scan_failed.emit(error)

    def _plot_balance(self, summary: DatasetSummary) -> None:
        figure = self.chart.figure
        figure.clear()
        figure.subplots_adjust(left=0.27, right=0.97, bottom=0.2, top=0.85)
        axes = figure.add_subplot()
        splits = list(summary.counts)
        left = [0] * len(splits)
        for index, name in enumerate(CLASS_NAMES):
            widths = [summary.counts[split][name] for split in splits]
            axes.barh(
                splits,
                widths,
                left=left,
                color=f"C{index}",
                label=f"{name} {summary.share(name):.0%}",
            )
            left = [a + b for a, b in zip(left, widths, strict=True)]
        axes.invert_yaxis()
        axes.tick_params(labelsize="x-small")
        axes.set_title("class balance", fontsize="small")
        axes.legend(fontsize="xx-small", loc="lower right")
        self.chart.canvas.draw_idle()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop a scan under way and wait for it."""
        return self._runner.shutdown(timeout_ms)
