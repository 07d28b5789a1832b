"""Training curves drawn by matplotlib in a helper process: pixels for the Training tab.

Why a process: a three-panel figure takes 80-130 ms of pure Python to draw on this CPU. Drawn on
the GUI thread it eats most of the 200 ms the window may freeze; drawn on a worker thread of the
viewer it made the GUI thread stall for ~300 ms while a model trained (measured by
``tests/viewer/test_training_tab.py``), even though the worker only ran Python. In a helper
process, started once at low priority, drawing competes with nothing in the viewer.

Qt-free, so that the helper process does not import Qt. :func:`render_curves` builds a new figure
each time (plain matplotlib on an Agg canvas), so it can run anywhere.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import numpy.typing as npt

from engine.evaluation.plots import CURVES, Histories, draw_training_curves
from engine.workflows.training_process import become_background_process

_DPI = 100


def render_curves(histories: Histories, width: int, height: int) -> npt.NDArray[np.uint8]:
    """Draw every model's curves (training solid, validation dashed) as RGBA pixels.

    Args:
        histories: model name -> ``{"loss": [...], "val_loss": [...], "auc": [...], ...}``.
        width: image width in pixels.
        height: image height in pixels.

    Returns:
        ``height x width x 4`` uint8 RGBA.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # in the helper process only
    from matplotlib.figure import Figure

    figure = Figure(figsize=(max(width, 100) / _DPI, max(height, 80) / _DPI), dpi=_DPI)
    canvas = FigureCanvasAgg(figure)
    figure.subplots_adjust(left=0.06, right=0.99, bottom=0.17, top=0.88, wspace=0.25)
    panels = figure.subplots(1, len(CURVES))
    draw_training_curves(panels, histories, marker=".")
    for axes, (_key, title) in zip(panels, CURVES, strict=True):
        axes.set_title(title, fontsize="small")
        axes.set_xlabel("epoch", fontsize="small")
        axes.tick_params(labelsize="x-small")
    if panels[0].get_lines():
        panels[0].legend(fontsize="xx-small", loc="upper right")
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


class CurveRenderer:
    """One helper process that runs :func:`render_curves` (started on first use), as background
    work (:func:`engine.workflows.training_process.become_background_process`)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def render(self, histories: Histories, width: int, height: int) -> npt.NDArray[np.uint8]:
        """:func:`render_curves` in the helper process; blocks until it is drawn (call it from a
        job)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=become_background_process,
            )
        return self._pool.submit(render_curves, histories, width, height).result()

    def shutdown(self) -> None:
        """Stop the helper process (waits for a drawing in progress)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
