"""A horizontal slider with a mark at a reference value (the prediction panel's threshold)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSlider, QStyle, QStyleOptionSlider, QWidget


class MarkedSlider(QSlider):
    """A horizontal slider that also draws a mark at a reference value (the card's threshold)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._mark: int | None = None

    def set_mark(self, value: int | None) -> None:
        """Mark ``value`` (in slider units), or nothing."""
        self._mark = value
        self.update()

    @property
    def mark(self) -> int | None:
        """The marked value, if any."""
        return self._mark

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint the slider, then a small red tick at the mark."""
        super().paintEvent(event)
        if self._mark is None:
            return
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        groove = self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderGroove, self
        )
        handle = self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, self
        )
        span = groove.width() - handle.width()
        x = (
            groove.x()
            + handle.width() // 2
            + QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), self._mark, span)
        )
        painter = QPainter(self)
        painter.setPen(QPen(QColor(200, 30, 30), 2))
        painter.drawLine(x, 0, x, self.height())
        painter.end()
