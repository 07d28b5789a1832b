"""What the PACS part uses of the main window: its public API, as a protocol (no import cycle)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from PySide6.QtWidgets import QMenuBar, QStatusBar, QTabWidget

from engine.errors import HilumError
from engine.pacs.nodes import PacsNode
from viewer.settings import Settings


class PacsHost(Protocol):
    """What the PACS part uses of the main window (its public API, nothing else)."""

    banner: Any
    browser: Any
    view: Any
    reading_room: Any
    settings: Settings
    tabs: QTabWidget
    triage_history: Any
    image_shown: Any
    prediction_shown: Any

    def open_image(self, path: Path) -> None: ...

    def menuBar(self) -> QMenuBar: ...

    def statusBar(self) -> QStatusBar: ...


def nodes_or_explain(window: PacsHost, nodes: list[PacsNode]) -> list[PacsNode]:
    """``nodes``; when there are none, the banner says where to add one."""
    if not nodes:
        window.banner.show_error(
            HilumError("No PACS is configured: add one in PACS > PACS settings.")
        )
    return nodes
