"""The job runner: progress, success, failure and cancel, delivered on the GUI thread."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from engine import ImageReadError, load_image
from engine.progress import OnProgress, Progress, ShouldStop
from tests.conftest import REPO
from tests.viewer.test_cold_start import DICOM_FILES
from viewer.jobs import JobRunner, run_startup_step


def count_to(
    n: int, *, on_progress: OnProgress, should_stop: ShouldStop, pause: float = 0.0
) -> int:
    done = 0
    for done in range(1, n + 1):
        if should_stop():
            return done - 1
        on_progress(Progress("count", done, n, f"{done}/{n}"))
        time.sleep(pause)
    return done


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[JobRunner]:
    runner = JobRunner(max_threads=2)
    yield runner
    assert runner.shutdown(5_000)


def test_progress_and_result_arrive_on_the_gui_thread(qtbot: QtBot, runner: JobRunner) -> None:
    job = runner.submit(count_to, 5)
    reports: list[tuple[int, bool]] = []
    results: list[object] = []
    job.progress.connect(lambda p: reports.append((p.done, on_gui_thread())))
    job.succeeded.connect(lambda value: results.append((value, on_gui_thread())))
    with qtbot.waitSignal(job.finished, timeout=5_000):
        job.start()
    assert results == [(5, True)]
    assert reports == [(i, True) for i in range(1, 6)]
    assert job.is_done and not runner.active


def on_gui_thread() -> bool:
    return QThread.currentThread() is QApplication.instance().thread()


def test_a_failure_carries_the_engine_error(
    qtbot: QtBot, runner: JobRunner, tmp_path: Path
) -> None:
    job = runner.submit(load_image, tmp_path / "missing.dcm", callbacks=False)
    with qtbot.waitSignal(job.failed, timeout=5_000) as blocker:
        job.start()
    assert isinstance(blocker.args[0], ImageReadError)
    assert "does not exist" in str(blocker.args[0])


def test_cancel_stops_the_work_cooperatively(qtbot: QtBot, runner: JobRunner) -> None:
    job = runner.submit(count_to, 10_000, pause=0.001)
    with qtbot.waitSignal(job.progress, timeout=5_000):
        job.start()
    with qtbot.waitSignal(job.succeeded, timeout=5_000) as blocker:
        job.cancel()
    assert job.is_cancelled
    assert blocker.args[0] < 10_000


def test_cancel_all_withdraws_queued_jobs(qtbot: QtBot) -> None:
    runner = JobRunner(max_threads=1)
    running, gate = threading.Event(), threading.Event()

    def hold_the_thread() -> None:
        running.set()
        gate.wait(5)

    first = runner.submit(hold_the_thread, callbacks=False)
    queued = [runner.submit(count_to, 3) for _ in range(3)]
    first.start()
    for job in queued:
        job.start()
    # The only thread is busy: else it could pick up a queued job while cancel_all withdraws the
    # others (the order it visits them is a set's).
    assert running.wait(5)
    runner.cancel_all()
    gate.set()
    assert runner.wait(5_000)
    qtbot.waitUntil(lambda: not runner.active, timeout=5_000)
    assert not any(job.is_done for job in queued), "withdrawn jobs never ran"


def test_a_job_cannot_start_twice(qtbot: QtBot, runner: JobRunner) -> None:
    job = runner.submit(count_to, 1)
    with qtbot.waitSignal(job.finished, timeout=5_000):
        job.start()
    with pytest.raises(RuntimeError, match="already started"):
        job.start()


def _run_on(qtbot: QtBot, runner: JobRunner, fn: Callable[[], object]) -> object:
    job = runner.submit(fn, callbacks=False)
    with qtbot.waitSignal(job.succeeded, timeout=5_000) as blocker:
        job.start()
    return blocker.args[0]


def test_jobs_run_on_a_python_thread_that_keeps_its_state(qtbot: QtBot) -> None:
    """The jobs of a one-thread runner run on one thread, owned by Python (not a foreign thread
    whose Python state PySide dropped after each runnable): a ``threading.local`` value set by
    one job is still there for the next."""
    single = JobRunner(max_threads=1)
    local = threading.local()

    def mark() -> tuple[int, bool]:
        local.mark = True
        borrowed = isinstance(threading.current_thread(), threading._DummyThread)
        return threading.get_ident(), borrowed

    ident, borrowed = _run_on(qtbot, single, mark)  # type: ignore[misc]
    assert not borrowed
    assert _run_on(qtbot, single, lambda: (threading.get_ident(), local.mark)) == (ident, True)
    assert single.shutdown(5_000)


def test_an_urgent_job_goes_before_the_queued_ones(qtbot: QtBot) -> None:
    runner = JobRunner(max_threads=1)
    gate = threading.Event()
    runner.submit(lambda: gate.wait(10), callbacks=False).start()  # the thread is busy
    order: list[str] = []
    jobs = [
        runner.submit(order.append, name, callbacks=False, urgent=name == "opened image")
        for name in ("batch 1", "batch 2", "opened image")
    ]
    for job in jobs:
        job.start()
    with qtbot.waitSignal(jobs[1].finished, timeout=5_000):
        gate.set()
    assert order == ["opened image", "batch 1", "batch 2"]
    assert runner.shutdown(5_000)


def test_a_running_job_serves_urgent_work_at_its_checkpoint_on_its_own_thread(
    qtbot: QtBot,
) -> None:
    """A long job's ``should_stop()`` runs the urgent job queued meanwhile, before it returns,
    on the long job's thread: the urgent job does not wait for the end of the long one."""
    runner = JobRunner(max_threads=1)
    events: list[tuple[str, int]] = []
    urgent_queued = threading.Event()

    def batch(*, on_progress: OnProgress, should_stop: ShouldStop) -> None:
        events.append(("batch starts", threading.get_ident()))
        urgent_queued.wait(10)
        should_stop()  # the checkpoint between two images
        events.append(("batch goes on", threading.get_ident()))

    def opened() -> None:
        events.append(("urgent", threading.get_ident()))

    long_job = runner.submit(batch)
    urgent = runner.submit(opened, callbacks=False, urgent=True)
    with qtbot.waitSignal(long_job.finished, timeout=10_000):
        long_job.start()
        qtbot.waitUntil(lambda: bool(events), timeout=5_000)
        urgent.start()
        urgent_queued.set()
    assert [name for name, _ in events] == ["batch starts", "urgent", "batch goes on"]
    assert len({thread for _, thread in events}) == 1
    assert runner.shutdown(5_000)


def test_a_checkpoint_leaves_ordinary_queued_work_for_later(qtbot: QtBot) -> None:
    runner = JobRunner(max_threads=1)
    order: list[str] = []
    queued = threading.Event()

    def batch(*, on_progress: OnProgress, should_stop: ShouldStop) -> None:
        queued.wait(10)
        should_stop()
        order.append("batch")

    long_job = runner.submit(batch)
    later = runner.submit(order.append, "later", callbacks=False)
    with qtbot.waitSignal(later.finished, timeout=10_000):
        long_job.start()
        later.start()
        queued.set()
    assert order == ["batch", "later"]
    assert runner.shutdown(5_000)


#: Loads the shipped model in one job and predicts in the next, on a one-thread runner, in a
#: fresh process whose TensorFlow is first imported on the pool thread (as in the viewer).
_MODEL_IN_TWO_JOBS = r"""
import sys, time
from pathlib import Path
from PySide6.QtCore import QCoreApplication
from viewer.jobs import JobRunner

app = QCoreApplication([])
runner = JobRunner(max_threads=1)

def run(fn):
    results = []
    job = runner.submit(fn, callbacks=False)
    job.succeeded.connect(results.append)
    job.failed.connect(results.append)
    job.start()
    while not results:
        app.processEvents()
        time.sleep(0.01)
    if isinstance(results[0], BaseException):
        raise results[0]
    return results[0]

def load():
    from engine.inference.predictor import Predictor
    return Predictor.load(Path(sys.argv[1]))

predictor = run(load)
print("probability", run(lambda: predictor.predict(Path(sys.argv[2])).probability))
"""


def test_a_model_loaded_by_one_job_predicts_in_the_next_without_crashing(
    tmp_path: Path,
) -> None:
    """Regression: the viewer died (segmentation fault) at its first prediction with the
    shipped model, because each pool job got a fresh Python thread state and TensorFlow's
    per-thread state of the loading job dangled. Run in a child process: a crash must fail
    this test, not end the test session."""
    import subprocess
    import sys

    import numpy as np
    from PIL import Image

    from tests.conftest import REPO
    from viewer.resource_paths import default_model_dir

    bundle = default_model_dir()
    if bundle is None:
        pytest.skip("needs the shipped default model in resources/models/default")
    image = tmp_path / "gradient.png"
    Image.fromarray(np.tile(np.arange(256, dtype=np.uint8), (256, 1))).save(image)
    result = subprocess.run(
        [sys.executable, "-c", _MODEL_IN_TWO_JOBS, str(bundle), str(image)],
        cwd=REPO,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-3000:]}"
    probability = float(result.stdout.split("probability")[-1])
    assert 0.0 <= probability <= 1.0


def test_jobs_wait_for_the_startup_step(qtbot: QtBot, runner: JobRunner) -> None:
    order: list[str] = []
    released = threading.Event()

    def step() -> None:
        released.wait(1.0)  # a job that ran now would release it at once
        order.append("step")

    def job_call() -> None:
        released.set()
        order.append("job")

    run_startup_step(step)
    job = runner.submit(job_call, callbacks=False)
    with qtbot.waitSignal(job.finished, timeout=10_000):
        job.start()
    assert order == ["step", "job"]


def test_a_failed_startup_step_leaves_no_half_imported_module(
    qtbot: QtBot,
    runner: JobRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    package = tmp_path / "halfpkg"
    package.mkdir()
    (package / "part.py").write_text("VALUE = 1\n")
    (package / "__init__.py").write_text("from halfpkg import part\nraise ImportError('broken')\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def step() -> None:
        import halfpkg  # noqa: F401

    run_startup_step(step).join(10)
    assert "ImportError: broken" in capsys.readouterr().err
    assert "halfpkg.part" not in sys.modules
    (package / "__init__.py").write_text("from halfpkg import part\n")
    job = runner.submit(importlib.import_module, "halfpkg", callbacks=False)
    with qtbot.waitSignal(job.succeeded, timeout=10_000) as imported:
        job.start()
    assert imported.args[0].part.VALUE == 1


def test_after_the_startup_imports_reading_any_image_imports_nothing(
    dicom_dir: Path, shared_data: Path
) -> None:
    jpeg = min((shared_data / "chest_xray" / "external" / "NORMAL").glob("*.jp*g"))
    files = [str(dicom_dir / name) for (name,) in (case.values for case in DICOM_FILES)] + [
        str(jpeg)
    ]
    code = (
        "import sys\n"
        "from engine import find_studies, load_image\n"
        "from viewer.app import import_imaging\n"
        "import_imaging()\n"
        "before = set(sys.modules)\n"
        f"for file in {files!r}:\n"
        "    load_image(file)\n"
        f"find_studies([{str(dicom_dir)!r}])\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]"
