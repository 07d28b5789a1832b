"""``hilum --self-test``: prove an installation works, headless, and exit non-zero if not.

Runs the engine's checks (default model, every DICOM decoder, a JPEG, prediction with heatmap),
the workflow a user runs (``train`` for one epoch on generated images, ``evaluate``,
``predict --json``, a PDF report: :mod:`engine.cli.workflow_check`), the Training tab's way of
training (a spawned child process, which a frozen app only manages with
``multiprocessing.freeze_support``), then opens and closes the main window offscreen, and prints
a short report: versions, device, timings. The same command runs from source and inside the
PyInstaller bundle, where it proves the installed app can do what the source app does.

The reading room (no TensorFlow: the core install and its PyInstaller edition) cannot train:
there the checks prove instead that ``train`` and the Training tab say plainly what is missing,
and evaluate, predict and report with the shipped model.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from engine.cli.workflow_check import IMAGE_SIZE, run_workflow_checks
from engine.runtime import training_available
from engine.workflows.self_check import Check, run_checks, timed, versions
from viewer.resource_paths import default_model_dir


def _training_tab_check(data: Path, out: Path) -> Check:
    """Train as the Training tab does: one epoch in a spawned child process."""

    def train() -> str:
        from engine.modeling.train_config import TrainConfig
        from engine.workflows.training_process import train_in_process

        config = TrainConfig(
            variant="dense",
            data_dir=data,
            out_dir=out,
            image_size=IMAGE_SIZE,
            epochs=1,
            batch_size=8,
            augmentation=False,
        )
        result = train_in_process(config)
        if result.bundle is None:
            raise RuntimeError("the child process finished without a model bundle")
        return f"wrote {result.bundle.name} from a child process"

    return timed("training tab (child process, 1 epoch)", train)


def _training_note_check() -> Check:
    """The reading room's Training tab: the note that says what is missing, not the form."""

    def note() -> str:
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication, QWidget

        from viewer.settings import Settings
        from viewer.training.availability import WorkstationNote, training_page

        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _app = QApplication.instance() or QApplication([])
        with tempfile.TemporaryDirectory(prefix="hilum-selftest-") as folder:
            store = QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat)
            page = training_page(Settings(store), QWidget(), lambda _: None, lambda: None)
        if not isinstance(page, WorkstationNote):
            raise RuntimeError(f"the Training tab is a {type(page).__name__}, not the note")
        return page.message.text()[:60]

    return timed("training tab says: full workstation", note)


def _window_check() -> Check:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    start = time.perf_counter()
    try:
        from PySide6.QtWidgets import QApplication

        from viewer.window.main_window import MainWindow

        app = QApplication.instance() or QApplication([])
        window = MainWindow()
        window.show()
        app.processEvents()
        shown = window.isVisible()
        window.close()
        app.processEvents()
        ok = shown and not window.isVisible()
        return Check(
            "main window",
            ok,
            time.perf_counter() - start,
            "opened and closed" if ok else "did not open and close",
        )
    except Exception as error:  # the report must say what broke, not crash
        return Check(
            "main window", False, time.perf_counter() - start, f"{type(error).__name__}: {error}"
        )


def run_self_test() -> int:
    """Run all checks, print the report, return 0 when every check passed, else 1."""
    print("Hilum self-test")
    for package, version in versions().items():
        print(f"  {package:20s} {version}")
    print(f"  edition              {'workstation' if training_available() else 'reading room'}")
    checks = run_checks(default_model_dir())
    with tempfile.TemporaryDirectory(prefix="hilum-selftest-") as folder:
        checks += run_workflow_checks(Path(folder), default_model_dir())
        if training_available():
            checks.append(_training_tab_check(Path(folder) / "data", Path(folder) / "tab"))
        else:
            checks.append(_training_note_check())
    checks.append(_window_check())
    for check in checks:
        status = "ok  " if check.ok else "FAIL"
        print(f"  [{status}] {check.name:45s} {check.seconds * 1000:8.0f} ms  {check.detail}")
    failed = [check for check in checks if not check.ok]
    print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0
