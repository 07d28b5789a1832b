"""Run :func:`engine.workflows.training.train` in a child process, with the same plain callables.

Why a process: training in a thread of the viewer shares one interpreter lock with the GUI
thread, and while TensorFlow traces a new model's training and validation functions (pure
Python, a second or more per variant) the window froze for 350-700 ms at a time on this 2-core
machine. In a child process the GUI thread competes for nothing but CPU time (and not even that
with the viewer's own scheduling group, see :func:`become_background_process`). The price is the
child's start-up (importing TensorFlow, a few seconds per variant), small beside a training run.

:func:`train_in_process` has :func:`engine.workflows.training.train`'s signature, so it runs as an
ordinary job of the viewer's Training tab and under ``hilum train`` (one runner for both):
progress reports come back through a queue and go to ``on_progress``; ``should_stop()`` is
forwarded to the child as an event, which the engine polls after every batch. The child is in
its own session, so a terminal's Ctrl-C reaches only the caller, whose ``should_stop`` forwards
it; an interrupt of the caller itself (``KeyboardInterrupt``, e.g. a second Ctrl-C) terminates
the child at once. Any caller that wants training off its own interpreter (a GUI, a service)
can use it the same way. Frozen builds need ``multiprocessing.freeze_support()`` at the start
of the entry point (``packaging/launcher.py`` calls it before the viewer or the CLI starts).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue
import sys
import threading
from typing import Any

from engine.errors import HilumError
from engine.modeling.train_config import TrainConfig
from engine.progress import OnProgress, ShouldStop, ignore_progress, never_stop
from engine.runtime import in_lowered_thread
from engine.workflows.training import TrainingResult

#: Seconds between two looks at ``should_stop`` and the child's messages.
POLL_SECONDS = 0.05
#: How much lower the child's scheduling priority is than the viewer's (POSIX ``nice``).
NICENESS = 10
#: Seconds a child may take to end after its result was sent (or after a cancel) before it is
#: terminated (nothing is half-written: bundles are written atomically).
JOIN_SECONDS = 60.0


def _picklable(error: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # any pickling failure: send a faithful description instead
        return HilumError(f"Training failed: {type(error).__name__}: {error}")
    return error


def lower_priority() -> None:
    """Make the calling thread (Linux) or process (other POSIX) at least :data:`NICENESS` nice.

    On Linux the child inherits it from the thread that starts it (see
    :func:`_start_with_low_priority`), start-up imports included.
    """
    if hasattr(os, "nice"):
        current = os.nice(0)
        if current < NICENESS:
            os.nice(NICENESS - current)


def _start_with_low_priority(child: Any) -> None:
    """Start ``child`` so that it runs at low priority from its first instruction.

    On Linux niceness belongs to a thread and a child inherits its creator's, so a short-lived
    helper thread lowers its own priority and starts the child. (Lowering the calling worker's
    priority instead caused priority inversion: the low-priority worker, holding the interpreter
    lock while relaying a progress report, was preempted and the GUI thread waited 300 ms.)
    Elsewhere the child lowers its own priority in :func:`_child`.
    """
    if sys.platform != "linux":
        child.start()
        return
    in_lowered_thread(child.start, NICENESS)


def become_background_process() -> None:
    """Make the calling child process background work that cannot starve the viewer's window.

    Three steps, first thing in the child (training and curve drawing call it):

    1. Its own session (``setsid``), hence its own scheduling group where the kernel groups
       processes by session (Linux "autogroup", on by default on desktop distributions and on
       the CI machine). Otherwise the child's CPU time is charged to the viewer's group, which
       then waits behind every other busy group on the machine: measured by
       ``benchmarks/training_responsiveness.py`` on the loaded 2-core CI machine, the window
       stalled 13 times over 100 ms (up to 261 ms) in 75 s of training, each time with its GUI
       thread runnable but waiting for a CPU. Its own group competes with other programs like
       any program (a lower group priority starved training to a few % of a core there).
    2. The process at :data:`NICENESS`, which orders it below the viewer where there is no
       autogroup (lowering one's own priority needs no privilege).
    3. A watcher thread that ends the child when the viewer dies: having left the viewer's
       session, it no longer receives the terminal's hang-up or interrupt.
    """
    if hasattr(os, "setsid"):
        with contextlib.suppress(OSError):  # already a session leader: keep its group
            os.setsid()
    lower_priority()
    parent = multiprocessing.parent_process()
    if parent is not None:

        def exit_with_parent() -> None:
            parent.join()
            os._exit(1)

        threading.Thread(
            target=exit_with_parent, name="hilum-exit-with-viewer", daemon=True
        ).start()


def _child(config: TrainConfig, messages: Any, stop: Any) -> None:
    """The child process: train and send ``("progress", Progress)`` messages, then the result.

    It becomes background work first (:func:`become_background_process`): training is
    throughput work, the window is latency work.
    """
    become_background_process()
    from engine.workflows.training import train

    def report(progress: object) -> None:
        messages.put(("progress", progress))

    try:
        result = train(config, on_progress=report, should_stop=stop.is_set)
    except BaseException as error:
        messages.put(("error", _picklable(error)))
    else:
        messages.put(("result", result))


def train_in_process(
    config: TrainConfig,
    *,
    on_progress: OnProgress | None = None,
    should_stop: ShouldStop | None = None,
) -> TrainingResult:
    """:func:`engine.workflows.training.train` in a spawned child process: same arguments, same
    result.

    The child's progress reports reach ``on_progress`` in order; ``should_stop`` is polled every
    :data:`POLL_SECONDS`, and True asks the child to stop after its current batch (the result
    then has ``cancelled=True`` and no bundle; so it has when the child ends without an answer
    after a stop was asked for). A ``KeyboardInterrupt`` raised while waiting (by a signal
    handler, or by ``on_progress`` / ``should_stop``) terminates the child at once, without
    waiting for its batch, and propagates.

    Raises:
        HilumError: what the engine raised in the child (re-raised here), or the child died
            without an answer (e.g. out of memory); no bundle is left either way.
    """
    report = on_progress or ignore_progress
    stop_requested = should_stop or never_stop
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    stop = context.Event()
    child = context.Process(
        target=_child,
        args=(config, messages, stop),
        daemon=True,
        name=f"hilum-train-{config.variant}",
    )
    _start_with_low_priority(child)
    try:
        while True:
            if stop_requested():
                stop.set()
            try:
                kind, payload = messages.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if child.is_alive() or not messages.empty():
                    continue
                if stop.is_set():  # e.g. stopped while it was starting: nothing was written
                    return TrainingResult(None, cancelled=True)
                raise HilumError(
                    f"The training process of '{config.variant}' ended without a result (exit "
                    f"code {child.exitcode}); it may have run out of memory. Try a smaller batch "
                    "size or image size. No model was saved."
                ) from None
            if kind == "progress":
                report(payload)
            elif kind == "result":
                result: TrainingResult = payload
                return result
            else:
                raise payload
    except KeyboardInterrupt:
        # The caller wants out now: do not wait for the batch under way (nothing is half-written:
        # bundles are written atomically, a partial one stays hidden and is never listed).
        child.terminate()
        raise
    finally:
        stop.set()
        child.join(JOIN_SECONDS)
        if child.is_alive():
            child.terminate()
            child.join()
        messages.close()
