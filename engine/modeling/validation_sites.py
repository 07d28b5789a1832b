"""Where a model was validated: the card's ``validated_on`` section, in words a radiographer reads.

A model is only known to work on patients and images like those it was trained and validated on.
The card names them: each site (hospital), the patients' age range, the radiographic views and
how many images. The card summary leads with it, and a prediction for a patient outside the age
range carries a warning (:mod:`engine.inference.age_check`).

The shipped default model's site, as its source describes it (Kermany et al., "Identifying
Medical Diagnoses and Treatable Diseases by Image-Based Deep Learning", Cell 2018,
doi:10.1016/j.cell.2018.02.010): "Chest X-ray images (anterior-posterior) were selected from
retrospective cohorts of pediatric patients of one to five years old from Guangzhou Women and
Children's Medical Center, Guangzhou". So: children aged 1 to 5 years, AP views.

Unknown facts stay unknown: a site without an age range gives no age warning, and the summary
says "age range not recorded".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ConfigError

#: Oldest age a card may give, in years.
MAX_AGE = 130
#: Below this upper age, the patients are called "children".
ADULT_AGE = 18


def ages_in_words(ages: tuple[int, int]) -> str:
    """``(1, 5)`` -> ``"children aged 1–5 years"``; adults' ranges say "patients"."""
    low, high = ages
    who = "children" if high < ADULT_AGE else "patients"
    span = f"{low}" if low == high else f"{low}–{high}"
    return f"{who} aged {span} years"


def checked_ages(value: Any) -> tuple[int, int] | None:
    """``value`` as an age range ``(min, max)`` in whole years, or ``None``.

    Raises:
        ConfigError: not two whole numbers with ``0 <= min <= max <= MAX_AGE``.
    """
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ConfigError(f"A site's 'ages' must be [min, max] in years, got {value!r}.")
    low, high = value
    if not all(isinstance(age, int) and not isinstance(age, bool) for age in (low, high)):
        raise ConfigError(f"A site's 'ages' must be whole years, got {value!r}.")
    if not 0 <= low <= high <= MAX_AGE:
        raise ConfigError(
            f"A site's 'ages' must satisfy 0 <= min <= max <= {MAX_AGE}, got {value!r}."
        )
    return low, high


@dataclass(frozen=True)
class Site:
    """One place a model's images came from.

    Attributes:
        name: the site for people, e.g. "Guangzhou Women and Children's Medical Center
            (Kermany et al.)"; "unspecified (...)" when the trainer did not say.
        place: city and country, "" when unknown.
        ages: the patients' ages in whole years (min, max), both included (a child of 5½
            is "aged 5"); ``None`` when not recorded.
        views: the radiographic views (DICOM View Position terms: "AP", "PA", "LL"); empty
            when not recorded.
        images: image counts by use (e.g. ``{"training": 4564, "validation": 652}``).
        reference: where these facts come from (a publication, a data set's description).
    """

    name: str
    place: str = ""
    ages: tuple[int, int] | None = None
    views: tuple[str, ...] = ()
    images: Mapping[str, int] = field(default_factory=dict)
    reference: str = ""

    def __post_init__(self) -> None:
        checked_ages(self.ages)

    def to_card(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "place": self.place,
            "ages": None if self.ages is None else list(self.ages),
            "views": list(self.views),
            "images": dict(self.images),
            "reference": self.reference,
        }

    @classmethod
    def from_card(cls, card: Any) -> Site:
        """Inverse of :meth:`to_card`.

        Raises:
            ConfigError: a field is missing or invalid.
        """
        try:
            images = card.get("images") or {}
            counts = {str(use): int(count) for use, count in images.items()}
            if any(count < 0 for count in counts.values()):
                raise ConfigError(f"A site's image counts must not be negative: {images!r}.")
            return cls(
                name=str(card["name"]),
                place=str(card.get("place") or ""),
                ages=checked_ages(card.get("ages")),
                views=tuple(str(view) for view in card.get("views") or ()),
                images=counts,
                reference=str(card.get("reference") or ""),
            )
        except ConfigError:
            raise
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise ConfigError(f"A 'validated_on' site is invalid ({error!r}): {card}") from None

    @property
    def image_count(self) -> int:
        """All of this site's images, whatever their use."""
        return sum(self.images.values())


@dataclass(frozen=True)
class ValidatedOn:
    """The card's ``validated_on`` section: the sites a model was trained and validated on."""

    sites: tuple[Site, ...]

    def to_card(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"sites": [site.to_card() for site in self.sites]}

    @classmethod
    def from_card(cls, card: Any) -> ValidatedOn:
        """Inverse of :meth:`to_card`.

        Raises:
            ConfigError: not a ``{"sites": [...]}`` object, or a site is invalid.
        """
        sites = card.get("sites") if isinstance(card, Mapping) else None
        if not isinstance(sites, list) or not sites:
            raise ConfigError(f"'validated_on' must be {{'sites': [one or more]}}, got {card!r}.")
        return cls(tuple(Site.from_card(site) for site in sites))

    @property
    def ages(self) -> tuple[int, int] | None:
        """The age range over all sites; ``None`` when any site's is not recorded (then no
        patient can be said to be outside it)."""
        ranges = [site.ages for site in self.sites]
        if any(ages is None for ages in ranges):
            return None
        known = [ages for ages in ranges if ages is not None]
        return min(low for low, _ in known), max(high for _, high in known)

    def covers_age(self, years: float) -> bool:
        """True when a patient of ``years`` is inside :attr:`ages` (or the range is unknown)."""
        ages = self.ages
        return ages is None or ages[0] <= years < ages[1] + 1
