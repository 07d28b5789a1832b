"""Helpers shared by the viewer tests (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from engine import Radiograph
from engine.inference.prediction import Prediction
from viewer.window.main_window import MainWindow

#: Generous timeouts: the CI machine has two cores shared with other work.
LOAD_TIMEOUT_MS = 20_000
MODEL_TIMEOUT_MS = 120_000

AnyWidget = TypeVar("AnyWidget", bound=QWidget)


def show_widget(qtbot: QtBot, widget: AnyWidget, size: tuple[int, int] | None = None) -> AnyWidget:
    """Register ``widget`` with ``qtbot`` (closed after the test), resize it to ``size`` when
    given, show it and wait until it is exposed."""
    qtbot.addWidget(widget)
    if size is not None:
        widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def open_and_wait(qtbot: QtBot, window: MainWindow, path: Path) -> Radiograph:
    """Open ``path`` and return what was shown (a Radiograph) once its job finished."""
    with qtbot.waitSignal(window.image_shown, timeout=LOAD_TIMEOUT_MS) as blocker:
        window.open_paths([path])
    return blocker.args[0]


def fake_prediction(
    probability: float = 0.7,
    threshold: float = 0.4,
    shape: tuple[int, int] = (64, 64),
    warnings: tuple[str, ...] = (),
    heatmap_kind: str = "Grad-CAM",
) -> Prediction:
    """A Prediction with a centred blob as heatmap, for tests that need no model."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    heat = np.exp(-(((yy - shape[0] / 2) ** 2 + (xx - shape[1] / 2) ** 2) / (shape[0] ** 2 / 8)))
    return Prediction(
        probability=probability,
        raw_probability=probability,
        label="PNEUMONIA" if probability >= threshold else "NORMAL",
        threshold=threshold,
        heatmap=heat.astype(np.float32),
        timings={},
        model_id="fake-model",
        device="CPU",
        warnings=warnings,
        heatmap_kind=heatmap_kind,
    )


def wheel_over(widget: QWidget, notches: int = 1) -> QWidget | None:
    """Turn the mouse wheel ``notches`` over the centre of ``widget``, delivered as Qt delivers a
    real wheel event: to the widget, then to its parents while it is ignored. Returns the widget
    that took it, or ``None``.

    Why the walk: Qt 6 does not propagate a wheel event sent from a program (it is not
    spontaneous; ``QApplication::notify``: "Synthesized events shouldn't propagate").
    """
    spot = widget.mapToGlobal(widget.rect().center())
    target: QWidget | None = widget
    while target is not None:
        event = QWheelEvent(
            QPointF(target.mapFromGlobal(spot)),
            QPointF(spot),
            QPoint(),
            QPoint(0, 120 * notches),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(target, event)
        if event.isAccepted():
            return target
        target = None if target.isWindow() else target.parentWidget()
    return None
