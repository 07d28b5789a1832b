"""Figures with bootstrap 95 % confidence intervals, for a site's test part.

A site's test part is small (30 images of a class give a sensitivity interval ~25 points wide),
so every figure reported for a commissioned site carries its interval and the counts behind it.
The bootstrap resamples **patients** (an image's group), not images: a patient's films are not
independent draws. Each image may carry its own threshold (a commissioned bundle scores images
nearest to the site with the site's head and operating point, the others with the original's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.evaluation.metrics import auc_score

#: Bootstrap resamples; 95 % percentile intervals.
RESAMPLES = 1000
FIGURES = ("auc", "sensitivity", "specificity", "accuracy")


@dataclass(frozen=True)
class Interval:
    """A figure and its 95 % bootstrap interval (``None`` where undefined, e.g. one class)."""

    value: float | None
    low: float | None
    high: float | None

    def to_card(self) -> dict[str, float | None]:
        """JSON-ready form."""
        return {"value": self.value, "low": self.low, "high": self.high}

    def text(self) -> str:
        """``0.912 (0.871-0.948)``, or ``n/a``."""
        if self.value is None:
            return "n/a"
        if self.low is None or self.high is None:
            return f"{self.value:.3f}"
        return f"{self.value:.3f} ({self.low:.3f}-{self.high:.3f})"


def point_figures(
    labels: npt.NDArray[np.int64], probabilities: npt.NDArray[np.float64], thresholds: Any
) -> dict[str, float | None]:
    """AUC, sensitivity, specificity and accuracy, each image labelled at its own threshold."""
    predicted = probabilities >= thresholds
    positives, negatives = labels == 1, labels == 0
    return {
        "auc": auc_score(labels, probabilities),
        "sensitivity": float(predicted[positives].mean()) if positives.any() else None,
        "specificity": float((~predicted[negatives]).mean()) if negatives.any() else None,
        "accuracy": float((predicted == (labels == 1)).mean()) if len(labels) else None,
    }


def with_intervals(
    labels: Sequence[int],
    probabilities: Sequence[float],
    thresholds: Sequence[float] | float,
    groups: Sequence[str] | None = None,
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict[str, Interval]:
    """Each of :data:`FIGURES` with its 95 % interval from a patient-level bootstrap.

    Args:
        labels: 0 (NORMAL) or 1 (PNEUMONIA) per image.
        probabilities: calibrated probability per image.
        thresholds: the threshold per image, or one for all.
        groups: the patient of each image (each image its own patient when ``None``).
        resamples: bootstrap resamples.
        seed: the resampling seed.
    """
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    t = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), p.shape)
    names = np.asarray(groups if groups is not None else [str(i) for i in range(len(y))])
    patients, index = np.unique(names, return_inverse=True)
    members = [np.flatnonzero(index == i) for i in range(len(patients))]
    point = point_figures(y, p, t)
    draws: dict[str, list[float]] = {name: [] for name in FIGURES}
    rng = np.random.default_rng(seed)
    for _ in range(resamples):
        chosen = np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])
        for name, value in point_figures(y[chosen], p[chosen], t[chosen]).items():
            if value is not None:
                draws[name].append(value)
    result = {}
    for name in FIGURES:
        values = draws[name]
        if point[name] is None or len(values) < resamples // 2:
            result[name] = Interval(point[name], None, None)
        else:
            low, high = np.percentile(values, [2.5, 97.5])
            result[name] = Interval(point[name], float(low), float(high))
    return result
