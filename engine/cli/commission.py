"""``hilum commission BUNDLE SITE_DATA --out DIR [--site NAME] [...]``.

Commissions a bundle for a new site (:mod:`engine.workflows.commissioning`) and prints the
site's test-part figures before and after, with their 95 % intervals.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli import arguments as cli
from engine.progress import Progress


def register(commands: cli.Commands) -> None:
    """Add the ``commission`` sub-command."""
    parser = cli.add_command(commands, "commission", run_commission, workstation=True)
    cli.add_bundle_argument(parser)
    parser.add_argument(
        "site_data", type=Path, metavar="SITE_DATA", help="the site's class folders"
    )
    parser.add_argument("--out", type=Path, required=True, help="the new bundle's folder")
    parser.add_argument("--site", help="the site's name for people (default: SITE_DATA's name)")
    parser.add_argument(
        "--test-fraction", type=float, default=0.5, help="share of patients kept for testing"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the patient split")
    parser.add_argument(
        "--target-sensitivity",
        type=float,
        default=0.92,
        help="the site head's operating point, on cross-fitted fit images (default 0.92)",
    )
    parser.add_argument(
        "--refit-on-all",
        action="store_true",
        help="after measuring on the test part, fit again on all the site's images",
    )
    parser.add_argument(
        "--external", type=Path, help="also measure before/after on these labelled images"
    )


def run_commission(args: argparse.Namespace, _context: object) -> int:
    """Commission a model bundle for a new site from the site's own labelled images.

    Splits SITE_DATA by patient into a fit part and a test part, fits the site's domain and a
    site head on the fit part, reports figures on the test part with bootstrap 95 % intervals
    before and after, and writes the site bundle to --out.
    """
    from engine.modeling.bundles import read_card
    from engine.workflows.commissioning import CommissionConfig, commission
    from engine.workflows.site_card import site_lines

    config = CommissionConfig(
        bundle=Path(args.model),
        site_data=args.site_data,
        out=args.out,
        site=args.site or args.site_data.resolve().name,
        test_fraction=args.test_fraction,
        seed=args.seed,
        target_sensitivity=args.target_sensitivity,
        refit_on_all=args.refit_on_all,
        external=args.external,
    )

    def show(progress: Progress) -> None:
        print(f"{progress.message} ({progress.done}/{progress.total})", file=sys.stderr)

    out = commission(config, on_progress=show)
    print(f"Site bundle written to {out}")
    for line in site_lines(read_card(out)):
        print(line)
    return 0
