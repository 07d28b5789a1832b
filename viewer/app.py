"""Start the desktop viewer: ``hilum`` and ``hilum view PATH...``.

The window is shown first and fast (well under 2 s): nothing here imports TensorFlow, nor
pydicom. Once the event loop runs, one start-up thread imports the image readers
(:func:`import_imaging`, ~1 s) while the jobs already submitted (loading the model, indexing and
reading the paths from the command line) wait for it; then they run side by side, and images
can be read while the model is still loading.

Why the jobs wait: two threads importing one package at once can leave it "partially
initialized" (every cold ``hilum view FILE.dcm`` failed with "cannot import name 'Dataset' from
partially initialized module 'pydicom.dataset'" when the decoder start, the file's reading and the
model's TensorFlow import all imported pydicom or Pillow at once). After
:func:`import_imaging`, reading any image imports nothing new (tested), so the model thread's
TensorFlow import is the only import left running. It is not part of the step: that would delay
the first image by the ~4 s of a cold TensorFlow import.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from viewer.errors import install_excepthooks
from viewer.jobs import run_startup_step
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
        run_startup_step(import_imaging)
        if not args.no_model:
            window.start_model()
        if args.paths:
            window.open_paths(args.paths)

    QTimer.singleShot(0, after_shown)
    return int(app.exec())


def import_imaging() -> None:
    """Import everything reading an image needs, and start a DICOM decoder process.

    The viewer's start-up step (see the module docstring): pydicom with its decoder plugins,
    Pillow with its format plugins, the engine's image readers; then a decoder process starts, so
    that the first compressed image the user opens does not wait ~1 s for one.
    """
    from PIL import Image

    from engine.imaging import dicom_reading, dicom_values, studies  # noqa: F401
    from engine.imaging.decoder_pool import start_decoders
    from engine.imaging.decoder_worker import load_decoders

    Image.init()
    load_decoders()
    start_decoders()


def _set_icon(app: QApplication) -> None:
    """Use the shipped application icon when this build has one."""
    from viewer.resource_paths import icon_path

    try:
        app.setWindowIcon(QIcon(str(icon_path("hilum.png"))))
    except KeyError:
        return
