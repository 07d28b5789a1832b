"""The frame bar under the image view: "Frame k / n" of a multi-frame image, and the controls to
go to the previous, next, first or last frame (buttons, and the Page Up / Page Down / Home / End
keys while the reading room is on screen). Hidden for a single-frame image."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget


class FrameBar(QWidget):
    """Shows which frame is on screen and asks for another.

    Signals:
        frame_requested(int): the user asked for this frame (0 = the first).
    """

    frame_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index, self.count = 0, 1
        self.label = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        steps = (
            ("first", "⏮", "First frame (Home)", Qt.Key.Key_Home, lambda: 0),
            (
                "previous",
                "◀",
                "Previous frame (Page Up)",
                Qt.Key.Key_PageUp,
                lambda: self.index - 1,
            ),
            ("next", "▶", "Next frame (Page Down)", Qt.Key.Key_PageDown, lambda: self.index + 1),
            ("last", "⏭", "Last frame (End)", Qt.Key.Key_End, lambda: self.count - 1),
        )
        #: The buttons by name: "first", "previous", "next", "last".
        self.buttons: dict[str, QToolButton] = {}
        for name, text, tip, key, target in steps:
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, t=target: self._request(t()))
            # The reading room's keys: only while it (this bar's window part) is shown.
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda t=target: self._request(t()))
            self.buttons[name] = button
            layout.addWidget(button)
            if name == "previous":
                layout.addWidget(self.label)
        layout.addStretch(1)
        self.hide()

    @property
    def text(self) -> str:
        """ "Frame k / n" ("" for a single-frame image)."""
        return self.label.text() if self.count > 1 else ""

    def show_frame(self, index: int, count: int) -> None:
        """Say that frame ``index`` of ``count`` is on screen (hidden when ``count`` is 1)."""
        self.index, self.count = index, count
        self.label.setText(f"Frame {index + 1} / {count}")
        for name, button in self.buttons.items():
            backwards = name in ("first", "previous")
            button.setEnabled(index > 0 if backwards else index < count - 1)
        self.setVisible(count > 1)

    def _request(self, index: int) -> None:
        if self.isVisible() and 0 <= index < self.count and index != self.index:
            self.frame_requested.emit(index)
