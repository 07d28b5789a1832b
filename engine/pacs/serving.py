"""Run the listener in the foreground: report each arrival and, with a model, its prediction.

What ``hilum listen`` does, as a function with plain callables (``report`` for each line,
``should_stop`` to end), so that it can be tested and reused without a terminal. Arrivals cross
from the network threads through a queue; decoding and prediction happen on the calling thread,
through :func:`engine.load_image` (inside the predictor), never on a network thread.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import HilumError
from engine.inference.check_verdict import result_line
from engine.pacs.nodes import ListenerSettings
from engine.pacs.scp import StorageListener
from engine.pacs.storage import ReceivedInstance
from engine.progress import ShouldStop, never_stop

if TYPE_CHECKING:
    from engine.inference.predictor import Predictor


def serve(
    settings: ListenerSettings,
    predictor: Predictor | None = None,
    *,
    report: Callable[[str], None],
    should_stop: ShouldStop = never_stop,
) -> int:
    """Run the listener, reporting each arrival (and its prediction) until ``should_stop()``.

    Args:
        settings: the listener's settings.
        predictor: predicts each arrival on this thread when given.
        report: receives each line to show (the listening line first).
        should_stop: checked twice a second.

    Returns:
        The number of instances received.
    """
    arrivals: queue.SimpleQueue[tuple[ReceivedInstance, float]] = queue.SimpleQueue()

    def on_received(instance: ReceivedInstance) -> None:
        arrivals.put((instance, time.perf_counter()))

    received = 0
    with StorageListener(settings, on_received) as listener:
        allowed = ", ".join(str(entry) for entry in settings.allowed)
        report(
            f"Listening as {settings.ae_title} on {settings.host}:{listener.port}, writing to "
            f"{settings.out_dir}; accepting {allowed}. Ctrl-C stops."
        )
        while not should_stop():
            try:
                instance, arrived = arrivals.get(timeout=0.5)
            except queue.Empty:
                continue
            received += 1
            line = f"received {instance.path}"
            if predictor is not None and instance.predictable:
                line += f": {_predict(predictor, instance.path, arrived)}"
            elif predictor is not None:
                line += " (a report or Hilum's own result: not predicted)"
            report(line)
    return received


def _predict(predictor: Predictor, path: Path, arrived: float) -> str:
    try:
        prediction = predictor.predict(path)
    except HilumError as error:
        return f"not predicted: {error}"
    latency = time.perf_counter() - arrived
    return f"{result_line(prediction)}, {latency:.2f} s after arrival"
