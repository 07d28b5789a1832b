"""``hilum domain-check MODEL_DIR [--data DIR] [--name TEXT] [--false-alarm-rate R] [--json]``.

Fits (or refits) a bundle's domain check (:mod:`engine.modeling.domain_reference`) from the
images its card says it was trained and validated on, and stores it in the bundle: for bundles
made before Hilum fitted the check itself (the shipped default model's was made this way).
"""

from __future__ import annotations

import argparse
import json
import sys

from engine.cli import arguments as cli
from engine.progress import Progress


def register(commands: cli.Commands) -> None:
    """Add the ``domain-check`` sub-command."""
    parser = cli.add_command(commands, "domain-check", run_domain_check, workstation=True)
    cli.add_bundle_argument(parser)
    parser.add_argument(
        "--data", metavar="DIR", help="the training folder, when it moved since the card was made"
    )
    parser.add_argument("--name", help="the training images' name for people (shown in warnings)")
    parser.add_argument(
        "--false-alarm-rate",
        type=float,
        default=0.01,
        metavar="R",
        help="share of held-out validation images flagged (default 0.01)",
    )
    cli.add_json_flag(parser, "the card's domain_check section")


def run_domain_check(args: argparse.Namespace, _context: object) -> int:
    """Fit a bundle's domain check from its own training and validation images.

    The check flags images whose features (in the model's own layers) are unlike those of the
    images the model was built on; its threshold flags the given share of held-out validation
    images. The reference is written into the bundle and named in its card, crash-safely.
    """
    from engine.errors import ConfigError
    from engine.evaluation.domain_fitting import (
        fit_domain_check,
        training_sources,
        write_domain_check,
    )
    from engine.modeling.bundles import load_bundle

    if not 0.0 < args.false_alarm_rate < 0.5:
        raise ConfigError(f"--false-alarm-rate must be in (0, 0.5), got {args.false_alarm_rate}.")
    bundle = load_bundle(args.model)
    train, validation = training_sources(bundle, args.data, args.name)

    def show(progress: Progress) -> None:
        print(f"{progress.message} ({progress.done}/{progress.total})", file=sys.stderr)

    reference, section = fit_domain_check(
        bundle.members, train, validation, false_alarm_rate=args.false_alarm_rate, on_progress=show
    )
    written = write_domain_check(args.model, reference, section)
    if args.json:
        print(json.dumps(written.to_card(), indent=2))
    else:
        print(f"Domain check written to {args.model}/{written.file}: {written.method}.")
    return 0
