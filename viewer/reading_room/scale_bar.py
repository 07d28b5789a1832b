"""The image view's readouts: a scale bar of a round length (1, 2 or 5 x 10^n mm) in the
bottom-left corner, the zoom percentage in the bottom-right one."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPen

#: Screen pixels the bar aims at before rounding its length down.
TARGET_PIXELS = 120


def nice_length(target: float) -> float:
    """The largest 1, 2 or 5 x 10^n not above ``target`` (for a scale bar), at least 1e-3."""
    if target <= 0:
        return 1.0
    exponent = math.floor(math.log10(target))
    for mantissa in (5, 2, 1):
        value = mantissa * 10.0**exponent
        if value <= target:
            return value
    return 10.0**exponent


def draw_scale_bar(painter: QPainter, viewport_height: int, mm_per_screen_px: float) -> None:
    """Draw the bar, in viewport coordinates, for a view showing ``mm_per_screen_px``."""
    length_mm = nice_length(mm_per_screen_px * TARGET_PIXELS)
    length_px = length_mm / mm_per_screen_px
    painter.save()
    painter.resetTransform()
    margin = 16
    y = viewport_height - margin
    painter.setPen(QPen(QColor(255, 255, 0), 2))
    painter.drawLine(QPointF(margin, y), QPointF(margin + length_px, y))
    for x in (margin, margin + length_px):
        painter.drawLine(QPointF(x, y - 5), QPointF(x, y + 1))
    label = f"{length_mm:g} mm" if length_mm < 10 else f"{length_mm / 10:g} cm"
    painter.drawText(QPointF(margin, y - 8), label)
    painter.restore()


def draw_zoom(painter: QPainter, viewport: QRect, text: str) -> None:
    """Draw ``text`` (the zoom, e.g. "100 %") in the bottom-right corner of ``viewport``."""
    painter.save()
    painter.resetTransform()
    painter.setPen(QPen(QColor(255, 255, 0)))
    margin = 8
    corner = viewport.adjusted(margin, margin, -margin, -margin)
    painter.drawText(corner, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom), text)
    painter.restore()
