"""The one worker abstraction: run engine calls on Python threads, report on the GUI thread.

Modelled on superqt's ``_qthreading.py``: a :class:`Job` is a GUI-thread ``QObject`` handle with
``progress(Progress)``, ``succeeded(object)``, ``failed(BaseException)`` and ``finished()``
signals; the work itself runs on one of its :class:`JobRunner`'s threads. The engine never sees
Qt: it receives the plain ``on_progress`` / ``should_stop`` callables of :mod:`engine.progress`,
and :meth:`Job.cancel` only sets the flag that ``should_stop`` reads (cancelling is cooperative and
a normal outcome: the callable returns early and ``succeeded`` carries what it returned).

Why two hops: the worker emits on a private relay, and the :class:`Job` (in the GUI thread)
re-emits from ``@Slot`` methods, so anything connected to a ``Job`` signal, lambdas included, runs
on the GUI thread (connected to a worker-emitted signal, it would run on the worker thread).

Why Python threads and not a ``QThreadPool``: PySide gives each runnable of a pool thread a fresh
Python thread state, and TensorFlow, which caches per-thread state, then read freed memory when a
model loaded by one job predicted in the next (the viewer died). A Python thread keeps its state.

Order: first in, first out, except that an *urgent* job (the image the user opened) goes before
the queued ordinary ones, and is served at the running job's next ``should_stop()`` check when
that job runs on the same runner: a batch on the model's one thread yields to the image being
read between two of its images, never overlapping it (:mod:`viewer.model.lifecycle`).

Start-up imports: importing one package from two threads at once can fail with "cannot import
name ... from partially initialized module" (pydicom's circular imports, on every cold start of
``hilum view FILE.dcm``). :func:`run_startup_step` imports what the jobs need on one thread while
every job waits for it; see :func:`viewer.app.import_imaging`.
"""

from __future__ import annotations

import heapq
import itertools
import sys
import threading
import traceback
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from engine.progress import Progress


class _Relay(QObject):
    """Carries results out of the worker thread (emitted there, received by the Job)."""

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)


#: Set while no start-up step runs: every job waits for it before running its call.
_startup_done = threading.Event()
_startup_done.set()


def run_startup_step(step: Callable[[], None], name: str = "hilum-startup") -> threading.Thread:
    """Run ``step`` on a new thread now; every job (of any runner) waits for it to end.

    Why: the jobs of a start-up (the model load, indexing and reading the files on the command
    line) import lazily, and two threads importing the same package at once can leave it
    "partially initialized". ``step`` imports what they share first, alone; a job submitted in
    the meantime only starts its call once ``step`` has ended, however it ended. When ``step``
    fails, the modules it added to ``sys.modules`` are removed (no other thread imports meanwhile)
    so that none stays half-imported: the job that needs one imports it again and reports the real
    error. The traceback goes to stderr only. Returns the started thread (named ``name``).
    """
    _startup_done.clear()

    def run() -> None:
        before = set(sys.modules)
        try:
            step()
        except BaseException:
            traceback.print_exc()
            for module in set(sys.modules) - before:
                del sys.modules[module]
        finally:
            _startup_done.set()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


#: A queued call: runs, then returns what emits its outcome (called once the runner no longer
#: counts the call as running: a runner is idle by the time its outcome is heard of).
_Work = Callable[[], Callable[[], None]]


def _work(call: Callable[[], Any], relay: _Relay) -> _Work:
    """One queued call whose outcome goes to ``relay``: all that a worker thread touches."""

    def run() -> Callable[[], None]:
        _startup_done.wait()
        try:
            result = call()
        except BaseException as error:
            return partial(relay.failed.emit, error)
        return partial(relay.succeeded.emit, result)

    return run


#: Set on a worker thread while it runs urgent work from a checkpoint (no nested serving).
_serving = threading.local()


class _WorkQueue:
    """A runner's queue and its Python threads, started as work arrives, up to ``max_threads``.

    Plain Python, not a QObject: the threads hold it, never the runner, so a worker thread never
    keeps a Qt object of the GUI thread alive. Urgent work goes first (key 0, then the order of
    arrival); :meth:`serve_urgent` lets the work running on one of these threads run it inline.
    """

    def __init__(self, max_threads: int, name: str) -> None:
        self._max = max(1, max_threads)
        self._name = name
        self._ready = threading.Condition()
        self._heap: list[tuple[int, int, _Work]] = []
        self._order = itertools.count()
        self._threads: set[threading.Thread] = set()
        self._idle = 0
        self._busy = 0
        self._closed = False

    def put(self, work: _Work, urgent: bool) -> None:
        with self._ready:
            heapq.heappush(self._heap, (0 if urgent else 1, next(self._order), work))
            if self._idle < len(self._heap) and len(self._threads) < self._max:
                thread = threading.Thread(
                    target=self._serve, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.add(thread)
                thread.start()
            self._ready.notify()

    def take(self, work: _Work) -> bool:
        """Remove ``work`` if no thread has picked it up yet; True if it was removed."""
        with self._ready:
            kept = [item for item in self._heap if item[2] is not work]
            taken, self._heap = len(kept) < len(self._heap), kept
            heapq.heapify(self._heap)
            self._ready.notify_all()
            return taken

    def _serve(self) -> None:
        while True:
            with self._ready:
                while not self._heap and not self._closed:
                    self._idle += 1
                    self._ready.wait()
                    self._idle -= 1
                if not self._heap:  # closed and drained
                    self._threads.discard(threading.current_thread())
                    return
                work = heapq.heappop(self._heap)[2]
                self._busy += 1
            deliver = work()
            with self._ready:
                self._busy -= 1
                self._ready.notify_all()
            deliver()

    def serve_urgent(self) -> None:
        """Run the urgent work queued now, on the calling thread, if it is one of this queue's
        (a checkpoint of the work it runs) and not already serving; otherwise do nothing."""
        if threading.current_thread() not in self._threads or getattr(_serving, "on", False):
            return
        _serving.on = True
        try:
            while True:
                with self._ready:
                    if not self._heap or self._heap[0][0] != 0:
                        return
                    work = heapq.heappop(self._heap)[2]
                work()()
        finally:
            _serving.on = False

    def wait(self, timeout_s: float) -> bool:
        """Block until nothing is queued or running (True) or ``timeout_s`` passes (False)."""
        with self._ready:
            return self._ready.wait_for(lambda: not self._heap and not self._busy, timeout_s)

    def close(self) -> None:
        """Let the threads end once the queue is empty."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()


class Job(QObject):
    """A handle on one call of an engine function on a worker thread (see :meth:`JobRunner.submit`).

    Connect to the signals *before* :meth:`start`. Exactly one of ``succeeded`` / ``failed`` is
    emitted, then ``finished``; all on the GUI thread.

    Args:
        queue: the runner's queue.
        call: the call to run, its arguments bound.
        callbacks: pass ``on_progress`` and ``should_stop`` keyword arguments to the call (True
            for long engine work such as training or batch prediction; False for plain functions
            such as ``load_image``). ``should_stop`` is also the job's checkpoint: urgent work
            queued on the same runner runs there, on this job's thread, before it returns.
        urgent: go before the ordinary jobs queued, and be served at a running job's checkpoint.
        parent: the Qt parent (the runner, which keeps the job until ``finished``).
    """

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(
        self,
        queue: _WorkQueue,
        call: Callable[..., Any],
        *,
        callbacks: bool,
        urgent: bool,
        parent: QObject,
    ) -> None:
        super().__init__(parent)
        self._queue = queue
        self._urgent = urgent
        self._stop = threading.Event()
        self._started = False
        self._done = False
        # Parented to the job so that only the job (on the GUI thread) ever deletes the relay.
        self._relay = _Relay(self)
        self._relay.progress.connect(self._on_progress)
        self._relay.succeeded.connect(self._on_succeeded)
        self._relay.failed.connect(self._on_failed)
        if callbacks:
            stop = self._stop

            def should_stop() -> bool:
                queue.serve_urgent()
                return stop.is_set()

            on_progress = self._relay.progress.emit
            self._work = _work(
                lambda: call(on_progress=on_progress, should_stop=should_stop), self._relay
            )
        else:
            self._work = _work(call, self._relay)

    @property
    def is_cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._stop.is_set()

    @property
    def is_done(self) -> bool:
        """True once ``finished`` was emitted."""
        return self._done

    def start(self) -> Job:
        """Queue the call on its runner; return ``self``.

        Raises:
            RuntimeError: the job was already started.
        """
        if self._started:
            raise RuntimeError("This job was already started; create a new Job to run it again.")
        self._started = True
        self._queue.put(self._work, self._urgent)
        return self

    def cancel(self) -> None:
        """Ask the callable to stop (its ``should_stop()`` now returns True)."""
        self._stop.set()

    def withdraw(self) -> bool:
        """Take the job off its runner's queue if no thread has picked it up yet.

        Returns:
            True if it was withdrawn: it will never run nor emit anything.
        """
        if not self._started or self._done:
            return False
        return self._queue.take(self._work)

    @Slot()
    def release(self) -> None:
        """Disconnect every slot and free the job once control is back in the event loop.

        Why both: PySide 6.11 crashes (in ``~QObject``) when a job is destroyed while lambdas are
        still connected to its signals, and deleting it inside the delivery of its own signal is a
        use-after-free. Disconnecting first and ``deleteLater`` avoid both.
        """
        with warnings.catch_warnings():  # PySide warns when a signal had no connection
            warnings.simplefilter("ignore", RuntimeWarning)
            for signal in (self.progress, self.succeeded, self.failed, self.finished):
                signal.disconnect()
        self.deleteLater()

    @Slot(object)
    def _on_progress(self, report: Progress) -> None:
        self.progress.emit(report)

    @Slot(object)
    def _on_succeeded(self, result: object) -> None:
        self.succeeded.emit(result)
        self._finish()

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        self.failed.emit(error)
        self._finish()

    def _finish(self) -> None:
        self._done = True
        self.finished.emit()


class JobRunner(QObject):
    """Starts jobs on its own Python threads and keeps them alive until they finish.

    One runner per kind of work that must not queue behind another (thumbnails never delay the
    image being read); the model's runner has the one thread that calls the model.

    Args:
        max_threads: threads of the runner (default: one per core); started as work arrives,
            then kept until the runner is destroyed.
        parent: the Qt parent.
        name: the threads' name (seen in stack dumps and the benchmarks' diagnoses).
    """

    def __init__(
        self,
        max_threads: int | None = None,
        parent: QObject | None = None,
        name: str = "hilum-jobs",
    ) -> None:
        super().__init__(parent)
        self._queue = _WorkQueue(max_threads or QThread.idealThreadCount(), name)
        self.destroyed.connect(self._queue.close)  # the queue's method: called without the runner
        self._active: set[Job] = set()

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        callbacks: bool = True,
        urgent: bool = False,
        **kwargs: Any,
    ) -> Job:
        """Create a :class:`Job` for ``fn(*args, **kwargs)`` on this runner, not started.

        Connect its signals, then call :meth:`Job.start`. The runner holds the job until it
        finishes, so callers need not keep a reference. ``urgent``: see :class:`Job`.
        """
        job = Job(
            self._queue,
            lambda **more: fn(*args, **kwargs, **more),
            callbacks=callbacks,
            urgent=urgent,
            parent=self,
        )
        self._active.add(job)
        job.finished.connect(self._forget)
        return job

    @property
    def active(self) -> list[Job]:
        """Jobs submitted and not finished."""
        return [job for job in self._active if not job.is_done]

    def cancel_all(self) -> None:
        """Ask every running job to stop and drop the queued ones.

        Dropped jobs never started, so they emit nothing; the runner forgets them.
        """
        for job in list(self._active):
            job.cancel()
            if job.withdraw():
                self._active.discard(job)
                job.release()

    def wait(self, timeout_ms: int = 10_000) -> bool:
        """Block until queued and running work ends (True) or ``timeout_ms`` passes (False)."""
        return self._queue.wait(timeout_ms / 1000)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel everything and wait for running work; True if all of it ended in time."""
        self.cancel_all()
        return self.wait(timeout_ms)

    @Slot()
    def _forget(self) -> None:
        job = self.sender()
        if isinstance(job, Job):
            self._active.discard(job)
            # Later: disconnecting now would rob slots connected after this one of ``finished``.
            QTimer.singleShot(0, job, job.release)  # the context: skipped if job is gone
