"""Typed accessors over QSettings: what the viewer remembers between sessions.

QSettings returns strings, lists or nothing depending on the platform back-end and on how many
items a list had; these properties hide that and always return the declared type, falling back
to a default when a stored value is missing or unreadable.

:class:`Settings` holds the reading room's values; :class:`TrainingSettings` the Training tab's
(same store, own ``training/`` keys): the data and model folders, the model that was active
before the last promotion (so that it can be restored; the transitions are
:class:`engine.workflows.promotion.ReadingRoomModels`), and the variants' parameter counts
(building nine models to count them takes seconds, so it is done once).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Generic, Protocol, TypeVar, overload

from PySide6.QtCore import QByteArray, QSettings

from engine.workflows.promotion import SHIPPED_DEFAULT, ReadingModel, ReadingRoomModels
from viewer.widgets.rendering import COLORMAPS

MAX_RECENT = 10
DEFAULT_OPACITY = 0.45
DEFAULT_COLORMAP = "jet"

T = TypeVar("T")


class HasStore(Protocol):
    """An owner of :class:`Stored` properties: it keeps them in its ``store``."""

    store: QSettings


class Stored(Generic[T]):
    """A settings property kept under ``key`` in its owner's ``store`` (a QSettings).

    ``read`` turns what QSettings returns (``None`` when the key is missing) into the declared
    type, falling back to a default when the value is unreadable; ``write`` turns a value into
    what is stored. The property's docstring is ``doc``.
    """

    def __init__(
        self,
        key: str,
        read: Callable[[object], T],
        write: Callable[[T], object] = lambda value: value,
        *,
        doc: str,
    ) -> None:
        self.key = key
        self._read = read
        self._write = write
        self.__doc__ = doc

    @overload
    def __get__(self, instance: None, owner: type) -> Stored[T]: ...
    @overload
    def __get__(self, instance: HasStore, owner: type) -> T: ...
    def __get__(self, instance: HasStore | None, owner: type) -> Stored[T] | T:
        if instance is None:
            return self
        return self._read(instance.store.value(self.key))

    def __set__(self, instance: HasStore, value: T) -> None:
        instance.store.setValue(self.key, self._write(value))


def read_flag(default: bool) -> Callable[[object], bool]:
    """Read a stored boolean (QSettings' INI back-end returns ``"true"``/``"false"`` text)."""
    return lambda value: default if value is None else value in (True, "true", "1", 1)


def read_bytes(value: object) -> QByteArray:
    """Read stored bytes (a saved geometry or layout); empty when missing or not bytes."""
    return value if isinstance(value, QByteArray) else QByteArray()


def _set_or_remove(store: QSettings, key: str, value: object | None) -> None:
    """Store ``value`` as text under ``key``; ``None`` removes the key (back to the default)."""
    if value is None:
        store.remove(key)
    else:
        store.setValue(key, str(value))


class Settings:
    """The viewer's persisted preferences.

    Args:
        store: the QSettings to use; by default the application's (organisation and application
            names are set in :func:`viewer.app.run_viewer`). Tests pass an INI file of their own.
    """

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else QSettings()

    def _float(self, key: str, default: float, low: float, high: float) -> float:
        try:
            value = float(self.store.value(key, default))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return default
        return min(max(value, low), high)

    def _text(self, key: str) -> str:
        value = self.store.value(key, "")
        return value if isinstance(value, str) else ""

    geometry = Stored(
        "window/geometry", read_bytes, doc="The main window's geometry (``QWidget.saveGeometry``)."
    )
    layout_state = Stored(
        "window/layout",
        read_bytes,
        doc="The reading room's splitter layout (``QSplitter.saveState``).",
    )

    @property
    def last_folder(self) -> Path | None:
        """The folder the last open dialog was in, when it still exists."""
        text = self._text("paths/last_folder")
        return Path(text) if text and Path(text).is_dir() else None

    @last_folder.setter
    def last_folder(self, value: Path) -> None:
        self.store.setValue("paths/last_folder", str(value))

    @property
    def recent_paths(self) -> list[Path]:
        """Files and folders opened recently, newest first (at most :data:`MAX_RECENT`)."""
        value = self.store.value("paths/recent", [])
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [Path(item) for item in items if isinstance(item, str) and item][:MAX_RECENT]

    def add_recent(self, path: Path) -> None:
        """Put ``path`` first in :attr:`recent_paths` (moving it if already there)."""
        resolved = path.resolve()
        recent = [resolved, *(p for p in self.recent_paths if p != resolved)][:MAX_RECENT]
        self.store.setValue("paths/recent", [str(p) for p in recent])

    def clear_recent(self) -> None:
        """Forget the recent files."""
        self.store.remove("paths/recent")

    @property
    def heatmap_opacity(self) -> float:
        """Overall opacity of the heatmap overlay, in [0, 1]."""
        return self._float("heatmap/opacity", DEFAULT_OPACITY, 0.0, 1.0)

    @heatmap_opacity.setter
    def heatmap_opacity(self, value: float) -> None:
        self.store.setValue("heatmap/opacity", float(value))

    @property
    def colormap(self) -> str:
        """The heatmap colormap, one of :data:`viewer.widgets.rendering.COLORMAPS`."""
        value = self._text("heatmap/colormap")
        return value if value in COLORMAPS else DEFAULT_COLORMAP

    @colormap.setter
    def colormap(self, value: str) -> None:
        self.store.setValue("heatmap/colormap", value)

    heatmap_visible = Stored(
        "heatmap/visible", read_flag(True), bool, doc="Whether the heatmap overlay is shown."
    )

    @property
    def model_path(self) -> Path | None:
        """The model bundle the user chose, or ``None`` for the shipped default."""
        text = self._text("model/path")
        return Path(text) if text else None

    @model_path.setter
    def model_path(self, value: Path | None) -> None:
        _set_or_remove(self.store, "model/path", value)

    def sync(self) -> None:
        """Write pending changes to disk now."""
        self.store.sync()


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
        _set_or_remove(self._store, key, value)

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
    def previous_model(self) -> ReadingModel | None:
        """The model active before the last promotion: a bundle path,
        :data:`~engine.workflows.promotion.SHIPPED_DEFAULT`, or ``None`` when nothing was
        promoted yet."""
        value = self._store.value("training/previous_model", "")
        if not isinstance(value, str) or not value:
            return None
        return SHIPPED_DEFAULT if value == SHIPPED_DEFAULT else Path(value)

    @previous_model.setter
    def previous_model(self, value: ReadingModel | None) -> None:
        _set_or_remove(self._store, "training/previous_model", value)

    @property
    def reading_models(self) -> ReadingRoomModels:
        """The reading room's model (:attr:`Settings.model_path`, else the shipped default) and
        :attr:`previous_model`."""
        active = self.settings.model_path
        return ReadingRoomModels(active or SHIPPED_DEFAULT, self.previous_model)

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
