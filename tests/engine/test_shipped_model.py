"""Accuracy floors of the shipped default model on real data it was not trained on.

A broken preprocessing, a wrong threshold or a model swapped by mistake fails here, where a check
of ``0 <= p <= 1`` would pass. The floors live in one table, keyed by the model file's SHA-256
(from its card, verified when the bundle loads): when the default model is replaced, the test
fails until the new model's floors are measured and added, with

    hilum evaluate resources/models/default ../shared/data/fullres --json
    hilum evaluate resources/models/default ../shared/data/chest_xray/external --json

Each floor is the measured figure less a margin of about two images of the class concerned
(fullres: 30 + 30 images; external: 117 NORMAL + 196 PNEUMONIA), so that a numerically different
CPU does not fail it, while a real regression does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.evaluation.bundle_evaluation import evaluate_bundle
from engine.modeling.bundles import read_card

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = REPO / "resources" / "models" / "default"

#: model_sha256 -> data set (relative to ../shared/data) -> metric -> floor.
FLOORS: dict[str, dict[str, dict[str, float]]] = {
    # MobileNetV2 224 px + TTA (ensemble-20261201T175432), measured 2026-12-01 at its card's
    # threshold 0.376: fullres acc 0.967 sens 0.933 spec 1.000 AUC 0.994; external acc 0.955
    # sens 0.974 spec 0.923 AUC 0.989 (the external set chose the threshold: in-sample).
    "b4fef4059a7a791e105891380851f2abea28d575853371c5d7c4d1582c421b03": {
        "fullres": {"accuracy": 0.93, "sensitivity": 0.86, "specificity": 0.93, "auc": 0.975},
        "chest_xray/external": {
            "accuracy": 0.945,
            "sensitivity": 0.96,
            "specificity": 0.90,
            "auc": 0.98,
        },
    },
}
DATA_SETS = ("fullres", "chest_xray/external")


@pytest.fixture(scope="module")
def floors() -> dict[str, dict[str, float]]:
    """The floors of the model shipped in this checkout; fails when it has none."""
    card = read_card(DEFAULT_MODEL)
    sha = card.model_sha256
    if sha not in FLOORS:
        pytest.fail(
            f"The shipped default model changed ({card.model_id}, sha256 {sha}) and has no "
            f"accuracy floors: measure it on {', '.join(DATA_SETS)} with `hilum evaluate "
            "resources/models/default ../shared/data/<set> --json` and add its figures, less "
            "about two images' margin, to FLOORS in this file."
        )
    return FLOORS[sha]


@pytest.mark.parametrize("data_set", DATA_SETS)
def test_the_shipped_model_keeps_its_measured_accuracy(
    floors: dict[str, dict[str, float]], shared_data: Path, data_set: str
) -> None:
    report = evaluate_bundle(DEFAULT_MODEL, shared_data / data_set)
    assert not report.unreadable
    measured = report.metrics.to_dict()
    below = {
        metric: f"{measured[metric]:.3f} < {floor:.3f}"
        for metric, floor in floors[data_set].items()
        if measured[metric] < floor
    }
    assert not below, f"{data_set}: below the floors of the shipped model: {below}"
