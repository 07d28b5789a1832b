"""Progress of a training queue: one bar per variant and one overall, each with an ETA.

The ETA extrapolates the elapsed time linearly over the batches done (epochs x batches per
epoch). Early stopping can only make the real end sooner.
"""

from __future__ import annotations

import time

from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QWidget

from engine.progress import Progress

_STEPS = 1000


def format_seconds(seconds: float) -> str:
    """``"1 h 02 min"``, ``"3 min 05 s"`` or ``"12 s"``."""
    whole = max(round(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def fraction_done(report: Progress) -> float:
    """Share of a training run finished after ``report`` (epochs and batches), in [0, 1]."""
    if not report.total or not report.epoch or not report.epochs:
        return 0.0
    batches = (report.epoch - 1) * report.total + report.done
    return min(batches / (report.epochs * report.total), 1.0)


def eta(elapsed: float, fraction: float) -> str:
    """Time left when ``fraction`` of the work took ``elapsed`` seconds."""
    if fraction <= 0.0:
        return "estimating…"
    return f"about {format_seconds(elapsed / fraction * (1.0 - fraction))} left"


class TrainingProgress(QWidget):
    """Rows of (variant, progress bar, status) and an overall row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._grid = QGridLayout(self)
        self._grid.setColumnStretch(1, 1)
        self.overall = QProgressBar()
        self.overall.setRange(0, _STEPS)
        self.overall_status = QLabel("Not started.")
        self.bars: list[QProgressBar] = []
        self.statuses: list[QLabel] = []
        self._names: list[str] = []
        self._started = 0.0
        self._variant_started = 0.0

    def start(self, names: list[str]) -> None:
        """Show one row per variant about to train, all at zero."""
        while self._grid.count():
            widget = self._grid.takeAt(0).widget()
            if widget is not None and widget not in (self.overall, self.overall_status):
                widget.deleteLater()
        self._names = list(names)
        self.bars, self.statuses = [], []
        for row, name in enumerate(names):
            bar = QProgressBar()
            bar.setRange(0, _STEPS)
            status = QLabel("waiting")
            self._grid.addWidget(QLabel(name), row, 0)
            self._grid.addWidget(bar, row, 1)
            self._grid.addWidget(status, row, 2)
            self.bars.append(bar)
            self.statuses.append(status)
        self._grid.addWidget(QLabel("<b>overall</b>"), len(names), 0)
        self._grid.addWidget(self.overall, len(names), 1)
        self._grid.addWidget(self.overall_status, len(names), 2)
        self.overall.setValue(0)
        self.overall_status.setText("starting…")
        self._started = self._variant_started = time.monotonic()

    def begin(self, index: int) -> None:
        """Variant ``index`` starts now."""
        self._variant_started = time.monotonic()
        self.statuses[index].setText("preparing data and model…")

    def update(self, index: int, report: Progress) -> None:
        """Move variant ``index``'s bar and the overall bar after a progress report."""
        fraction = fraction_done(report)
        now = time.monotonic()
        self.bars[index].setValue(round(fraction * _STEPS))
        left = eta(now - self._variant_started, fraction)
        self.statuses[index].setText(f"{report.message} · {left}")
        overall = (index + fraction) / max(len(self._names), 1)
        self.overall.setValue(round(overall * _STEPS))
        self.overall_status.setText(eta(now - self._started, overall))

    def end(self, index: int, text: str, *, complete: bool) -> None:
        """Variant ``index`` ended: ``text`` says how; a complete one shows a full bar."""
        if complete:
            self.bars[index].setValue(_STEPS)
        self.statuses[index].setText(text)

    def finish(self, text: str) -> None:
        """The queue ended: ``text`` says how (e.g. "finished", "cancelled")."""
        if all(bar.value() == _STEPS for bar in self.bars):
            self.overall.setValue(_STEPS)
        self.overall_status.setText(
            f"{text} after {format_seconds(time.monotonic() - self._started)}"
        )
