"""Progress reports and cancellation for long engine work, as plain callables.

Long functions (training, evaluation, batch prediction, triage) take ``on_progress`` and
``should_stop`` keyword arguments. They never see a Qt object: the viewer's job runner adapts
these to signals, the CLI to a terminal progress bar, tests to lists.

One cancellation convention. ``should_stop()`` is polled between units of work (a batch, a
file); once it returns True the function stops there and nothing half-written is left. Cancelling
is a normal outcome, not an error: work whose partial result is still useful returns it, marked
(``TrainingResult.cancelled``, ``TriageSummary.cancelled``, a generator that simply ends); work
whose partial result would mislead (the metrics of half an evaluation set) raises
:class:`Cancelled`, which callers treat as "stopped by the user", never as a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from engine.errors import HilumError


class Cancelled(HilumError):
    """``should_stop()`` returned True and the work's partial result would mislead: nothing was
    written. A normal outcome of the user's Cancel, not a failure."""


@dataclass(frozen=True)
class Progress:
    """One progress report.

    Attributes:
        stage: what is running, e.g. ``"train"``, ``"evaluate"``, ``"predict"``.
        done: units finished (batches, images, ...).
        total: units expected, or ``None`` when unknown.
        message: a short human-readable line ("epoch 3/10", a file name, ...).
        metrics: latest numeric values (loss, val_auc, ...), for live curves.
        epoch: current epoch (1-based) when training, else ``None``.
        epochs: planned epochs when training, else ``None``.
        final_of_epoch: True on the report that closes an epoch (metrics hold validation values).
    """

    stage: str
    done: int
    total: int | None
    message: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)
    epoch: int | None = None
    epochs: int | None = None
    final_of_epoch: bool = False

    @property
    def fraction(self) -> float | None:
        """``done / total`` in [0, 1], or ``None`` when the total is unknown."""
        if not self.total:
            return None
        return min(max(self.done / self.total, 0.0), 1.0)


OnProgress = Callable[[Progress], None]
ShouldStop = Callable[[], bool]


def ignore_progress(_: Progress) -> None:
    """The default ``on_progress``: report nothing."""


def never_stop() -> bool:
    """The default ``should_stop``: run to the end."""
    return False
