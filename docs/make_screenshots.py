"""Take the README's screenshots of the real app under Xvfb (or offscreen).

Usage (Debian: apt-get install xvfb):
    Xvfb :99 -screen 0 1600x1000x24 &  DISPLAY=:99 QT_QPA_PLATFORM=xcb \
        .venv/bin/python docs/make_screenshots.py
Writes docs/screenshots/reading_room_heatmap.png and reading_room_dicom_heatmap.png: the main
window with a real chest X-ray from ../shared/data, its prediction and Grad-CAM overlay.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, QStandardPaths, QTimer
from PySide6.QtWidgets import QApplication

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SHOTS = {
    "reading_room_heatmap.png": DATA / "fullres" / "PNEUMONIA",
    "reading_room_dicom_heatmap.png": DATA / "dicom" / "RG1_UNCR.dcm",
}


def _wait(signal: object, timeout_ms: int) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)  # type: ignore[attr-defined]
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()


def main() -> int:
    QStandardPaths.setTestModeEnabled(True)  # keep the history database out of the user's data
    _app = QApplication.instance() or QApplication(sys.argv[:1])  # kept alive until the end
    from viewer.settings import Settings
    from viewer.window.main_window import MainWindow

    folder = Path(tempfile.mkdtemp())
    window = MainWindow(Settings(QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat)))
    window.resize(1500, 940)
    window.show()
    window.start_model()
    _wait(window.model_ready, 120_000)
    for name, source in SHOTS.items():
        path = sorted(source.glob("*.jpeg"))[3] if source.is_dir() else source
        window.open_paths([path])
        _wait(window.prediction_shown, 60_000)
        settle = QEventLoop()
        QTimer.singleShot(800, settle.quit)  # let the overlay paint
        settle.exec()
        image = window.grab().scaledToWidth(1200)
        image.save(str(REPO / "docs" / "screenshots" / name))
        print("wrote", name, "from", path.name)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
