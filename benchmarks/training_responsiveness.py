"""How long the viewer's event loop stalls while the Training tab trains (target: max <= 100 ms).

Why a script and not a test: the figure depends on the machine's load (issue 11, item 6); the
test keeps only checks that load cannot break, and this prints the number to read.

The Training tab trains ``--variants`` (default ``dense cnn``, two epochs at 64 px) on a tiny
real data folder (48 images linked from ../shared/data/chest_xray/train) in an offscreen
QApplication, exactly as the viewer does, with TensorFlow imported in the GUI process as in the
viewer. A ``QTimer`` ticks every ``--interval`` ms on the GUI thread; a gap is the time between two
ticks, so an idle loop shows gaps of about the interval and a stall shows as one long gap. The
same tab is first measured idle for ``--idle`` seconds: what the machine's load alone does.

Printed per phase: ticks, median, p99 and max gap, the gaps over the target, how long the GUI
thread waited for a CPU per second (Linux schedstat: the machine's load), and the longest time
the GUI thread itself ran between two ticks (Hilum's own work on the GUI thread). With
``--diagnose``, every gap over the target is listed (split into running / waiting for a CPU, and
the training event before it), with where a watchdog thread found the GUI thread's Python stack.

``--busy N`` starts N busy-loop processes, each in its own session like another program, for the
whole run: ``--busy 2`` keeps both cores of the CI machine busy.

Usage::

    .venv/bin/python benchmarks/training_responsiveness.py [--busy 2] [--diagnose] [--runs 1]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from benchmarks.stall_sampling import StallSampler, scheduling, thread_cpu  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
TRAIN = Path(os.environ.get("HILUM_SHARED_DATA", REPO.parent / "shared" / "data")) / (
    "chest_xray/train"
)
TARGET_MS = 100.0


def tiny_data_folder(root: Path) -> Path:
    """24 NORMAL + 24 PNEUMONIA real training images, linked under ``root`` (as the tests do)."""
    for name in ("NORMAL", "PNEUMONIA"):
        (root / name).mkdir(parents=True)
        for source in sorted((TRAIN / name).iterdir())[::40][:24]:
            (root / name / source.name).symlink_to(source)
    return root


def _spin() -> None:
    """Burn a core as another program would (its own session, hence its own scheduling group)."""
    os.setsid()
    while True:
        pass


class GapMeter:
    """A GUI-thread ``QTimer`` ticking every ``interval_ms``; records the gaps between ticks."""

    def __init__(self, interval_ms: int) -> None:
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self.ends: list[float] = []
        self.split: list[tuple[float, float]] = []
        self._sched = scheduling()
        self.last = [time.perf_counter()]
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        ran, waited = scheduling()
        self.gaps.append((now - self.last[0]) * 1000)
        self.ends.append(now)
        self.split.append((ran - self._sched[0], waited - self._sched[1]))
        self.last[0] = now
        self._sched = (ran, waited)

    def stalls(self, above_ms: float) -> list[tuple[float, float, float, float]]:
        """Every gap above ``above_ms``: (when it ended, its length, the GUI thread's running
        time in it, its time waiting for a CPU in it), times in ms except the first."""
        return [
            (end, gap, ran, waited)
            for end, gap, (ran, waited) in zip(self.ends, self.gaps, self.split, strict=True)
            if gap > above_ms
        ]

    def start(self) -> None:
        self._timer.start()
        self.last[0] = time.perf_counter()
        self._sched = scheduling()

    def stop(self) -> list[float]:
        self._timer.stop()
        return self.gaps


def run_loop(until: Callable[[], bool]) -> None:
    """Run the Qt event loop until ``until()`` is true (checked every 50 ms)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    check = QTimer()
    check.setInterval(50)
    check.timeout.connect(lambda: loop.quit() if until() else None)
    check.start()
    loop.exec()
    check.stop()


def run_for(seconds: float) -> None:
    """Run the Qt event loop for ``seconds``."""
    ends = time.perf_counter() + seconds
    run_loop(lambda: time.perf_counter() > ends)


def one_run(options: argparse.Namespace) -> tuple[GapMeter, GapMeter]:
    """Measure the idle tab for ``options.idle`` s, then train; return both phases' gaps (ms)."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from engine.modeling.variants import list_variants
    from engine.runtime import tensorflow
    from viewer.settings import Settings, TrainingSettings
    from viewer.training.training_tab import TrainingTab

    QApplication.instance() or QApplication(sys.argv[:1])
    tensorflow()  # as in the viewer, whose reading room holds a model: not part of the figure
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(QSettings(str(Path(scratch) / "hilum.ini"), QSettings.Format.IniFormat))
        stored = TrainingSettings(settings)
        stored.model_folder = Path(scratch) / "models"
        stored.parameter_counts = {spec.name: 1 for spec in list_variants()}
        tab = TrainingTab(settings)
        tab.resize(1400, 900)
        tab.show()
        scanned: list[object] = []
        tab.dataset.scanned.connect(scanned.append)
        tab.set_data_folder(tiny_data_folder(Path(scratch) / "data"))
        run_loop(lambda: bool(scanned))
        tab.variants.set_checked(options.variants)
        tab.form.epochs.setValue(options.epochs)
        tab.form.image_size.setValue(64)
        tab.form.batch_size.setValue(8)
        tab.form.augmentation.setChecked(False)
        # The same tab, not training: what the machine's load alone does to the event loop
        # (the class-balance chart drawn after the scan is left out by a one-second settle).
        run_for(1.0)
        idle = GapMeter(options.interval)
        idle.start()
        run_for(options.idle)
        idle.stop()

        done: list[bool] = []
        tab.training_finished.connect(done.append)
        events: list[tuple[float, str]] = []

        def note(text: str) -> None:
            events.append((time.perf_counter(), text))

        tab.progressed.connect(
            lambda name, report: (
                note(f"{name} {report.message}") if report.done in (1, report.total) else None
            )
        )
        tab.variant_finished.connect(lambda name, _: note(f"{name} finished"))
        tab.curves.rendered.connect(lambda: note("curves shown"))
        meter = GapMeter(options.interval)
        sampler = StallSampler(meter.last) if options.diagnose else None
        meter.start()
        if sampler is not None:
            sampler.start()
        cpu_before, wall_before = thread_cpu(), time.perf_counter()
        tab.start_training()
        run_loop(lambda: bool(done))
        meter.stop()
        note("end")
        for at, gap, ran, waited in meter.stalls(TARGET_MS) if options.diagnose else []:
            before = [e for e in events if e[0] <= at] or [(wall_before, "start")]
            print(
                f"  {gap:.0f} ms gap ({ran:.0f} ms running, {waited:.0f} ms waiting for a CPU) "
                f"{at - wall_before:.1f} s in, {at - before[-1][0]:.1f} s after "
                f"'{before[-1][1]}'"
            )
        wall = time.perf_counter() - wall_before
        used = {k: v - cpu_before.get(k, 0.0) for k, v in thread_cpu().items()}
        busiest = sorted(used.items(), key=lambda item: -item[1])[:4]
        print(
            f"  GUI process CPU while training: {sum(used.values()):.1f} s over {wall:.1f} s ("
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in busiest)
            + ")"
        )
        if sampler is not None:
            sampler.stop()
            print(sampler.report())
        tab.shutdown()
        tab.close()
        if done != [False]:
            raise RuntimeError(f"training did not finish normally: {tab.reason.text()}")
    return idle, meter


def percentile(values: list[float], share: float) -> float:
    """The ``share`` (0-1) quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def describe(meter: GapMeter) -> str:
    """Median, p99 and max gap, how many exceed the target, and the GUI thread's own share."""
    gaps = meter.gaps
    over = sorted(round(g) for g in gaps if g > TARGET_MS)
    seconds = sum(gaps) / 1000
    waited = sum(w for _, w in meter.split)
    worst_work = max(r for r, _ in meter.split)
    return (
        f"{len(gaps)} ticks: median {percentile(gaps, 0.5):.0f} ms, p99 "
        f"{percentile(gaps, 0.99):.0f} ms, max {max(gaps):.0f} ms; {len(over)} over "
        f"{TARGET_MS:.0f} ms {over[-6:]}; GUI thread waited for a CPU {waited / seconds:.0f} "
        f"ms/s, longest own work between ticks {worst_work:.0f} ms"
    )


def main() -> int:
    """Run the measurement and print the figures; exit 1 when max gap > target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", nargs="+", default=["dense", "cnn"])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--interval", type=int, default=20, help="timer interval in ms")
    parser.add_argument("--idle", type=float, default=15.0, help="seconds measured idle first")
    parser.add_argument("--busy", type=int, default=0, help="busy-loop processes to add")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--diagnose", action="store_true", help="sample the stalled GUI stack")
    options = parser.parse_args()
    if not TRAIN.is_dir():
        print(f"needs the real training images at {TRAIN} (set HILUM_SHARED_DATA)")
        return 2
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(options.busy)]
    for spinner in spinners:
        spinner.start()
    worst = 0.0
    try:
        for run in range(1, options.runs + 1):
            idle, training = one_run(options)
            worst = max(worst, max(training.gaps))
            print(
                f"run {run} ({options.busy} busy processes, load average "
                f"{os.getloadavg()[0]:.1f}, interval {options.interval} ms)\n"
                f"  idle tab, same load:   {describe(idle)}\n"
                f"  training {'+'.join(options.variants):9s}: {describe(training)}"
            )
    finally:
        for spinner in spinners:
            spinner.terminate()
            spinner.join()
    verdict = "OK" if worst <= TARGET_MS else "TOO SLOW"
    print(f"max gap while training {worst:.0f} ms (target <= {TARGET_MS:.0f} ms): {verdict}")
    return 0 if worst <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
