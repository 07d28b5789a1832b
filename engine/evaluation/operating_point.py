"""The operating point: the threshold above which an image is called PNEUMONIA.

0.5 is a poor cut-off on this data (the classes are 1:3 and the test set is shifted towards
false positives), so the threshold is chosen by the code on the **validation** split only, never
by hand and never on the test images, and stored in the model card with how it was chosen:

* ``"target_sensitivity"`` (default, target 0.97): the highest threshold at which validation
  sensitivity is still >= the target. Specificity only grows with the threshold, so this is the
  most specific operating point that misses at most (1 - target) of pneumonia cases.
* ``"youden"``: the threshold maximising Youden's J = sensitivity + specificity - 1 (the highest
  one on ties).

When the model is calibrated, the threshold is chosen on the *calibrated* validation
probabilities (calibrate first, then choose), because those are what inference compares with it.
An image is called PNEUMONIA when its probability is >= the threshold.

The user may then move the operating point along the *validation* ROC stored in the card
(:func:`move_operating_point`), never looking at test images. Every threshold-dependent figure
at an ROC point follows exactly from the point's rates and the validation class counts
(tp = sensitivity x positives, ...), so the card's validation metrics stay consistent with its
threshold; loss, AUC, Brier and ECE do not depend on the threshold and are kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from engine.errors import ConfigError, reading_card_section
from engine.evaluation.metrics import (
    Metrics,
    as_labels_and_probabilities,
    check_threshold,
    ratio,
)

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


def choose_operating_point(
    y_true: Any,
    y_prob: Any,
    *,
    method: str = "target_sensitivity",
    target_sensitivity: float = 0.97,
) -> OperatingPoint:
    """Choose the threshold on validation labels and (calibrated) probabilities.

    Args:
        y_true: validation labels, 0 (NORMAL) or 1 (PNEUMONIA); both classes must be present.
        y_prob: validation probabilities, after calibration when the model has one.
        method: ``"target_sensitivity"`` or ``"youden"`` (see the module docstring).
        target_sensitivity: the minimum validation sensitivity, in (0, 1].

    Returns:
        The :class:`OperatingPoint`, with the validation sensitivity and specificity it reaches.

    Raises:
        ConfigError: unknown method, target outside (0, 1], or a validation set lacking a class.
        ValueError: invalid labels or probabilities.
    """
    if method not in OPERATING_POINT_METHODS:
        raise ConfigError(
            f"Operating point method must be one of {', '.join(OPERATING_POINT_METHODS)}, "
            f"got '{method}'."
        )
    if not 0.0 < target_sensitivity <= 1.0:
        raise ConfigError(f"The target sensitivity must be in (0, 1], got {target_sensitivity}.")
    labels, probabilities = as_labels_and_probabilities(y_true, y_prob)
    positives = np.sort(probabilities[labels == 1])[::-1]
    negatives = np.sort(probabilities[labels == 0])
    if positives.size == 0 or negatives.size == 0:
        raise ConfigError(
            f"Choosing a threshold needs NORMAL and PNEUMONIA validation images; got "
            f"{negatives.size} NORMAL and {positives.size} PNEUMONIA. Use a larger validation set."
        )
    if method == "target_sensitivity":
        # Threshold at the k-th highest positive: exactly k positives are called (ties aside).
        needed = max(1, math.ceil(target_sensitivity * positives.size - 1e-9))
        threshold = float(positives[needed - 1])
    else:
        candidates = np.unique(probabilities)
        sensitivity = 1.0 - np.searchsorted(positives[::-1], candidates, "left") / positives.size
        specificity = np.searchsorted(negatives, candidates, "left") / negatives.size
        youden = sensitivity + specificity - 1.0
        threshold = float(candidates[np.flatnonzero(youden >= youden.max() - 1e-12)[-1]])
    return OperatingPoint(
        threshold=threshold,
        method=method,
        target=target_sensitivity if method == "target_sensitivity" else None,
        sensitivity=float(np.mean(positives >= threshold)),
        specificity=float(np.mean(negatives < threshold)),
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
