"""``hilum listen --out DIR --allow AET [AET ...] [--port N] [--aet HILUM] [--host IP]
[--predict [--model DIR]]``.

Runs the storage receiver until Ctrl-C (:func:`engine.pacs.serving.serve`): X-ray units and
PACSs on the allow-list send images, which land in ``DIR/<study>/<instance>.dcm``. One line is
printed per instance (the file, never the patient's name). With ``--predict`` each arriving
image is also predicted, on this (main) thread, never on the network's.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from engine.cli.arguments import Commands, add_command, add_model_option, add_out_option
from engine.cli.context import CliContext
from engine.errors import ModelFileError
from engine.pacs.nodes import (
    DEFAULT_AE_TITLE,
    DEFAULT_PORT,
    LOOPBACK,
    AllowedCaller,
    ListenerSettings,
)
from engine.pacs.serving import serve

if TYPE_CHECKING:  # TensorFlow is imported only with --predict
    from engine.inference.predictor import Predictor


def register(commands: Commands) -> None:
    """Add the ``listen`` sub-command."""
    parser = add_command(commands, "listen", run)
    add_out_option(parser, "receive folder")
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
    add_model_option(parser, "model bundle (default: the shipped model)")


def run(args: argparse.Namespace, context: CliContext) -> int:
    """Receive images from X-ray units and PACSs (DICOM Storage SCP).

    Receive DICOM images (CR, DX, Secondary Capture) sent with C-STORE, and answer C-ECHO, until
    Ctrl-C. Only the AE titles given with --allow may connect. Each image is written to
    DIR/<StudyInstanceUID>/<SOPInstanceUID>.dcm.
    """
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


def load_predictor(model: Path | None, context: CliContext, hint: str = "") -> Predictor:
    """The ``--model`` bundle, or the shipped default, loaded (TensorFlow is imported here).

    Raises:
        ModelFileError: there is no model to use, or it cannot be loaded.
    """
    from engine.inference.predictor import Predictor

    chosen = model or context.default_model
    if chosen is None:
        raise ModelFileError(
            "No model to predict with: this installation has no default model. Give one with "
            f"--model DIR{hint}."
        )
    return Predictor.load(chosen)
