"""The columns the triage list and the history share for a prediction's result and the checks'
verdict.

A record (``engine.workflows.triage.TriageRow``, ``engine.workflows.history.HistoryEntry``) has
``probability`` (``None`` on error), ``label``, ``outside`` and ``in_domain``. What of it is shown
is decided by :class:`viewer.disclosure.Disclosure`, as in the reading room, except that a list
has no reveal: an image outside what the model was validated on gets no label, and its
probability is greyed and marked unvalidated.
"""

from __future__ import annotations

from typing import Any

from engine.inference.domain_verdict import verdict
from viewer.disclosure import Disclosure
from viewer.widgets.record_table import MISSING, Column

#: What a list shows in the label's place for an image outside what the model was validated on.
NO_LABEL = "—"


def _unvalidated(record: Any) -> bool:
    return not Disclosure.of(record).shows_result


def _probability(record: Any) -> str:
    if record.probability is None:
        return ""
    return Disclosure.of(record).mark(f"{record.probability:.3f}")


def _why(record: Any) -> str:
    return record.outside or ""


def outside_group(record: Any) -> int:
    """The group a list keeps a record in: 0 when its result is shown, 1 when the image is
    outside what the model was validated on (sorted after the others)."""
    return int(_unvalidated(record))


def probability_column() -> Column:
    """Probability, sorted as a number (errors below every value), greyed and marked
    unvalidated for an image outside."""
    return Column(
        "Probability",
        _probability,
        key=lambda r: MISSING if r.probability is None else r.probability,
        tooltip=_why,
        numeric=True,
        width=150,
        muted=_unvalidated,
    )


def label_column(missing: str = "") -> Column:
    """The label, or :data:`NO_LABEL` for an image outside; ``missing`` when there is none (an
    error row)."""
    return Column(
        "Label",
        lambda r: NO_LABEL if _unvalidated(r) else (r.label or missing),
        tooltip=_why,
    )


def verdict_column() -> Column:
    """The checks' verdict in a word or two ("Validated", "Not chest", "Outside", "No domain
    check"; "" on error), the full sentence as tooltip."""
    return Column(
        "Verdict",
        lambda r: "" if r.probability is None else verdict(r.outside, r.in_domain),
        tooltip=_why,
        width=120,
        muted=_unvalidated,
    )
