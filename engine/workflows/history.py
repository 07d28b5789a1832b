"""The prediction history: every prediction shown or batch-run, in a local SQLite database.

Why a database and not a log file: the History view filters by file, label, model and date, and
a batch of thousands of files must stay quick to list; SQLite gives that, plus crash safety, in
one file with no server. The caller chooses the file (the viewer puts it in the user's data
folder, ``QStandardPaths.AppDataLocation``); the engine never decides where it lives.

Durability: every :meth:`History.add` is its own transaction, committed before it returns, in WAL
journal mode with ``synchronous=FULL``. In WAL mode ``NORMAL`` already survives an application
crash (the commit is in the WAL file, which the OS keeps), but a power cut can roll back the last
commits; ``FULL`` also fsyncs the WAL at each commit, so an entry that was shown survives a power
cut too. The price is one fsync per prediction (a few milliseconds), negligible beside the
prediction itself.

Threads: one connection, opened with ``check_same_thread=False`` and used only under a lock, so
the GUI thread and worker threads can share one :class:`History`. Why not a connection per
thread: worker threads come from a pool and outlive the jobs that use them, so their connections
could never be closed by :meth:`History.close`; inserts and queries take milliseconds, so a lock
costs nothing noticeable.

Schema: versioned with ``PRAGMA user_version``; :data:`MIGRATIONS` holds the statements that
bring a database from version ``n`` to ``n + 1``, run in one transaction each when a database is
opened. A database newer than this Hilum is refused rather than guessed at. Nullable columns added
later are a step of their own (:mod:`engine.workflows.history_columns`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from engine.errors import HilumError
from engine.workflows.history_columns import ADDED_COLUMNS, add_missing_columns, stored_verdict
from engine.workflows.history_entry import (
    HistoryEntry,
    checked_source,
)

#: ``MIGRATIONS[n]`` brings a database from ``user_version`` n to n + 1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE predictions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            model_id TEXT NOT NULL,
            probability REAL NOT NULL,
            threshold REAL NOT NULL,
            label TEXT NOT NULL,
            time TEXT NOT NULL,
            source TEXT NOT NULL,
            warnings TEXT NOT NULL DEFAULT '[]'
        )""",
        "CREATE INDEX predictions_time ON predictions (time)",
        "CREATE INDEX predictions_sha256 ON predictions (sha256)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_COLUMNS = "id, path, sha256, model_id, probability, threshold, label, time, source, warnings, " + (
    ", ".join(name for name, _ in ADDED_COLUMNS)
)
#: Why an entry recorded by an older Hilum has no hash (it stored "" and no reason).
_NO_HASH_REASON = "the file could not be read when the entry was recorded (no reason was kept)"
_REMEDY = "Move the file aside (Hilum then starts a new history), or restore it from a backup."


class HistoryError(HilumError):
    """The history database cannot be opened or written.

    Raised when the file is not an SQLite database, is damaged, was written by a newer Hilum, or
    its folder is not writable. The message names the file; the user can move it aside (a new
    history is started) or restore a backup.
    """


def _as_stored_time(moment: datetime) -> str:
    """``moment`` in the stored format; a naive datetime is taken as local time."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _entry(row: tuple[Any, ...]) -> HistoryEntry:
    """An entry from a row selected as ``_COLUMNS``."""
    identifier, path, sha256, model_id, probability, threshold, label, time, source, warnings = row[
        :10
    ]
    return HistoryEntry(
        path=str(path),
        sha256=str(sha256) or None,
        model_id=str(model_id),
        probability=float(probability),
        threshold=float(threshold),
        label=str(label),
        time=str(time),
        source=str(source),
        warnings=tuple(json.loads(warnings)),
        image_source=str(row[10]),
        id=int(identifier),
        hash_error=row[14] if row[14] is not None or sha256 else _NO_HASH_REASON,
        **stored_verdict(row[11:14]),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class History:
    """The history database, open for adding and querying; usable from several threads.

    Args:
        db_path: the SQLite file; created (with its folder) when missing.

    Raises:
        HistoryError: the file cannot be opened, is not a Hilum history, or is from a newer
            Hilum.
    """

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.path = Path(db_path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit transactions; each add() commits on its own.
            self._db = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as error:
            raise HistoryError(
                f"History {self.path}: cannot be opened ({error}). {_REMEDY}"
            ) from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
            add_missing_columns(self._db)
        except sqlite3.Error as error:
            self._db.close()
            raise HistoryError(
                f"History {self.path}: is not a usable history database ({error}). {_REMEDY}"
            ) from None
        except HistoryError:
            self._db.close()
            raise

    def _migrate(self) -> None:
        """Apply the missing :data:`MIGRATIONS`, one transaction per schema version.

        The version is read inside each write transaction, so two processes opening a new
        database at once do not both run the same migration.
        """
        while True:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
                if version > SCHEMA_VERSION:
                    raise HistoryError(
                        f"History {self.path}: was written by a newer Hilum (schema {version}, "
                        f"this one reads up to {SCHEMA_VERSION}). Update Hilum, or choose "
                        "another data folder."
                    )
                if version == SCHEMA_VERSION:
                    self._db.execute("COMMIT")
                    return
                for statement in MIGRATIONS[version]:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {version + 1}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def add(self, entry: HistoryEntry) -> HistoryEntry:
        """Store ``entry`` in its own transaction, durable when this returns.

        Returns:
            The entry with its row id.

        Raises:
            HistoryError: the database cannot be written (disk full, read-only, damaged).
            ValueError: ``entry.source`` is not one of :data:`SOURCES`.
        """
        checked_source(entry.source)
        values = (
            entry.path,
            entry.sha256 or "",  # NOT NULL since schema 1: "" is no hash, hash_error says why
            entry.model_id,
            entry.probability,
            entry.threshold,
            entry.label,
            entry.time,
            entry.source,
            json.dumps(list(entry.warnings)),
            *(getattr(entry, name) for name, _ in ADDED_COLUMNS),
        )
        try:
            with self._lock:
                cursor = self._db.execute(
                    f"INSERT INTO predictions ({_COLUMNS.removeprefix('id, ')}) "
                    f"VALUES ({', '.join('?' * len(values))})",
                    values,
                )
        except sqlite3.Error as error:
            raise HistoryError(
                f"History {self.path}: the prediction for {entry.path} could not be recorded "
                f"({error}). Check the free disk space and that the folder is writable."
            ) from None
        return replace(entry, id=int(cursor.lastrowid or 0))

    def query(
        self,
        *,
        text: str = "",
        label: str | None = None,
        model_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 1000,
    ) -> list[HistoryEntry]:
        """Entries matching every filter given, newest first.

        Args:
            text: part of the file path (case-insensitive for ASCII letters); "" for any.
            label: exact label, or ``None`` for any.
            model_id: exact model id, or ``None`` for any.
            since: earliest time, inclusive (a naive datetime is local time).
            until: latest time, exclusive (a naive datetime is local time).
            limit: at most this many entries, or ``None`` for all.

        Returns:
            The matching entries.
        """
        conditions: list[str] = []
        parameters: list[object] = []
        if text:
            conditions.append("path LIKE ? ESCAPE '\\'")
            parameters.append(f"%{_escape_like(text)}%")
        for column, value in (("label", label), ("model_id", model_id)):
            if value is not None:
                conditions.append(f"{column} = ?")
                parameters.append(value)
        if since is not None:
            conditions.append("time >= ?")
            parameters.append(_as_stored_time(since))
        if until is not None:
            conditions.append("time < ?")
            parameters.append(_as_stored_time(until))
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        sql = f"SELECT {_COLUMNS} FROM predictions {where} ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            parameters.append(int(limit))
        return [_entry(row) for row in self.select(sql, parameters)]

    def model_ids(self) -> list[str]:
        """Every model id in the history, sorted (for a filter list)."""
        sql = "SELECT DISTINCT model_id FROM predictions ORDER BY model_id"
        return [str(row[0]) for row in self.select(sql, [])]

    def count(self) -> int:
        """Number of entries."""
        return int(self.select("SELECT COUNT(*) FROM predictions", [])[0][0])

    def last_id(self) -> int:
        """The newest entry's id, 0 when empty: it changes whenever anyone adds an entry.

        Why: lets a view notice entries added by other parts of the application, or by another
        process such as the CLI, with one cheap query.
        """
        return int(self.select("SELECT COALESCE(MAX(id), 0) FROM predictions", [])[0][0])

    def select(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query under the lock (also for statistics such as source drift).

        Raises:
            HistoryError: the database cannot be read (damaged, closed, removed).
        """
        try:
            with self._lock:
                rows: list[tuple[Any, ...]] = self._db.execute(sql, parameters).fetchall()
        except sqlite3.Error as error:
            raise HistoryError(
                f"History {self.path}: cannot be read ({error}). {_REMEDY}"
            ) from None
        return rows

    @contextmanager
    def transaction(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock, committed (durably) when the block ends.

        For the tables beside ``predictions`` (the arrivals queue, :mod:`engine.workflows.arrivals`)
        whose changes take several statements that must happen together or not at all.

        Args:
            doing: what the block does, for the error message ("queue an arrival").

        Raises:
            HistoryError: the database cannot be written (the block's changes are rolled back).
        """
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
        except sqlite3.Error as error:
            raise HistoryError(
                f"History {self.path}: could not {doing} ({error}). Check the free disk space "
                "and that the folder is writable."
            ) from None

    def close(self) -> None:
        """Close the database (entries are already committed; this only releases the file)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
