"""The card's operating point: the threshold above which an image is called PNEUMONIA, how it was
chosen, and what it achieved on validation (:class:`OperatingPoint`).

The code chooses it on the validation split (:mod:`engine.evaluation.operating_point`). The user
may then move it along the *validation* ROC stored in the card (:func:`move_operating_point`),
never looking at test images. Every threshold-dependent figure at an ROC point follows exactly
from the point's rates and the validation class counts (tp = sensitivity x positives, ...), so the
card's validation metrics stay consistent with its threshold; loss, AUC, Brier and ECE do not
depend on the threshold and are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from engine.errors import reading_card_section
from engine.modeling.metrics import Metrics, check_threshold, ratio

#: The rules that choose a threshold on validation (see the module docstring).
TARGET_SENSITIVITY = "target_sensitivity"
OPERATING_POINT_METHODS = (TARGET_SENSITIVITY, "youden")
#: Operating-point method recorded when the user picked a point on the ROC curve.
MANUAL = "manual"


@dataclass(frozen=True)
class OperatingPoint:
    """A chosen threshold and what it achieved on validation.

    Attributes:
        threshold: call PNEUMONIA when probability >= threshold.
        method: one of :data:`OPERATING_POINT_METHODS`, or ``"manual"`` when the user set it.
        target: the target sensitivity, or ``None`` for other methods.
        sensitivity: validation sensitivity at the threshold.
        specificity: validation specificity at the threshold.
    """

    threshold: float
    method: str
    target: float | None
    sensitivity: float
    specificity: float

    def to_card(self) -> dict[str, Any]:
        """JSON-ready dict for the model card."""
        return {
            "threshold": self.threshold,
            "method": self.method,
            "target": self.target,
            "sensitivity": self.sensitivity,
            "specificity": self.specificity,
        }

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> OperatingPoint:
        """Inverse of :meth:`to_card`.

        Raises:
            ConfigError: a field is missing or invalid.
        """
        with reading_card_section("operating point", card):
            target = card["target"]
            return cls(
                check_threshold(card["threshold"]),
                str(card["method"]),
                None if target is None else float(target),
                float(card["sensitivity"]),
                float(card["specificity"]),
            )


def index_for_sensitivity(roc: dict[str, list[float]], target: float) -> int:
    """The ROC point with the highest threshold whose sensitivity reaches ``target``.

    This is the engine's ``target_sensitivity`` rule applied to the stored curve.

    Raises:
        ValueError: the curve is empty.
    """
    tpr = np.asarray(roc["tpr"])
    if tpr.size == 0:
        raise ValueError("This model's card has no validation ROC curve.")
    reached = np.flatnonzero(tpr >= target - 1e-12)
    return int(reached[0]) if reached.size else int(tpr.size - 1)


def nearest_index(roc: dict[str, list[float]], fpr: float, tpr: float) -> int:
    """The ROC point nearest to (``fpr``, ``tpr``), e.g. where the user clicked.

    Raises:
        ValueError: the curve is empty.
    """
    xs, ys = np.asarray(roc["fpr"]), np.asarray(roc["tpr"])
    if xs.size == 0:
        raise ValueError("This model's card has no validation ROC curve.")
    return int(np.argmin((xs - fpr) ** 2 + (ys - tpr) ** 2))


def move_operating_point(
    metrics: Metrics, index: int, method: str = MANUAL, target: float | None = None
) -> tuple[OperatingPoint, Metrics]:
    """Move the threshold to validation ROC point ``index`` and recompute the figures there.

    The counts come from the stored curve (tp = sensitivity x positives, ...); the
    threshold-free figures (AUC, Brier, ECE, loss) do not change.

    Args:
        metrics: the validation metrics, with their ROC.
        index: the ROC point.
        method: ``"target_sensitivity"`` or :data:`MANUAL`.
        target: the target sensitivity, for that method.

    Returns:
        The new operating point and the validation metrics at its threshold.

    Raises:
        IndexError: ``index`` is not a point of the curve.
    """
    roc = metrics.roc
    threshold = min(max(float(roc["thresholds"][index]), 0.0), 1.0)
    positives, negatives = metrics.n_positive, metrics.n_negative
    tp = round(roc["tpr"][index] * positives)
    fp = round(roc["fpr"][index] * negatives)
    fn, tn = positives - tp, negatives - fp
    sensitivity, specificity = ratio(tp, positives), ratio(tn, negatives)
    point = OperatingPoint(threshold, method, target, sensitivity, specificity)
    moved = replace(
        metrics,
        threshold=threshold,
        accuracy=ratio(tp + tn, positives + negatives),
        sensitivity=sensitivity,
        specificity=specificity,
        precision=ratio(tp, tp + fp),
        f1=ratio(2 * tp, 2 * tp + fp + fn),
        confusion_matrix=[[tn, fp], [fn, tp]],
    )
    return point, moved
