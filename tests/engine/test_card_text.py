"""The model card as plain lines for people."""

from __future__ import annotations

import json
from pathlib import Path

from engine.modeling.card import ModelCard
from engine.modeling.card_summary import describe_card
from engine.modeling.preprocessing import Preprocessing

DEFAULT_CARD = (
    Path(__file__).resolve().parents[2] / "resources" / "models" / "default" / "card.json"
)


def test_the_shipped_card_reads_as_provenance_and_figures() -> None:
    card = json.loads(DEFAULT_CARD.read_text())
    text = describe_card(ModelCard.from_dict(card, DEFAULT_CARD.parent))
    metrics = card["validation_metrics"]
    (tn, fp), (fn, tp) = metrics["confusion_matrix"]
    assert text.splitlines()[0] == f"Model: {card['name']}"
    chosen_on = card["selection"]["calibration_and_threshold_fitted_on"]
    assert f"threshold {card['threshold']:.3f}, chosen on {chosen_on} images by " in text
    crossed = card["external"]["cross_fitted"]
    assert f"Expected on images from elsewhere ({crossed['n']} external images" in text
    assert f"accuracy {crossed['accuracy']:.3f}" in text
    assert "In-distribution (validation split" in text
    assert f"auc {metrics['auc']:.3f}" in text and f"ece {metrics['ece']:.3f}" in text
    assert f"TN {tn}, FP {fp}, FN {fn}, TP {tp}" in text
    assert f"Calibration: {card['calibration']['method']}" in text
    assert text.splitlines()[-2] == f"Reproduce: {card['command']}"
    assert text.endswith(card["model_sha256"])


def test_a_minimal_card_skips_what_it_lacks() -> None:
    card = ModelCard("m-1", "cnn", Preprocessing(64), "last_conv", 0.5)
    assert describe_card(card).splitlines() == [
        "Model: m-1",
        "Id m-1, variant cnn, created ? on ?",
        "Input: 64 x 64 px, 1 channel(s), per-image contrast stretch on, scaling unit",
        "Operating point: threshold 0.500, chosen on validation images by ?",
        "Calibration: none",
        "Expected on images from elsewhere: not measured (no external set was given).",
    ]
