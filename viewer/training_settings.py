"""Typed accessors for what the Training tab remembers, over the viewer's QSettings store.

Kept beside :class:`viewer.settings.Settings` (same store, own ``training/`` keys) so the tab
adds nothing to the reading room's settings module: the data and model folders, the model that
was active before the last promotion (so that it can be restored), and the variants' parameter
counts (building nine models to count them takes seconds, so it is done once).
"""

from __future__ import annotations

import json
from pathlib import Path

from viewer.settings import Settings

#: Stored in :attr:`TrainingSettings.previous_model` for "the shipped default model".
SHIPPED_DEFAULT = "default"


class TrainingSettings:
    """The Training tab's persisted values.

    Args:
        settings: the viewer's settings; the tab reads the active model from it too.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store = settings.store

    def _path(self, key: str) -> Path | None:
        value = self._store.value(key, "")
        return Path(value) if isinstance(value, str) and value else None

    def _set_path(self, key: str, value: Path | None) -> None:
        if value is None:
            self._store.remove(key)
        else:
            self._store.setValue(key, str(value))

    @property
    def data_folder(self) -> Path | None:
        """The last training data folder chosen."""
        return self._path("training/data_folder")

    @data_folder.setter
    def data_folder(self, value: Path | None) -> None:
        self._set_path("training/data_folder", value)

    @property
    def model_folder(self) -> Path:
        """Where trained bundles are written and earlier ones are looked for."""
        return self._path("training/model_folder") or Path.home() / "Hilum" / "models"

    @model_folder.setter
    def model_folder(self, value: Path) -> None:
        self._set_path("training/model_folder", value)

    @property
    def previous_model(self) -> Path | str | None:
        """The model active before the last promotion: a bundle path, :data:`SHIPPED_DEFAULT`,
        or ``None`` when nothing was promoted yet."""
        value = self._store.value("training/previous_model", "")
        if not isinstance(value, str) or not value:
            return None
        return SHIPPED_DEFAULT if value == SHIPPED_DEFAULT else Path(value)

    @previous_model.setter
    def previous_model(self, value: Path | str | None) -> None:
        if value is None:
            self._store.remove("training/previous_model")
        else:
            self._store.setValue("training/previous_model", str(value))

    @property
    def parameter_counts(self) -> dict[str, int]:
        """Variant name -> trainable and frozen parameters at its default input size."""
        value = self._store.value("training/parameter_counts", "")
        try:
            counts = json.loads(value) if isinstance(value, str) and value else {}
        except json.JSONDecodeError:
            return {}
        if not isinstance(counts, dict):
            return {}
        return {str(k): int(v) for k, v in counts.items() if isinstance(v, int)}

    @parameter_counts.setter
    def parameter_counts(self, value: dict[str, int]) -> None:
        self._store.setValue("training/parameter_counts", json.dumps(value, sort_keys=True))
