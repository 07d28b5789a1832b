"""What a ``hilum`` sub-command is given besides its arguments, and the handler type.

Kept apart from :mod:`engine.cli.main` so that the command modules need not import the parser.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CliContext:
    """What the caller knows that the engine must not import: the shipped default model, and
    the command line as typed (recorded in model cards so that a run can be reproduced)."""

    default_model: Path | None = None
    argv: tuple[str, ...] = ()


Handler = Callable[[argparse.Namespace, CliContext], int]
