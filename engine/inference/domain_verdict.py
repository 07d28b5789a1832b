"""The sentence shown instead of a label when an image is outside what the model was validated on.

Two checks can say so, and they say different things to the reader: the chest-radiograph check
(:mod:`engine.inference.ood`: a hip, a mammogram, a lateral view) gives "Not a chest
radiograph"; the domain check (:mod:`engine.modeling.domain_reference`: a chest film unlike the
ones the model was validated on — another hospital, an adult, another unit) gives "Outside what
this model was validated on". Either way the viewer, the report and the triage list show this
sentence where the NORMAL/PNEUMONIA label would be.
"""

from __future__ import annotations

from engine.inference.ood import OodCheck
from engine.modeling.card import ModelCard
from engine.modeling.domain_reference import LIMIT

NOT_CHEST = "Not a chest radiograph"
OUTSIDE = "Outside what this model was validated on"


def validated_on(card: ModelCard) -> str:
    """Where a model's domain check says it was validated, in words: its sources' names."""
    if card.domain_check is None:
        return "the images it was trained on"
    names = [source.name for source in card.domain_check.sources]
    return " and ".join(names)


def outside_sentence(ood: OodCheck, domain_score: float | None, validated: str) -> str | None:
    """The headline for an image a check puts outside, or ``None`` when both let it through.

    Args:
        ood: the chest-radiograph check's result.
        domain_score: the domain check's score (above :data:`LIMIT` is outside), or ``None``.
        validated: :func:`validated_on` of the model's card.
    """
    if ood.out_of_distribution:
        return f"{NOT_CHEST}: " + "; ".join(ood.reasons) + "."
    if domain_score is not None and domain_score > LIMIT:
        return (
            f"{OUTSIDE}: this image's features are unlike those of {validated} "
            f"(domain score {domain_score:.2f}; above {LIMIT:g} is outside). Another hospital, "
            "X-ray unit, age group or kind of film can do this; the model's figures do not "
            "apply here."
        )
    return None


#: The verdicts of :func:`verdict`, as list columns show them.
VALIDATED = "Validated"
NO_DOMAIN_CHECK = "No domain check"
NOT_CHEST_VERDICT = "Not chest"
OUTSIDE_VERDICT = "Outside"


def headline(outside: str) -> str:
    """The short headline of an :func:`outside_sentence`: :data:`NOT_CHEST` or :data:`OUTSIDE`.

    Why: the reading room shows it in large type where the label would be, with the full
    sentence beneath.
    """
    return NOT_CHEST if outside.startswith(NOT_CHEST) else OUTSIDE


def verdict(outside: str | None, in_domain: bool | None) -> str:
    """The checks' verdict in a word or two, for a column of the triage list or the history.

    Args:
        outside: the prediction's :func:`outside_sentence` (``None`` when both checks passed).
        in_domain: the domain check's verdict, ``None`` when no domain check ran (a model
            without one, or an entry recorded before Hilum had it).

    Returns:
        :data:`NOT_CHEST_VERDICT` or :data:`OUTSIDE_VERDICT` when a check put the image
        outside; else :data:`VALIDATED`, or :data:`NO_DOMAIN_CHECK` when only the
        chest-radiograph check could speak.
    """
    if outside is not None:
        return NOT_CHEST_VERDICT if headline(outside) == NOT_CHEST else OUTSIDE_VERDICT
    return VALIDATED if in_domain else NO_DOMAIN_CHECK
