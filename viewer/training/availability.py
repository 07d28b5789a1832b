"""The Training tab of the full workstation, or, in the reading room, what is missing for it.

The reading room (Hilum's core install and its PyInstaller edition) has no TensorFlow: it views,
predicts, triages, talks to PACS and writes reports, but cannot train. Its Training tab says so,
and how to get the full workstation, instead of failing with an ``ImportError`` at the first
click. Whether training is available is decided in one place, :mod:`engine.runtime`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from engine.errors import TrainingUnavailableError
from engine.runtime import require_training
from viewer.settings import Settings
from viewer.training.training_tab import TrainingTab


class WorkstationNote(QWidget):
    """The reading room's Training tab: one message saying what is missing and how to get it.

    Attributes:
        message: the label with the message (its text is the engine's
            :class:`~engine.errors.TrainingUnavailableError`).
    """

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = QLabel(text)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message, alignment=Qt.AlignmentFlag.AlignCenter)


def training_page(
    settings: Settings,
    window: QWidget,
    use_model: Callable[[Path], object],
    use_default: Callable[[], None],
) -> QWidget:
    """The Training tab wired to ``window`` (a promoted bundle goes to ``use_model``, a request
    for the shipped model to ``use_default``, and closing ``window`` waits for a training run);
    in the reading room, the :class:`WorkstationNote` instead."""
    try:
        require_training("Training")
    except TrainingUnavailableError as error:
        return WorkstationNote(str(error))
    tab = TrainingTab(settings)
    tab.promoted.connect(use_model)
    tab.default_requested.connect(use_default)
    tab.guard_close(window)
    return tab
