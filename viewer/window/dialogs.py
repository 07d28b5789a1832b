"""The main window's text dialogs: About Hilum and the model card."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QVBoxLayout, QWidget

from engine.inference.caveats import DISCLAIMER, HEATMAP_NOTE
from engine.modeling.card import ModelCard
from engine.modeling.card_summary import describe_card

#: The project file of a source checkout (not in the frozen app, which carries the metadata).
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def hilum_version() -> str:
    """Hilum's version: the installed distribution's metadata (the frozen app bundles it), else
    the version in the checkout's ``pyproject.toml``, else "unknown"."""
    try:
        return metadata.version("hilum")
    except metadata.PackageNotFoundError:
        pass
    try:
        return str(tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def about_text() -> str:
    """The About box: what Hilum is (with its version) and is not."""
    return (
        f"Hilum {hilum_version()} — offline chest X-ray workstation.\n\n"
        f"{DISCLAIMER}\n\n{HEATMAP_NOTE}"
    )


def model_card_text(card: ModelCard) -> str:
    """A card as a person reads it first (:func:`describe_card`), then its full JSON."""
    return f"{describe_card(card)}\n\nThe full card:\n{card.to_json()}"


def text_dialog(parent: QWidget, title: str, text: str) -> QDialog:
    """A read-only text dialog with a Close button, deleted when closed (call ``open()``)."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    body = QPlainTextEdit(text)
    body.setReadOnly(True)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(body)
    layout.addWidget(buttons)
    dialog.resize(640, 480)
    return dialog
