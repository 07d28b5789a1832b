"""DICOM receive: 200 instances in one storescu association, and receive-to-prediction latency.

Why a script and not a test: timings depend on the machine and its load; the targets of issue 13
are checked by reading these figures, not by a flaky assertion.

Measures, with DCMTK's ``storescu`` as the sending X-ray unit, over loopback:

1. **Burst, headless**: 200 copies of the NEMA RG1 chest CR (1955 x 1841, 15-bit, uncompressed,
   7 MB; each with its own SOP Instance UID, 10 studies of 20) sent in one association to
   :class:`engine.pacs.scp.StorageListener`: wall time, images/s, MB/s; then checks that all 200
   are on disk, that each one's pixel data is byte-identical to the source's, and that no
   temporary file is left.
2. **Burst into the viewer** (offscreen main window, listener on, model loaded): the same 200
   instances; the longest stall of the GUI event loop while they arrive and are predicted (a
   10 ms timer records the gaps between its ticks), and the time until all 200 rows are in the
   triage list.
3. **Receive-to-prediction**, warm: one chest CR sent at a time into the viewer; from the start
   of storescu to the image's row (probability) appearing in the triage list, median of ``--runs``;
   split into transfer (storescu's run) and arrival-to-row.

With ``--diagnose``, every stall over 100 ms of the burst is listed, split into the GUI thread's
own work, its time runnable but waiting for a CPU and its time blocked (on Python's lock or
another), and a watchdog thread (:mod:`benchmarks.stall_sampling`) prints where the GUI thread and
the other threads were while it stalled. ``--skip-headless`` leaves out measurement 1.
``--history-tab`` shows the History tab during the burst, so that it re-reads the growing history
every second (on its reader thread) while the triage list commits each prediction.

Usage::

    .venv/bin/python benchmarks/pacs_receive.py [--count 200] [--runs 5] [--model DIR]
        [--diagnose] [--skip-headless] [--history-tab]

(``HILUM_SHARED_DATA`` points at the real data when it is not in ../shared/data.)

Targets: all 200 on disk and byte-identical; the GUI responsive throughout (stalls compared with
the same window idle); receive-to-prediction <= 1 s (warm).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pydicom  # noqa: E402
from pydicom.uid import generate_uid  # noqa: E402

from benchmarks.stall_sampling import StallSampler, scheduling  # noqa: E402
from engine.atomic_files import is_partial  # noqa: E402
from engine.pacs.nodes import AllowedCaller, ListenerSettings  # noqa: E402
from engine.pacs.scp import StorageListener  # noqa: E402

SHARED_DATA = Path(os.environ.get("HILUM_SHARED_DATA", REPO.parent / "shared" / "data"))
SOURCE = SHARED_DATA / "dicom" / "RG1_UNCR.dcm"
DEFAULT_MODEL = REPO / "resources" / "models" / "default"
SENDER = "XRAY1"


def pixel_digest(path: Path) -> str:
    return hashlib.sha256(bytes(pydicom.dcmread(path).PixelData)).hexdigest()


def make_instances(source: Path, count: int, folder: Path, per_study: int = 20) -> list[Path]:
    """``count`` copies of ``source`` with new SOP Instance UIDs, ``per_study`` per study."""
    dataset = pydicom.dcmread(source)
    paths = []
    for number in range(count):
        if number % per_study == 0:
            dataset.StudyInstanceUID = generate_uid()
            dataset.SeriesInstanceUID = generate_uid()
        dataset.SOPInstanceUID = generate_uid()
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        dataset.InstanceNumber = number % per_study + 1
        path = folder / f"{number:04d}.dcm"
        dataset.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def storescu(port: int, files: list[Path]) -> float:
    """Send ``files`` in one association; return the seconds it took."""
    started = time.perf_counter()
    result = subprocess.run(
        ["storescu", "-aet", SENDER, "-aec", "HILUM", "127.0.0.1", str(port), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"storescu failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def burst_headless(instances: list[Path], out: Path) -> None:
    settings = ListenerSettings(port=0, out_dir=out, allowed=(AllowedCaller(SENDER),))
    with StorageListener(settings) as listener:
        seconds = storescu(listener.port, instances)
    received = [p for p in out.rglob("*") if p.is_file()]
    partial = [p for p in out.rglob("*") if is_partial(p)]
    megabytes = sum(p.stat().st_size for p in instances) / 1e6
    expected = pixel_digest(SOURCE)
    identical = sum(pixel_digest(p) == expected for p in received)
    print(
        f"1. burst, headless: {len(instances)} instances ({megabytes:.0f} MB) in {seconds:.1f} s "
        f"= {len(instances) / seconds:.1f} images/s, {megabytes / seconds:.0f} MB/s; "
        f"on disk {len(received)}/{len(instances)}, pixel data identical {identical}, "
        f"temporaries left {len(partial)}"
    )


def viewer_runs(
    instances: list[Path],
    out: Path,
    model: Path,
    runs: int,
    diagnose: bool = False,
    history_tab: bool = False,
) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from viewer.settings import Settings
    from viewer.window.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    settings = Settings(QSettings(str(out / "hilum.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings)
    window.show()
    loaded: list[object] = []
    window.model_ready.connect(loaded.append)
    window.load_model(model)
    wait_until(app, lambda: bool(loaded), 300)
    listener = ListenerSettings(port=0, out_dir=out / "received", allowed=(AllowedCaller(SENDER),))
    window.pacs.apply_settings(listener, True, [])
    port = window.pacs.listener.port  # type: ignore[union-attr]
    triage_list = window.triage_history.triage_list

    # 3. receive-to-prediction, one image at a time (the first run warms up and is dropped)
    totals, transfers = [], []
    for run in range(runs + 1):
        before = len(triage_list.rows())
        started = time.perf_counter()
        transfer = BackgroundSend(port, [instances[run]])
        wait_until(app, lambda b=before: len(triage_list.rows()) > b, 120)
        total = time.perf_counter() - started
        transfers.append(transfer.join())
        if run:
            totals.append(total)
    print(
        f"3. receive-to-prediction (2k CR, warm, median of {runs}): "
        f"{statistics.median(totals):.2f} s (min {min(totals):.2f}, max {max(totals):.2f}); "
        f"of which storescu {statistics.median(transfers[1:]):.2f} s"
    )

    # 2. the burst into the viewer, with the event loop's stalls recorded (first idle, for the
    # machine's own noise)
    if history_tab and window.triage_history.history_view is not None:
        window.tabs.setCurrentWidget(window.triage_history.history_view)
    idle_until = time.monotonic() + 5
    idle = loop_gaps(app, lambda: time.monotonic() > idle_until)
    rest = instances[runs + 1 :]
    before = len(triage_list.rows())
    started = time.perf_counter()
    cpu_before = process_cpu()
    sender = BackgroundSend(port, rest)
    busy = loop_gaps(app, lambda: len(triage_list.rows()) >= before + len(rest), diagnose)
    all_rows = time.perf_counter() - started
    used = process_cpu() - cpu_before
    print(
        f"2. burst into the viewer: {len(rest)} instances, storescu {sender.join():.1f} s, "
        f"all rows in the triage list after {all_rows:.1f} s; GUI event loop (10 ms timer) during "
        f"the burst: longest stall {busy[-1]:.0f} ms, 99th percentile "
        f"{busy[int(0.99 * len(busy))]:.0f} ms; idle before it: {idle[-1]:.0f} / "
        f"{idle[int(0.99 * len(idle))]:.0f} ms; CPU used by the viewer meanwhile {used:.1f} s"
    )
    window.close()
    window.shutdown()


def process_cpu() -> float:
    """CPU seconds this process has used so far, all its threads (ended ones too)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class BackgroundSend:
    """storescu on a thread, so that the event loop keeps running while it sends."""

    def __init__(self, port: int, files: list[Path]) -> None:
        self.seconds = 0.0
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, args=(port, files))
        self._thread.start()

    def _run(self, port: int, files: list[Path]) -> None:
        try:
            self.seconds = storescu(port, files)
        except Exception as error:
            self._error = error

    def join(self) -> float:
        """Wait for storescu; return how long it ran."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.seconds


def loop_gaps(app: Any, condition: Callable[[], bool], diagnose: bool = False) -> list[float]:
    """Milliseconds between the ticks of a 10 ms timer until ``condition()``, sorted: how long
    the GUI event loop was kept from running. With ``diagnose``, prints where the GUI thread and
    the others were during the stalls."""
    from PySide6.QtCore import QTimer

    gaps: list[float] = []
    last = [time.perf_counter()]
    sched = [scheduling()]
    sampler = StallSampler(last, all_threads=True) if diagnose else None

    def tick() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000)
        ran, waited = scheduling()
        if diagnose and gaps[-1] > 100:
            on_cpu, queued = ran - sched[0][0], waited - sched[0][1]
            print(
                f"  {gaps[-1]:.0f} ms gap ending at {time.time():.3f} (epoch s): GUI thread ran "
                f"{on_cpu:.0f} ms, waited for a CPU {queued:.0f} ms, blocked (a lock, Python's "
                f"included) {gaps[-1] - on_cpu - queued:.0f} ms"
            )
        sched[0] = (ran, waited)
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    last[0] = time.perf_counter()
    if sampler is not None:
        sampler.start()
    wait_until(app, condition, 1800)
    timer.stop()
    if sampler is not None:
        sampler.stop()
        print(sampler.report())
    return sorted(gaps)


def wait_until(app: Any, condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the viewer did not get there in time")
        app.processEvents()
        time.sleep(0.001)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument(
        "--diagnose", action="store_true", help="sample the threads' stacks during GUI stalls"
    )
    parser.add_argument("--skip-headless", action="store_true", help="only the viewer's runs")
    parser.add_argument(
        "--history-tab", action="store_true", help="show the History tab during the burst"
    )
    args = parser.parse_args()
    if shutil.which("storescu") is None:
        print("needs DCMTK's storescu (apt-get install dcmtk)")
        return 2
    with tempfile.TemporaryDirectory(prefix="hilum-pacs-bench-") as temp:
        folder = Path(temp)
        (folder / "source").mkdir()
        instances = make_instances(SOURCE, args.count, folder / "source")
        if not args.skip_headless:
            burst_headless(instances, folder / "headless")
        viewer_runs(
            instances, folder / "viewer", args.model, args.runs, args.diagnose, args.history_tab
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
