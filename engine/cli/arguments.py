"""Arguments that several ``hilum`` sub-commands declare alike, with their help texts in one place.

Each helper adds one argument (or a group that always goes together) to a parser, so that a
``MODEL_DIR``, a ``DATA`` folder or ``--json`` reads the same in every command's ``--help``.
"""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path
from typing import TypeAlias

from engine.cli.context import Handler
from engine.modeling.calibration import CALIBRATION_METHODS

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``add_subparsers`` returns: where a module's ``register`` adds its sub-commands."""

FIT_SETS = ("validation", "external")
"""The sets a bundle's calibration and operating point can be fitted on."""

LABELLED_FOLDER = "a folder with NORMAL/ and PNEUMONIA/"
TTA_VIEWS = "comma-separated, starting with identity (identity, hflip, zoom_in, zoom_out)"


def add_command(
    commands: Commands,
    name: str,
    handler: Handler,
    *,
    summary: str | None = None,
    description: str | None = None,
    workstation: bool = False,
) -> argparse.ArgumentParser:
    """Add sub-command ``name`` run by ``handler``; ``workstation``: only the full workstation
    runs it (it trains or fits with TensorFlow), the reading room says how to get it instead.

    The handler's docstring is the user's help unless ``summary``/``description`` are given (as
    click does): its first line, without the full stop and with a lower-case first letter, is
    the command's line in ``hilum --help``; its second paragraph is the command's own
    ``--help`` description. Later paragraphs are for developers and never shown.

    Raises:
        ValueError: the handler has no docstring and no help was given (a command without help
            is a bug, caught by the CLI tests).
    """
    paragraphs = [
        " ".join(part.split()) for part in inspect.cleandoc(handler.__doc__ or "").split("\n\n")
    ]
    if summary is None:
        if not paragraphs[0]:
            raise ValueError(f"The handler of 'hilum {name}' has no docstring to show as help.")
        first = paragraphs[0].removesuffix(".")
        summary = first[:1].lower() + first[1:]
    if description is None:
        description = paragraphs[1] if len(paragraphs) > 1 else summary
    parser = commands.add_parser(name, help=summary, description=description)
    parser.set_defaults(handler=handler, workstation=workstation)
    return parser


def add_paths_argument(parser: argparse.ArgumentParser) -> None:
    """``PATH...``: image files or folders (folders are walked)."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")


def add_bundle_argument(parser: argparse.ArgumentParser) -> None:
    """``MODEL_DIR``: one model bundle folder, as ``args.model``."""
    parser.add_argument("model", type=Path, metavar="MODEL_DIR", help="model bundle folder")


def add_model_option(parser: argparse.ArgumentParser, default_said: str) -> None:
    """``--model DIR``: the bundle to predict with; ``default_said`` tells what runs without it."""
    parser.add_argument("--model", type=Path, metavar="DIR", help=default_said)


def add_data_argument(parser: argparse.ArgumentParser, help_text: str = LABELLED_FOLDER) -> None:
    """``DATA``: the labelled image folder, as ``args.data``."""
    parser.add_argument("data", type=Path, metavar="DATA", help=help_text)


def add_json_flag(parser: argparse._ActionsContainer, printed: str = "one JSON list") -> None:
    """``--json``: print ``printed`` (a list or an object) instead of text."""
    parser.add_argument("--json", action="store_true", help=f"print {printed}")


def add_out_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--out DIR`` (required): where the command writes."""
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help=help_text)


def add_external_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--external DIR``: labelled images from elsewhere, to measure on (never trained on)."""
    parser.add_argument("--external", type=Path, default=None, metavar="DIR", help=help_text)


def add_tta_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--tta VIEWS``: the test-time views a bundle averages over (read with :func:`views`)."""
    parser.add_argument("--tta", default="identity", help=f"{what}, {TTA_VIEWS}")


def views(text: str) -> tuple[str, ...]:
    """The view names of a ``--tta`` value, in order, blanks left out."""
    return tuple(view.strip() for view in text.split(",") if view.strip())


def add_calibration_option(parser: argparse.ArgumentParser, default: str) -> None:
    """``--calibration``: how the bundle's probabilities are calibrated."""
    parser.add_argument("--calibration", choices=CALIBRATION_METHODS, default=default)


def add_target_sensitivity_option(parser: argparse.ArgumentParser, default: float) -> None:
    """``--target-sensitivity``: the minimum sensitivity the operating point keeps."""
    parser.add_argument("--target-sensitivity", type=float, default=default)


def add_fit_on_option(
    parser: argparse.ArgumentParser, default: str, help_text: str | None = None
) -> None:
    """``--fit-on``: the set that fits the calibration and chooses the threshold."""
    parser.add_argument("--fit-on", choices=FIT_SETS, default=default, help=help_text)
