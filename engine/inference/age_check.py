"""A warning when the patient is older or younger than the patients a model was validated on.

The age comes from the image's header (:mod:`engine.imaging.patient_age`), the validated range
from the card's ``validated_on`` section (:mod:`engine.modeling.validation_sites`). Either one
unknown gives no warning: Hilum warns about what it knows, and the card summary says when a
model's age range was not recorded.
"""

from __future__ import annotations

from engine.imaging.patient_age import DAYS_PER_YEAR
from engine.modeling.validation_sites import ValidatedOn, ages_in_words


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"


def age_in_words(years: float) -> str:
    """``64.5`` -> ``"about 64 years old"``; under two years in months, under a month in days."""
    if years >= 2:
        return f"about {_count(int(years), 'year')} old"
    if years * 12 >= 1:
        return f"about {_count(int(years * 12), 'month')} old"
    return f"about {_count(int(years * DAYS_PER_YEAR), 'day')} old"


def age_warning(years: float | None, validated: ValidatedOn | None) -> str | None:
    """The warning for a patient of ``years`` outside the validated ages, else ``None``.

    Args:
        years: the patient's age when the image was taken; ``None`` when unknown.
        validated: the model card's ``validated_on``; ``None`` when not recorded.

    Returns:
        E.g. "The patient is about 64 years old; this model was validated on children aged
        1–5 years: its result may not apply."
    """
    if years is None or validated is None or validated.ages is None:
        return None
    if validated.covers_age(years):
        return None
    return (
        f"The patient is {age_in_words(years)}; this model was validated on "
        f"{ages_in_words(validated.ages)}: its result may not apply."
    )
