"""``hilum --self-test``: prove an installation works, headless, and exit non-zero if not.

Runs the engine's checks (default model, every DICOM decoder, a JPEG, prediction with heatmap),
then opens and closes the main window offscreen, and prints a short report: versions, device,
timings. The same command runs from source and inside the PyInstaller bundle.
"""

from __future__ import annotations

import os
import time

from engine.self_check import Check, run_checks, versions
from viewer.resource_paths import default_model_dir


def _window_check() -> Check:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    start = time.perf_counter()
    try:
        from PySide6.QtWidgets import QApplication

        from viewer.main_window import MainWindow

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
    checks = [*run_checks(default_model_dir()), _window_check()]
    for check in checks:
        status = "ok  " if check.ok else "FAIL"
        print(f"  [{status}] {check.name:45s} {check.seconds * 1000:8.0f} ms  {check.detail}")
    failed = [check for check in checks if not check.ok]
    print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0
