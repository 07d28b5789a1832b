"""The ``hilum`` parser: every sub-command registered, a missing one an error (never skipped)."""

from __future__ import annotations

import argparse
import sys

import pytest

from engine.cli import build_parser

COMMANDS = {
    "info",
    "train",
    "variants",
    "evaluate",
    "compare",
    "predict",
    "robustness",
    "ensemble",
    "domain-check",
    "commission",
    "export-runtime",
    "listen",
    "pacs",
    "view",
}


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_every_sub_command_is_registered() -> None:
    assert _commands(build_parser()) == COMMANDS


def test_a_missing_command_module_is_an_error_not_a_missing_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a bundle that failed to collect ``engine.cli.training`` would do."""
    import engine.cli

    monkeypatch.delattr(engine.cli, "training", raising=False)
    monkeypatch.setitem(sys.modules, "engine.cli.training", None)  # importing it now fails
    with pytest.raises(ImportError, match=r"engine\.cli\.training"):
        build_parser()


def test_a_commands_help_comes_from_its_handlers_docstring() -> None:
    """First line -> the line in ``hilum --help``; second paragraph -> its own description;
    later paragraphs (for developers) are not shown; no docstring is an error."""
    from engine.cli.arguments import add_command

    def handler(_args: argparse.Namespace, _context: object) -> int:
        """Count the sheep.

        Count every sheep in the folder and
        print how many there were.

        Developer note: never shown.
        """
        return 0

    commands = argparse.ArgumentParser(prog="hilum").add_subparsers()
    parser = add_command(commands, "sheep", handler)
    assert commands.choices["sheep"] is parser
    assert [action.help for action in commands._choices_actions] == ["count the sheep"]
    assert parser.description == "Count every sheep in the folder and print how many there were."

    def silent(_args: argparse.Namespace, _context: object) -> int:
        return 0

    with pytest.raises(ValueError, match="'hilum quiet' has no docstring"):
        add_command(commands, "quiet", silent)
