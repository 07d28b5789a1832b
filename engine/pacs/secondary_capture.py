"""The heatmap overlay as a Secondary Capture image (PS3.3 A.8.1) in the source study.

The image is what the viewer shows: the radiograph at its default display, the Grad-CAM map
blended on top (:func:`engine.inference.gradcam.overlay_rgb`) at the strength the screen draws
it (:attr:`engine.inference.shown_result.ShownResult.faded_heatmap`: faded below the threshold
in force, the one on the screen's slider, so a NORMAL result carries no full-strength hot spot),
and above it a black
caption band with the result and the statement that this is not a diagnosis. It is flagged as
derived (Image Type ``DERIVED\\SECONDARY``), with burned-in annotation (Burned In Annotation
``YES``), and references the source image (Referenced Image and Source Image Sequences).

For an image outside what the model was validated on (``prediction.outside``) the picture is the
gray image with no heatmap colours, and the caption says OUTSIDE with the reason instead of a
label and probability: a burned-in number or hot spot cannot be qualified later, and travels
with every copy of the image.
"""

from __future__ import annotations

import textwrap

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset
from pydicom.uid import SecondaryCaptureImageStorage

from engine.imaging.radiograph import FloatImage
from engine.inference.caveats import DISCLAIMER, HEATMAP_NOTE
from engine.inference.check_verdict import OUTSIDE_LABEL, domain_line
from engine.inference.gradcam import overlay_rgb
from engine.inference.heatmap_strength import strength_legend
from engine.inference.prediction_fields import PredictionFields
from engine.inference.shown_result import ShownResult
from engine.pacs.derived_instances import (
    ModelIdentity,
    code,
    image_reference,
    new_instance,
)

SERIES_NUMBER = 9901
SERIES_DESCRIPTION = "Hilum heatmap overlay (not a diagnosis)"
OUTSIDE_SERIES_DESCRIPTION = "Hilum: outside what the model was validated on"
OVERLAY_OPACITY = 0.4


def caption_lines(prediction: PredictionFields, model: ModelIdentity) -> list[str]:
    """The caption burned into the image: the result (or OUTSIDE and why), the model, the
    warning, the domain check."""
    if prediction.outside is not None:
        return [
            "HILUM AI RESULT - NOT A DIAGNOSIS - NO HEATMAP",
            f"{OUTSIDE_LABEL} - {prediction.outside}",
            f"No finding: the model's output is not validated for this image - model "
            f"{model.model_id}",
        ]
    return [
        "HILUM AI HEATMAP - NOT A DIAGNOSIS - coarse evidence, not localisation",
        f"P(pneumonia) {prediction.probability:.2f}: {prediction.label} at threshold "
        f"{prediction.threshold:.2f} - model {model.model_id}",
        domain_line(prediction),
    ]


def captioned_overlay(
    pixels: FloatImage, heatmap: FloatImage, lines: list[str]
) -> npt.NDArray[np.uint8]:
    """The overlay (rows, columns, 3) with a caption band on top, as 8-bit RGB.

    The font scales with the image width; long lines wrap so nothing is cut off.
    """
    overlay = overlay_rgb(pixels, heatmap, OVERLAY_OPACITY)
    columns = overlay.shape[1]
    size = max(10, columns // 64)
    font = ImageFont.load_default(size=size)
    per_line = max(10, int(columns / (0.62 * size)))
    wrapped = [part for line in lines for part in textwrap.wrap(line, per_line)]
    line_height = int(size * 1.3)
    band = Image.new("RGB", (columns, line_height * len(wrapped) + size // 2), "black")
    draw = ImageDraw.Draw(band)
    for number, line in enumerate(wrapped):
        draw.text((size // 2, size // 4 + number * line_height), line, fill="white", font=font)
    return np.concatenate([np.asarray(band, dtype=np.uint8), overlay], axis=0)


def build_secondary_capture(
    source: Dataset,
    pixels: FloatImage,
    result: ShownResult,
    model: ModelIdentity,
) -> Dataset:
    """The Secondary Capture image of ``result``'s heatmap over ``source``, as on screen.

    Args:
        source: the source image's header (:func:`engine.pacs.derived_instances.read_source`).
        pixels: the source at its default display, in [0, 1] (``Radiograph.pixels``).
        result: the result as on screen (probability, label at the threshold in force, the
            checks' verdicts); its heatmap, the shape of ``pixels``, is drawn faded at that
            threshold, and not at all for an image outside.
        model: the model's identity.

    Returns:
        The data set, with file meta, ready to send or save.

    Raises:
        ValueError: ``heatmap`` and ``pixels`` differ in shape.
    """
    heatmap = result.faded_heatmap if result.outside is None else None
    if heatmap is not None and heatmap.shape != pixels.shape:
        raise ValueError(
            f"The heatmap is {heatmap.shape} but the image is {pixels.shape}; predict the image "
            "shown (with a heatmap) before building its Secondary Capture."
        )
    ds = new_instance(source, SecondaryCaptureImageStorage, "OT", SERIES_NUMBER)
    if heatmap is not None:
        ds.SeriesDescription = SERIES_DESCRIPTION
        ds.DerivationDescription = (
            "Grad-CAM heatmap of the model's pneumonia output blended over the image at its "
            "default display; caption burned in."
        )
        legend = strength_legend(result.probability, result.threshold)
        ds.ImageComments = f"{DISCLAIMER} {HEATMAP_NOTE} {legend}"
    else:
        heatmap = np.zeros_like(pixels)  # the overlay's gray, without a single colour
        ds.SeriesDescription = OUTSIDE_SERIES_DESCRIPTION
        ds.DerivationDescription = (
            "The image at its default display, without a heatmap (the image is outside what "
            "the model was validated on); caption burned in."
        )
        ds.ImageComments = f"{DISCLAIMER} {result.outside}"
    rgb = captioned_overlay(pixels, heatmap, caption_lines(result, model))
    ds.ConversionType = "WSD"  # workstation
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.PatientOrientation = source.get("PatientOrientation", "")
    ds.BurnedInAnnotation = "YES"
    ds.LossyImageCompression = "00"
    ds.ReferencedImageSequence = [image_reference(source)]
    source_item = image_reference(source)
    source_item.PurposeOfReferenceCodeSequence = [
        code("121322", "DCM", "Source image for image processing operation")
    ]
    ds.SourceImageSequence = [source_item]
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = int(rgb.shape[0]), int(rgb.shape[1])
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = np.ascontiguousarray(rgb).tobytes()
    return ds
