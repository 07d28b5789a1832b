"""Probability calibration fit on validation: none, temperature scaling or Platt scaling.

Networks trained with class weights on a 1:3 set are rarely calibrated: their 0.9 does not mean
"9 in 10 are pneumonia". A calibration maps the model's probability p through its logit
z = log(p / (1 - p)):

* ``"none"``: p unchanged.
* ``"temperature"``: sigmoid(z / T), one scalar T > 0 (Guo et al. 2017). It keeps the ranking
  (AUC unchanged) and fixes over- or under-confidence.
* ``"platt"``: sigmoid(a z + b) (Platt 1999), which also corrects a shift, e.g. from class
  weighting.

Both are fit on the validation split by minimising the negative log-likelihood with Newton's
method (the problem is convex; numpy only, no SciPy in the shipped engine). A tiny ridge penalty
keeps the fit finite when validation is perfectly separated. T is kept in
[:data:`MIN_TEMPERATURE`, :data:`MAX_TEMPERATURE`]. The order in training is: fit the calibration,
then choose the operating point on the calibrated validation probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.errors import ConfigError
from engine.evaluation.metrics import EPSILON, FloatArray, as_labels_and_probabilities

CALIBRATION_METHODS = ("none", "temperature", "platt")
MIN_TEMPERATURE = 0.01
MAX_TEMPERATURE = 100.0
_RIDGE = 1e-6


@dataclass(frozen=True)
class Calibration:
    """A fitted calibration: probability -> sigmoid(slope * logit + intercept).

    Attributes:
        method: one of :data:`CALIBRATION_METHODS`.
        slope: 1 / T for temperature scaling, a for Platt, 1 for none.
        intercept: b for Platt, 0 otherwise.
    """

    method: str = "none"
    slope: float = 1.0
    intercept: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in CALIBRATION_METHODS:
            raise ConfigError(
                f"Calibration method must be one of {', '.join(CALIBRATION_METHODS)}, "
                f"got '{self.method}'."
            )
        if not (np.isfinite(self.slope) and np.isfinite(self.intercept)):
            raise ConfigError(
                f"Calibration parameters must be finite, got slope {self.slope}, "
                f"intercept {self.intercept}."
            )

    @property
    def temperature(self) -> float | None:
        """T for temperature scaling, else ``None``."""
        return 1.0 / self.slope if self.method == "temperature" else None

    def apply(self, prob: Any) -> FloatArray:
        """Calibrated probabilities for ``prob`` (any shape; NaN stays NaN)."""
        p = np.asarray(prob, dtype=np.float64)
        if self.method == "none":
            return p
        return _sigmoid(self.slope * _logit(p) + self.intercept)

    def to_card(self) -> dict[str, Any]:
        """JSON-ready dict for the model card."""
        card: dict[str, Any] = {"method": self.method}
        if self.method == "temperature":
            card["temperature"] = self.temperature
        elif self.method == "platt":
            card.update(a=self.slope, b=self.intercept)
        return card

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> Calibration:
        """Inverse of :meth:`to_card`.

        Raises:
            ConfigError: unknown method, missing or invalid parameter.
        """
        try:
            method = str(card["method"])
            if method == "temperature":
                temperature = float(card["temperature"])
                if not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
                    raise ValueError(
                        f"temperature {temperature} outside [{MIN_TEMPERATURE}, {MAX_TEMPERATURE}]"
                    )
                return cls(method, 1.0 / temperature)
            if method == "platt":
                return cls(method, float(card["a"]), float(card["b"]))
            return cls(method)
        except (KeyError, TypeError, ValueError) as error:
            raise ConfigError(
                f"The model card's calibration is invalid ({error}): {card}. Expected "
                "{'method': 'none' | 'temperature' | 'platt', ...}."
            ) from None


def _logit(p: FloatArray) -> FloatArray:
    clipped = np.clip(p, EPSILON, 1.0 - EPSILON)
    result: FloatArray = np.log(clipped) - np.log1p(-clipped)
    return result


def _sigmoid(z: FloatArray) -> FloatArray:
    result: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return result


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
        p = _sigmoid(features @ weights)
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
    logits = _logit(probabilities)[:, np.newaxis]
    targets = labels.astype(np.float64)
    if method == "temperature":
        slope = float(_fit_logistic(logits, targets)[0])
        slope = float(np.clip(slope, 1.0 / MAX_TEMPERATURE, 1.0 / MIN_TEMPERATURE))
        return Calibration(method, slope)
    a, b = _fit_logistic(np.hstack([logits, np.ones_like(logits)]), targets)
    return Calibration(method, float(a), float(b))
