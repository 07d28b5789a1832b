"""``hilum`` sub-commands that run headless through the engine.

Each module of this package (``info``, ``training``, ``evaluation``, ``predict``) registers its
sub-commands with :func:`register` functions; this module assembles the parser and runs the chosen
command. The viewer's entry point (``viewer.entry``)
hands every sub-command except ``view`` here, so a headless command never imports Qt.

Exit status: 0 on success, 1 when a command finished but some input failed (e.g. an unreadable
file), 2 for usage errors and for a :class:`HilumError` that stops the command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace

from engine.cli.context import CliContext, Handler
from engine.errors import HilumError


def build_parser() -> argparse.ArgumentParser:
    """The full ``hilum`` parser with every headless sub-command."""
    from engine.cli import info

    parser = argparse.ArgumentParser(
        prog="hilum",
        description="Hilum: chest X-ray workstation. Supports a clinician's reading of "
        "pediatric chest radiographs; it is not a diagnostic device. Without a sub-command, "
        "opens the viewer.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        module.register(commands)
    info.register_view_placeholder(commands)
    return parser


def _command_modules() -> list[_Registrar]:
    import importlib

    modules: list[_Registrar] = []
    for name in ("info", "training", "evaluation", "predict", "robustness", "ensemble"):
        try:
            modules.append(importlib.import_module(f"engine.cli.{name}"))  # type: ignore[arg-type]
        except ModuleNotFoundError as error:
            if error.name != f"engine.cli.{name}":
                raise
    return modules


class _Registrar:  # protocol-like: a module with ``register(subparsers)``
    register: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]


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
        return handler(args, context)
    except HilumError as error:
        print(f"hilum {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hilum {args.command}: interrupted.", file=sys.stderr)
        return 130
