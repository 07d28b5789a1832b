"""Input that does what the user meant: the wheel changes only a focused field, and one-key
shortcuts stay in the part of the window they belong to.

Two application-wide event filters, installed once by the main window:

* :class:`WheelNeedsFocus`. Qt lets the mouse wheel change any spin box, combo box or slider it
  passes over, focused or not, so scrolling a form turned a batch size of 32 into 42 and moved the
  reading room's threshold. With this filter such a field ignores the wheel until it has focus
  (a click or Tab gives it), and the wheel scrolls the page around it instead, as in a browser.
* :class:`ScopedKeys`. A shortcut without Ctrl, Alt or Meta (I, R, H, F, 1, +, -) is a letter
  that other fields type. Such shortcuts fire only while their part of the window is current and
  no text field has focus; otherwise the key goes to the focused widget, as typed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QScrollBar,
    QTextEdit,
    QWidget,
)

#: Widgets whose value the wheel changes (a scroll bar is for scrolling, and keeps the wheel).
WHEEL_FIELDS = (QAbstractSpinBox, QComboBox, QAbstractSlider)
#: Widgets that take typed text: a one-key shortcut never fires while one has focus.
TEXT_FIELDS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox)
_COMMAND_MODIFIERS = (
    Qt.KeyboardModifier.ControlModifier
    | Qt.KeyboardModifier.AltModifier
    | Qt.KeyboardModifier.MetaModifier
)


def is_wheel_field(widget: QObject) -> bool:
    """True for a spin box, combo box or slider (not a scroll bar)."""
    return isinstance(widget, WHEEL_FIELDS) and not isinstance(widget, QScrollBar)


def takes_text(widget: QWidget | None) -> bool:
    """True when ``widget`` is a text field (an editable combo box included)."""
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return isinstance(widget, TEXT_FIELDS)


class WheelNeedsFocus(QObject):
    """An application-wide filter: a field ignores the wheel unless it has focus.

    The ignored event goes on to the field's parents (a scroll area scrolls). Fields also stop
    taking focus from the wheel (``Qt.WheelFocus`` becomes ``Qt.StrongFocus``), or the first
    notch would focus the field and the next ones change it.
    """

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Drop wheel events of unfocused fields; take the wheel's focus from fields polished."""
        kind = event.type()
        if kind == QEvent.Type.Polish and is_wheel_field(watched):
            _no_wheel_focus(watched)
        elif kind == QEvent.Type.Wheel and is_wheel_field(watched) and not _focused(watched):
            event.ignore()
            return True
        return False


def install_wheel_policy() -> WheelNeedsFocus:
    """Install :class:`WheelNeedsFocus` on the application (once; returns the filter in place)."""
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("install_wheel_policy needs a QApplication: create it first.")
    installed = app.findChild(WheelNeedsFocus)
    if installed is not None:
        return installed
    policy = WheelNeedsFocus(app)
    app.installEventFilter(policy)
    for widget in QApplication.allWidgets():  # fields polished before the filter was there
        if is_wheel_field(widget):
            _no_wheel_focus(widget)
    return policy


def _focused(widget: QObject) -> bool:
    return isinstance(widget, QWidget) and widget.hasFocus()


def _no_wheel_focus(widget: QObject) -> None:
    if isinstance(widget, QWidget) and widget.focusPolicy() == Qt.FocusPolicy.WheelFocus:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


def is_one_key(modifiers: Qt.KeyboardModifier) -> bool:
    """True for a key held with neither Ctrl, Alt nor Meta (Shift and the keypad allowed)."""
    return not modifiers & _COMMAND_MODIFIERS


class ScopedKeys(QObject):
    """One-key shortcuts of one part of a window (the reading room's I, R, H, F, 1, +, -).

    Installed on the application: Qt asks the focused widget whether it wants a key before it
    fires a shortcut (``QEvent.ShortcutOverride``); for a scoped key this filter answers yes when
    the part is not current or a text field has focus, so the key is typed, not a command.

    Args:
        window: the window the shortcuts belong to (keys in other windows are left alone).
        active: True while the part the shortcuts act on is on screen (its tab is current).
    """

    def __init__(self, window: QWidget, active: Callable[[], bool]) -> None:
        super().__init__(window)
        self._window = window
        self._active = active
        self._keys: set[int] = set()
        app = QCoreApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def add(self, actions: Iterable[QAction]) -> None:
        """Scope the one-key shortcuts of ``actions`` (their other shortcuts are untouched)."""
        for action in actions:
            for sequence in action.shortcuts():
                if sequence.count() == 1:
                    combination = sequence[0]
                    if is_one_key(combination.keyboardModifiers()):
                        self._keys.add(combination.key().value)

    def allows(self, focus: QWidget | None) -> bool:
        """Whether a scoped key may fire now, with ``focus`` focused."""
        return self._active() and not takes_text(focus)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Claim a scoped key for the focused widget when the shortcut must not fire."""
        if event.type() != QEvent.Type.ShortcutOverride or not isinstance(event, QKeyEvent):
            return False
        if event.key() not in self._keys or not is_one_key(event.modifiers()):
            return False
        focus = QApplication.focusWidget()
        if focus is None:
            mine = QApplication.activeWindow() is self._window
        else:  # not focus.window(): a subclass may shadow it (the image view's display window)
            mine = focus is self._window or self._window.isAncestorOf(focus)
        if not mine or self.allows(focus):
            return False
        event.accept()  # the focused widget takes the key: no shortcut
        return True
