"""The notice shown where the label would be when an image is outside what the model was
validated on: a headline, the reason beneath it, and the button that reveals the
unvalidated result.

It shows a :class:`viewer.disclosure.Disclosure` and decides nothing itself; the button only asks
(``reveal_toggled``), and the reading room answers by updating the disclosure.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from viewer.disclosure import Disclosure

SHOW = "Show unvalidated result"
HIDE = "Hide unvalidated result"


class OutsideNotice(QWidget):
    """Headline, sentence and reveal button; hidden for a validated image.

    Signals:
        reveal_toggled(bool): the user asked to show (True) or hide (False) the unvalidated
            result.
    """

    reveal_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._headline = QLabel("")
        self._headline.setWordWrap(True)
        self._headline.setStyleSheet("font-size: 15pt; font-weight: bold; color: #8a4b00;")
        self._sentence = QLabel("")
        self._sentence.setWordWrap(True)
        self._reveal = QPushButton(SHOW)
        self._reveal.setCheckable(True)
        self._reveal.setToolTip(
            "Show the probability and heatmap anyway, marked unvalidated: the model's figures "
            "do not apply to this image."
        )
        self._reveal.toggled.connect(self._on_toggled)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._headline)
        layout.addWidget(self._sentence)
        layout.addWidget(self._reveal)
        self.hide()

    def show_disclosure(self, disclosure: Disclosure) -> None:
        """Show ``disclosure``'s headline and sentence, and the button in its state, without
        emitting; hide everything for a validated image."""
        self.setVisible(not disclosure.validated)
        self._headline.setText(disclosure.headline)
        self._sentence.setText(disclosure.reason)
        self._reveal.blockSignals(True)
        self._reveal.setChecked(disclosure.revealed)
        self._reveal.blockSignals(False)
        self._reveal.setText(HIDE if disclosure.revealed else SHOW)

    @property
    def reveal_button(self) -> QPushButton:
        """The button that shows (and hides again) the unvalidated result."""
        return self._reveal

    @property
    def headline_text(self) -> str:
        """The headline shown ("" when the notice is hidden)."""
        return self._headline.text() if not self.isHidden() else ""

    @property
    def sentence_text(self) -> str:
        """Why the image is outside, shown beneath the headline ("" when the notice is
        hidden)."""
        return self._sentence.text() if not self.isHidden() else ""

    @Slot(bool)
    def _on_toggled(self, checked: bool) -> None:
        self._reveal.setText(HIDE if checked else SHOW)
        self.reveal_toggled.emit(checked)
