"""The PACS settings the viewer remembers: the nodes, and the listener (off by default).

Stored in the viewer's QSettings under ``pacs/`` as JSON text, validated on the way out through
the engine's dataclasses (:mod:`engine.pacs.nodes`): a damaged or hand-edited value falls back
to the default instead of reaching the network code.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.pacs.nodes import AllowedCaller, ListenerSettings, PacsNode
from viewer.settings import Settings, Stored, read_flag


class PacsSettings:
    """Typed access to the ``pacs/`` keys of the viewer's settings.

    Args:
        settings: the viewer's settings (the same store).
    """

    def __init__(self, settings: Settings) -> None:
        self.store = settings.store

    def _json(self, key: str) -> Any:
        value = self.store.value(key, "")
        try:
            return json.loads(value) if isinstance(value, str) and value else None
        except json.JSONDecodeError:
            return None

    @property
    def nodes(self) -> list[PacsNode]:
        """The PACS nodes, in the order the user listed them (invalid entries dropped)."""
        nodes = []
        for entry in self._json("pacs/nodes") or []:
            try:
                nodes.append(PacsNode(**entry))
            except (ConfigError, TypeError):
                continue
        return nodes

    @nodes.setter
    def nodes(self, value: list[PacsNode]) -> None:
        self.store.setValue("pacs/nodes", json.dumps([asdict(node) for node in value]))

    listener_enabled = Stored(
        "pacs/listener_enabled",
        read_flag(False),
        bool,
        doc="Whether the listener runs while the viewer is open (off until the user turns it on).",
    )

    @property
    def listener(self) -> ListenerSettings:
        """The listener's AE title, port, interface, receive folder and allow-list."""
        stored = self._json("pacs/listener")
        if not isinstance(stored, dict):
            return ListenerSettings()
        try:
            return ListenerSettings(
                ae_title=stored["ae_title"],
                port=stored["port"],
                out_dir=Path(stored["out_dir"]),
                allowed=tuple(AllowedCaller.parse(text) for text in stored["allowed"]),
                host=stored["host"],
            )
        except (ConfigError, KeyError, TypeError):
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
