"""The headless ``hilum`` sub-commands (info, train, variants, evaluate, compare, predict), one
module per group, over the same engine functions the viewer uses.
"""

from engine.cli.context import CliContext
from engine.cli.main import build_parser, main

__all__ = [
    "CliContext",
    "build_parser",
    "main",
]
