"""DICOM networking: receive images (Storage SCP), query and retrieve studies, send results back.

``nodes`` (settings), ``scp`` (the listener), ``query`` (C-FIND), ``retrieve`` (C-MOVE, C-GET),
``sending`` (C-STORE), ``results`` (Secondary Capture + SR of a prediction), ``cli``.
"""

from engine.pacs.nodes import (
    DEFAULT_AE_TITLE,
    DEFAULT_PORT,
    LOOPBACK,
    AllowedCaller,
    ListenerSettings,
    PacsNode,
)

__all__ = [
    "DEFAULT_AE_TITLE",
    "DEFAULT_PORT",
    "LOOPBACK",
    "AllowedCaller",
    "ListenerSettings",
    "PacsNode",
]
