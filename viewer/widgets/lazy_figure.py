"""A matplotlib figure on a Qt canvas, created (and matplotlib imported) when first needed.

Importing matplotlib and its Qt backend takes about a second on two loaded cores; the Training
tab's charts are not needed to show the window, so they wait until something is drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QVBoxLayout, QWidget

if TYPE_CHECKING:
    from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
    from matplotlib.figure import Figure


class LazyFigure(QWidget):
    """An empty widget of the canvas's height that becomes the canvas on first use.

    Args:
        figsize: the figure's size in inches.
        height: the canvas's fixed height, or ``None``.
        min_height: the canvas's minimum height.
        on_created: called with the new canvas (e.g. to connect matplotlib events).
        parent: the Qt parent.
    """

    def __init__(
        self,
        figsize: tuple[float, float],
        *,
        height: int | None = None,
        min_height: int = 0,
        on_created: Callable[[FigureCanvasQTAgg], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._figsize = figsize
        self._height = height
        self._on_created = on_created
        self._figure: Figure | None = None
        self._canvas: FigureCanvasQTAgg | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        if height is not None:
            self.setFixedHeight(height)
        self.setMinimumHeight(min_height)

    @property
    def created(self) -> bool:
        """The canvas exists (something was drawn or asked for)."""
        return self._canvas is not None

    @property
    def figure(self) -> Figure:
        """The figure, created on first access."""
        return self._create()[0]

    @property
    def canvas(self) -> FigureCanvasQTAgg:
        """The Qt canvas, created on first access."""
        return self._create()[1]

    def _create(self) -> tuple[Figure, FigureCanvasQTAgg]:
        if self._figure is not None and self._canvas is not None:
            return self._figure, self._canvas
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        figure = self._figure = Figure(figsize=self._figsize)
        canvas = self._canvas = FigureCanvasQTAgg(figure)
        if self._height is not None:
            canvas.setFixedHeight(self._height)
        self._layout.addWidget(canvas)
        if self._on_created is not None:
            self._on_created(canvas)
        return figure, canvas
