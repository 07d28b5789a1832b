"""What the model says about one image (:class:`Prediction`), and a batch's per-file outcome.

:class:`Prediction` is the only object that crosses from the engine to the GUI: the viewer, the
triage list, the history, the PDF and the DICOM results all read it (through
:class:`~engine.inference.prediction_fields.PredictionFields`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.imaging.radiograph import FloatImage
from engine.inference.caveats import GRAD_CAM


@dataclass(frozen=True, eq=False)
class Prediction:
    """What the model says about one image.

    Attributes:
        probability: probability of pneumonia, calibrated when the card has a calibration.
        raw_probability: the model's own output, before calibration.
        label: ``"PNEUMONIA"`` when ``probability >= threshold``, else ``"NORMAL"``.
        threshold: the operating point in force: the card's, or for an image assigned to a site
            the bundle was commissioned for, that site head's.
        heatmap: Grad-CAM map, float32 in [0, 1] at the image's display size (rows, columns),
            or ``None`` when heatmaps were not asked for (batch runs).
        timings: seconds spent in ``decode``, ``preprocess`` (including the out-of-distribution
            check), ``model_cam`` (the forward pass of every view, with the heatmap; a share
            of the batch in batch runs), ``domain`` (the domain check) and ``resize`` (heatmap
            to display size).
        model_id: the bundle's model id.
        device: where the model ran, e.g. ``"CPU (2 cores, no GPU found)"``.
        warnings: the reader's warnings, the out-of-distribution and age warnings, heatmap notes.
        path: the file read, or ``None`` for a radiograph without a source.
        out_of_distribution: True when :mod:`engine.inference.ood` flagged the image.
        ood_score: the content score (> 1 is flagged) or ``None`` when not computed.
        heatmap_kind: what the heatmap shows, named for the user ("Grad-CAM", or "gradient ×
            input" for a model without a convolutional layer).
        in_domain: the domain check's verdict (:mod:`engine.modeling.domain_reference`): False
            when the image's features are unlike those of the images the model was validated
            on; ``None`` when the bundle has no domain check.
        domain_score: the domain check's score (above 1 is outside), ``None`` without one.
        outside: when either check says the image is outside what the model was validated on,
            the sentence to show *instead of* the label ("Not a chest radiograph: …" or "Outside
            what this model was validated on: …"); ``None`` otherwise.
        frame_index: the frame of a multi-frame image that was predicted (0 = the first); a
            warning (:func:`frame_note`) also says it.
        frame_count: the image's number of frames (1 for a plain radiograph).
    """

    probability: float
    raw_probability: float
    label: str
    threshold: float
    heatmap: FloatImage | None
    timings: Mapping[str, float]
    model_id: str
    device: str
    warnings: tuple[str, ...] = ()
    path: Path | None = None
    out_of_distribution: bool = False
    ood_score: float | None = None
    heatmap_kind: str = GRAD_CAM
    in_domain: bool | None = None
    domain_score: float | None = None
    outside: str | None = None
    frame_index: int = 0
    frame_count: int = 1

    @property
    def validated(self) -> bool:
        """True unless a check says the image is outside what the model was validated on."""
        return self.outside is None

    def label_at(self, threshold: float) -> str:
        """The label at another threshold (the viewer's adjustable operating point)."""
        return label_for(self.probability, threshold)

    @property
    def seconds(self) -> float:
        """Total time spent on this image."""
        return float(sum(self.timings.values()))


@dataclass(frozen=True)
class FileResult:
    """One file's outcome in :func:`predict_many`: a prediction or the reason there is none."""

    path: Path
    prediction: Prediction | None = None
    error: str | None = None


def frame_note(frame_index: int, frame_count: int) -> str:
    """What a prediction of one frame of a multi-frame image must say ("" for a single frame):
    the model saw that frame only."""
    if frame_count <= 1:
        return ""
    return (
        f"A multi-frame image ({frame_count} frames): this prediction is of frame "
        f"{frame_index + 1} only."
    )


def label_for(probability: float, threshold: float) -> str:
    """``"PNEUMONIA"`` when ``probability >= threshold``, else ``"NORMAL"``."""
    return "PNEUMONIA" if probability >= threshold else "NORMAL"
