"""The comparison's operating-point controls: the chosen model's threshold, a target
sensitivity, and the buttons that consider and save a new operating point."""

from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QWidget

from viewer.training.model_entries import ModelEntry

#: The considered operating point: (validation ROC index, method, target sensitivity or None).
Pending = tuple[int, str, float | None]


class OperatingPointBox(QGroupBox):
    """Says the selected model's operating point (or the one considered) and offers to change it.

    Attributes:
        target: the target sensitivity.
        use_target: considers the point reaching ``target`` on validation.
        save: writes the considered point into the model's card.
        label: the current or considered threshold and its validation figures.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Operating point (validation; or click the ROC curve)", parent)
        self.target = QDoubleSpinBox()
        self.target.setRange(0.5, 1.0)
        self.target.setSingleStep(0.01)
        self.target.setDecimals(3)
        self.target.setValue(0.97)
        self.label = QLabel("Select a model.")
        self.use_target = QPushButton("Use target")
        self.save = QPushButton("Save operating point")
        row = QHBoxLayout(self)
        row.addWidget(self.label, 1)
        row.addWidget(QLabel("target sensitivity"))
        row.addWidget(self.target)
        row.addWidget(self.use_target)
        row.addWidget(self.save)

    def show_entry(self, entry: ModelEntry | None, pending: Pending | None) -> None:
        """Describe ``entry``'s operating point, or the ``pending`` one considered for it."""
        has_roc = entry is not None and bool(entry.roc["fpr"])
        self.use_target.setEnabled(has_roc)
        self.save.setEnabled(has_roc and pending is not None)
        if entry is None:
            self.label.setText("Select a model.")
        elif pending is not None and (
            point := entry.card.with_operating_point(*pending).operating_point
        ):
            self.label.setText(
                f"{entry.name}: threshold {point.threshold:.4f} → validation sensitivity "
                f"{point.sensitivity:.3f}, specificity {point.specificity:.3f} (not saved)"
            )
        else:
            chosen = entry.card.operating_point
            self.label.setText(
                f"{entry.name}: threshold {entry.threshold:.4f}"
                + (f" ({chosen.method})" if chosen else "")
            )
