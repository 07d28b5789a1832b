"""Live loss / accuracy / AUC curves of the models being trained, one point per epoch.

Each epoch's values are added here, on the GUI thread; the picture is drawn by
:class:`viewer.training.curve_rendering.CurveRenderer` in a helper process (see there why), through
a job on the widget's own one-thread runner, and only shown here. Requests that arrive while a
drawing is under way are coalesced into one drawing of the newest data.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QPixmap, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from engine.evaluation.plots import CURVES, STYLES
from viewer.jobs import JobRunner
from viewer.training.curve_rendering import CurveRenderer
from viewer.widgets.rendering import rgba_qimage


class TrainingCurves(QLabel):
    """Shows :func:`viewer.training.curve_rendering.render_curves` of the epochs reported so far.

    Signals:
        rendered(): a new picture of the curves is on screen (tests wait for it).
    """

    rendered = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.histories: dict[str, dict[str, list[float]]] = {}
        self._runner = JobRunner(max_threads=1, parent=self)
        self._renderer = CurveRenderer()
        self._rendering = False
        self._pending = False
        self.setMinimumSize(480, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setText("Curves appear after the first epoch.")

    def clear(self) -> None:
        """Forget every model's curves."""
        self.histories.clear()
        self.setText("Curves appear after the first epoch.")

    def add_epoch(self, model: str, metrics: Mapping[str, float]) -> None:
        """Append one epoch's values (``loss``, ``val_loss``, ``auc``, ...) of ``model``."""
        history = self.histories.setdefault(model, {})
        for key, _ in CURVES:
            for prefix, _, _ in STYLES:
                if prefix + key in metrics:
                    history.setdefault(prefix + key, []).append(float(metrics[prefix + key]))
        self.request_render()

    def request_render(self) -> None:
        """Render the curves in the background (once more after a render already running)."""
        if not self.histories:
            return
        if self._rendering:
            self._pending = True
            return
        self._rendering = True
        snapshot = {
            model: {k: list(v) for k, v in h.items()} for model, h in self.histories.items()
        }
        job = self._runner.submit(
            self._renderer.render, snapshot, self.width(), self.height(), callbacks=False
        )
        job.succeeded.connect(self._show)
        job.finished.connect(self._render_finished)
        job.start()

    @Slot(object)
    def _show(self, pixels: npt.NDArray[np.uint8]) -> None:
        if self.histories:
            self.setPixmap(QPixmap.fromImage(rgba_qimage(pixels)))
            self.rendered.emit()

    @Slot()
    def _render_finished(self) -> None:
        self._rendering = False
        if self._pending:
            self._pending = False
            self.request_render()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Re-render at the new size."""
        super().resizeEvent(event)
        self.request_render()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Wait for a drawing in progress and stop the helper process (the window closes)."""
        stopped = self._runner.shutdown(timeout_ms)
        self._renderer.shutdown()
        return stopped
