"""The model card type: reads the shipped card, round-trips, keeps unknown keys, moves the
operating point consistently."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from engine.errors import ModelFileError
from engine.modeling.card import FORMAT_VERSION, ModelCard

DEFAULT = Path(__file__).resolve().parents[2] / "resources" / "models" / "default"


def _shipped() -> dict[str, object]:
    return json.loads((DEFAULT / "card.json").read_text())


def test_the_shipped_card_reads_typed_and_round_trips() -> None:
    raw = _shipped()
    card = ModelCard.from_dict(raw, DEFAULT)
    assert card.threshold == raw["threshold"] and card.variant == raw["variant"]
    assert card.preprocessing.input_shape == tuple(raw["input"]["shape"])  # type: ignore[index]
    assert card.validation_metrics is not None and card.validation_metrics.n == 652
    assert card.operating_point is not None and card.operating_point.method == "target_sensitivity"
    again = card.to_dict()
    assert list(again) == list(raw)  # same keys, same order
    assert ModelCard.from_json(card.to_json(), DEFAULT) == card


def test_unknown_keys_survive_a_round_trip() -> None:
    raw = {**_shipped(), "future_section": {"crop_85": {"flip_rate": 0.05, "mean_abs_dp": 0.01}}}
    card = ModelCard.from_dict(raw, DEFAULT)
    assert card.extra == {"future_section": raw["future_section"]}
    again = ModelCard.from_json(card.to_json(), DEFAULT).to_dict()
    assert again["future_section"] == raw["future_section"]


def test_a_newer_format_and_a_bad_section_are_refused_with_the_folder() -> None:
    with pytest.raises(ModelFileError, match=r"default: card format 9 is newer"):
        ModelCard.from_dict({**_shipped(), "format_version": FORMAT_VERSION + 8}, DEFAULT)
    with pytest.raises(ModelFileError, match="operating point is invalid"):
        ModelCard.from_dict({**_shipped(), "operating_point": {"threshold": 0.5}}, DEFAULT)


def test_moving_the_operating_point_recomputes_the_validation_figures() -> None:
    card = ModelCard.from_dict(_shipped(), DEFAULT)
    assert card.validation_metrics is not None
    strictest = card.with_operating_point(0)  # the ROC's first point: nothing called PNEUMONIA
    metrics = strictest.validation_metrics
    assert metrics is not None and strictest.operating_point is not None
    assert strictest.threshold == metrics.threshold == strictest.operating_point.threshold
    assert metrics.confusion_matrix == [[metrics.n_negative, 0], [metrics.n_positive, 0]]
    assert metrics.auc == card.validation_metrics.auc  # threshold-free figures stay
    assert strictest.operating_point.method == "manual"
    with pytest.raises(ValueError, match="no validation ROC"):
        replace(card, validation_metrics=None).with_operating_point(0)
