"""Compare several evaluated models as one table: the seed notebooks' columns plus Hilum's.

The seeds compared loss, accuracy, recall, precision, F1, parameters, total training time,
epochs, time per epoch and the confusion matrix; Hilum adds specificity, ROC AUC, PR AUC, Brier
score, ECE and the threshold, because accuracy alone flatters a model on a shifted test set.
The rows are plain dicts so the same table feeds the terminal, a CSV file and the viewer.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.atomic_files import write_text
from engine.evaluation.bundle_evaluation import EvaluationReport
from engine.modeling.card import ModelCard
from engine.modeling.card_summary import expected_elsewhere, worst_flip
from engine.modeling.metrics import Metrics

#: Column keys, in order, with their headers for people.
COLUMNS = {
    "model": "model",
    "variant": "variant",
    "n": "n",
    "loss": "loss",
    "accuracy": "accuracy",
    "recall": "recall",
    "precision": "precision",
    "f1": "f1",
    "specificity": "specificity",
    "auc": "auc",
    "pr_auc": "pr_auc",
    "brier": "brier",
    "ece": "ece",
    "threshold": "threshold",
    "parameters": "parameters",
    "total_seconds": "total_s",
    "epochs": "epochs",
    "seconds_per_epoch": "s/epoch",
    "confusion_matrix": "[[tn,fp],[fn,tp]]",
    "external_accuracy": "ext accuracy",
    "external_auc": "ext auc",
    "external_sensitivity": "ext sens",
    "external_specificity": "ext spec",
    "worst_flip": "worst flip",
}
#: The external figures in a row (from the card: see
#: :func:`engine.modeling.card_summary.expected_elsewhere`), by column key.
_EXTERNAL = {
    "external_accuracy": "accuracy",
    "external_auc": "auc",
    "external_sensitivity": "sensitivity",
    "external_specificity": "specificity",
}


def comparison_row(name: str, card: ModelCard, metrics: Metrics | None) -> dict[str, Any]:
    """One model's row, keyed by :data:`COLUMNS`: ``metrics`` (the card's validation metrics or
    an evaluation's), the card's training facts, its figures on images from elsewhere and the
    robustness battery's worst per-class flip rate; ``None`` where a fact is unknown."""
    training = card.training_facts
    external = expected_elsewhere(card) or {}
    worst = worst_flip(card.robustness)
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(
        model=name,
        variant=card.variant,
        parameters=training["parameters"],
        total_seconds=training["total_seconds"],
        epochs=training["epochs_run"],
        seconds_per_epoch=training["seconds_per_epoch"],
        worst_flip=None if worst is None else worst[1],
        **{column: external.get(key) for column, key in _EXTERNAL.items()},
    )
    if metrics is not None:
        row.update(
            n=metrics.n,
            loss=metrics.loss,
            accuracy=metrics.accuracy,
            recall=metrics.sensitivity,
            precision=metrics.precision,
            f1=metrics.f1,
            specificity=metrics.specificity,
            auc=metrics.auc,
            pr_auc=metrics.pr_auc,
            brier=metrics.brier,
            ece=metrics.ece,
            threshold=metrics.threshold,
            confusion_matrix=metrics.confusion_matrix,
        )
    return row


def comparison_table(reports: Sequence[EvaluationReport]) -> list[dict[str, Any]]:
    """One row per evaluation report (see :func:`comparison_row`)."""
    return [comparison_row(report.name, report.card, report.metrics) for report in reports]


def format_float(value: float) -> str:
    """A table's float: 4 decimals, or 1 from 10 up (seconds, epochs)."""
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"


def format_cell(value: Any, *, missing: str = "-", group_thousands: bool = False) -> str:
    """One table cell for people: floats by :func:`format_float`, the confusion matrix as compact
    JSON, integers with thousands separators when asked, ``missing`` for an unknown value."""
    if value is None:
        return missing
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, list):
        return json.dumps(value, separators=(",", ":"))
    if group_thousands and isinstance(value, int):
        return f"{value:,}"
    return str(value)


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as an aligned plain-text table (floats to 4 decimals, missing as ``-``)."""
    cells = [list(COLUMNS.values())] + [[format_cell(row[key]) for key in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def write_csv(rows: Sequence[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    """Write the rows as CSV (full precision; the confusion matrix as JSON), atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            [
                ""
                if row[key] is None
                else json.dumps(row[key])
                if isinstance(row[key], list)
                else row[key]
                for key in COLUMNS
            ]
        )
    write_text(path, buffer.getvalue())


def write_plots(reports: Sequence[EvaluationReport], folder: str | os.PathLike[str]) -> list[Path]:
    """Write ``roc.png``, ``confusion_matrices.png`` and ``training_curves.png`` into ``folder``
    (created if needed) for the reports, and return their paths.

    The ROC figure marks each model's operating point (its card's threshold) with a dot.
    """
    from engine.evaluation import plots  # matplotlib only when plots are asked for

    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    return [
        plots.plot_roc(
            {_roc_label(r): r.metrics.roc for r in reports},
            target / "roc.png",
            {_roc_label(r): (1 - r.metrics.specificity, r.metrics.sensitivity) for r in reports},
        ),
        plots.plot_confusion_matrices(
            {r.name: r.metrics.confusion_matrix for r in reports}, target / "confusion_matrices.png"
        ),
        plots.plot_training_curves(
            {r.name: r.card.training_facts["history"] for r in reports},
            target / "training_curves.png",
        ),
    ]


def _roc_label(report: EvaluationReport) -> str:
    auc = report.metrics.auc
    return f"{report.name} (AUC {'-' if auc is None else f'{auc:.3f}'})"
