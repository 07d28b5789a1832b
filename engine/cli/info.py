"""``hilum info PATH... [--json]``: what :func:`engine.load_image` reads from each file."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from engine.cli.arguments import Commands, add_command, add_json_flag, add_paths_argument
from engine.errors import ImageReadError
from engine.imaging.files import walk_images
from engine.imaging.images import load_image


def register(commands: Commands) -> None:
    """Add the ``info`` sub-command."""
    parser = add_command(commands, "info", run)
    add_paths_argument(parser)
    add_json_flag(parser)


def register_view_placeholder(commands: Commands) -> None:
    """List ``view`` in the help; the viewer's entry point handles it before the engine parses."""
    commands.add_parser("view", help="open the viewer (the default without a sub-command)")


def run(args: argparse.Namespace, _context: object) -> int:
    """Describe image files (format, size, windows, ...) or say why they fail.

    Read each file as Hilum would and print what was found. Folders are walked. Exit status 1
    when any file could not be read.
    """
    walk = walk_images(args.paths)
    reports: list[dict[str, Any]] = []
    for path in walk.files:
        try:
            reports.append({"ok": True, **load_image(path).summary()})
        except ImageReadError as error:
            reports.append({"ok": False, "path": str(path), "error": str(error)})
    failed = sum(not report["ok"] for report in reports)
    if args.json:
        json.dump(reports, sys.stdout, indent=2)
        print()
    else:
        for report in reports:
            print(_format(report))
        print(
            f"\n{len(reports) - failed} readable, {failed} failed"
            + (f", {len(walk.ignored)} non-image files ignored" if walk.ignored else "")
        )
    return 1 if failed else 0


def _format(report: dict[str, Any]) -> str:
    if not report["ok"]:
        return f"ERROR {report['error']}"
    window = report["windows"][0]
    lines = [
        f"{report['path']}",
        f"  {report['format']} {report['width']}x{report['height']}, {report['bits_stored']}-bit "
        f"{report['photometric']}"
        + (f", {report['transfer_syntax']}" if report["transfer_syntax"] else ""),
        f"  modality {report['modality'] or '-'}, body part {report['body_part'] or '-'}, "
        f"frames {report['frames']}, stored range {report['stored_range'][0]:g}.."
        f"{report['stored_range'][1]:g}",
        "  display: "
        + (
            f"VOI LUT '{report['voi_lut']}'"
            if report["voi_lut"]
            else f"window C={window['center']:g} W={window['width']:g} ({window['explanation']})"
        )
        + f"; {len(report['windows'])} window(s) available",
    ]
    lines += [f"  warning: {warning}" for warning in report["warnings"]]
    return "\n".join(lines)
