"""The one worker abstraction: run an engine callable on a thread pool, report on the GUI thread.

Modelled on superqt's ``_qthreading.py``: a :class:`Job` is a GUI-thread ``QObject`` handle with
``progress(Progress)``, ``succeeded(object)``, ``failed(BaseException)`` and ``finished()``
signals; the work itself is a ``QRunnable`` on a ``QThreadPool``. The engine never sees Qt: it
receives the plain ``on_progress`` / ``should_stop`` callables of :mod:`engine.progress`, and
:meth:`Job.cancel` only sets the flag that ``should_stop`` reads (cancelling is cooperative and a
normal outcome: the callable returns early and ``succeeded`` carries what it returned).

Why two hops: the runnable emits on a private relay, and the :class:`Job` (which lives in the GUI
thread) re-emits from ``@Slot`` methods. Anything connected to a ``Job`` signal, lambdas included,
therefore runs on the GUI thread (a lambda or plain function connected directly to a
worker-emitted signal would run on the worker thread, and touch widgets from there).

Start-up imports: importing one package from two threads at once can fail with "cannot import
name ... from partially initialized module" (pydicom's circular imports, on every cold start of
``hilum view FILE.dcm``). :func:`run_startup_step` imports what the jobs need on one thread while
every job waits for it; see :func:`viewer.app.import_imaging`.
"""

from __future__ import annotations

import ctypes
import sys
import threading
import traceback
import warnings
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, QTimer, Signal, Slot

from engine.progress import Progress


class _Relay(QObject):
    """Carries results out of the worker thread (emitted there, received by the Job)."""

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)


#: Set in a pool thread once its Python thread state is kept. Per thread state, not per thread
#: id: a thread of a runner that was destroyed can come back with the same id and a new state.
_kept = threading.local()


def _keep_python_thread_state() -> None:
    """Keep the calling pool thread's Python thread state until the thread ends.

    Why: a QThreadPool thread is not created by Python, so PySide makes a fresh Python thread
    state for every runnable and deletes it afterwards, together with the thread's
    ``threading.local`` data. TensorFlow caches per-thread Python state in C++ thread-locals,
    so a model loaded by one job and traced further by the next job on the same OS thread
    (the reading room's first prediction of a model with test-time views) read freed memory
    and the viewer died with a segmentation fault (reproduced with a bare QThreadPool; a Python
    thread, whose state lives as long as the thread, never crashed). One unmatched
    ``PyGILState_Ensure`` per thread keeps the state: PySide's own release after each runnable
    then only drops the interpreter lock. Pool threads never expire (see :class:`JobRunner`),
    so the kept states are one per thread of a runner.
    """
    if not getattr(_kept, "state", False):
        ctypes.pythonapi.PyGILState_Ensure()
        _kept.state = True


#: Set while no start-up step runs: every job waits for it before running its call.
_startup_done = threading.Event()
_startup_done.set()


def run_startup_step(step: Callable[[], None], name: str = "hilum-startup") -> threading.Thread:
    """Run ``step`` on a new thread now; every job (of any runner) waits for it to end.

    Why: the jobs of a start-up (the model load, indexing and reading the files on the command
    line) import lazily, and two threads importing the same package at once can leave it
    "partially initialized". ``step`` imports what they share first, alone; a job submitted in
    the meantime only starts its call once ``step`` has ended, however it ended.

    When ``step`` fails, the modules it added to ``sys.modules`` are removed (no other thread
    imports meanwhile), so that no half-imported module stays broken for the session: the job
    that needs one imports it again and reports the real error to the user. The traceback goes to
    stderr only.

    Args:
        step: the imports (and any other start-up work) to do before the jobs.
        name: the thread's name.

    Returns:
        The started thread.
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


class _Runnable(QRunnable):
    def __init__(self, call: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self._call = call
        self._relay = relay

    def run(self) -> None:
        _keep_python_thread_state()
        _startup_done.wait()
        try:
            result = self._call()
        except BaseException as error:
            self._relay.failed.emit(error)
        else:
            self._relay.succeeded.emit(result)


class Job(QObject):
    """A handle on one call of an engine function on a worker thread.

    Connect to the signals *before* :meth:`start`. Exactly one of ``succeeded`` / ``failed`` is
    emitted, then ``finished``; all on the GUI thread.

    Args:
        fn: the callable to run.
        *args, **kwargs: its arguments.
        callbacks: pass ``on_progress`` and ``should_stop`` keyword arguments to ``fn`` (True for
            long engine work such as training or batch prediction; False for plain functions
            such as ``load_image``).
        pool: the thread pool to run on; Qt's global pool by default.
        parent: the Qt parent. A job without one must be referenced until ``finished`` and must
            not be released from inside its own signal handlers (Qt is still delivering the
            event); :class:`JobRunner` takes care of both.
    """

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        callbacks: bool = True,
        pool: QThreadPool | None = None,
        parent: QObject | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(parent)
        self._pool = pool
        self._stop = threading.Event()
        self._started = False
        self._done = False
        # Parented to the job so that only the job (on the GUI thread) ever deletes the relay:
        # the pool frees the runnable, and its reference to the relay, on the worker thread, and
        # a QObject must not be deleted outside its own thread.
        self._relay = _Relay(self)
        self._relay.progress.connect(self._on_progress)
        self._relay.succeeded.connect(self._on_succeeded)
        self._relay.failed.connect(self._on_failed)
        if callbacks:
            kwargs = {
                **kwargs,
                "on_progress": self._relay.progress.emit,
                "should_stop": self._stop.is_set,
            }
        # Owned by Python (the job), never auto-deleted by the pool: a Python-subclassed runnable
        # freed by the pool on the worker thread while its wrapper is released on the GUI thread
        # corrupts the heap. Qt reads autoDelete() before run() and never touches the runnable
        # after it, so the job may drop it as soon as the final signal has arrived.
        self._runnable = _Runnable(lambda: fn(*args, **kwargs), self._relay)
        self._runnable.setAutoDelete(False)

    @property
    def is_cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._stop.is_set()

    @property
    def is_done(self) -> bool:
        """True once ``finished`` was emitted."""
        return self._done

    def start(self) -> Job:
        """Queue the call on the job's thread pool; return ``self``.

        Raises:
            RuntimeError: the job was already started.
        """
        if self._started:
            raise RuntimeError("This job was already started; create a new Job to run it again.")
        self._started = True
        (self._pool or QThreadPool.globalInstance()).start(self._runnable)
        return self

    def cancel(self) -> None:
        """Ask the callable to stop (its ``should_stop()`` now returns True)."""
        self._stop.set()

    def withdraw(self) -> bool:
        """Take the job off its pool's queue if no thread has picked it up yet.

        Returns:
            True if it was withdrawn: it will never run nor emit anything.
        """
        if not self._started or self._done:
            return False
        return (self._pool or QThreadPool.globalInstance()).tryTake(self._runnable)

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
    """Starts jobs on its own thread pool and keeps them alive until they finish.

    A window owns one runner per kind of work that must not queue behind another (thumbnails have
    their own single thread so that they never delay the image being read).

    Args:
        max_threads: threads of the runner's pool (default: one per core).
        parent: the Qt parent.
    """

    def __init__(self, max_threads: int | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads or QThread.idealThreadCount())
        self._pool.setExpiryTimeout(-1)  # threads live as long as the runner: see _Runnable
        self._active: set[Job] = set()

    def submit(
        self, fn: Callable[..., Any], *args: Any, callbacks: bool = True, **kwargs: Any
    ) -> Job:
        """Create a :class:`Job` for ``fn(*args, **kwargs)`` on this runner's pool, not started.

        Connect its signals, then call :meth:`Job.start`. The runner holds the job until it
        finishes, so callers need not keep a reference.
        """
        job = Job(fn, *args, callbacks=callbacks, pool=self._pool, parent=self, **kwargs)
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
        """Block until running work ends (True) or ``timeout_ms`` passes (False)."""
        return self._pool.waitForDone(timeout_ms)

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
