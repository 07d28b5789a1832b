"""The Training tab: retrain the engine's model variants on a data folder and compare them.

Composition of small widgets (dataset, variant checklist, settings form, progress, live curves,
comparison) around one queue: the checked variants train one after another, each as one
:class:`viewer.jobs.Job` around :func:`engine.workflows.training.train`, run in a child process by
:func:`engine.workflows.training_process.train_in_process` (in-process training froze the window for
up to 0.7 s while TensorFlow traced each new model). Jobs run on the tab's single TensorFlow thread,
with parameter counting and re-evaluation, so that TensorFlow work never runs twice at once. Cancel
sets the job's stop flag, which the engine turns into ``model.stop_training`` within one batch; the
variants already finished keep their bundles, the cancelled one leaves none (the engine writes a
bundle atomically, only at the very end).

The "Commission for a site" page (:class:`viewer.training.commission_panel.CommissionPanel`) runs
``hilum commission`` on the same runner; training and commissioning wait for each other.

Closing the window while a model trains asks first (:meth:`TrainingTab.confirm_stop_training`),
then cancels and waits for the job.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.modeling.train_config import TrainConfig
from engine.modeling.variants import list_variants
from engine.progress import Progress
from engine.workflows.training import TrainingResult
from engine.workflows.training_process import train_in_process
from viewer.errors import describe
from viewer.jobs import Job, JobRunner
from viewer.settings import Settings, TrainingSettings
from viewer.training.commission_panel import CommissionPanel
from viewer.training.comparison_view import ComparisonView
from viewer.training.dataset_panel import DatasetPanel
from viewer.training.model_folder_row import ModelFolderRow
from viewer.training.train_form import DEFAULTS, TrainForm
from viewer.training.training_curves import TrainingCurves
from viewer.training.training_progress import TrainingProgress
from viewer.training.variant_list import VariantChecklist, count_parameters

#: How long closing the window waits for a cancelled run to stop (one batch, then cleanup).
CLOSE_TIMEOUT_MS = 120_000


def _group(title: str, widget: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.addWidget(widget)
    return box


class TrainingTab(QWidget):
    """Dataset, variants and settings on the left; progress, curves and comparison on the right.

    Args:
        settings: the viewer's settings (the tab keeps its own ``training/`` keys there and reads
            the reading room's active model).
        parent: the Qt parent.

    Signals:
        promoted(Path): the user promoted this bundle to the reading room.
        default_requested(): the user asked for the shipped default model.
        progressed(str, object): a training progress report (variant, ``Progress``).
        variant_finished(str, object): a variant's run ended (name, ``TrainingResult`` or the
            exception it failed with).
        training_finished(bool): the queue ended; True when it was cancelled.
    """

    promoted = Signal(Path)
    default_requested = Signal()
    progressed = Signal(str, object)
    variant_finished = Signal(str, object)
    training_finished = Signal(bool)

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = TrainingSettings(settings)
        self._tf = JobRunner(max_threads=1, parent=self)
        self._queue: list[TrainConfig] = []
        self._index = -1
        self._job: Job | None = None
        self._count_job: Job | None = None
        self._cancelled = False
        self._closed = False

        self.dataset = DatasetPanel()
        self.variants = VariantChecklist()
        self.form = TrainForm()
        self.start_button = QPushButton("Start training")
        self.start_button.clicked.connect(self.start_training)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_training)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.progress = TrainingProgress()
        self.curves = TrainingCurves()
        self.comparison = ComparisonView(self.settings, self._tf)
        self.commissioning = CommissionPanel(self.settings, self._tf, self.comparison.promotion)
        self.model_folder = ModelFolderRow(self.settings.model_folder)
        self._build_layout()

        self.dataset.folder_changed.connect(self._on_folder_changed)
        self.dataset.scanned.connect(self._validate)
        self.dataset.scan_failed.connect(self._validate)
        self.variants.changed.connect(self._validate)
        self.form.edited.connect(self._validate)
        self.comparison.promoted.connect(self.promoted)
        self.comparison.default_requested.connect(self.default_requested)
        self.commissioning.commissioned.connect(self.comparison.add_trained)
        self.commissioning.running_changed.connect(self._validate)
        self.model_folder.change_requested.connect(self.comparison.choose_model_folder)
        self.comparison.folder_changed.connect(self.model_folder.show_folder)
        self.variants.set_parameter_counts(self.settings.parameter_counts)
        self._shown = False
        self._validate()

    def _build_layout(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(_group("Dataset", self.dataset))
        left_layout.addWidget(_group("Variants", self.variants))
        left_layout.addWidget(_group("Settings", self.form))
        left_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(left)
        # The column never scrolls sideways (buttons went off-screen): it is as wide as its content.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = scroll.verticalScrollBar().sizeHint().width() + 2 * scroll.frameWidth()
        scroll.setMinimumWidth(max(440, left.minimumSizeHint().width() + bar))
        column = QVBoxLayout()  # Start and Cancel stay in sight below the scrolled forms
        column.addWidget(scroll, 1)
        column.addLayout(buttons)
        column.addWidget(self.reason)
        column.addWidget(self.model_folder)
        running = QWidget()
        running_layout = QVBoxLayout(running)
        running_layout.addWidget(self.progress)
        running_layout.addWidget(self.curves, 1)
        self.pages = QTabWidget()
        self.pages.addTab(running, "Progress")
        self.pages.addTab(self.comparison, "Comparison")
        self.pages.addTab(self.commissioning, "Commission for a site")
        self.running_page = running
        layout = QHBoxLayout(self)
        layout.addLayout(column)
        layout.addWidget(self.pages, 1)

    # --- data and validation -------------------------------------------------------------------

    def set_data_folder(self, folder: Path) -> Job:
        """Use ``folder`` for training and evaluation, and scan it."""
        return self.dataset.set_folder(
            folder, fraction=DEFAULTS["validation_fraction"], seed=self.form.seed.value()
        )

    @Slot(Path)
    def _on_folder_changed(self, folder: Path) -> None:
        self.settings.data_folder = folder
        self.comparison.data_folder = folder
        self._validate()

    @property
    def is_training(self) -> bool:
        """True while a training queue runs."""
        return bool(self._queue) and self._index < len(self._queue)

    def blocking_reason(self) -> str | None:
        """Why training cannot start now, or ``None`` when it can."""
        if self.is_training:
            return "Training…"
        if self.commissioning.is_running:
            return "Commissioning a model for a site…"
        if self.dataset.folder is None:
            return "Choose a data folder."
        if self.dataset.summary is None:
            return self.dataset.status.text()
        variants = self.variants.checked()
        if not variants:
            return "Check at least one variant."
        return self.form.validate(variants, self.dataset.folder, self.settings.model_folder)

    @Slot()
    def _validate(self) -> None:
        reason = self.blocking_reason()
        self.reason.setText(reason or f"Ready: {len(self.variants.checked())} variant(s).")
        self.start_button.setEnabled(reason is None)
        self.cancel_button.setEnabled(self.is_training and not self._cancelled)
        self.commissioning.set_blocked("Training…" if self.is_training else None)

    # --- first show and parameter counts --------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        """The first time the tab is seen: scan the last data folder, list the model folder and
        count the variants' parameters (not at start-up: the reading room comes first)."""
        super().showEvent(event)
        if self._shown:
            return
        self._shown = True
        folder = self.settings.data_folder
        if folder is not None and folder.is_dir() and self.dataset.folder is None:
            self.set_data_folder(folder)
        self.comparison.reload()
        self._count_missing_parameters()

    def _count_missing_parameters(self) -> None:
        known = self.settings.parameter_counts
        missing = [spec.name for spec in list_variants() if spec.name not in known]
        busy = self._count_job is not None and not self._count_job.is_done
        if not missing or busy or self.is_training or self._closed:
            return
        job = self._tf.submit(count_parameters, missing)
        job.succeeded.connect(self._on_counted)
        self._count_job = job
        job.start()

    @Slot(object)
    def _on_counted(self, counts: dict[str, int]) -> None:
        self.settings.parameter_counts = {**self.settings.parameter_counts, **counts}
        self.variants.set_parameter_counts(counts)

    # --- the training queue --------------------------------------------------------------------

    @Slot()
    def start_training(self) -> None:
        """Train every checked variant, one after another, with the form's settings."""
        if self.blocking_reason() is not None or self.dataset.folder is None:
            return
        self._queue = self.form.configs(
            self.variants.checked(), self.dataset.folder, self.settings.model_folder
        )
        self._index = -1
        self._cancelled = False
        if self._count_job is not None:
            self._count_job.cancel()  # it stops after the model it is building
        self.progress.start([config.variant for config in self._queue])
        self.curves.clear()
        self.pages.setCurrentWidget(self.running_page)
        self._next()

    @Slot()
    def _next(self) -> None:
        self._index += 1
        if self._cancelled or self._closed or self._index >= len(self._queue):
            self._finish()
            return
        self.progress.begin(self._index)
        job = self._tf.submit(train_in_process, self._queue[self._index])
        job.progress.connect(self._on_progress)
        job.succeeded.connect(self._on_trained)
        job.failed.connect(self._on_failed)
        job.finished.connect(self._next)
        self._job = job
        self._validate()
        job.start()

    @Slot(object)
    def _on_progress(self, report: Progress) -> None:
        if report.stage != "train":
            return
        self.progressed.emit(self._queue[self._index].variant, report)
        self.progress.update(self._index, report)
        if report.final_of_epoch:
            self.curves.add_epoch(self._queue[self._index].variant, report.metrics)

    @Slot(object)
    def _on_trained(self, result: TrainingResult) -> None:
        variant = self._queue[self._index].variant
        if result.cancelled or result.bundle is None:
            self.progress.end(self._index, "cancelled: nothing saved", complete=False)
        else:
            self.progress.end(self._index, f"saved {result.bundle.name}", complete=True)
            self.comparison.add_trained(result.bundle, result.card)
        self.variant_finished.emit(variant, result)

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        self.progress.end(self._index, f"failed: {describe(error)[1]}", complete=False)
        self.variant_finished.emit(self._queue[self._index].variant, error)

    def _finish(self) -> None:
        cancelled = self._cancelled
        self._queue = []
        self._index = -1
        self._job = None
        self.progress.finish("cancelled" if cancelled else "finished")
        self._validate()
        self.training_finished.emit(cancelled)
        self._count_missing_parameters()

    @Slot()
    def cancel_training(self) -> None:
        """Stop the running variant within one batch and skip the ones not started."""
        if not self.is_training:
            return
        self._cancelled = True
        if self._job is not None:
            self._job.cancel()
        self.reason.setText("Cancelling after the current batch…")
        self.cancel_button.setEnabled(False)

    # --- closing -------------------------------------------------------------------------------

    def guard_close(self, window: QWidget) -> None:
        """Ask before ``window`` closes during training, then cancel and wait for the run."""
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Intercept the guarded window's close (see :meth:`guard_close`)."""
        if event.type() == QEvent.Type.Close and not self._closed:
            if self.is_training and not self.confirm_stop_training():
                event.ignore()
                return True
            self.shutdown()
        return super().eventFilter(watched, event)

    def confirm_stop_training(self) -> bool:
        """Ask whether to stop the training under way (tests replace this method)."""
        answer = QMessageBox.question(
            self,
            "Training in progress",
            "A model is training. Stop it and close Hilum?\n\nModels that already finished are "
            "kept; the one in progress is discarded.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def shutdown(self, timeout_ms: int = CLOSE_TIMEOUT_MS) -> bool:
        """Cancel training and every other background job, and wait for them to end."""
        self._closed = True
        self.cancel_training()
        stopped = [
            part.shutdown(timeout_ms) for part in (self.dataset, self.comparison, self.curves)
        ]
        return self._tf.shutdown(timeout_ms) and all(stopped)
