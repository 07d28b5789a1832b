"""Trained models as rows of the comparison.

Qt-free. A :class:`ModelEntry` is a bundle and its card, plus an optional re-evaluation on a
labelled folder. Its row is made by the engine's own
:func:`engine.evaluation.comparison.comparison_row`, so the table, its CSV and ``hilum compare``
share one definition of every column. Operating points are moved along an entry's validation ROC
by :meth:`engine.modeling.card.ModelCard.with_operating_point`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from engine.errors import ModelFileError
from engine.evaluation.bundle_evaluation import EvaluationReport
from engine.evaluation.comparison import comparison_row
from engine.modeling.bundles import find_bundles, read_card
from engine.modeling.card import ModelCard

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
    card: ModelCard
    evaluation: EvaluationReport | None = None

    @property
    def name(self) -> str:
        """The bundle folder's name (unique within a model folder)."""
        return self.bundle.name

    @cached_property
    def row(self) -> dict[str, Any]:
        """The comparison row: the engine's :data:`~engine.evaluation.comparison.COLUMNS` plus
        ``source``."""
        if self.evaluation is not None:
            report = self.evaluation
            source = f"{report.split}: {report.data.name}"
            return {**comparison_row(self.name, self.card, report.metrics), SOURCE: source}
        metrics = self.card.validation_metrics
        source = "validation" if metrics is not None else "no validation metrics"
        return {**comparison_row(self.name, self.card, metrics), SOURCE: source}

    @property
    def roc(self) -> dict[str, list[float]]:
        """The validation ROC (``fpr``, ``tpr``, ``thresholds``); empty lists when unknown."""
        return self.card.validation_roc

    @property
    def threshold(self) -> float:
        """The card's threshold."""
        return self.card.threshold

    def with_card(self, card: ModelCard) -> ModelEntry:
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
