"""``hilum ensemble MEMBER_DIR... --out DIR [--tta VIEWS] [--external DIR] [--fit-on SET]``.

Assembles trained bundles into one bundle (an ensemble and/or a test-time augmentation recipe),
fits its calibration and operating point, measures it and runs the robustness battery; see
:mod:`engine.workflows.ensemble`. Prints the new bundle's figures; exit status 0.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from engine.cli import arguments as cli
from engine.cli.context import CliContext
from engine.progress import Progress


def register(commands: cli.Commands) -> None:
    """Add the ``ensemble`` sub-command."""
    parser = cli.add_command(commands, "ensemble", run_ensemble, workstation=True)
    parser.add_argument("members", nargs="+", type=Path, metavar="MEMBER_DIR")
    cli.add_out_option(parser, "new bundle folder")
    cli.add_tta_option(parser, "test-time views")
    cli.add_external_option(parser, "images from elsewhere")
    cli.add_fit_on_option(parser, "validation")
    cli.add_calibration_option(parser, "platt")
    cli.add_target_sensitivity_option(parser, 0.97)
    parser.add_argument("--name", default=None, help="display name of the bundle")


def run_ensemble(args: argparse.Namespace, context: CliContext) -> int:
    """Assemble trained bundles into one (ensemble and/or test-time augmentation).

    Average trained bundles' probabilities over test-time views, fit one calibration and
    operating point, measure on validation (and external) images, run the robustness battery,
    and write the result as one bundle.
    """
    from engine.evaluation.assessment import AssessmentConfig
    from engine.modeling.bundles import read_card, update_card
    from engine.modeling.card_summary import describe_card
    from engine.workflows.ensemble import build_ensemble

    def show(progress: Progress) -> None:
        if progress.done == progress.total:
            print(f"{progress.stage}: {progress.total} done", file=sys.stderr)

    bundle = build_ensemble(
        args.members,
        args.out,
        tta=list(cli.views(args.tta)),
        external_dir=args.external,
        assessment=AssessmentConfig(
            fit_on=args.fit_on,
            calibration=args.calibration,
            target_sensitivity=args.target_sensitivity,
        ),
        name=args.name,
        on_progress=show,
    )
    if bundle is None:
        return 130
    command = shlex.join(["hilum", *context.argv])
    card = update_card(bundle, replace(read_card(bundle), command=command))
    print(describe_card(card))
    return 0
