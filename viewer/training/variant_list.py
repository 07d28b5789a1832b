"""A checklist of every engine model variant, with its parameter count and input size.

Parameter counts need each model built (a second for the large ImageNet backbones), so
:func:`count_parameters` runs as a background job and the Training tab keeps the result in its
settings: it is computed once per installation, not at every start.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from engine.modeling.variants import build_model, get_variant, list_variants
from engine.progress import OnProgress, Progress, ShouldStop, ignore_progress, never_stop

_NAME, _PARAMETERS, _INPUT, _DESCRIPTION = range(4)
#: Counts already made in this process (a variant's architecture does not change while it runs).
_COUNTED: dict[str, int] = {}


def count_parameters(
    names: Iterable[str],
    *,
    on_progress: OnProgress | None = None,
    should_stop: ShouldStop | None = None,
) -> dict[str, int]:
    """Build each named variant at its default input size and count its parameters.

    Transfer variants are built with random weights (the count does not depend on them). Each
    variant is built at most once per process.

    Returns:
        Variant name -> parameters, for the variants counted before ``should_stop()`` said stop.

    Raises:
        ConfigError: an unknown variant name.
    """
    report = on_progress or ignore_progress
    stop = should_stop or never_stop
    wanted = list(names)
    for done, name in enumerate(wanted, start=1):
        if stop():
            break
        if name not in _COUNTED:
            _COUNTED[name] = int(build_model(get_variant(name)).count_params())
        report(Progress("count", done, len(wanted), name))
    return {name: _COUNTED[name] for name in wanted if name in _COUNTED}


class VariantChecklist(QTreeWidget):
    """One checkable row per variant: name, parameters, input size, description.

    Signals:
        changed(): the set of checked variants changed.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(4)
        self.setHeaderLabels(["variant", "parameters", "input", "description"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        for spec in list_variants():
            shape = spec.preprocessing.input_shape
            item = QTreeWidgetItem(
                [spec.name, "counting…", f"{shape[0]}×{shape[1]}×{shape[2]}", spec.description]
            )
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(_NAME, Qt.CheckState.Unchecked)
            item.setTextAlignment(_PARAMETERS, Qt.AlignmentFlag.AlignRight)
            item.setToolTip(_DESCRIPTION, spec.description)
            self.addTopLevelItem(item)
        header = self.header()
        for column in (_NAME, _PARAMETERS, _INPUT):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.itemChanged.connect(self._on_item_changed)

    def _items(self) -> list[QTreeWidgetItem]:
        return [self.topLevelItem(row) for row in range(self.topLevelItemCount())]

    def checked(self) -> list[str]:
        """Names of the checked variants, in list order."""
        return [
            item.text(_NAME)
            for item in self._items()
            if item.checkState(_NAME) == Qt.CheckState.Checked
        ]

    def set_checked(self, names: Iterable[str]) -> None:
        """Check exactly the named variants."""
        wanted = set(names)
        for item in self._items():
            state = Qt.CheckState.Checked if item.text(_NAME) in wanted else Qt.CheckState.Unchecked
            item.setCheckState(_NAME, state)

    def set_parameter_counts(self, counts: dict[str, int]) -> None:
        """Show the known parameter counts."""
        for item in self._items():
            count = counts.get(item.text(_NAME))
            if count is not None:
                item.setText(_PARAMETERS, f"{count:,}")

    @Slot(QTreeWidgetItem, int)
    def _on_item_changed(self, _item: QTreeWidgetItem, column: int) -> None:
        if column == _NAME:
            self.changed.emit()
