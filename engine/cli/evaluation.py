"""``hilum evaluate`` and ``hilum compare``: measure model bundles on a labelled folder.

* ``hilum evaluate MODEL_DIR DATA [--limit N] [--seed N] [--json]``
* ``hilum compare MODEL_DIR... --data DATA [--limit N] [--seed N] [--csv FILE] [--plots DIR]``

Results go to stdout (JSON with ``--json``), progress to stderr. Exit status 0, or 1 when some
images could not be read (they are left out of the figures and listed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.cli import arguments as cli
from engine.errors import ConfigError
from engine.evaluation.bundle_evaluation import EvaluationReport, evaluate_bundle
from engine.evaluation.comparison import comparison_table, format_table, write_csv, write_plots
from engine.progress import Progress

_DATA_HELP = (
    f"{cli.LABELLED_FOLDER}, or a chest_xray root (its test/ split is "
    "used when present, else val/, else train/)"
)


def register(commands: cli.Commands) -> None:
    """Add the ``evaluate`` and ``compare`` sub-commands."""
    evaluate = cli.add_command(commands, "evaluate", run_evaluate)
    cli.add_bundle_argument(evaluate)
    cli.add_data_argument(evaluate, _DATA_HELP)
    _add_common(evaluate)
    cli.add_json_flag(evaluate, "one JSON object")

    compare = cli.add_command(commands, "compare", run_compare)
    compare.add_argument(
        "models", nargs="+", type=Path, metavar="MODEL_DIR", help="model bundle folders"
    )
    compare.add_argument("--data", type=Path, required=True, metavar="DATA", help=_DATA_HELP)
    _add_common(compare)
    compare.add_argument("--csv", type=Path, metavar="FILE", help="also write the table as CSV")
    compare.add_argument("--plots", type=Path, metavar="DIR", help="write PNG figures here")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="use at most N images, stratified by label (for quick runs)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the --limit choice")


def _evaluate(model: Path, args: argparse.Namespace) -> EvaluationReport:
    terminal = sys.stderr.isatty()

    def show(progress: Progress) -> None:
        last = progress.done == progress.total
        if terminal or last:
            line = f"{model.name}: {progress.message}"
            print(
                f"\r{line}" if terminal else line,
                end="\n" if last else "",
                file=sys.stderr,
                flush=True,
            )

    report = evaluate_bundle(model, args.data, limit=args.limit, seed=args.seed, on_progress=show)
    if report.split == "train":
        print(
            f"note: {report.data} is the train/ split (no test/ or val/ beside it); figures "
            "on images the model was trained on flatter it.",
            file=sys.stderr,
        )
    for path in report.unreadable:
        print(f"unreadable, left out: {path}", file=sys.stderr)
    return report


def run_evaluate(args: argparse.Namespace, _context: object) -> int:
    """Measure a model bundle on labelled images.

    Accuracy, sensitivity, specificity, AUC, calibration and the confusion matrix of a model
    bundle at its card's threshold. Exit status 1 when some images could not be read (they are
    left out).
    """
    report = _evaluate(args.model, args)
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        print()
    else:
        print(_summary(report))
    return 1 if report.unreadable else 0


def run_compare(args: argparse.Namespace, _context: object) -> int:
    """Compare model bundles on the same labelled images.

    Evaluate several model bundles on the same images and print one table; optionally write it
    as CSV and draw ROC curves, confusion matrices and training curves.
    """
    reports = [_evaluate(model, args) for model in args.models]
    rows = comparison_table(reports)
    print(format_table(rows))
    try:
        if args.csv:
            write_csv(rows, args.csv)
            print(f"table written to {args.csv}", file=sys.stderr)
        if args.plots:
            for path in write_plots(reports, args.plots):
                print(f"figure written to {path}", file=sys.stderr)
    except OSError as error:
        raise ConfigError(
            f"Cannot write the output ({error}). Choose a writable --csv file and --plots folder."
        ) from None
    return 1 if any(report.unreadable for report in reports) else 0


def _summary(report: EvaluationReport) -> str:
    m, card, training = report.metrics, report.card, report.card.training_facts
    point = card.operating_point
    chosen = (
        f" ({point.method}" + (f" {point.target}" if point.target else "") + " on validation)"
        if point
        else ""
    )
    tn, fp = m.confusion_matrix[0]
    fn, tp = m.confusion_matrix[1]

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    lines = [
        f"model        {report.bundle} (variant {card.variant}, id {card.model_id})",
        f"data         {report.data} (split: {report.split}): {m.n} images "
        f"({m.n_negative} NORMAL, {m.n_positive} PNEUMONIA), {len(report.unreadable)} unreadable",
        f"threshold    {m.threshold:.4f}{chosen}; calibration {card.calibration.method}",
        f"accuracy     {number(m.accuracy)}    loss         {number(m.loss)}",
        f"sensitivity  {number(m.sensitivity)}    specificity  {number(m.specificity)}",
        f"precision    {number(m.precision)}    f1           {number(m.f1)}",
        f"ROC AUC      {number(m.auc)}    PR AUC       {number(m.pr_auc)}",
        f"Brier        {number(m.brier)}    ECE          {number(m.ece)}",
        "confusion    truth \\ predicted   NORMAL  PNEUMONIA",
        f"             NORMAL            {tn:>6}  {fp:>9}",
        f"             PNEUMONIA         {fn:>6}  {tp:>9}",
    ]
    facts = ("parameters", "epochs_run", "total_seconds", "seconds_per_epoch")
    if all(training[key] is not None for key in facts):
        lines.append(
            f"training     {training['parameters']:,} parameters, {training['epochs_run']} "
            f"epochs, {training['total_seconds']:.0f} s "
            f"({training['seconds_per_epoch']:.1f} s/epoch)"
        )
    return "\n".join(lines)
