"""Shared Qt pieces used by several tabs: numpy -> QImage rendering and the sortable record
table.
"""

from viewer.widgets.lazy_figure import LazyFigure
from viewer.widgets.record_table import RecordTable

__all__ = ["LazyFigure", "RecordTable"]
