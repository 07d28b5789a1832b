"""The record table (triage list, History): the header's sort arrow points the way the values go,
sorted by real clicks on the header."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from tests.viewer.helpers import show_widget
from viewer.widgets.record_table import Column, RecordTable, RecordTableModel
from viewer.widgets.rendering import qimage_to_array


def arrow_points_down(table: RecordTable) -> bool:
    """Whether the sort arrow drawn in the header is wider at its top (pointing down) than at
    its bottom; found as the dark pixels of the header's last 40 columns."""
    header = table.horizontalHeader()
    gray = qimage_to_array(header.grab().toImage())[..., :3].astype(int).sum(axis=2)
    corner = gray[:-2, -40:]  # the section's right end, without the bottom border line
    widths = [int(row.sum()) for row in corner < gray.max() - 150]
    drawn = [width for width in widths if width]
    assert len(drawn) >= 3, "no sort arrow drawn"
    return drawn[0] > drawn[-1]


def test_the_sort_arrow_points_down_when_the_highest_come_first(qtbot: QtBot) -> None:
    model = RecordTableModel([Column("Probability", lambda p: f"{p:.2f}", key=float, width=200)])
    model.set_records([0.1, 0.9, 0.5])
    table = show_widget(qtbot, RecordTable(model), (260, 160))
    header = table.horizontalHeader()
    QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=header.rect().center())
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder  # was ascending
    assert table.shown_records() == [0.9, 0.5, 0.1]
    assert arrow_points_down(table)  # Qt's own header drew an up arrow here
    QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=header.rect().center())
    assert table.shown_records() == [0.1, 0.5, 0.9]
    assert not arrow_points_down(table)
