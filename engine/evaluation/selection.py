"""Choose a model's calibration and operating point, on validation or on external data.

Validation images are carved from the training hospital's data; they flatter a model (the first
shipped model: specificity 0.99 on validation, 0.44 on images from elsewhere). When external
images are available (``hilum train --external DIR``, ``hilum calibrate``), the calibration and
the threshold can be fitted on them instead, and the card records which data chose them
(:class:`Selection`).

Fitting on the external set and then reporting figures on that same set would be optimistic. So
when the external set chose them, the external figures are also reported **cross-fitted**:
the external images are split in two halves by patient (seeded), the calibration and threshold
are fitted on one half and applied to the other, both ways, and the out-of-fold answers are
scored (:class:`CrossFitted`). Those are the figures to expect on new images from elsewhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from engine.errors import ConfigError
from engine.evaluation.calibration import fit_calibration
from engine.evaluation.metrics import auc_score, compute_metrics, expected_calibration_error
from engine.evaluation.operating_point import choose_operating_point
from engine.modeling.calibration import Calibration
from engine.modeling.metrics import FloatArray, Metrics, ratio
from engine.modeling.operating_point import OperatingPoint

#: Which labelled set chose the calibration and the threshold.
FIT_ON = ("validation", "external")


@dataclass(frozen=True)
class Scores:
    """One labelled set's labels and raw (uncalibrated) model probabilities."""

    labels: np.ndarray
    raw: FloatArray
    groups: tuple[str, ...] = ()  # patient ids, for the cross-fitting split


@dataclass(frozen=True)
class CrossFitted:
    """Out-of-fold figures on the external set (see the module docstring)."""

    folds: int
    n: int
    accuracy: float
    sensitivity: float
    specificity: float
    auc: float | None
    ece: float
    thresholds: list[float]

    def to_card(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class Selection:
    """The fitted calibration and operating point, and the figures they give.

    Attributes:
        fitted_on: ``"validation"`` or ``"external"``.
        calibration: fitted on ``fitted_on``'s raw probabilities.
        operating_point: chosen on ``fitted_on``'s calibrated probabilities.
        validation: figures on validation at the threshold ("in-distribution").
        external: figures on the external set at the threshold, when there is one.
        cross_fitted: out-of-fold external figures, when the external set chose.
    """

    fitted_on: str
    calibration: Calibration
    operating_point: OperatingPoint
    validation: Metrics
    external: Metrics | None
    cross_fitted: CrossFitted | None


def _fit(
    scores: Scores, method: str, point: str, target: float
) -> tuple[Calibration, OperatingPoint]:
    calibration = fit_calibration(scores.labels, scores.raw, method)
    chosen = choose_operating_point(
        scores.labels,
        calibration.apply(scores.raw),
        method=point,
        target_sensitivity=target,
    )
    return calibration, chosen


def cross_fit(
    scores: Scores, method: str, point: str, target: float, seed: int, folds: int = 2
) -> CrossFitted:
    """Fit on all folds but one, score that one, for each fold; see the module docstring.

    Raises:
        ConfigError: too few images of a class to split.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    labels = np.asarray(scores.labels, dtype=np.int64)
    groups = list(scores.groups) or [str(index) for index in range(labels.size)]
    if np.bincount(labels, minlength=2).min() < folds:
        raise ConfigError(f"Cross-fitting needs at least {folds} images of each class.")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    calibrated = np.zeros(labels.size)
    called = np.zeros(labels.size, dtype=bool)
    thresholds: list[float] = []
    for fit_index, score_index in splitter.split(np.zeros(labels.size), labels, groups):
        part = Scores(labels[fit_index], scores.raw[fit_index])
        calibration, chosen = _fit(part, method, point, target)
        calibrated[score_index] = calibration.apply(scores.raw[score_index])
        called[score_index] = calibrated[score_index] >= chosen.threshold
        thresholds.append(chosen.threshold)
    tp = int(np.sum(called & (labels == 1)))
    tn = int(np.sum(~called & (labels == 0)))
    return CrossFitted(
        folds=folds,
        n=int(labels.size),
        accuracy=ratio(tp + tn, labels.size),
        sensitivity=ratio(tp, int(np.sum(labels == 1))),
        specificity=ratio(tn, int(np.sum(labels == 0))),
        auc=auc_score(labels, calibrated),
        ece=expected_calibration_error(labels, calibrated),
        thresholds=thresholds,
    )


def select(
    validation: Scores,
    external: Scores | None,
    *,
    fit_on: str = "validation",
    calibration: str = "platt",
    operating_point: str = "target_sensitivity",
    target_sensitivity: float = 0.97,
    seed: int = 0,
) -> Selection:
    """Fit the calibration and operating point on ``fit_on`` and measure both sets.

    Args:
        validation: validation labels and raw probabilities.
        external: external labels, raw probabilities and patient ids, or ``None``.
        fit_on: ``"validation"`` or ``"external"`` (needs ``external``).
        calibration: ``"none"``, ``"temperature"`` or ``"platt"``.
        operating_point: ``"target_sensitivity"`` or ``"youden"``.
        target_sensitivity: minimum sensitivity on the fitting set.
        seed: seed of the cross-fitting split.

    Raises:
        ConfigError: ``fit_on`` is unknown or names a missing set; a set lacks a class.
    """
    if fit_on not in FIT_ON:
        raise ConfigError(f"fit_on must be one of {', '.join(FIT_ON)}, got {fit_on!r}.")
    if fit_on == "external" and external is None:
        raise ConfigError(
            "Calibration and threshold are to be fitted on external images, but none were "
            "given: pass an external folder (--external DIR) or fit on validation."
        )
    chooser = external if fit_on == "external" and external is not None else validation
    fitted, chosen = _fit(chooser, calibration, operating_point, target_sensitivity)

    def measure(scores: Scores) -> Metrics:
        return compute_metrics(scores.labels, fitted.apply(scores.raw), chosen.threshold)

    crossed = None
    if fit_on == "external" and external is not None:
        crossed = cross_fit(external, calibration, operating_point, target_sensitivity, seed)
    return Selection(
        fit_on,
        fitted,
        chosen,
        measure(validation),
        None if external is None else measure(external),
        crossed,
    )
