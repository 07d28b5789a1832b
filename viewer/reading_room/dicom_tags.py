"""A searchable table of an image's DICOM attributes (or basic facts for a JPEG/PNG).

The rows come from :func:`engine.imaging.dicom_tags.header_rows`, read on the reading room's
worker thread together with the image. Sequences become expandable rows; the filter box matches
tag, keyword, VR or value (case-insensitive) and keeps the parents of matching rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QLabel, QLineEdit, QTreeView, QVBoxLayout, QWidget

from engine import Radiograph
from engine.imaging.dicom_tags import HeaderRow, header_rows

#: Keyword and value first: they are what a reader scans for in a narrow side panel.
COLUMNS = ("Keyword", "Value", "Tag", "VR")
COLUMN_WIDTHS = (170, 220, 90)


def _row(row: HeaderRow) -> list[QStandardItem]:
    items = [QStandardItem(text) for text in (row.keyword, row.value, row.tag, row.vr)]
    for item in items:
        item.setEditable(False)
    items[1].setToolTip(row.value)
    for child in row.children:
        items[0].appendRow(_row(child))
    return items


class DicomTagsPanel(QWidget):
    """Filter box over a tree of Tag / Keyword / VR / Value rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = QStandardItemModel(0, len(COLUMNS), self)
        self._model.setHorizontalHeaderLabels(COLUMNS)
        self._proxy = QSortFilterProxyModel(self)
        self._proxy.setSourceModel(self._model)
        self._proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._proxy.setFilterKeyColumn(-1)
        self._proxy.setRecursiveFilteringEnabled(True)
        self._filter = QLineEdit()
        self._filter.setPlaceholderText("Filter tags (name, tag, VR or value)…")
        self._filter.setClearButtonEnabled(True)
        self._filter.textChanged.connect(self._proxy.setFilterFixedString)
        self._tree = QTreeView()
        self._tree.setModel(self._proxy)
        self._tree.setUniformRowHeights(True)
        self._tree.setAlternatingRowColors(True)
        self._source = QLabel("No image")
        self._source.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self._source)
        layout.addWidget(self._filter)
        layout.addWidget(self._tree, 1)

    def show_radiograph(
        self, radiograph: Radiograph, rows: Sequence[HeaderRow] | None = None
    ) -> None:
        """List ``radiograph``'s header ``rows`` (read here, on this thread, when not given)."""
        self._model.removeRows(0, self._model.rowCount())
        self._source.setText(radiograph.source.name)
        for row in header_rows(radiograph) if rows is None else rows:
            self._model.appendRow(_row(row))
        self._tree.expandToDepth(0)
        for column, width in enumerate(COLUMN_WIDTHS):
            self._tree.setColumnWidth(column, width)

    def clear(self) -> None:
        """Show nothing."""
        self._model.removeRows(0, self._model.rowCount())
        self._source.setText("No image")

    def set_filter(self, text: str) -> None:
        """Filter the rows as if typed in the box."""
        self._filter.setText(text)

    def visible_keywords(self) -> list[str]:
        """Keywords of the top-level rows that pass the filter (for tests and export)."""
        return [self._proxy.index(row, 0).data() for row in range(self._proxy.rowCount())]
