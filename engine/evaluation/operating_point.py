"""Choosing the operating point: the threshold above which an image is called PNEUMONIA.

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

The chosen point is the card's :class:`~engine.modeling.operating_point.OperatingPoint`; moving it
along the stored validation ROC afterwards is :mod:`engine.modeling.operating_point`'s part.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.errors import ConfigError
from engine.evaluation.metrics import as_labels_and_probabilities
from engine.modeling.operating_point import OPERATING_POINT_METHODS, OperatingPoint


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
