"""Trained models as rows of the comparison, and operating points moved along their ROC curve.

Qt-free. A :class:`ModelEntry` is a bundle and its card, plus an optional re-evaluation on a
labelled folder. Its row is made by the engine's own :func:`engine.comparison.comparison_table`
(the card's validation metrics are wrapped in an :class:`~engine.evaluation.EvaluationReport`),
so the table, its CSV and ``hilum compare`` share one definition of every column.

Moving the operating point never looks at test images: it walks the *validation* ROC stored in
the card. Every threshold-dependent figure at an ROC point follows exactly from the point's
rates and the validation class counts (tp = sensitivity x positives, ...), so the card's
validation metrics stay consistent with its threshold; loss, AUC, Brier and ECE do not depend
on the threshold and are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from engine.bundles import find_bundles, read_card
from engine.comparison import COLUMNS, comparison_table
from engine.errors import ModelFileError
from engine.evaluation import EvaluationReport, Metrics, OperatingPoint

#: Operating-point method recorded when the user picked a point on the ROC curve.
MANUAL = "manual"
#: Column key added to the engine's columns: which images the metrics come from.
SOURCE = "source"


@dataclass(frozen=True)
class ModelEntry:
    """One model of the comparison.

    Attributes:
        bundle: the bundle folder.
        card: its card (as read by :func:`engine.bundles.read_card`).
        evaluation: a re-evaluation on a labelled folder, shown instead of the card's
            validation metrics when present.
    """

    bundle: Path
    card: dict[str, Any]
    evaluation: EvaluationReport | None = None

    @property
    def name(self) -> str:
        """The bundle folder's name (unique within a model folder)."""
        return self.bundle.name

    @cached_property
    def validation(self) -> EvaluationReport | None:
        """The card's validation metrics as a report, or ``None`` when the card has none."""
        metrics = self.card.get("validation_metrics")
        if not metrics:
            return None
        root = Path(str((self.card.get("data") or {}).get("root", "")))
        empty = np.empty(0)
        return EvaluationReport(
            self.name,
            self.bundle,
            self.card,
            root,
            "validation",
            Metrics(**metrics),
            (),
            empty,
            empty,
            0.0,
        )

    @cached_property
    def row(self) -> dict[str, Any]:
        """The comparison row: the engine's :data:`~engine.comparison.COLUMNS` plus ``source``."""
        report = self.evaluation or self.validation
        if report is None:
            row = dict.fromkeys(COLUMNS)
            row.update(model=self.name, variant=self.card.get("variant"))
            return {**row, SOURCE: "no validation metrics"}
        source = f"{report.split}: {report.data.name}" if self.evaluation else "validation"
        return {**comparison_table([report])[0], SOURCE: source}

    @property
    def roc(self) -> dict[str, list[float]]:
        """The validation ROC (``fpr``, ``tpr``, ``thresholds``); empty lists when unknown."""
        metrics = self.card.get("validation_metrics") or {}
        roc = metrics.get("roc") or {}
        return {key: list(roc.get(key) or []) for key in ("fpr", "tpr", "thresholds")}

    @property
    def threshold(self) -> float:
        """The card's threshold."""
        return float(self.card["threshold"])

    def with_card(self, card: dict[str, Any]) -> ModelEntry:
        """This entry with a new card; a re-evaluation (made at the old threshold) is dropped."""
        return replace(self, card=card, evaluation=None)


def index_for_sensitivity(roc: dict[str, list[float]], target: float) -> int:
    """The ROC point with the highest threshold whose sensitivity reaches ``target``.

    This is the engine's ``target_sensitivity`` rule applied to the stored curve.

    Raises:
        ValueError: the curve is empty.
    """
    tpr = np.asarray(roc["tpr"])
    if tpr.size == 0:
        raise ValueError("This model's card has no validation ROC curve.")
    reached = np.flatnonzero(tpr >= target - 1e-12)
    return int(reached[0]) if reached.size else int(tpr.size - 1)


def nearest_index(roc: dict[str, list[float]], fpr: float, tpr: float) -> int:
    """The ROC point nearest to (``fpr``, ``tpr``), e.g. where the user clicked.

    Raises:
        ValueError: the curve is empty.
    """
    xs, ys = np.asarray(roc["fpr"]), np.asarray(roc["tpr"])
    if xs.size == 0:
        raise ValueError("This model's card has no validation ROC curve.")
    return int(np.argmin((xs - fpr) ** 2 + (ys - tpr) ** 2))


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def operating_point_changes(
    card: dict[str, Any], index: int, method: str, target: float | None = None
) -> dict[str, Any]:
    """The card changes that move the threshold to validation ROC point ``index``.

    Args:
        card: the model's card (with validation metrics and ROC).
        index: the ROC point.
        method: ``"target_sensitivity"`` or :data:`MANUAL`.
        target: the target sensitivity, for that method.

    Returns:
        ``threshold``, ``operating_point`` and ``validation_metrics`` for
        :func:`engine.bundles.update_card`.
    """
    metrics = card["validation_metrics"]
    roc = metrics["roc"]
    threshold = min(max(float(roc["thresholds"][index]), 0.0), 1.0)
    positives, negatives = int(metrics["n_positive"]), int(metrics["n_negative"])
    tp = round(roc["tpr"][index] * positives)
    fp = round(roc["fpr"][index] * negatives)
    fn, tn = positives - tp, negatives - fp
    sensitivity, specificity = _ratio(tp, positives), _ratio(tn, negatives)
    point = OperatingPoint(threshold, method, target, sensitivity, specificity)
    updated = {
        **metrics,
        "threshold": threshold,
        "accuracy": _ratio(tp + tn, positives + negatives),
        "sensitivity": sensitivity,
        "specificity": specificity,
        "precision": _ratio(tp, tp + fp),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "confusion_matrix": [[tn, fp], [fn, tp]],
    }
    return {
        "threshold": threshold,
        "operating_point": point.to_card(),
        "validation_metrics": updated,
    }


def read_entries(folder: Path) -> tuple[list[ModelEntry], list[str]]:
    """Every valid bundle in ``folder`` (see :func:`engine.bundles.find_bundles`).

    Returns:
        The entries, and one message per bundle that could not be read (invalid card, checksum
        mismatch, ...), which is left out rather than failing the whole folder.
    """
    entries: list[ModelEntry] = []
    problems: list[str] = []
    for bundle in find_bundles(folder):
        try:
            entries.append(ModelEntry(bundle, read_card(bundle)))
        except ModelFileError as error:
            problems.append(str(error))
    return entries, problems
