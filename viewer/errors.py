"""Turn errors into messages people can act on, and keep the window alive whatever happens.

Typed engine errors (:class:`engine.HilumError`) already say which file, what was wrong and what
to do; they are shown as they are, in a non-modal banner above the image (a bad file is an
everyday event, not a reason to block the workstation with a dialog). Anything else is a bug:
the ``sys`` and ``threading`` excepthooks show it in a dialog with the traceback instead of letting
the application die (napari's ``_qt_open`` does the same split between reader errors and bugs).
"""

from __future__ import annotations

import html
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QToolButton,
    QWidget,
)

from engine import DatasetError, HilumError, ImageReadError, ModelFileError

_TITLES: tuple[tuple[type[BaseException], str], ...] = (
    (ImageReadError, "The image cannot be opened"),
    (ModelFileError, "The model cannot be used"),
    (DatasetError, "The data folder cannot be used"),
    (HilumError, "Hilum cannot do this"),
    (OSError, "A file or folder cannot be used"),
    (MemoryError, "Not enough memory"),
)


def describe(error: BaseException) -> tuple[str, str]:
    """A (title, message) pair for showing ``error`` to the person at the workstation.

    Hilum's own errors and OS errors are expected and already worded for users; anything else is
    named as an unexpected error so that it gets reported.
    """
    for kind, title in _TITLES:
        if isinstance(error, kind):
            return title, str(error) or type(error).__name__
    return (
        "Unexpected error",
        f"Hilum hit an unexpected problem ({type(error).__name__}: {error}). "
        "Your work is safe; please report this with the details below.",
    )


def wrapped_tip(*lines: str) -> str:
    """``lines`` as a tooltip that wraps, one paragraph each: Qt shows a plain-text tooltip on
    one line, cut off at the screen's edge when it is long (a skipped file's reason)."""
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines)


class ErrorBanner(QFrame):
    """A dismissible, non-modal message strip shown above the image view.

    Why not a dialog: a bad file must not block the workstation; the banner tells what happened
    and the user carries on (open another file) without clicking anything.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setStyleSheet(
            "#errorBanner { background: #fdecea; border: 1px solid #e0a39c; border-radius: 3px; }"
            "#errorBanner QLabel { color: #611a15; }"
        )
        self._title = QLabel()
        self._title.setStyleSheet("font-weight: bold;")
        self._message = QLabel()
        self._message.setWordWrap(True)
        self._message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self._title)
        layout.addWidget(self._message, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_error(self, error: BaseException) -> None:
        """Show ``error``'s title and message."""
        title, message = describe(error)
        self._title.setText(title + ":")
        self._message.setText(message)
        self.show()

    def text(self) -> str:
        """The message shown (empty when hidden), for the status bar and tests."""
        return f"{self._title.text()} {self._message.text()}" if self.isVisible() else ""


def show_error_dialog(parent: QWidget | None, error: BaseException, details: str = "") -> None:
    """Open a non-blocking error dialog (``open()``, not ``exec()``: the event loop keeps going)."""
    title, message = describe(error)
    box = QMessageBox(
        QMessageBox.Icon.Critical, title, message, QMessageBox.StandardButton.Ok, parent
    )
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if details:
        box.setDetailedText(details)
    box.open()


class _ExceptionRelay(QObject):
    """Moves uncaught exceptions from any thread to the GUI thread."""

    caught = Signal(object, str)

    def __init__(self, show: Callable[[BaseException, str], None]) -> None:
        super().__init__()
        self._show = show
        self.caught.connect(self._on_caught)

    @Slot(object, str)
    def _on_caught(self, error: BaseException, details: str) -> None:
        self._show(error, details)


_relay: _ExceptionRelay | None = None


def install_excepthooks(parent: Callable[[], QWidget | None]) -> None:
    """Show uncaught exceptions (GUI thread or any other thread) in a dialog instead of dying.

    Args:
        parent: returns the widget dialogs belong to (usually the main window), or ``None``.
    """
    global _relay
    _relay = _ExceptionRelay(lambda error, details: show_error_dialog(parent(), error, details))
    relay = _relay

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, tb)
            return
        details = "".join(traceback.format_exception(kind, error, tb))
        print(details, file=sys.stderr)
        relay.caught.emit(error, details)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            hook(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = hook
    threading.excepthook = thread_hook
