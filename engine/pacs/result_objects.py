"""Hilum's result as DICOM objects placed in the source study: building and exporting them.

A prediction of a DICOM image becomes two new instances in the image's own study (the way
commercial chest X-ray AI returns results to a PACS):

* a Secondary Capture image of the heatmap overlay (:mod:`engine.pacs.secondary_capture`), and
* a Comprehensive SR document with the probability, label, threshold, model identity and the
  not-a-diagnosis statement, referencing both images (:mod:`engine.pacs.structured_report`).

Each is in a new series of the source's study, with new UIDs (:mod:`engine.pacs.derived_instances`
has what the two share). The pixels come from the
:class:`~engine.imaging.radiograph.Radiograph` the prediction was made on (read once, through
:func:`engine.load_image`); only the source's header is read again here, without pixel data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydicom.dataset import Dataset

from engine.atomic_files import replacing
from engine.errors import HilumError
from engine.imaging.radiograph import Radiograph
from engine.inference.shown_result import ShownResult
from engine.pacs.derived_instances import ModelIdentity, read_source
from engine.pacs.secondary_capture import build_secondary_capture
from engine.pacs.structured_report import build_structured_report

if TYPE_CHECKING:
    from engine.inference.prediction import Prediction


@dataclass(frozen=True)
class ResultObjects:
    """The two result instances of one prediction.

    Attributes:
        secondary_capture: the heatmap overlay image.
        report: the structured report.
    """

    secondary_capture: Dataset
    report: Dataset

    @property
    def datasets(self) -> tuple[Dataset, Dataset]:
        """Both, in the order they are sent (the image the report references first)."""
        return self.secondary_capture, self.report


def build_results(
    radiograph: Radiograph, prediction: Prediction | ShownResult, model: ModelIdentity
) -> ResultObjects:
    """The Secondary Capture and the SR of ``prediction``, made on ``radiograph``.

    Args:
        radiograph: the DICOM image predicted (its ``source`` is read for the header).
        prediction: its result as on screen (the viewer's reading state: the threshold in
            force, the heatmap faded at it), or a bare prediction, taken at the model's own
            operating point (the command line); with a heatmap at the image's size.
        model: the model that made it.

    Raises:
        HilumError: the image is not DICOM (no study to return results to), or the prediction
            has no heatmap.
        ImageReadError: the source file can no longer be read.
    """
    if radiograph.format != "DICOM":
        raise HilumError(
            f"{radiograph.source}: results go back into the image's DICOM study, but this is a "
            f"{radiograph.format} file. Open the image as DICOM (from the PACS or the X-ray "
            "unit) to send or export results."
        )
    if prediction.heatmap is None:
        raise HilumError(
            f"{radiograph.source}: the prediction has no heatmap; predict the image in the "
            "reading room (or with heatmaps) before building its results."
        )
    shown = prediction if isinstance(prediction, ShownResult) else ShownResult.of(prediction)
    source = read_source(radiograph.source)
    image = build_secondary_capture(source, radiograph.pixels, shown, model)
    return ResultObjects(image, build_structured_report(source, image, shown, model))


def export_results(results: ResultObjects, folder: Path) -> list[Path]:
    """Write both objects to ``folder/<StudyInstanceUID>/<SOPInstanceUID>.dcm``, atomically.

    Returns:
        The files written.

    Raises:
        OSError: a file cannot be written (nothing half-written is left).
    """
    written = []
    for ds in results.datasets:
        target = folder / str(ds.StudyInstanceUID) / f"{ds.SOPInstanceUID}.dcm"
        target.parent.mkdir(parents=True, exist_ok=True)
        with replacing(target) as temporary:
            ds.save_as(temporary, enforce_file_format=True)
        written.append(target)
    return written
