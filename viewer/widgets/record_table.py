"""A read-only table of records (one object per row) with proper numeric sorting.

Why: the triage list and the History both show lists of plain records (batch results, history
entries) in sortable tables. Sorting a probability column as text puts 0.9 after 0.10; here each
column gives a display text *and* a sort key (a float for numbers, folded text otherwise), and a
:class:`QSortFilterProxyModel` sorts on the key (:data:`SORT_ROLE`). A table can also keep groups of
records apart whatever the sort column and order (``group``): the triage list sorts images outside
what the model was validated on after the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyleOptionHeader,
    QTableView,
    QWidget,
)

#: The role that carries a cell's sort key.
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: Sort key of a missing number: below every real value (errors sort last, descending).
MISSING = float("-inf")
#: The text colour of a muted cell (a value shown but not to be relied on).
MUTED = QBrush(QColor(120, 120, 120))

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column:
    """One column: its title and how to show and sort a record in it.

    Attributes:
        title: the header text.
        text: the cell text of a record.
        key: the sort key of a record (float for numbers, text otherwise); the cell text,
            case-folded, when ``None``.
        tooltip: the cell's tooltip, when it has one.
        numeric: right-align the cell (numbers).
        width: initial width in pixels (the user can resize).
        muted: whether a record's cell is greyed (:data:`MUTED`).
    """

    title: str
    text: Callable[[Any], str]
    key: Callable[[Any], float | str] | None = None
    tooltip: Callable[[Any], str] | None = None
    numeric: bool = False
    width: int = 100
    muted: Callable[[Any], bool] | None = None


class RecordTableModel(QAbstractTableModel):
    """Rows of records shown through :class:`Column` definitions.

    Args:
        columns: the columns, in order.
        parent: the Qt parent.
    """

    def __init__(self, columns: Sequence[Column], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.columns = tuple(columns)
        self._records: list[Any] = []

    def records(self) -> list[Any]:
        """Every record, in insertion order."""
        return list(self._records)

    def record(self, row: int) -> Any:
        """The record of a source row."""
        return self._records[row]

    def set_records(self, records: Sequence[Any]) -> None:
        """Replace every row."""
        self.beginResetModel()
        self._records = list(records)
        self.endResetModel()

    def append(self, records: Sequence[Any]) -> None:
        """Add rows at the end."""
        if not records:
            return
        first = len(self._records)
        self.beginInsertRows(QModelIndex(), first, first + len(records) - 1)
        self._records.extend(records)
        self.endInsertRows()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        """Rows (records); 0 under a valid parent (this is a flat table)."""
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        """Columns."""
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """The text, sort key, tooltip or alignment of a cell."""
        if not index.isValid():
            return None
        column = self.columns[index.column()]
        record = self._records[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(record)
        if role == SORT_ROLE:
            return column.key(record) if column.key else column.text(record).casefold()
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(record) or None
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column.muted and column.muted(record):
            return MUTED
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        return None


class GroupedSortProxy(QSortFilterProxyModel):
    """Sorts on :data:`SORT_ROLE` within groups, the groups in ascending order in either sort
    order (``group`` maps a record to its group; ``None`` sorts as one group)."""

    def __init__(self, group: Callable[[Any], int] | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._group = group

    def lessThan(self, left: Index, right: Index) -> bool:
        """Group first (lower groups on top whatever the order), then the sort key."""
        source = self.sourceModel()
        if self._group is not None and isinstance(source, RecordTableModel):
            ours = self._group(source.record(left.row()))
            theirs = self._group(source.record(right.row()))
            if ours != theirs:  # Qt reverses lessThan when descending: undo it for groups
                descending = self.sortOrder() == Qt.SortOrder.DescendingOrder
                return (ours > theirs) if descending else (ours < theirs)
        return bool(super().lessThan(left, right))


class SortArrowHeader(QHeaderView):
    """A horizontal header whose sort arrow points the way the values go: up when sorted
    ascending, down when descending (Qt's own header draws it the other way round, so a
    "highest first" list showed an arrow pointing up)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setSectionsClickable(True)  # as the table's own header: a click sorts
        self.setHighlightSections(True)

    def initStyleOptionForIndex(self, option: QStyleOptionHeader, logicalIndex: int) -> None:
        """Qt's style option for a section, with the sort arrow turned the right way."""
        super().initStyleOptionForIndex(option, logicalIndex)
        arrow = QStyleOptionHeader.SortIndicator
        turned = {arrow.SortUp: arrow.SortDown, arrow.SortDown: arrow.SortUp}
        option.sortIndicator = turned.get(option.sortIndicator, option.sortIndicator)


class RecordTable(QTableView):
    """A sortable, row-selecting view of a :class:`RecordTableModel`.

    Args:
        model: the records to show.
        sort_column: the column sorted by at first.
        sort_order: its order.
        group: maps a record to its group, kept apart whatever the sort (lower groups first);
            ``None``: one group.
        parent: the Qt parent.
    """

    def __init__(
        self,
        model: RecordTableModel,
        sort_column: int = 0,
        sort_order: Qt.SortOrder = Qt.SortOrder.AscendingOrder,
        group: Callable[[Any], int] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setHorizontalHeader(SortArrowHeader(self))
        self.source = model
        self.proxy = GroupedSortProxy(group, self)
        self.proxy.setSourceModel(model)
        self.proxy.setSortRole(SORT_ROLE)
        self.setModel(self.proxy)
        self.sortByColumn(sort_column, sort_order)
        self.setSortingEnabled(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        rows = self.verticalHeader()
        rows.setVisible(False)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for section, column in enumerate(model.columns):
            header.resizeSection(section, column.width)

    def record_at(self, index: QModelIndex) -> Any:
        """The record shown at a view (proxy) index."""
        return self.source.record(self.proxy.mapToSource(index).row())

    def shown_records(self) -> list[Any]:
        """Every record in the order the view shows them (sorted)."""
        return [self.record_at(self.proxy.index(row, 0)) for row in range(self.proxy.rowCount())]
