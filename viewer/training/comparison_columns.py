"""The comparison table's columns: the engine's comparison columns plus where the figures come
from; numbers sort as numbers, unknown values last."""

from __future__ import annotations

from engine.evaluation.comparison import COLUMNS, format_cell
from viewer.training.model_entries import SOURCE, ModelEntry
from viewer.widgets.record_table import MISSING, Column

_TEXT_COLUMNS = ("model", "variant", "confusion_matrix", SOURCE)


def _column(key: str) -> Column:
    def key_of(entry: ModelEntry) -> float | str:
        value = entry.row[key]
        return MISSING if value is None else float(value)

    return Column(
        COLUMNS.get(key, key),
        lambda entry: format_cell(entry.row[key], missing="–", group_thousands=True),
        key=None if key in _TEXT_COLUMNS else key_of,
        numeric=key not in _TEXT_COLUMNS,
    )


COMPARISON_COLUMNS = tuple(_column(key) for key in [*COLUMNS, SOURCE])
