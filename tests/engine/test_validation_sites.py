"""The card's ``validated_on`` section: the shipped model's site, the round trip, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import ConfigError, ModelFileError
from engine.modeling.card import ModelCard
from engine.modeling.validation_sites import Site, ValidatedOn, ages_in_words

DEFAULT = Path(__file__).resolve().parents[2] / "resources" / "models" / "default"


def test_the_shipped_card_says_where_it_was_validated() -> None:
    card = ModelCard.from_dict(json.loads((DEFAULT / "card.json").read_text()), DEFAULT)
    assert card.validated_on is not None
    (site,) = card.validated_on.sites
    assert "Guangzhou" in site.name and site.ages == (1, 5) and site.views == ("AP",)
    counts = card.data["counts"]
    assert site.images["training"] + site.images["validation"] == sum(
        sum(by_label.values()) for by_label in counts.values()
    )
    assert "Kermany" in site.reference and "one to five years" in site.reference
    assert ModelCard.from_json(card.to_json(), DEFAULT) == card


def test_the_age_range_spans_the_sites_and_is_unknown_when_one_site_lacks_it() -> None:
    both = ValidatedOn((Site("A", ages=(1, 5)), Site("B", ages=(4, 17))))
    assert both.ages == (1, 17)
    assert both.covers_age(17.9) and not both.covers_age(18.0) and not both.covers_age(0.5)
    unknown = ValidatedOn((Site("A", ages=(1, 5)), Site("B")))
    assert unknown.ages is None and unknown.covers_age(64)


def test_ages_in_words() -> None:
    assert ages_in_words((1, 5)) == "children aged 1–5 years"
    assert ages_in_words((18, 85)) == "patients aged 18–85 years"
    assert ages_in_words((3, 3)) == "children aged 3 years"


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({"sites": []}, "one or more"),
        ([{"name": "A"}], "one or more"),
        ({"sites": [{"place": "nowhere"}]}, "is invalid"),
        ({"sites": [{"name": "A", "ages": [5, 1]}]}, "min <= max"),
        ({"sites": [{"name": "A", "ages": [1, 500]}]}, "min <= max"),
        ({"sites": [{"name": "A", "ages": [1.5, 5]}]}, "whole years"),
        ({"sites": [{"name": "A", "ages": "1-5"}]}, r"\[min, max\]"),
        ({"sites": [{"name": "A", "images": {"training": -3}}]}, "negative"),
        ({"sites": [{"name": "A", "images": ["x"]}]}, "is invalid"),
    ],
)
def test_a_bad_section_is_refused_naming_the_problem(section: object, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        ValidatedOn.from_card(section)
    raw = {**json.loads((DEFAULT / "card.json").read_text()), "validated_on": section}
    with pytest.raises(ModelFileError, match=str(DEFAULT)):
        ModelCard.from_dict(raw, DEFAULT)
