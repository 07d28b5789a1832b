"""What a commissioned bundle's card says about its site, for promotion and for people.

:mod:`engine.workflows.commissioning` writes the card's ``commissioning`` section: the site, its
data, the patient split and the figures on the site's test part (and on ``external``) before and
after, each with its 95 % interval. Promotion to the reading room shows those figures first, and
refuses a bundle whose test part is too small for them to mean much.
"""

from __future__ import annotations

from typing import Any

from engine.evaluation.bootstrap import FIGURES, Interval
from engine.modeling.card import ModelCard

#: A site's test part needs at least this many images of each class to be promoted.
MIN_TEST_PER_CLASS = 30


def site_section(card: ModelCard) -> dict[str, Any] | None:
    """A card's commissioning section (``None`` for a bundle that was not commissioned)."""
    value = card.extra.get("commissioning")
    return value if isinstance(value, dict) else None


def figures_line(figures: dict[str, Any]) -> str:
    """One set's figures with their intervals, on one line."""
    parts = [f"{figures['images']} images", f"outside domain {figures['outside_domain']:.1%}"]
    for name in FIGURES:
        parts.append(f"{name} {Interval(**figures[name]).text()}")
    return ", ".join(parts)


def site_lines(card: ModelCard) -> list[str]:
    """The site's figures for people: one line per set and moment (before / after)."""
    section = site_section(card)
    if section is None:
        return []
    lines = [f"Commissioned for {section.get('site')}: figures on its test part (95 % intervals)"]
    for name, parts in section.get("figures", {}).items():
        where = "the site's test part" if name == "test_part" else f"{name} images"
        for moment in ("before", "after"):
            if moment in parts:
                lines.append(f"{where}, {moment}: {figures_line(parts[moment])}")
    return lines


def promotion_problems(card: ModelCard, name: str) -> list[str]:
    """Why a commissioned bundle may not be promoted: too small a test part."""
    section = site_section(card)
    if section is None:
        return []
    test = section.get("split", {}).get("test", {})
    small = {label: int(n) for label, n in test.items() if int(n) < MIN_TEST_PER_CLASS}
    if not small:
        return []
    counts = ", ".join(f"{n} {label}" for label, n in small.items())
    return [
        f"{name}: its test part at {section.get('site')} has only {counts} image(s); fewer than "
        f"{MIN_TEST_PER_CLASS} of a class give intervals too wide to trust. Commission it again "
        "with more of the site's images (or a larger --test-fraction)."
    ]
