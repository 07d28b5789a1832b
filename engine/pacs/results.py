"""Build the result objects of one prediction: the heatmap image and the structured report.

See :mod:`engine.pacs.result_objects` for what they hold and why. The pixels come from the
:class:`~engine.imaging.radiograph.Radiograph` the prediction was made on (read once, through
:func:`engine.load_image`); only the source's header is read again here, without pixel data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.errors import HilumError
from engine.imaging.radiograph import Radiograph
from engine.pacs.result_objects import ModelIdentity, ResultObjects, read_source
from engine.pacs.secondary_capture import build_secondary_capture
from engine.pacs.structured_report import build_structured_report

if TYPE_CHECKING:
    from engine.inference.prediction import Prediction


def build_results(
    radiograph: Radiograph, prediction: Prediction, model: ModelIdentity
) -> ResultObjects:
    """The Secondary Capture and the SR of ``prediction``, made on ``radiograph``.

    Args:
        radiograph: the DICOM image predicted (its ``source`` is read for the header).
        prediction: its prediction, with a heatmap at the image's size.
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
    source = read_source(radiograph.source)
    image = build_secondary_capture(
        source, radiograph.pixels, prediction, prediction.heatmap, model
    )
    return ResultObjects(image, build_structured_report(source, image, prediction, model))
