"""Start the desktop viewer: ``hilum`` and ``hilum view PATH...``.

The window is shown first and fast (well under 2 s): nothing here imports TensorFlow. Once the
event loop runs, the model loads on a worker thread and any paths from the command line open;
images can be read while the model is still loading.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from viewer.errors import install_excepthooks
from viewer.window.main_window import MainWindow

ORGANIZATION = "Hilum"
APPLICATION = "Hilum"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The viewer's command line: optional files or folders to open."""
    parser = argparse.ArgumentParser(
        prog="hilum view",
        description="Open the Hilum reading room, optionally with images or folders.",
    )
    parser.add_argument("paths", nargs="*", type=Path, help="image files or folders to open")
    parser.add_argument(
        "--no-model", action="store_true", help="do not load a model (view images only)"
    )
    return parser.parse_args(list(argv))


def run_viewer(argv: Sequence[str]) -> int:
    """Show the main window, then load the model and open ``argv``'s paths; return the exit code."""
    args = parse_args(argv)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    window = MainWindow()
    _set_icon(app)
    install_excepthooks(lambda: window)
    window.show()

    def after_shown() -> None:
        if not args.no_model:
            window.start_model()
        if args.paths:
            window.open_paths(args.paths)
        threading.Thread(target=_start_decoders, name="hilum-decoders", daemon=True).start()

    QTimer.singleShot(0, after_shown)
    return int(app.exec())


def _start_decoders() -> None:
    """Start a DICOM decoder process now (off the GUI thread: importing pydicom takes ~0.5 s), so
    that the first compressed image the user opens does not wait ~1 s for one to start."""
    from engine.imaging.decoder_pool import start_decoders

    start_decoders()


def _set_icon(app: QApplication) -> None:
    """Use the shipped application icon when this build has one."""
    from viewer.resource_paths import icon_path

    try:
        app.setWindowIcon(QIcon(str(icon_path("hilum.png"))))
    except KeyError:
        return
