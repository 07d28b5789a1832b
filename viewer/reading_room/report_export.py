"""Exports of what the reading room shows: a PDF report of the prediction, a PNG of the view.

Both are written atomically (a temporary file beside the destination, then :func:`os.replace`),
so an export that fails or is interrupted never leaves a half-written file or damages an older
one. The PDF is drawn by :func:`engine.inference.prediction_report.write_pdf_report` on a worker
thread (drawing a 2k image takes about a second); the PNG is a grab of the widget, which must happen
on the GUI thread
and takes milliseconds. matplotlib is imported with the first report, not at start-up.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QAbstractScrollArea, QFileDialog, QWidget

from engine import Radiograph
from engine.atomic_files import replacing
from engine.inference.shown_result import ShownResult
from engine.modeling.card import ModelCard
from viewer.jobs import Job, JobRunner


def write_report(path: Path, radiograph: Radiograph, result: ShownResult, card: ModelCard) -> Path:
    """Write the PDF report of ``result`` on ``radiograph``; safe on a worker thread.

    The image is the radiograph's default display (the model's view of it), not the window the
    user dragged to; the label, threshold and heatmap strength are the screen's (``result`` is
    the reading state's, :meth:`viewer.reading_room.reading_room.ReadingRoom.result_on_screen`).

    Raises:
        OSError: the file cannot be written.
    """
    from engine.inference.prediction_report import write_pdf_report  # matplotlib: not at start-up

    return write_pdf_report(
        path,
        radiograph.pixels,
        result.heatmap,
        result,
        card,
        file_name=radiograph.source.name,
        patient_id=radiograph.patient_id,
        study_date=radiograph.study_date,
        heatmap_kind=result.heatmap_kind,
    )


def save_png(widget: QWidget, path: Path) -> Path:
    """Save what ``widget`` shows as a PNG, atomically (GUI thread only).

    A scroll area (such as the image view) is grabbed through its viewport, so scroll bars are
    not part of the picture.

    Raises:
        OSError: the PNG cannot be written (the destination is left as it was).
    """
    shown = widget.viewport() if isinstance(widget, QAbstractScrollArea) else widget
    pixmap = shown.grab()
    with replacing(path) as temporary:
        if not pixmap.save(str(temporary), "PNG"):
            raise OSError(
                f"{path}: the PNG could not be written. Choose another folder "
                "(is it writable, is the disk full?)."
            )
    return path


class ReportExporter(QObject):
    """Runs PDF report exports in the background and reports how they ended.

    Args:
        runner: the job runner to draw reports on.
        parent: the Qt parent (a widget, also used as the parent of the file dialog).

    Signals:
        saved(Path): a report was written.
        failed(BaseException): an export failed (show it to the user).
    """

    saved = Signal(Path)
    failed = Signal(object)

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._dialog_parent = parent

    def choose_pdf_path(self, radiograph: Radiograph, folder: Path | None = None) -> Path | None:
        """Ask where to save the report; ``None`` when the user cancels."""
        suggested = (folder or radiograph.source.parent) / f"{radiograph.source.stem}_report.pdf"
        target, _ = QFileDialog.getSaveFileName(
            self._dialog_parent, "Export PDF report", str(suggested), "PDF (*.pdf)"
        )
        return Path(target) if target else None

    def export_pdf(
        self,
        path: Path,
        radiograph: Radiograph,
        result: ShownResult,
        card: ModelCard,
    ) -> Job:
        """Start writing the report of ``result``; ``saved`` or ``failed`` follows. Returns the
        started job."""
        job = self._runner.submit(write_report, path, radiograph, result, card, callbacks=False)
        job.succeeded.connect(self._on_saved)
        job.failed.connect(self.failed)
        return job.start()

    @Slot(object)
    def _on_saved(self, path: Path) -> None:
        self.saved.emit(path)
