"""The comparison of trained models: a sortable table, ROC and confusion matrices, operating
point, exports, and promotion of a model to the reading room.

Rows are :class:`viewer.training.model_entries.ModelEntry`; reading cards (checksums), saving an
operating point and re-evaluating run as jobs; evaluation shares the Training tab's TensorFlow
runner so it never competes with a training run. Promotion to the reading room (checked, with
"Revert" and "Use shipped default") is :class:`viewer.training.promotion_bar.PromotionBar`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.evaluation.bundle_evaluation import EvaluationReport, evaluate_bundle
from engine.evaluation.comparison import write_csv
from engine.modeling import operating_point
from engine.modeling.bundles import update_card
from engine.modeling.card import ModelCard
from viewer.errors import describe
from viewer.jobs import JobRunner
from viewer.settings import TrainingSettings
from viewer.training.comparison_columns import COMPARISON_COLUMNS
from viewer.training.comparison_figure import ComparisonFigure
from viewer.training.model_entries import ModelEntry, read_entries
from viewer.training.operating_point_box import OperatingPointBox
from viewer.training.promotion_bar import PromotionBar
from viewer.widgets.record_table import RecordTable, RecordTableModel


class ComparisonView(QWidget):
    """Every trained model of the model folder, compared.

    Args:
        settings: the tab's settings (model folder, previous active model); the active model is
            ``settings.settings.model_path``.
        tf_runner: the runner of TensorFlow work (evaluation).

    Attributes:
        promotion: the promotion buttons (their signals are forwarded as this view's).

    Signals:
        promoted(Path): make this bundle the reading room's model (promoted, reverted to, or
            the active one whose operating point changed).
        default_requested(): make the shipped default the reading room's model.
        entries_changed(): rows were added, replaced or re-read.
        operating_point_saved(Path): a bundle's card got a new operating point.
        evaluated(Path): a bundle was re-evaluated on the data folder.
        folder_changed(Path): the user chose another model folder.
    """

    promoted = Signal(Path)
    default_requested = Signal()
    entries_changed = Signal()
    operating_point_saved = Signal(Path)
    evaluated = Signal(Path)
    folder_changed = Signal(Path)

    def __init__(
        self, settings: TrainingSettings, tf_runner: JobRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.data_folder: Path | None = None
        self._tf = tf_runner
        self._io = JobRunner(max_threads=1, parent=self)
        self._pending: tuple[int, str, float | None] | None = None

        self.folder_edit = QLineEdit(str(settings.model_folder))
        self.folder_edit.setReadOnly(True)
        choose = QPushButton("Choose…")
        choose.clicked.connect(self.choose_model_folder)
        rescan = QPushButton("Rescan")
        rescan.clicked.connect(self.reload)
        self.table = RecordTable(RecordTableModel(COMPARISON_COLUMNS, self))
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.figure = ComparisonFigure()
        self.figure.roc_clicked.connect(self._on_roc_clicked)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.promotion = PromotionBar(settings, self._io)
        self.promotion.promoted.connect(self.promoted)
        self.promotion.default_requested.connect(self.default_requested)
        self.promotion.message.connect(self.status.setText)

        buttons = QHBoxLayout()
        self.evaluate_button = self._button(
            buttons, "Re-evaluate on data folder", self.evaluate_selected
        )
        self._button(buttons, "Export CSV…", self.choose_csv)
        self._button(buttons, "Export PNG…", self.choose_png)
        buttons.addStretch(1)
        buttons.addWidget(self.promotion)

        point_box = self._point_box = OperatingPointBox()
        point_box.use_target.clicked.connect(self.use_target)
        point_box.save.clicked.connect(self.save_operating_point)
        self.target, self.save_button = point_box.target, point_box.save

        folder_row = QHBoxLayout()
        folder_row.addWidget(QLabel("Model folder"))
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(choose)
        folder_row.addWidget(rescan)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(folder_row)
        top_layout.addWidget(self.table, 1)
        top_layout.addLayout(buttons)
        top_layout.addWidget(self.promotion.active_label)
        top_layout.addWidget(self.status)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(point_box)
        bottom_layout.addWidget(self.figure, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self._update_controls()

    def _button(self, layout: QHBoxLayout, text: str, slot: Any) -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(slot)
        layout.addWidget(button)
        return button

    # --- rows ----------------------------------------------------------------------------------

    @property
    def entries(self) -> list[ModelEntry]:
        """Every row, in insertion order."""
        return self.table.source.records()

    def entry(self, bundle: Path) -> ModelEntry | None:
        """The row of ``bundle``, if shown."""
        return next((e for e in self.entries if e.bundle == bundle), None)

    def current(self) -> ModelEntry | None:
        """The model of the current (selected) row."""
        index = self.table.currentIndex()
        return self.table.record_at(index) if index.isValid() else None

    def select(self, bundle: Path) -> None:
        """Make ``bundle``'s row the current one."""
        for row, entry in enumerate(self.table.shown_records()):
            if entry.bundle == bundle:
                self.table.selectRow(row)
                return

    def _set_entries(self, entries: list[ModelEntry]) -> None:
        current = self.current()
        self.table.source.set_records(entries)
        if current is not None:
            self.select(current.bundle)
        self._pending = None
        self._redraw()
        self.entries_changed.emit()

    def _replace(self, entry: ModelEntry) -> None:
        self._set_entries(
            [entry if e.bundle == entry.bundle else e for e in self.entries]
            if self.entry(entry.bundle)
            else [*self.entries, entry]
        )

    @Slot()
    def choose_model_folder(self) -> None:
        """Ask for the model folder (where training writes and earlier models are found)."""
        chosen = QFileDialog.getExistingDirectory(
            self, "Model folder", str(self.settings.model_folder)
        )
        if chosen:
            self.set_model_folder(Path(chosen))

    def set_model_folder(self, folder: Path) -> None:
        """Use ``folder`` and list the bundles in it."""
        self.settings.model_folder = folder
        self.folder_edit.setText(str(folder))
        self.folder_changed.emit(folder)
        self.reload()

    @Slot()
    def reload(self) -> None:
        """Read every bundle's card in the model folder again (in the background)."""
        self.status.setText("Reading the model cards…")
        job = self._io.submit(read_entries, self.settings.model_folder, callbacks=False)
        job.succeeded.connect(self._on_read)
        job.failed.connect(self._show_error)
        job.start()

    @Slot(object)
    def _on_read(self, result: tuple[list[ModelEntry], list[str]]) -> None:
        entries, problems = result
        evaluations = {e.bundle: e.evaluation for e in self.entries if e.evaluation is not None}
        self._set_entries(
            [ModelEntry(e.bundle, e.card, evaluations.get(e.bundle)) for e in entries]
        )
        self.status.setText(
            f"{len(entries)} model(s) in {self.settings.model_folder}."
            + (f" Skipped {len(problems)}: " + " ".join(problems) if problems else "")
        )

    def add_trained(self, bundle: Path, card: ModelCard) -> None:
        """Show a model that training just wrote."""
        self._replace(ModelEntry(bundle, card))
        self.status.setText(f"Added {bundle.name}; {len(self.entries)} model(s) compared.")

    # --- figure and operating point ------------------------------------------------------------

    @Slot(QItemSelection, QItemSelection)
    def _on_selection(self, *_: QItemSelection) -> None:
        self._pending = None
        self._redraw()

    def _redraw(self) -> None:
        current = self.current()
        rows = {
            self.table.proxy.mapToSource(i).row()
            for i in self.table.selectionModel().selectedRows()
        }
        shown = [self.table.source.record(r) for r in sorted(rows)] or self.entries
        pending = self._pending[0] if self._pending else None
        self.figure.show_entries(self.entries if len(shown) < 2 else shown, current, pending)
        self._update_controls()

    def _update_controls(self) -> None:
        current = self.current()
        self.evaluate_button.setEnabled(current is not None)
        self.promotion.set_candidate(current.bundle if current is not None else None)
        self._point_box.show_entry(current, self._pending)

    def _set_pending(self, index: int, method: str, target: float | None) -> None:
        self._pending = (index, method, target)
        self._redraw()

    @Slot()
    def use_target(self) -> None:
        """Consider the operating point reaching the target sensitivity on validation."""
        current = self.current()
        if current is not None and current.roc["fpr"]:
            target = self.target.value()
            index = operating_point.index_for_sensitivity(current.roc, target)
            self._set_pending(index, operating_point.TARGET_SENSITIVITY, target)

    @Slot(float, float)
    def _on_roc_clicked(self, fpr: float, tpr: float) -> None:
        current = self.current()
        if current is not None and current.roc["fpr"]:
            self._set_pending(
                operating_point.nearest_index(current.roc, fpr, tpr), operating_point.MANUAL, None
            )

    @Slot()
    def save_operating_point(self) -> None:
        """Write the considered operating point into the model's card (atomically)."""
        current = self.current()
        if current is None or self._pending is None:
            return
        card = current.card.with_operating_point(*self._pending)
        job = self._io.submit(update_card, current.bundle, card, callbacks=False)
        bundle = current.bundle
        job.succeeded.connect(lambda card: self._on_card_saved(bundle, card))
        job.failed.connect(self._show_error)
        job.start()

    def _on_card_saved(self, bundle: Path, card: ModelCard) -> None:
        entry = self.entry(bundle)
        if entry is not None:
            self._replace(entry.with_card(card))
        self.status.setText(f"Saved threshold {card.threshold:.4f} in {bundle.name}.")
        if self.settings.settings.model_path == bundle:
            self.promoted.emit(bundle)  # the reading room reloads the new threshold
        self.operating_point_saved.emit(bundle)

    # --- evaluation and exports ----------------------------------------------------------------

    @Slot()
    def evaluate_selected(self) -> None:
        """Evaluate the selected models on the data folder (its test split when it has one)."""
        if self.data_folder is None:
            self.status.setText("Choose a data folder first (Dataset, on the left).")
            return
        rows = {
            self.table.proxy.mapToSource(i).row()
            for i in self.table.selectionModel().selectedRows()
        }
        for row in sorted(rows):
            bundle = self.table.source.record(row).bundle
            job = self._tf.submit(evaluate_bundle, bundle, self.data_folder)
            job.succeeded.connect(self._on_evaluated)
            job.failed.connect(self._show_error)
            job.start()
        self.status.setText(f"Evaluating {len(rows)} model(s) on {self.data_folder}…")

    @Slot(object)
    def _on_evaluated(self, report: EvaluationReport) -> None:
        entry = self.entry(report.bundle)
        if entry is not None:
            self._replace(ModelEntry(entry.bundle, entry.card, report))
        self.status.setText(
            f"{report.name}: evaluated on {report.metrics.n} images "
            f"({report.split}) in {report.seconds:.1f} s."
        )
        self.evaluated.emit(report.bundle)

    def _ask_target(self, title: str, name: str, kind: str) -> Path | None:
        suggested = str(self.settings.model_folder / name)
        target, _ = QFileDialog.getSaveFileName(self, title, suggested, kind)
        return Path(target) if target else None

    @Slot()
    def choose_csv(self) -> None:
        """Ask where to save the table as CSV."""
        if target := self._ask_target("Export comparison as CSV", "comparison.csv", "CSV (*.csv)"):
            self.export_csv(target)

    def export_csv(self, path: Path) -> None:
        """Write the rows, in the order shown, as CSV (atomically)."""
        self._save(partial(write_csv, [entry.row for entry in self.table.shown_records()]), path)

    def _save(self, write: Callable[[Path], object], path: Path) -> None:
        try:
            write(path)
        except OSError as error:
            self._show_error(error)
        else:
            self.status.setText(f"Saved {path}")

    @Slot()
    def choose_png(self) -> None:
        """Ask where to save the ROC and confusion matrix figure."""
        if target := self._ask_target("Export figure as PNG", "comparison.png", "PNG (*.png)"):
            self.export_png(target)

    def export_png(self, path: Path) -> None:
        """Write the figure as PNG (atomically)."""
        self._save(self.figure.save_png, path)

    @Slot(object)
    def _show_error(self, error: BaseException) -> None:
        self.status.setText(describe(error)[1])

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Wait for card reads and writes under way."""
        return self._io.shutdown(timeout_ms)
