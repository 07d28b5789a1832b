"""Validation ROC curves and confusion matrices of the compared models, side by side.

Clicking on the ROC axes reports the clicked rates (:attr:`ComparisonFigure.roc_clicked`): the
comparison view moves the selected model's operating point to the nearest point of its curve.
Each model's current operating point is a dot; a point being considered is a star. The figure is
built and drawn only when visible: a hidden tab would otherwise freeze the window for a few hundred
milliseconds each time a model finishes training; matplotlib itself is imported then too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from engine.modeling.labelled_folders import CLASS_NAMES
from viewer.training.model_entries import ModelEntry
from viewer.widgets.lazy_figure import LazyFigure

if TYPE_CHECKING:  # matplotlib is imported when the figure is first drawn
    from matplotlib.axes import Axes
    from matplotlib.backend_bases import MouseEvent
    from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg

#: Confusion matrices drawn at most (the table has them all).
MAX_MATRICES = 6


def _operating_point(entry: ModelEntry) -> tuple[float, float] | None:
    """(false positive rate, sensitivity) at the card's threshold, when the card has them."""
    metrics = entry.card.validation_metrics
    if metrics is None:
        return None
    return 1 - metrics.specificity, metrics.sensitivity


class ComparisonFigure(QWidget):
    """A matplotlib canvas: ROC curves on the left, one confusion matrix per model on the right.

    Signals:
        roc_clicked(float, float): the user clicked the ROC axes at (false positive rate,
            sensitivity).
    """

    roc_clicked = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._plot = LazyFigure(
            (10, 3.6),
            min_height=260,
            on_created=lambda canvas: canvas.mpl_connect("button_press_event", self._on_press),
        )
        self.roc_axes: Axes | None = None
        self._stale = False
        self._shown: tuple[list[ModelEntry], ModelEntry | None, int | None] = ([], None, None)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._plot)

    @property
    def canvas(self) -> FigureCanvasQTAgg:
        """The figure's Qt canvas (created, and matplotlib imported, on first use)."""
        return self._plot.canvas

    def show_entries(
        self,
        entries: Sequence[ModelEntry],
        current: ModelEntry | None = None,
        pending: int | None = None,
    ) -> None:
        """Draw ``entries``; ``current``'s curve is emphasised, ``pending`` marks its ROC point
        being considered. While hidden, only remember them (building the axes alone takes
        a few hundred milliseconds with several models)."""
        self._shown = (list(entries), current, pending)
        if not self.isVisible():
            self._stale = True
            return
        self._build(*self._shown)
        self.canvas.draw_idle()

    def _build(
        self, entries: Sequence[ModelEntry], current: ModelEntry | None, pending: int | None
    ) -> None:
        from engine.evaluation.plots import draw_roc

        figure = self._plot.figure
        figure.clear()
        matrices = list(entries)[:MAX_MATRICES]
        grid = figure.add_gridspec(
            1,
            1 + max(len(matrices), 1),
            width_ratios=[2.2] + [1] * max(len(matrices), 1),
            left=0.06,
            right=0.99,
            bottom=0.16,
            top=0.9,
            wspace=0.45,
        )
        roc = figure.add_subplot(grid[0, 0])
        self.roc_axes = roc
        draw_roc(
            roc,
            {entry.name: entry.roc for entry in entries},
            {entry.name: point for entry in entries if (point := _operating_point(entry))},
            linewidths={entry.name: 2.5 if entry is current else 1.2 for entry in entries},
            chance_label="_chance",
            marker_size=None,
        )
        if current is not None and pending is not None and current.roc["fpr"]:
            curve = current.roc
            roc.plot(
                curve["fpr"][pending], curve["tpr"][pending], "*", color="black", markersize=14
            )
        roc.set(xlim=(0, 1), ylim=(0, 1.02))
        roc.set_xlabel("1 - specificity", fontsize="small")
        roc.set_ylabel("sensitivity", fontsize="small")
        roc.set_title("validation ROC (click to set the operating point)", fontsize="small")
        roc.tick_params(labelsize="x-small")
        if entries:
            roc.legend(fontsize="xx-small", loc="lower right")
        for column, entry in enumerate(matrices, start=1):
            self._matrix(figure.add_subplot(grid[0, column]), entry)

    @staticmethod
    def _matrix(axes: Axes, entry: ModelEntry) -> None:
        from engine.evaluation.plots import draw_confusion_matrix

        matrix = entry.row["confusion_matrix"]
        axes.set_title(f"{entry.name}\n({entry.row['source']})", fontsize="xx-small")
        if not matrix:
            axes.set_axis_off()
            return
        draw_confusion_matrix(
            axes, matrix, class_names=[name[:4] for name in CLASS_NAMES], fontsize="small"
        )
        axes.set_xlabel("predicted", fontsize="xx-small")
        axes.set_ylabel("truth", fontsize="xx-small")
        axes.tick_params(labelsize="xx-small")

    def showEvent(self, event: QShowEvent) -> None:
        """Draw what changed while hidden."""
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self._build(*self._shown)
            self.canvas.draw_idle()

    def _on_press(self, event: MouseEvent) -> None:
        if event.inaxes is self.roc_axes and event.xdata is not None and event.ydata is not None:
            self.roc_clicked.emit(float(event.xdata), float(event.ydata))

    def save_png(self, path: str | os.PathLike[str]) -> Path:
        """Write the figure as a PNG, atomically."""
        from engine.evaluation.plots import save_figure

        return save_figure(self._plot.figure, path)
