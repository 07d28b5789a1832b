"""Trained models as rows of the comparison.

Qt-free. A :class:`ModelEntry` is a bundle and its card, plus an optional re-evaluation on a
labelled folder. Its row is made by the engine's own
:func:`engine.evaluation.comparison.comparison_table` (the card's validation metrics are wrapped in
an
:class:`~engine.evaluation.bundle_evaluation.EvaluationReport`), so the table, its CSV and ``hilum
compare`` share one definition of every column. Operating
points are moved along an entry's validation ROC by
:func:`engine.evaluation.operating_point.operating_point_changes`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import ModelFileError
from engine.evaluation.bundle_evaluation import EvaluationReport, Metrics
from engine.evaluation.comparison import COLUMNS, comparison_table
from engine.modeling.bundles import find_bundles, read_card

#: Column key added to the engine's columns: which images the metrics come from.
SOURCE = "source"


@dataclass(frozen=True)
class ModelEntry:
    """One model of the comparison.

    Attributes:
        bundle: the bundle folder.
        card: its card (as read by :func:`engine.modeling.bundles.read_card`).
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
        """The comparison row: the engine's :data:`~engine.evaluation.comparison.COLUMNS` plus
        ``source``."""
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


def read_entries(folder: Path) -> tuple[list[ModelEntry], list[str]]:
    """Every valid bundle in ``folder`` (see :func:`engine.modeling.bundles.find_bundles`).

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
