"""Columns and tables added to the history after schema 1, each only when missing.

Why not numbered migrations (:data:`engine.workflows.history.MIGRATIONS`): features built at the
same time on separate branches each add columns; two numbered "version 2" steps would clash, and a
database upgraded by one branch would be refused or skipped by the other. An "add if missing" step
is idempotent: whichever change lands first adds a column, the other's step for the same name does
nothing, and a database touched by either opens under both. Run under a write lock
(``BEGIN IMMEDIATE``), so two processes opening the history at once do not both add a column.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

#: (name, declaration) of each column added when missing. ``image_source``: where the image came
#: from (:func:`engine.workflows.source_drift.image_source`), "" for entries recorded before.
#: The checks' verdict of each prediction (``Prediction.in_domain``, ``domain_score``,
#: ``outside``): ``in_domain`` 1 / 0, NULL for a model without a domain check (and before).
ADDED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("image_source", "TEXT NOT NULL DEFAULT ''"),
    ("in_domain", "INTEGER"),
    ("domain_score", "REAL"),
    ("outside", "TEXT"),
    ("hash_error", "TEXT"),
)
#: ``hash_error``: why the file could not be hashed when the entry was recorded (NULL when it
#: was; ``sha256`` is then "", schema 1 declared it NOT NULL).
#: The added columns that hold the verdict, in the order :func:`stored_verdict` reads them.
VERDICT_COLUMNS = ("in_domain", "domain_score", "outside")

#: Indexes the added columns need (the per-source statistics read a source's newest rows).
ADDED_INDEXES = (
    "CREATE INDEX IF NOT EXISTS predictions_image_source ON predictions (image_source, id)",
)

#: Tables added after schema 1. ``arrivals``: the images received over the network that wait
#: for their prediction (:mod:`engine.workflows.arrivals`); ``claimed`` names the queue that is
#: predicting a row (NULL while it waits).
ADDED_TABLES = (
    """CREATE TABLE IF NOT EXISTS arrivals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL UNIQUE,
        sender TEXT NOT NULL DEFAULT '',
        received TEXT NOT NULL,
        claimed TEXT
    )""",
)


def add_missing_columns(db: sqlite3.Connection) -> None:
    """Add every column of :data:`ADDED_COLUMNS` that ``predictions`` lacks, and every table of
    :data:`ADDED_TABLES` that is missing, in one transaction.

    Args:
        db: an open connection in autocommit mode (``isolation_level=None``) whose database has
            the ``predictions`` table.

    Raises:
        sqlite3.Error: the database cannot be written (the caller names the file).
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        present = {row[1] for row in db.execute("PRAGMA table_info(predictions)")}
        for name, declaration in ADDED_COLUMNS:
            if name not in present:
                db.execute(f"ALTER TABLE predictions ADD COLUMN {name} {declaration}")
        for statement in (*ADDED_TABLES, *ADDED_INDEXES):
            db.execute(statement)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def stored_verdict(values: Sequence[Any]) -> dict[str, Any]:
    """The :class:`~engine.workflows.history.HistoryEntry` fields of the added columns' values
    as read (in :data:`VERDICT_COLUMNS` order): SQLite's integer read back as a bool."""
    in_domain, domain_score, outside = values
    return {
        "in_domain": None if in_domain is None else bool(in_domain),
        "domain_score": None if domain_score is None else float(domain_score),
        "outside": None if outside is None else str(outside),
    }
