"""Fitting a probability calibration on validation: none, temperature scaling or Platt scaling.

Networks trained with class weights on a 1:3 set are rarely calibrated: their 0.9 does not mean
"9 in 10 are pneumonia". A calibration (:class:`~engine.modeling.calibration.Calibration`, the
card's value, which says what each method computes) maps the model's probability through its
logit.

Both are fit on the validation split by minimising the negative log-likelihood with Newton's
method (the problem is convex; numpy only, no SciPy in the shipped engine). A tiny ridge penalty
keeps the fit finite when validation is perfectly separated. T is kept in [MIN_TEMPERATURE,
MAX_TEMPERATURE] (:mod:`engine.modeling.calibration`). The order in training is: fit the
calibration, then choose the operating point on the calibrated validation probabilities.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.errors import ConfigError
from engine.evaluation.metrics import as_labels_and_probabilities
from engine.modeling.calibration import (
    CALIBRATION_METHODS,
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    Calibration,
    logit,
    sigmoid,
)
from engine.modeling.metrics import FloatArray

_RIDGE = 1e-6


def _negative_log_likelihood(
    weights: FloatArray, features: FloatArray, labels: FloatArray
) -> float:
    z = features @ weights
    # log(1 + e^z) - y z, computed stably; plus the ridge penalty.
    return float(np.mean(np.logaddexp(0.0, z) - labels * z) + _RIDGE * weights @ weights)


def _fit_logistic(features: FloatArray, labels: FloatArray) -> FloatArray:
    """Weights minimising the mean logistic loss (+ ridge), by damped Newton steps."""
    weights = np.zeros(features.shape[1])
    weights[0] = 1.0  # start from "no change"
    loss = _negative_log_likelihood(weights, features, labels)
    for _ in range(100):
        p = sigmoid(features @ weights)
        gradient = features.T @ (p - labels) / labels.size + 2 * _RIDGE * weights
        hessian = (features.T * (p * (1 - p))) @ features / labels.size
        hessian += 2 * _RIDGE * np.eye(weights.size)
        step = np.linalg.solve(hessian, gradient)
        scale = 1.0
        while scale > 1e-8:
            trial = weights - scale * step
            trial_loss = _negative_log_likelihood(trial, features, labels)
            if trial_loss <= loss:
                break
            scale /= 2
        else:
            break
        converged = loss - trial_loss < 1e-12
        weights, loss = trial, trial_loss
        if converged:
            break
    return weights


def fit_calibration(y_true: Any, y_prob: Any, method: str) -> Calibration:
    """Fit a calibration on validation labels and uncalibrated probabilities.

    Args:
        y_true: validation labels, 0 (NORMAL) or 1 (PNEUMONIA).
        y_prob: the model's validation probabilities.
        method: ``"none"``, ``"temperature"`` or ``"platt"``.

    Returns:
        The fitted :class:`Calibration` (the identity for ``"none"``).

    Raises:
        ConfigError: unknown method, or a validation set lacking a class (nothing to fit).
        ValueError: invalid labels or probabilities.
    """
    if method not in CALIBRATION_METHODS:
        raise ConfigError(
            f"Calibration method must be one of {', '.join(CALIBRATION_METHODS)}, got '{method}'."
        )
    if method == "none":
        return Calibration()
    labels, probabilities = as_labels_and_probabilities(y_true, y_prob)
    if labels.min() == labels.max():
        raise ConfigError(
            f"Fitting '{method}' calibration needs NORMAL and PNEUMONIA validation "
            f"images; all {labels.size} are of one class. Use method 'none'."
        )
    logits = logit(probabilities)[:, np.newaxis]
    targets = labels.astype(np.float64)
    if method == "temperature":
        slope = float(_fit_logistic(logits, targets)[0])
        slope = float(np.clip(slope, 1.0 / MAX_TEMPERATURE, 1.0 / MIN_TEMPERATURE))
        return Calibration(method, slope)
    a, b = _fit_logistic(np.hstack([logits, np.ones_like(logits)]), targets)
    return Calibration(method, float(a), float(b))
