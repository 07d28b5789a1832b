"""The arrivals queue: images received over the network wait here, durably, for their prediction.

Why a table in the history database (``arrivals``, added when missing by
:mod:`engine.workflows.history_columns`) and not a list in memory: a modality may delete its copy
once Hilum answers "success", so from then on Hilum is the only keeper of the image, and an
in-memory list lost the arrivals that a user's batch cancelled or that were waiting when the
application died. The row is written, and committed, on the network thread before the sender
hears "success"; it goes only when the image's prediction is recorded next to it, in the same
database.

Life of a row: :meth:`ArrivalQueue.enqueue` (waiting) -> :meth:`~ArrivalQueue.claim` (the worker
about to predict it marks it with its queue's token) -> :meth:`~ArrivalQueue.complete` (deleted
once its prediction is recorded, or its error row listed). A batch that stops early (the
application closing) releases what it claimed; claims left by a process that died are returned
to waiting by :meth:`~ArrivalQueue.recover` when the next one starts. So an arrival is predicted
at least once: a crash between recording its prediction and completing its row predicts it again
after the restart (a second history entry, never a lost image).
"""

from __future__ import annotations

import os
import queue
import uuid
from dataclasses import dataclass
from pathlib import Path

from engine.progress import OnProgress, ShouldStop, never_stop
from engine.workflows.history import History
from engine.workflows.history_entry import utc_now
from engine.workflows.triage import BatchPredict, TriageRow, TriageSummary, triage

#: Arrivals predicted per batch: small enough that a user's batch waits little for its turn.
CLAIM_LIMIT = 32


@dataclass(frozen=True)
class Arrival:
    """One image received over the network and waiting for its prediction.

    Attributes:
        path: the received file.
        sender: the calling AE title it came from.
        received: when it was queued (UTC ISO 8601).
    """

    path: Path
    sender: str
    received: str


class ArrivalQueue:
    """The ``arrivals`` table of ``history``; usable from several threads (the history's lock).

    Args:
        history: the open history database.
    """

    def __init__(self, history: History) -> None:
        self.history = history
        self._token = f"{os.getpid()}-{uuid.uuid4().hex}"  # this queue's claims

    def enqueue(self, path: str | os.PathLike[str], sender: str = "") -> None:
        """Queue ``path`` for prediction, durable when this returns (network thread).

        An image received again (same file) waits again, once.

        Raises:
            HistoryError: the database cannot be written.
        """
        with self.history.transaction(f"queue {path} for prediction") as db:
            db.execute(
                "INSERT INTO arrivals (path, sender, received) VALUES (?, ?, ?) "
                "ON CONFLICT (path) DO UPDATE SET sender = excluded.sender, "
                "received = excluded.received, claimed = NULL",
                (str(path), sender, utc_now()),
            )

    def claim(self, limit: int = CLAIM_LIMIT) -> list[Arrival]:
        """Take up to ``limit`` waiting arrivals, oldest first, for this queue to predict.

        Raises:
            HistoryError: the database cannot be written.
        """
        with self.history.transaction("claim arrivals for prediction") as db:
            rows = db.execute(
                "UPDATE arrivals SET claimed = ? WHERE id IN "
                "(SELECT id FROM arrivals WHERE claimed IS NULL ORDER BY id LIMIT ?) "
                "RETURNING id, path, sender, received",
                (self._token, int(limit)),
            ).fetchall()
        return [Arrival(Path(path), sender, received) for _, path, sender, received in sorted(rows)]

    def complete(self, path: str | os.PathLike[str]) -> None:
        """Remove ``path``, claimed by this queue, once its prediction is recorded.

        An arrival received again since it was claimed stays: its new copy waits.

        Raises:
            HistoryError: the database cannot be written.
        """
        with self.history.transaction(f"mark {path} as predicted") as db:
            db.execute(
                "DELETE FROM arrivals WHERE path = ? AND claimed = ?", (str(path), self._token)
            )

    def release(self) -> None:
        """Return this queue's unfinished claims to waiting (a batch stopped early).

        Raises:
            HistoryError: the database cannot be written.
        """
        with self.history.transaction("return unpredicted arrivals to the queue") as db:
            db.execute("UPDATE arrivals SET claimed = NULL WHERE claimed = ?", (self._token,))

    def recover(self) -> int:
        """Return the claims of queues that are gone (a process that died) to waiting; call it
        once at start-up, before claiming.

        Returns:
            How many arrivals wait for their prediction.

        Raises:
            HistoryError: the database cannot be written.
        """
        with self.history.transaction("recover the arrivals of the last session") as db:
            db.execute(
                "UPDATE arrivals SET claimed = NULL WHERE claimed IS NOT NULL AND claimed != ?",
                (self._token,),
            )
            waiting = db.execute("SELECT COUNT(*) FROM arrivals WHERE claimed IS NULL")
            return int(waiting.fetchone()[0])

    def pending(self) -> list[Arrival]:
        """Every arrival not yet predicted (waiting or claimed), oldest first.

        Raises:
            HistoryError: the database cannot be read.
        """
        rows = self.history.select("SELECT path, sender, received FROM arrivals ORDER BY id")
        return [Arrival(Path(path), str(sender), str(received)) for path, sender, received in rows]


def predict_arrivals(
    arrivals: ArrivalQueue,
    predict: BatchPredict,
    sink: queue.SimpleQueue[TriageRow],
    history: History | None,
    *,
    on_progress: OnProgress,
    should_stop: ShouldStop,
    give_way: ShouldStop = never_stop,
    limit: int = CLAIM_LIMIT,
) -> TriageSummary:
    """Predict the waiting arrivals until none waits; worker side.

    Claims them ``limit`` at a time and triages each lot
    (:func:`engine.workflows.triage.triage`), completing each arrival once its prediction is
    recorded. What was claimed and not completed (stopped early, or its prediction could not be
    recorded) waits again afterwards.

    Args:
        give_way: checked between lots: True when a user's batch waits for its turn (the lot
            in hand is finished, the rest keeps waiting in the queue).
        limit: arrivals claimed at a time.

    Returns:
        How the batch ended (``total`` 0: nothing was waiting).

    Raises:
        HistoryError: the queue cannot be read or written.
    """
    total = done = 0
    history_error = ""
    try:
        while not should_stop() and not give_way():
            claimed = arrivals.claim(limit)  # never those claimed before: they stay claimed
            if not claimed:
                break
            lot = triage(
                [arrival.path for arrival in claimed],
                predict,
                sink,
                history,
                on_progress=on_progress,
                should_stop=should_stop,
                calling_aes={arrival.path: arrival.sender for arrival in claimed},
                on_done=arrivals.complete,
            )
            total, done = total + lot.total, done + lot.done
            history_error = history_error or lot.history_error
    finally:
        arrivals.release()
    return TriageSummary(total, done, done < total, history_error)
