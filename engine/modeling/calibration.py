"""The card's calibration section: :class:`Calibration`, the map from the model's probability p
to a calibrated one through its logit z = log(p / (1 - p)):

* ``"none"``: p unchanged.
* ``"temperature"``: sigmoid(z / T), one scalar T > 0 (Guo et al. 2017). It keeps the ranking
  (AUC unchanged) and fixes over- or under-confidence.
* ``"platt"``: sigmoid(a z + b) (Platt 1999), which also corrects a shift, e.g. from class
  weighting.

T is kept in [:data:`MIN_TEMPERATURE`, :data:`MAX_TEMPERATURE`]. This is the value the card stores
and inference applies; :mod:`engine.evaluation.calibration` fits it on validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.errors import ConfigError
from engine.modeling.metrics import EPSILON, FloatArray

CALIBRATION_METHODS = ("none", "temperature", "platt")
MIN_TEMPERATURE = 0.01
MAX_TEMPERATURE = 100.0


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
        return sigmoid(self.slope * logit(p) + self.intercept)

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


def logit(p: FloatArray) -> FloatArray:
    """log(p / (1 - p)), with p clipped to [EPSILON, 1 - EPSILON] so that it stays finite."""
    clipped = np.clip(p, EPSILON, 1.0 - EPSILON)
    result: FloatArray = np.log(clipped) - np.log1p(-clipped)
    return result


def sigmoid(z: FloatArray) -> FloatArray:
    """1 / (1 + e^-z), computed stably (through tanh)."""
    result: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return result
