"""The card's metrics section: :class:`Metrics`, every figure Hilum reports for one model on one
labelled set, and the small rules its readers share (the threshold's range, a ratio without cases).

This is the value the card stores and reads; :mod:`engine.evaluation.metrics` computes it, and its
docstring gives the conventions (>= threshold is PNEUMONIA, a ratio without cases is 0.0, AUC
without both classes is None, the clipped loss, the ECE bins).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.errors import ConfigError

EPSILON = 1e-7
MAX_ROC_POINTS = 200
#: The scores of :class:`Metrics` besides counts, threshold, loss and curves, in report order.
SCORES = (
    "accuracy",
    "sensitivity",
    "specificity",
    "precision",
    "f1",
    "auc",
    "pr_auc",
    "brier",
    "ece",
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Metrics:
    """Every figure Hilum reports for one model on one labelled set (conventions: see
    :mod:`engine.evaluation.metrics`).

    Attributes:
        confusion_matrix: ``[[tn, fp], [fn, tp]]`` (rows: truth NORMAL, PNEUMONIA).
        roc: ``{"fpr": [...], "tpr": [...], "thresholds": [...]}``, at most
            :data:`MAX_ROC_POINTS` points from (0, 0) to (1, 1); empty lists when AUC is None.
    """

    n: int
    n_positive: int
    n_negative: int
    threshold: float
    loss: float
    accuracy: float
    sensitivity: float
    specificity: float
    precision: float
    f1: float
    auc: float | None
    pr_auc: float | None
    brier: float
    ece: float
    confusion_matrix: list[list[int]]
    roc: dict[str, list[float]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (plain floats, ints, lists and None)."""
        return asdict(self)

    def to_card(self) -> dict[str, Any]:
        """The model card's ``validation_metrics`` section (same as :meth:`to_dict`)."""
        return self.to_dict()

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Metrics:
        """Inverse of :meth:`to_card`; keys this version does not know are ignored.

        Raises:
            ConfigError: a field is missing.
        """
        names = [item.name for item in fields(cls)]
        missing = [name for name in names if name not in card]
        if missing:
            raise ConfigError(
                f"The model card's validation metrics lack {', '.join(missing)}: retrain the "
                "model, or re-evaluate it with `hilum evaluate`."
            )
        return cls(**{name: card[name] for name in names})


def check_threshold(threshold: float) -> float:
    """Return ``threshold`` as a float, or raise :class:`ConfigError` unless it is in [0, 1]."""
    value = float(threshold)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"The threshold must be between 0 and 1, got {threshold!r}.")
    return value


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, or 0 when the denominator is 0 (a metric without cases)."""
    return float(numerator / denominator) if denominator else 0.0
