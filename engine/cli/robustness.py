"""``hilum robustness MODEL_DIR DATA [--per-class N] [--seed N] [--json] [--write-card]``.

Runs the battery of :mod:`engine.evaluation.robustness` (crop, pad, shift, rotation, gamma,
contrast, blur, noise, JPEG, burned-in text, horizontal flip) over a seeded sample of DATA's
images and prints, per change, the share of labels that flip at the card's threshold and the
mean |delta p|. ``--write-card`` records the result in the bundle's card (atomically). Exit
status 0, or 1 when
some sampled images could not be read (they are left out and counted).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from engine.cli import arguments as cli
from engine.errors import DatasetError
from engine.modeling.labelled_folders import find_data_folders
from engine.progress import Progress


def register(commands: cli.Commands) -> None:
    """Add the ``robustness`` sub-command."""
    parser = cli.add_command(commands, "robustness", run_robustness, workstation=True)
    cli.add_bundle_argument(parser)
    cli.add_data_argument(parser)
    parser.add_argument(
        "--per-class", type=int, default=100, metavar="N", help="images per class (default 100)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample and the changes")
    cli.add_json_flag(parser, "one JSON object")
    parser.add_argument(
        "--write-card", action="store_true", help="record the result in the bundle's card"
    )


def run_robustness(args: argparse.Namespace, _context: object) -> int:
    """How often harmless changes (crop, rotation, exposure, text...) flip a model's label.

    Run a fixed, seeded battery of changes over labelled images and print, per change, the share
    of labels that flip at the card's threshold (overall, NORMAL, PNEUMONIA) and the mean change
    of the probability.
    """
    from engine.evaluation.robustness import format_report, measure_robustness, sample_images
    from engine.inference.predictor import Predictor
    from engine.modeling.bundles import read_card, update_card

    if args.per_class < 1:
        raise DatasetError(f"--per-class must be at least 1, got {args.per_class}.")
    data = find_data_folders(args.data).train
    pixels, labels, unreadable = sample_images(data, args.per_class, args.seed)
    if not pixels:
        raise DatasetError(f"{args.data}: none of the sampled images could be read.")
    predictor = Predictor.load(args.model)

    def show(progress: Progress) -> None:
        print(f"{progress.message} ({progress.done}/{progress.total})", file=sys.stderr)

    report = measure_robustness(
        predictor.probabilities,
        pixels,
        labels,
        predictor.threshold,
        seed=args.seed,
        data=str(Path(args.data).resolve()),
        on_progress=show,
    )
    if report is None:  # cannot happen without a should_stop; keeps the type honest
        return 130
    if args.write_card:
        update_card(args.model, replace(read_card(args.model), robustness=report.to_card()))
    if args.json:
        print(json.dumps({**report.to_card(), "unreadable": unreadable}, indent=2))
    else:
        print(format_report(report))
        if unreadable:
            print(f"{unreadable} sampled images could not be read and were left out.")
    return 1 if unreadable else 0
