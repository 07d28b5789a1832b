"""A searchable table of an image's DICOM attributes (or basic facts for a JPEG/PNG).

Attributes are read with ``pydicom.dcmread(stop_before_pixels=True)``: the header only, a few
milliseconds even for a large file. Sequences become expandable rows; the filter box matches tag,
keyword, VR or value (case-insensitive) and keeps the parents of matching rows.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QLabel, QLineEdit, QTreeView, QVBoxLayout, QWidget

from engine import Radiograph

#: Keyword and value first: they are what a reader scans for in a narrow side panel.
COLUMNS = ("Keyword", "Value", "Tag", "VR")
COLUMN_WIDTHS = (170, 220, 90)
MAX_VALUE_CHARS = 240


def _row(tag: str, keyword: str, vr: str, value: str) -> list[QStandardItem]:
    items = [QStandardItem(text) for text in (keyword, value, tag, vr)]
    for item in items:
        item.setEditable(False)
    items[1].setToolTip(value)
    return items


def _value_text(element: object) -> str:
    value = getattr(element, "value", None)
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    text = str(value) if value is not None else ""
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


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

    def show_radiograph(self, radiograph: Radiograph) -> None:
        """List the attributes of ``radiograph``'s file (DICOM) or its basic facts (JPEG/PNG)."""
        self._model.removeRows(0, self._model.rowCount())
        self._source.setText(radiograph.source.name)
        if radiograph.format == "DICOM":
            self._add_dicom(radiograph.source)
        else:
            self._add_basic(radiograph)
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

    def _add_dicom(self, path: Path) -> None:
        import pydicom

        try:
            dataset = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        except Exception as error:
            message = f"The header cannot be read: {error}"
            self._model.appendRow(_row("", "(unreadable)", "", message))
            return
        meta = getattr(dataset, "file_meta", None)
        if meta is not None:
            self._append(self._model.invisibleRootItem(), meta)
        self._append(self._model.invisibleRootItem(), dataset)

    def _append(self, parent: QStandardItem, dataset: object) -> None:
        for element in dataset:  # type: ignore[attr-defined]
            tag = f"({element.tag.group:04X},{element.tag.element:04X})"
            if element.VR == "SQ":
                row = _row(tag, element.keyword, "SQ", f"{len(element.value)} item(s)")
                for number, item in enumerate(element.value, start=1):
                    child = _row("", f"Item {number}", "", "")
                    self._append(child[0], item)
                    row[0].appendRow(child)
            else:
                row = _row(
                    tag, element.keyword or element.name, str(element.VR), _value_text(element)
                )
            parent.appendRow(row)

    def _add_basic(self, radiograph: Radiograph) -> None:
        facts = {
            "File": str(radiograph.source),
            "Format": radiograph.format,
            "Size": f"{radiograph.width} x {radiograph.height} pixels",
            "Bits": str(radiograph.bits_stored),
            "Mode": radiograph.photometric,
            "Value range": f"{radiograph.stored_range[0]:g} - {radiograph.stored_range[1]:g}",
        }
        for name, value in facts.items():
            self._model.appendRow(_row("", name, "", value))
        self._model.appendRow(_row("", "Note", "", "Not a DICOM file: there are no DICOM tags."))
