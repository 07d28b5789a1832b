"""The PACS settings the viewer remembers: the nodes, and the listener (off by default).

Stored in the viewer's QSettings under ``pacs/`` as JSON text, validated on the way out through
the engine's dataclasses (:mod:`engine.pacs.nodes`): a damaged or hand-edited value does not
reach the network code. It is not dropped in silence either: the damaged value is copied next to
the settings file (``damaged-pacs-<key>-<digest>.json``, once per distinct value; in the user's
data folder when the settings live in the Windows registry), and
:attr:`PacsSettings.problems` says which file and key, what is used instead and what to do; the
PACS part shows that in the window's banner at start-up.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths

from engine.atomic_files import write_text
from engine.errors import ConfigError
from engine.pacs.nodes import AllowedCaller, ListenerSettings, PacsNode
from viewer.settings import Settings, Stored, read_flag


class PacsSettings:
    """Typed access to the ``pacs/`` keys of the viewer's settings.

    Args:
        settings: the viewer's settings (the same store).

    Attributes:
        problems: for each damaged key read so far, what happened and what to do (cleared when
            the key is saved again).
    """

    def __init__(self, settings: Settings) -> None:
        self.store = settings.store
        self.problems: dict[str, str] = {}

    def check(self) -> list[str]:
        """Read every stored value; the :attr:`problems` found (empty when all are sound)."""
        _ = self.nodes, self.listener
        return list(self.problems.values())

    def _json(self, key: str, instead: str) -> Any:
        value = self.store.value(key, "")
        if value in ("", None):
            return None
        try:
            if not isinstance(value, str):
                raise ValueError(f"it is a {type(value).__name__}, not JSON text")
            return json.loads(value)
        except ValueError as error:
            self._damaged(key, f"it is not valid JSON ({error})", instead)
            return None

    def _damaged(self, key: str, reason: str, instead: str) -> None:
        """Keep a copy of ``key``'s stored value, as stored, and note the problem for the user."""
        value = self.store.value(key, "")
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        copy = self._copy_folder() / f"damaged-{key.replace('/', '-')}-{digest}.json"
        try:
            if not copy.exists():
                copy.parent.mkdir(parents=True, exist_ok=True)
                write_text(copy, text)
            kept = f"A copy of the damaged value is in {copy}."
        except OSError as error:
            kept = f"No copy of the damaged value could be kept ({error.strerror})."
        self.problems[key] = (
            f"The PACS setting {key} in {self.store.fileName()} could not be read: {reason}. "
            f"Hilum uses {instead} instead. {kept} Set it again in PACS > PACS settings (saving "
            "replaces the damaged value)."
        )

    def _copy_folder(self) -> Path:
        """Beside the settings file, or in the user's data folder when the settings are not a
        file (the Windows registry)."""
        settings_file = Path(self.store.fileName())
        if settings_file.is_absolute() and settings_file.parent.is_dir():
            return settings_file.parent
        location = QStandardPaths.StandardLocation.AppDataLocation
        return Path(QStandardPaths.writableLocation(location))

    @property
    def nodes(self) -> list[PacsNode]:
        """The PACS nodes, in the order the user listed them (invalid entries left out and
        reported in :attr:`problems`)."""
        instead = "the nodes that could be read"
        stored = self._json("pacs/nodes", "no PACS nodes")
        if stored is None:
            return []
        if not isinstance(stored, list):
            self._damaged("pacs/nodes", "it is not a list of nodes", "no PACS nodes")
            return []
        nodes, bad = [], []
        for number, entry in enumerate(stored, 1):
            try:
                nodes.append(PacsNode(**entry))
            except (ConfigError, TypeError) as error:
                bad.append(f"node {number} is not a valid node ({error})")
        if bad:
            self._damaged("pacs/nodes", "; ".join(bad), instead)
        return nodes

    @nodes.setter
    def nodes(self, value: list[PacsNode]) -> None:
        self.store.setValue("pacs/nodes", json.dumps([asdict(node) for node in value]))
        self.problems.pop("pacs/nodes", None)

    listener_enabled = Stored(
        "pacs/listener_enabled",
        read_flag(False),
        bool,
        doc="Whether the listener runs while the viewer is open (off until the user turns it on).",
    )

    @property
    def listener(self) -> ListenerSettings:
        """The listener's AE title, port, interface, receive folder and allow-list."""
        instead = "the default listener settings (no allowed senders: the listener stays off)"
        stored = self._json("pacs/listener", instead)
        if stored is None:
            return ListenerSettings()
        try:
            return ListenerSettings(
                ae_title=stored["ae_title"],
                port=stored["port"],
                out_dir=Path(stored["out_dir"]),
                allowed=tuple(AllowedCaller.parse(text) for text in stored["allowed"]),
                host=stored["host"],
            )
        except (ConfigError, KeyError, TypeError) as error:
            reason = f"it has no {error} entry" if isinstance(error, KeyError) else str(error)
            self._damaged("pacs/listener", reason, instead)
            return ListenerSettings()

    @listener.setter
    def listener(self, value: ListenerSettings) -> None:
        stored = {
            "ae_title": value.ae_title,
            "port": value.port,
            "out_dir": str(value.out_dir),
            "allowed": [str(entry) for entry in value.allowed],
            "host": value.host,
        }
        self.store.setValue("pacs/listener", json.dumps(stored))
        self.problems.pop("pacs/listener", None)
