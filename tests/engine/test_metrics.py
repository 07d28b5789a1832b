"""Metrics, operating point and calibration against scikit-learn and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from engine.errors import ConfigError
from engine.evaluation.calibration import fit_calibration
from engine.evaluation.metrics import compute_metrics
from engine.evaluation.operating_point import choose_operating_point
from engine.modeling.calibration import Calibration
from engine.modeling.metrics import MAX_ROC_POINTS, SCORES
from engine.modeling.operating_point import OperatingPoint


def _random_case(seed: int, n: int, positives: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < positives).astype(int)
    # Informative but imperfect scores, rounded so that ties occur.
    probabilities = np.clip(0.35 * labels + rng.random(n) * 0.65, 0.0, 1.0).round(2)
    return labels, probabilities


@pytest.mark.parametrize(("seed", "n", "threshold"), [(0, 500, 0.5), (1, 37, 0.3), (2, 3000, 0.8)])
def test_metrics_agree_with_scikit_learn(seed: int, n: int, threshold: float) -> None:
    labels, probabilities = _random_case(seed, n)
    predicted = (probabilities >= threshold).astype(int)
    m = compute_metrics(labels, probabilities, threshold)
    assert m.n == n and m.n_positive == labels.sum() and m.n_negative == n - labels.sum()
    assert m.accuracy == pytest.approx(sk.accuracy_score(labels, predicted))
    assert m.sensitivity == pytest.approx(sk.recall_score(labels, predicted))
    assert m.specificity == pytest.approx(sk.recall_score(labels, predicted, pos_label=0))
    assert m.precision == pytest.approx(sk.precision_score(labels, predicted))
    assert m.f1 == pytest.approx(sk.f1_score(labels, predicted))
    assert m.auc == pytest.approx(sk.roc_auc_score(labels, probabilities))
    assert m.pr_auc == pytest.approx(sk.average_precision_score(labels, probabilities))
    assert m.brier == pytest.approx(sk.brier_score_loss(labels, probabilities))
    assert m.loss == pytest.approx(sk.log_loss(labels, np.clip(probabilities, 1e-7, 1 - 1e-7)))
    assert m.confusion_matrix == sk.confusion_matrix(labels, predicted).tolist()


def test_roc_points_are_bounded_and_lie_on_scikit_learns_curve() -> None:
    labels, probabilities = _random_case(3, 5000)
    probabilities = np.clip(probabilities + np.random.default_rng(3).random(5000) * 1e-3, 0, 1)
    roc = compute_metrics(labels, probabilities, 0.5).roc
    fpr, tpr, _ = sk.roc_curve(labels, probabilities, drop_intermediate=False)
    full_curve = set(zip(fpr.round(12), tpr.round(12), strict=True))
    assert 2 < len(roc["fpr"]) <= MAX_ROC_POINTS
    assert (roc["fpr"][0], roc["tpr"][0], roc["fpr"][-1], roc["tpr"][-1]) == (0, 0, 1, 1)
    assert set(zip(np.round(roc["fpr"], 12), np.round(roc["tpr"], 12), strict=True)) <= full_curve
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(
        sk.roc_auc_score(labels, probabilities), abs=0.005
    )
    assert all(np.isfinite(roc["thresholds"]))


def test_single_class_gives_undefined_auc_and_zero_ratios() -> None:
    m = compute_metrics([1, 1, 1], [0.2, 0.6, 0.9], 0.5)
    assert m.auc is None and m.pr_auc is None and m.roc == {"fpr": [], "tpr": [], "thresholds": []}
    assert m.specificity == 0.0 and m.sensitivity == pytest.approx(2 / 3)
    nothing_called = compute_metrics([0, 1], [0.1, 0.2], 0.5)
    assert nothing_called.precision == 0.0 and nothing_called.f1 == 0.0
    assert nothing_called.confusion_matrix == [[1, 0], [1, 0]]


def test_threshold_is_inclusive_and_extreme_probabilities_keep_the_loss_finite() -> None:
    m = compute_metrics([0, 1], [0.0, 1.0], 1.0)
    assert m.confusion_matrix == [[1, 0], [0, 1]] and m.loss < 1e-6
    wrong = compute_metrics([1], [0.0], 0.5)
    assert wrong.loss == pytest.approx(-np.log(1e-7))


def test_expected_calibration_error_on_a_hand_computed_case() -> None:
    # Bin [0.1, 0.2): p 0.1, 0.1 with labels 0, 1 -> |0.5 - 0.1| = 0.4, weight 2/5.
    # Bin [0.9, 1.0]: p 0.9, 0.95, 1.0 with labels 1, 1, 1 -> |1 - 0.95| = 0.05, weight 3/5.
    m = compute_metrics([0, 1, 1, 1, 1], [0.1, 0.1, 0.9, 0.95, 1.0], 0.5)
    assert m.ece == pytest.approx(2 / 5 * 0.4 + 3 / 5 * 0.05)


def test_metrics_to_dict_is_json_ready() -> None:
    import json

    labels, probabilities = _random_case(4, 50)
    data = json.loads(json.dumps(compute_metrics(labels, probabilities, 0.5).to_dict()))
    assert {"n", "loss", *SCORES, "threshold", "confusion_matrix", "roc"} <= data.keys()


@pytest.mark.parametrize(
    ("labels", "probabilities", "threshold", "match"),
    [
        ([0, 1], [0.1, 0.9], 1.5, "threshold must be between 0 and 1"),
        ([0, 1], [0.1], 0.5, "as many labels as probabilities"),
        ([0, 2], [0.1, 0.9], 0.5, "Labels must be 0"),
        ([0, 1], [0.1, np.nan], 0.5, "1 NaN"),
        ([], [], 0.5, "at least one"),
    ],
)
def test_invalid_inputs_are_refused(
    labels: list[int], probabilities: list[float], threshold: float, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        compute_metrics(labels, probabilities, threshold)


@pytest.mark.parametrize("target", [0.9, 0.95, 0.97, 1.0])
def test_target_sensitivity_is_met_at_the_highest_such_threshold(target: float) -> None:
    labels, probabilities = _random_case(5, 400)
    point = choose_operating_point(labels, probabilities, target_sensitivity=target)
    achieved = compute_metrics(labels, probabilities, point.threshold)
    assert achieved.sensitivity >= target and point.sensitivity == achieved.sensitivity
    assert point.specificity == achieved.specificity
    higher = probabilities[probabilities > point.threshold]
    assert all(compute_metrics(labels, probabilities, t).sensitivity < target for t in higher)


def test_youden_maximises_j_over_every_threshold() -> None:
    labels, probabilities = _random_case(6, 300)
    point = choose_operating_point(labels, probabilities, method="youden")
    fpr, tpr, _ = sk.roc_curve(labels, probabilities)
    assert point.sensitivity + point.specificity - 1 == pytest.approx(np.max(tpr - fpr))
    assert point.target is None and point.method == "youden"


def test_operating_point_round_trips_and_refuses_bad_requests() -> None:
    point = choose_operating_point([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], target_sensitivity=0.5)
    assert point.threshold == 0.8
    assert OperatingPoint.from_card(point.to_card()) == point
    with pytest.raises(ConfigError, match="NORMAL and PNEUMONIA"):
        choose_operating_point([1, 1], [0.2, 0.9])
    with pytest.raises(ConfigError, match="method must be one of"):
        choose_operating_point([0, 1], [0.2, 0.9], method="f1")
    with pytest.raises(ConfigError, match="operating point is invalid"):
        OperatingPoint.from_card({"threshold": 2.0})


def _synthetic_logits(seed: int, n: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    true_logits = rng.normal(0.0, 2.0, n)
    labels = (rng.random(n) < 1 / (1 + np.exp(-true_logits))).astype(int)
    return true_logits, labels


def _nll(labels: np.ndarray, probabilities: np.ndarray) -> float:
    return float(sk.log_loss(labels, np.clip(probabilities, 1e-7, 1 - 1e-7)))


def test_temperature_scaling_recovers_a_known_temperature() -> None:
    logits, labels = _synthetic_logits(7)
    overconfident = 1 / (1 + np.exp(-logits * 2.5))  # the model's logits are 2.5x too large
    calibration = fit_calibration(labels, overconfident, "temperature")
    assert calibration.temperature == pytest.approx(2.5, rel=0.05)
    calibrated = calibration.apply(overconfident)
    assert _nll(labels, calibrated) < _nll(labels, overconfident)
    assert sk.roc_auc_score(labels, calibrated) == pytest.approx(
        sk.roc_auc_score(labels, overconfident)
    )


def test_platt_scaling_recovers_slope_and_shift() -> None:
    logits, labels = _synthetic_logits(8)
    shifted = 1 / (1 + np.exp(-(logits - 1.0) / 0.5))  # over-confident and shifted
    calibration = fit_calibration(labels, shifted, "platt")
    # shifted's logit s = (z - 1) / 0.5, so z = 0.5 s + 1.
    assert calibration.slope == pytest.approx(0.5, rel=0.05)
    assert calibration.intercept == pytest.approx(1.0, abs=0.08)
    assert _nll(labels, calibration.apply(shifted)) < _nll(labels, shifted)
    assert Calibration.from_card(calibration.to_card()) == calibration


def test_calibration_edge_cases() -> None:
    assert fit_calibration([0, 1], [0.2, 0.7], "none") == Calibration()
    separated = fit_calibration([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], "platt")
    assert np.isfinite([separated.slope, separated.intercept]).all()
    probabilities = np.array([0.3, np.nan])
    assert np.isnan(
        fit_calibration([0, 1, 1], [0.2, 0.5, 0.9], "temperature").apply(probabilities)[1]
    )
    with pytest.raises(ConfigError, match="needs NORMAL and PNEUMONIA"):
        fit_calibration([1, 1], [0.2, 0.9], "temperature")
    with pytest.raises(ConfigError, match="must be one of"):
        fit_calibration([0, 1], [0.2, 0.9], "isotonic")
    with pytest.raises(ConfigError, match="calibration is invalid"):
        Calibration.from_card({"method": "temperature", "temperature": -1})
