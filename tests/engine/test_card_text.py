"""The model card as plain lines for people."""

from __future__ import annotations

import json
from pathlib import Path

from engine.modeling.card import ModelCard
from engine.modeling.card_summary import TECHNICAL, describe_card
from engine.modeling.preprocessing import Preprocessing
from engine.modeling.validation_sites import Site, ValidatedOn

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


def test_the_shipped_card_leads_with_where_it_was_validated_in_plain_words() -> None:
    """Site, ages, views, the domain check and the worst robustness change come first; no
    parameter or scaling name appears before the technical details."""
    card = ModelCard.from_dict(json.loads(DEFAULT_CARD.read_text()), DEFAULT_CARD.parent)
    lines = describe_card(card).splitlines()
    lead = lines[: lines.index(TECHNICAL)]
    assert lead[1].startswith("Validated on: Guangzhou Women and Children's Medical Center")
    assert "children aged 1–5 years, AP views, 5,529 images" in lead[1]
    assert lead[2].startswith("Warns when an image is unlike these (pediatric chest radiographs")
    assert "about 1 % of images like them" in lead[2]
    assert lead[3] == (
        "Caveat: after 'crop to 70-90 % of the side', 27 % of NORMAL labels became PNEUMONIA "
        "(the worst of the small changes tested on 200 images)."
    )
    head = "\n".join(lead).lower()
    for technical in ("platt", "minus_one_one", "out_relu", "sha256", "threshold 0."):
        assert technical not in head
    assert "platt" in "\n".join(lines[lines.index(TECHNICAL) :]).lower()


def test_a_minimal_card_skips_what_it_lacks_and_says_what_is_unrecorded() -> None:
    card = ModelCard("m-1", "cnn", Preprocessing(64), "last_conv", 0.5)
    assert describe_card(card).splitlines() == [
        "Model: m-1",
        "Validated on: not recorded in this card (sites, ages and views unknown).",
        "No domain check: it does not warn when an image is unlike these.",
        "Expected on images from elsewhere: not measured (no external set was given).",
        "",
        TECHNICAL,
        "Id m-1, variant cnn, created ? on ?",
        "Input: 64 x 64 px, 1 channel(s), per-image contrast stretch on, scaling unit",
        "Operating point: threshold 0.500, chosen on validation images by ?",
        "Calibration: none",
    ]


def test_a_site_without_ages_says_so() -> None:
    site = Site("unspecified (images from /data/train)", images={"training": 40, "validation": 8})
    card = ModelCard(
        "m-1", "cnn", Preprocessing(64), "last_conv", 0.5, validated_on=ValidatedOn((site,))
    )
    assert describe_card(card).splitlines()[1] == (
        "Validated on: unspecified (images from /data/train): age range not recorded, views not "
        "recorded, 48 images (40 training, 8 validation)"
    )
