"""The model card as plain lines for people."""

from __future__ import annotations

import json
from pathlib import Path

from engine.modeling.card_summary import describe_card

DEFAULT_CARD = (
    Path(__file__).resolve().parents[2] / "resources" / "models" / "default" / "card.json"
)


def test_the_shipped_card_reads_as_provenance_and_figures() -> None:
    card = json.loads(DEFAULT_CARD.read_text())
    text = describe_card(card)
    metrics = card["validation_metrics"]
    (tn, fp), (fn, tp) = metrics["confusion_matrix"]
    assert text.splitlines()[0] == f"Model: {card['name']}"
    assert f"threshold {card['threshold']:.3f}, chosen on validation by target_sensitivity" in text
    assert f"auc {metrics['auc']:.3f}" in text and f"ece {metrics['ece']:.3f}" in text
    assert f"TN {tn}, FP {fp}, FN {fn}, TP {tp}" in text
    assert f"Calibration: {card['calibration']['method']}" in text
    assert text.splitlines()[-2] == f"Reproduce: {card['command']}"
    assert text.endswith(card["model_sha256"])


def test_a_minimal_card_skips_what_it_lacks() -> None:
    text = describe_card({"model_id": "m-1", "variant": "cnn", "threshold": 0.5})
    assert text.splitlines() == [
        "Model: m-1",
        "Id m-1, variant cnn, created ? on ?",
        "Operating point: threshold 0.500, chosen on validation by ?",
    ]
