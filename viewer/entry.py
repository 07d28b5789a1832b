"""The ``hilum`` console command.

``hilum`` and ``hilum view PATH...`` open the viewer; ``hilum --self-test`` checks the
installation headless (see :mod:`viewer.self_test`); every other sub-command (``info``,
``predict``, ``train``, ...) runs headless in :mod:`engine.cli.main`, with the shipped default
model's location passed in (the engine never imports :mod:`resources`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from viewer.resource_paths import default_model_dir

#: Flags answered by the full command's help (every sub-command), not by the viewer's parser.
HELP_FLAGS = ("-h", "--help")


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to the viewer or to the engine CLI; return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--self-test"]:
        from viewer.self_test import run_self_test

        return run_self_test()
    if not args or args[0] == "view" or (args[0].startswith("-") and args[0] not in HELP_FLAGS):
        from viewer.app import run_viewer

        return run_viewer(args[1:] if args and args[0] == "view" else args)
    from engine.cli import CliContext
    from engine.cli import main as engine_main

    return engine_main(args, CliContext(default_model=default_model_dir()))


if __name__ == "__main__":
    sys.exit(main())
