"""``hilum listen --out DIR --allow AET [AET ...] [--port N] [--aet HILUM] [--host IP]
[--predict [--model DIR]]``.

Runs the storage receiver (:class:`engine.pacs.scp.StorageListener`) until Ctrl-C: X-ray units
and PACSs on the allow-list send images, which land in ``DIR/<study>/<instance>.dcm``. One line
is printed per instance (the file, never the patient's name). With ``--predict`` each arriving
image is also predicted, on this (main) thread, never on the network's: the result line says
how long after its arrival.
"""

from __future__ import annotations

import argparse
import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from engine.cli import CliContext
from engine.errors import HilumError, ModelFileError
from engine.pacs.nodes import (
    DEFAULT_AE_TITLE,
    DEFAULT_PORT,
    LOOPBACK,
    AllowedCaller,
    ListenerSettings,
)
from engine.pacs.scp import StorageListener
from engine.pacs.storage import ReceivedInstance
from engine.progress import ShouldStop, never_stop

if TYPE_CHECKING:  # TensorFlow is imported only with --predict
    from engine.inference import Predictor


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``listen`` sub-command."""
    parser = commands.add_parser(
        "listen",
        help="receive images from X-ray units and PACSs (DICOM Storage SCP)",
        description="Receive DICOM images (CR, DX, Secondary Capture) sent with C-STORE, and "
        "answer C-ECHO, until Ctrl-C. Only the AE titles given with --allow may connect. Each "
        "image is written to DIR/<StudyInstanceUID>/<SOPInstanceUID>.dcm.",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="receive folder")
    parser.add_argument(
        "--allow",
        nargs="+",
        required=True,
        metavar="AET",
        help="calling AE titles allowed to send, each optionally AET@ip-address",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--aet", default=DEFAULT_AE_TITLE, help=f"Hilum's AE title (default {DEFAULT_AE_TITLE})"
    )
    parser.add_argument(
        "--host",
        default=LOOPBACK,
        metavar="IP",
        help=f"interface to listen on (default {LOOPBACK}: this computer only; 0.0.0.0: all)",
    )
    parser.add_argument(
        "--predict", action="store_true", help="predict each arriving image and print the result"
    )
    parser.add_argument(
        "--model", type=Path, metavar="DIR", help="model bundle (default: the shipped model)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, context: CliContext) -> int:
    """Listen until interrupted; return 0."""
    settings = ListenerSettings(
        ae_title=args.aet,
        port=args.port,
        out_dir=args.out,
        allowed=tuple(AllowedCaller.parse(text) for text in args.allow),
        host=args.host,
    )
    predictor = (
        load_predictor(args.model, context, ", or listen without --predict")
        if args.predict
        else None
    )
    try:
        serve(settings, predictor, report=_print)
    except KeyboardInterrupt:
        print("Stopped.", flush=True)
    return 0


def _print(line: str) -> None:
    print(line, flush=True)


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


def load_predictor(model: Path | None, context: CliContext, hint: str = "") -> Predictor:
    """The ``--model`` bundle, or the shipped default, loaded (TensorFlow is imported here).

    Raises:
        ModelFileError: there is no model to use, or it cannot be loaded.
    """
    from engine.inference import Predictor

    chosen = model or context.default_model
    if chosen is None:
        raise ModelFileError(
            "No model to predict with: this installation has no default model. Give one with "
            f"--model DIR{hint}."
        )
    return Predictor.load(chosen)


def _predict(predictor: Predictor, path: Path, arrived: float) -> str:
    try:
        prediction = predictor.predict(path)
    except HilumError as error:
        return f"not predicted: {error}"
    latency = time.perf_counter() - arrived
    return (
        f"{prediction.label} {prediction.probability:.3f} (threshold "
        f"{prediction.threshold:.3f}), {latency:.2f} s after arrival"
    )
