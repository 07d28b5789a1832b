"""Where trained models are saved, said on the Training tab, with buttons to open or change it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class ModelFolderRow(QWidget):
    """ "Trained models are saved in <folder>", an Open button and a Change… button.

    Args:
        folder: the model folder in use (``~/Hilum/models`` unless the user chose another).
        parent: the Qt parent.

    Signals:
        change_requested(): the user asked to choose another folder (the owner asks and calls
            :meth:`show_folder` with the answer).
    """

    change_requested = Signal()

    def __init__(self, folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = folder
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.open_button = QPushButton("Open folder")
        self.open_button.setToolTip("Show the model folder in the file manager")
        self.open_button.clicked.connect(self.open_folder)
        change = QPushButton("Change…")
        change.setToolTip("Save trained models in another folder (and list the models there)")
        change.clicked.connect(self.change_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(change)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addLayout(buttons)
        self.show_folder(folder)

    @Slot(Path)
    def show_folder(self, folder: Path) -> None:
        """Say that trained models go to ``folder``."""
        self.folder = folder
        self.label.setText(f"Trained models are saved in {folder}")
        self.label.setToolTip(str(folder))

    @Slot()
    def open_folder(self) -> bool:
        """Open the folder in the system's file manager (created first if it does not exist yet);
        False when it cannot be created or opened (the label says why)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            self.label.setText(f"The model folder {self.folder} cannot be created: {error}")
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder)))
