"""Columns added to the history's predictions table after it was created, and the step that adds
them to an older database.

Why a step of its own, keyed on the columns present rather than on ``PRAGMA user_version`` (the
numbered migrations of :mod:`engine.workflows.history`): the columns are nullable and additive,
so an entry recorded before reads them as ``None`` ("not recorded"), and an older Hilum, which
names the columns it writes, keeps reading and writing the database; and the numbered migrations
stay free for new tables.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

#: Nullable columns added to ``predictions`` when missing (:func:`add_missing_columns`): the
#: checks' verdict of each prediction (``Prediction.in_domain``, ``domain_score``, ``outside``).
ADDED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("in_domain", "INTEGER"),
    ("domain_score", "REAL"),
    ("outside", "TEXT"),
)


def add_missing_columns(db: sqlite3.Connection) -> None:
    """Add the :data:`ADDED_COLUMNS` that ``predictions`` lacks, in one transaction.

    The columns present are read inside the write transaction, so two processes opening an
    older database at once do not both add the same column.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        present = {row[1] for row in db.execute("PRAGMA table_info(predictions)")}
        for name, kind in ADDED_COLUMNS:
            if name not in present:
                db.execute(f"ALTER TABLE predictions ADD COLUMN {name} {kind}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def stored_verdict(values: Sequence[Any]) -> dict[str, Any]:
    """The :class:`~engine.workflows.history.HistoryEntry` fields of the added columns' values
    as read (in :data:`ADDED_COLUMNS` order): SQLite's integer read back as a bool."""
    in_domain, domain_score, outside = values
    return {
        "in_domain": None if in_domain is None else bool(in_domain),
        "domain_score": None if domain_score is None else float(domain_score),
        "outside": None if outside is None else str(outside),
    }
