"""``hilum`` sub-commands that run headless through the engine.

Each module of this package (``info``, ``training``, ``evaluation``, ``predict``,
``robustness``, ``ensemble``, ``domain``, ``commission``, ``export_runtime``, ``listen``,
``pacs``) registers its sub-commands with its ``register`` function; this module imports every
one of them explicitly, assembles the parser and runs the chosen command. The viewer's entry
point (``viewer.entry``) hands every sub-command except ``view`` here, so a headless command
never imports Qt.

The commands that train, fit or export (``train``, ``variants``, ``ensemble``,
``robustness``, ``domain-check``, ``commission``, ``export-runtime``) are declared
``workstation`` commands: in the reading room (no TensorFlow) they stop at once with the message
that says what is missing and how to get it.

Exit status: 0 on success, 1 when a command finished but some input failed (e.g. an unreadable
file), 2 for usage errors and for a :class:`HilumError` that stops the command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace

from engine.cli.context import CliContext, Handler
from engine.errors import HilumError
from engine.runtime import require_training


def build_parser() -> argparse.ArgumentParser:
    """The full ``hilum`` parser with every headless sub-command.

    Every command module is imported here by name, never found at run time: PyInstaller collects
    what the code imports, and a command that is missing from an installation is an
    ``ImportError`` at once, not a sub-command silently absent from ``--help``.
    """
    from engine.cli import (
        commission,
        domain,
        ensemble,
        evaluation,
        export_runtime,
        info,
        listen,
        pacs,
        predict,
        robustness,
        training,
    )

    parser = argparse.ArgumentParser(
        prog="hilum",
        description="Hilum: chest X-ray workstation. Supports a clinician's reading of "
        "pediatric chest radiographs; it is not a diagnostic device. Without a sub-command, "
        "opens the viewer.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = (
        info,
        training,
        evaluation,
        predict,
        robustness,
        ensemble,
        domain,
        commission,
        export_runtime,
    )
    for module in (*modules, listen, pacs):
        module.register(commands)
    info.register_view_placeholder(commands)
    return parser


def main(argv: Sequence[str] | None = None, context: CliContext | None = None) -> int:
    """Run one headless sub-command and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    context = context or CliContext()
    if not context.argv:
        context = replace(context, argv=tuple(sys.argv[1:] if argv is None else argv))
    try:
        if args.workstation:
            require_training("This command")
        return handler(args, context)
    except HilumError as error:
        print(f"hilum {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hilum {args.command}: interrupted.", file=sys.stderr)
        return 130
