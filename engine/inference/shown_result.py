"""The result of the image on screen as the user sees it: one value every output is made from.

Why: a :class:`~engine.inference.prediction.Prediction` holds the model's operating point (the
card's, or a site head's), but the reader may be trying out another one on the slider; the
label, the heatmap's strength and every sentence about them follow the threshold *in force*.
Each surface that computed these itself (panel, PDF, DICOM SR and Secondary Capture) could, and
did, disagree with the screen. A :class:`ShownResult` is made once, by the reading state
(:mod:`engine.workflows.reading_state`), and the panel, the PDF report, the history and the PACS
results read the same object.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from engine.imaging.radiograph import FloatImage
from engine.inference.heatmap_strength import heatmap_strength, scaled_heatmap
from engine.inference.prediction import Prediction, label_for


@dataclass(frozen=True, eq=False)
class ShownResult:
    """A prediction at the threshold in force (fits
    :class:`~engine.inference.prediction_fields.FilePrediction`).

    Attributes:
        prediction: the model's prediction of the image.
        threshold: the threshold the label is computed at.
        set_by_user: True only when the user moved the threshold away from the model's.
    """

    prediction: Prediction
    threshold: float
    set_by_user: bool = False

    @classmethod
    def of(cls, prediction: Prediction) -> ShownResult:
        """``prediction`` at its own (the model's) operating point."""
        return cls(prediction, prediction.threshold)

    @property
    def model_threshold(self) -> float:
        """The model's operating point for this image (the card's, or its site head's)."""
        return self.prediction.threshold

    @property
    def label(self) -> str:
        """The label at :attr:`threshold`."""
        return label_for(self.prediction.probability, self.threshold)

    @property
    def heatmap_strength(self) -> float:
        """How strongly the heatmap is drawn at :attr:`threshold`."""
        return heatmap_strength(self.prediction.probability, self.threshold)

    @property
    def faded_heatmap(self) -> npt.NDArray[np.float32] | None:
        """The heatmap as drawn on screen: faded to :attr:`heatmap_strength`; ``None`` without
        one. (For an image outside what the model was validated on, the screen draws it only
        once the user reveals it, and no printed or sent copy draws it at all.)"""
        heatmap = self.prediction.heatmap
        if heatmap is None:
            return None
        return scaled_heatmap(heatmap, self.prediction.probability, self.threshold)

    # The prediction's own fields, so that a ShownResult reads like a prediction.
    @property
    def probability(self) -> float:
        """The calibrated probability of pneumonia."""
        return self.prediction.probability

    @property
    def model_id(self) -> str:
        """The model that made the prediction."""
        return self.prediction.model_id

    @property
    def warnings(self) -> tuple[str, ...]:
        """The prediction's warnings (reader, out-of-distribution, age, heatmap notes)."""
        return self.prediction.warnings

    @property
    def outside(self) -> str | None:
        """The checks' sentence shown instead of the label, ``None`` when inside."""
        return self.prediction.outside

    @property
    def in_domain(self) -> bool | None:
        """The domain check's verdict (``None`` without one)."""
        return self.prediction.in_domain

    @property
    def domain_score(self) -> float | None:
        """The domain check's score (``None`` without one)."""
        return self.prediction.domain_score

    @property
    def out_of_distribution(self) -> bool:
        """The chest-radiograph check's verdict (True: not plausibly a chest radiograph)."""
        return self.prediction.out_of_distribution

    @property
    def path(self) -> Path | None:
        """The file predicted."""
        return self.prediction.path

    @property
    def heatmap(self) -> FloatImage | None:
        """The heatmap as the model made it (unfaded); see :attr:`faded_heatmap`."""
        return self.prediction.heatmap

    @property
    def heatmap_kind(self) -> str:
        """What the heatmap shows ("Grad-CAM" or "gradient × input")."""
        return self.prediction.heatmap_kind
