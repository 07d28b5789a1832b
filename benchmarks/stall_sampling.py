"""Finding what keeps the GUI thread from ticking: shared by the responsiveness benchmarks.

:class:`StallSampler` is a watchdog thread that, while the GUI thread has not ticked for
``after_ms``, records the GUI thread's Python stack and (with ``all_threads``) where every other
thread of the process is at that moment: a GUI thread found in the event loop's wait with another
thread in a long C call is waiting for Python's lock; one found in Hilum's code is doing its own
work. :func:`thread_cpu` gives each thread's CPU time, to see which threads compete for the lock.
"""

from __future__ import annotations

import collections
import os
import sys
import threading
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _where(frame: object, depth: int) -> str:
    """The last ``depth`` of Hilum's frames of a stack, then its innermost frames."""
    stack = traceback.extract_stack(frame)  # type: ignore[arg-type]
    ours = [f for f in stack if str(REPO) in f.filename][-depth:]
    shown = [*ours, *(f for f in stack[-depth:] if f not in ours)]
    return "\n".join(f"    {f.filename}:{f.lineno} {f.name}" for f in shown)


class StallSampler:
    """A watchdog thread: while the GUI thread has not ticked for ``after_ms``, record its stack
    (and, with ``all_threads``, the other threads' stacks, by thread name).

    ``last_tick`` is a one-element list the GUI thread's timer updates with ``time.perf_counter()``.
    """

    def __init__(
        self, last_tick: list[float], after_ms: float = 40.0, all_threads: bool = False
    ) -> None:
        self._last = last_tick
        self._after = after_ms / 1000
        self._all = all_threads
        self._main = threading.main_thread().ident
        self._stop = threading.Event()
        self.samples: collections.Counter[str] = collections.Counter()
        self.others: collections.Counter[str] = collections.Counter()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        own = threading.get_ident()
        while not self._stop.wait(0.01):
            if time.perf_counter() - self._last[0] < self._after:
                continue
            frames = sys._current_frames()
            frame = frames.get(self._main or 0)
            if frame is not None:
                self.samples[_where(frame, 3)] += 1
            if not self._all:
                continue
            names = {t.ident: t.name for t in threading.enumerate()}
            for ident, other in frames.items():
                if ident not in (own, self._main):
                    self.others[f"  [{names.get(ident, ident)}]\n{_where(other, 2)}"] += 1

    def report(self, most: int = 6) -> str:
        """The most frequent stalled GUI stacks, then the other threads' most frequent ones."""
        lines = [
            f"  stalled GUI thread seen {n}x at:\n{s}" for s, n in self.samples.most_common(most)
        ]
        lines += [f"  meanwhile seen {n}x:\n{s}" for s, n in self.others.most_common(most)]
        return "\n".join(lines)


def scheduling() -> tuple[float, float]:
    """The calling thread's time on a CPU and time runnable but waiting for one, in ms (Linux
    schedstat; zeros elsewhere)."""
    try:
        ran, waited, _ = Path("/proc/thread-self/schedstat").read_text().split()
    except (OSError, ValueError):
        return 0.0, 0.0
    return int(ran) / 1e6, int(waited) / 1e6


def thread_cpu() -> dict[str, float]:
    """CPU seconds used so far by each thread of this process, by thread name (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = collections.Counter()
    for task in Path("/proc/self/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[name] += (int(fields[11]) + int(fields[12])) / ticks
    return used
