"""Classification metrics of a binary model (NORMAL = 0, PNEUMONIA = 1) at a threshold.

Computed with numpy alone (no scikit-learn in the shipped engine); the tests check every value
against scikit-learn. Conventions, used everywhere in Hilum:

* An image is called PNEUMONIA when its probability is **>= threshold**.
* A ratio whose denominator is zero (e.g. precision when nothing is called positive, specificity
  when there is no NORMAL image) is **0.0**, as scikit-learn's ``zero_division=0``.
* ROC AUC and PR AUC (average precision) are **None** when only one class is present: they are
  undefined, and a number there would mislead.
* Loss is the binary cross-entropy with probabilities clipped to [1e-7, 1 - 1e-7] (Keras's
  epsilon), so one confidently wrong image cannot make it infinite.
* ECE (expected calibration error) uses 10 equal-width bins of the PNEUMONIA probability over
  [0, 1] (the last bin includes 1.0): the sum over bins of (bin size / n) x |fraction of
  PNEUMONIA in the bin - mean probability in the bin|. It is the calibration of the probability
  shown to the user, not of the "confidence" max(p, 1 - p).

The figures' type, :class:`~engine.modeling.metrics.Metrics`, is part of the model card and lives
with it in :mod:`engine.modeling.metrics`; this module computes them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.modeling.metrics import (
    EPSILON,
    MAX_ROC_POINTS,
    FloatArray,
    IntArray,
    Metrics,
    check_threshold,
    ratio,
)

ECE_BINS = 10


def as_labels_and_probabilities(y_true: Any, y_prob: Any) -> tuple[IntArray, FloatArray]:
    """Validate and convert labels (0/1) and probabilities ([0, 1], finite) to flat arrays.

    Raises:
        ValueError: empty input, different lengths, labels other than 0/1, or probabilities
            outside [0, 1] or not finite (drop unreadable images before computing metrics).
    """
    labels = np.asarray(y_true).reshape(-1)
    probabilities = np.asarray(y_prob, dtype=np.float64).reshape(-1)
    if labels.size == 0 or labels.size != probabilities.size:
        raise ValueError(
            f"Need as many labels as probabilities, at least one; got {labels.size} labels and "
            f"{probabilities.size} probabilities."
        )
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"Labels must be 0 (NORMAL) or 1 (PNEUMONIA), got {np.unique(labels)}.")
    if not np.isfinite(probabilities).all() or probabilities.min() < 0 or probabilities.max() > 1:
        raise ValueError(
            "Probabilities must be finite and in [0, 1]; got values from "
            f"{np.nanmin(probabilities)} to {np.nanmax(probabilities)} "
            f"({int(np.isnan(probabilities).sum())} NaN). Drop unreadable images first."
        )
    return labels.astype(np.int64), probabilities


def _counts_by_threshold(
    labels: IntArray, probabilities: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """True and false positives when calling positive at each distinct probability, highest
    first: ``(tps, fps, thresholds)``."""
    order = np.argsort(-probabilities, kind="mergesort")
    scores = probabilities[order]
    last_of_group = np.r_[np.flatnonzero(np.diff(scores)), scores.size - 1]
    tps = np.cumsum(labels[order])[last_of_group].astype(np.float64)
    fps = (last_of_group + 1) - tps
    return tps, fps, scores[last_of_group]


def roc_curve(
    labels: IntArray, probabilities: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """False and true positive rates at every distinct threshold, from (0, 0) to (1, 1).

    The first threshold is just above the highest probability (nothing called positive), so it
    stays a finite number for JSON. Needs both classes.
    """
    tps, fps, thresholds = _counts_by_threshold(labels, probabilities)
    return (
        np.r_[0.0, fps / fps[-1]],
        np.r_[0.0, tps / tps[-1]],
        np.r_[np.nextafter(thresholds[0], np.inf), thresholds],
    )


def average_precision(labels: IntArray, probabilities: FloatArray) -> float:
    """Area under the precision-recall curve as scikit-learn's ``average_precision_score``:
    the sum over thresholds of (recall gained) x (precision there). Needs a positive image."""
    tps, fps, _ = _counts_by_threshold(labels, probabilities)
    recall = np.r_[0.0, tps / tps[-1]]
    return float(np.sum(np.diff(recall) * tps / (tps + fps)))


def expected_calibration_error(
    labels: IntArray, probabilities: FloatArray, bins: int = ECE_BINS
) -> float:
    """ECE over ``bins`` equal-width probability bins (see the module conventions)."""
    index = np.minimum((probabilities * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in np.unique(index):
        members = index == b
        total += (
            members.sum()
            / labels.size
            * abs(labels[members].mean() - probabilities[members].mean())
        )
    return float(total)


def downsample_roc(
    fpr: FloatArray, tpr: FloatArray, thresholds: FloatArray, limit: int = MAX_ROC_POINTS
) -> dict[str, list[float]]:
    """At most ``limit`` ROC points for the card, always keeping both ends.

    Points inside a straight run of the curve are dropped first (scikit-learn's
    ``drop_intermediate``: they add nothing to the curve), then points are taken evenly.
    """
    corner = np.abs(np.diff(fpr, 2)) + np.abs(np.diff(tpr, 2)) > 1e-12
    indices = np.flatnonzero(np.r_[True, corner, True]) if fpr.size > 2 else np.arange(fpr.size)
    if indices.size > limit:
        indices = indices[np.unique(np.linspace(0, indices.size - 1, limit).round().astype(int))]
    return {
        "fpr": fpr[indices].tolist(),
        "tpr": tpr[indices].tolist(),
        "thresholds": thresholds[indices].tolist(),
    }


def auc_score(y_true: Any, y_prob: Any) -> float | None:
    """ROC AUC, or ``None`` when only one class is present (see the module conventions)."""
    labels, probabilities = as_labels_and_probabilities(y_true, y_prob)
    if labels.min() == labels.max():
        return None
    fpr, tpr, _ = roc_curve(labels, probabilities)
    return float(np.trapezoid(tpr, fpr))


def compute_metrics(y_true: Any, y_prob: Any, threshold: float) -> Metrics:
    """Every Hilum metric of probabilities against labels, at one threshold.

    Args:
        y_true: labels, 0 (NORMAL) or 1 (PNEUMONIA).
        y_prob: PNEUMONIA probabilities in [0, 1], same length (unreadable images dropped).
        threshold: an image is called PNEUMONIA when its probability is >= this.

    Returns:
        The :class:`Metrics`; undefined values follow the module conventions.

    Raises:
        ConfigError: the threshold is outside [0, 1].
        ValueError: the inputs are invalid (see :func:`as_labels_and_probabilities`).
    """
    cut = check_threshold(threshold)
    labels, probabilities = as_labels_and_probabilities(y_true, y_prob)
    called = probabilities >= cut
    tp = int(np.sum(called & (labels == 1)))
    fp = int(np.sum(called & (labels == 0)))
    fn = int(np.sum(~called & (labels == 1)))
    tn = int(np.sum(~called & (labels == 0)))
    sensitivity = ratio(tp, tp + fn)
    precision = ratio(tp, tp + fp)
    clipped = np.clip(probabilities, EPSILON, 1.0 - EPSILON)
    both_classes = 0 < tp + fn < labels.size
    auc: float | None = None
    pr_auc: float | None = None
    roc: dict[str, list[float]] = {"fpr": [], "tpr": [], "thresholds": []}
    if both_classes:
        fpr, tpr, thresholds = roc_curve(labels, probabilities)
        auc = float(np.trapezoid(tpr, fpr))
        pr_auc = average_precision(labels, probabilities)
        roc = downsample_roc(fpr, tpr, thresholds)
    return Metrics(
        n=int(labels.size),
        n_positive=tp + fn,
        n_negative=tn + fp,
        threshold=cut,
        loss=float(-np.mean(labels * np.log(clipped) + (1 - labels) * np.log1p(-clipped))),
        accuracy=ratio(tp + tn, labels.size),
        sensitivity=sensitivity,
        specificity=ratio(tn, tn + fp),
        precision=precision,
        f1=ratio(2 * tp, 2 * tp + fp + fn),
        auc=auc,
        pr_auc=pr_auc,
        brier=float(np.mean((probabilities - labels) ** 2)),
        ece=expected_calibration_error(labels, probabilities),
        confusion_matrix=[[tn, fp], [fn, tp]],
        roc=roc,
    )
