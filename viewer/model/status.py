"""The status bar's model label: which model the reading room uses, and on what device."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QLabel, QWidget

from viewer.model.lifecycle import ModelLifecycle


class ModelStatusLabel(QLabel):
    """Follows a :class:`ModelLifecycle`: loading, ready (name and device), failed, missing."""

    def __init__(self, models: ModelLifecycle, parent: QWidget | None = None) -> None:
        super().__init__("Model: not loaded", parent)
        models.loading.connect(self._on_loading)
        models.ready.connect(self._on_ready)
        models.failed.connect(self._on_failed)
        models.missing.connect(self._on_missing)

    @Slot(Path)
    def _on_loading(self, bundle: Path) -> None:
        self.setText(f"Model: loading {bundle.name}…")

    @Slot(object)
    def _on_ready(self, predictor: Any) -> None:
        name = predictor.bundle.card.display_name
        self.setText(f"Model: {name} · {predictor.device.kind}")
        self.setToolTip(f"{predictor.model_id} on {predictor.device}")

    @Slot(object)
    def _on_failed(self, _error: BaseException) -> None:
        self.setText("Model: not available")

    @Slot()
    def _on_missing(self) -> None:
        self.setText("No model: choose a model bundle (Model menu)")
