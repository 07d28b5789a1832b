"""The PACS settings dialog: the listener (receive) and the PACS nodes (query, retrieve, send).

The form is read back into the engine's dataclasses when the user presses OK; an invalid value
keeps the dialog open with the engine's message (which names the field and what is accepted).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.errors import ConfigError
from engine.pacs.nodes import (
    LOOPBACK,
    RETRIEVE_METHODS,
    AllowedCaller,
    ListenerSettings,
    PacsNode,
)

ALL_INTERFACES = "0.0.0.0"
NODE_COLUMNS = ("Name", "AE title", "Host", "Port", "Retrieve with")


class PacsSettingsDialog(QDialog):
    """Edit the listener and the nodes.

    Args:
        listener: the listener's settings now.
        listener_enabled: whether it runs now.
        nodes: the nodes now.
        parent: the Qt parent.

    Attributes (after ``accept``):
        result_listener, result_enabled, result_nodes: what the user chose.
    """

    def __init__(
        self,
        listener: ListenerSettings,
        listener_enabled: bool,
        nodes: list[PacsNode],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("PACS settings")
        self.result_listener = listener
        self.result_enabled = listener_enabled
        self.result_nodes = list(nodes)

        self.enabled = QCheckBox("Receive images (DICOM Storage SCP) while Hilum is open")
        self.enabled.setChecked(listener_enabled)
        self.ae_title = QLineEdit(listener.ae_title)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(listener.port or 11112)
        self.everywhere = QCheckBox("Accept connections from other computers (all interfaces)")
        self.everywhere.setChecked(listener.host != LOOPBACK)
        self.folder = QLineEdit(str(listener.out_dir))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.allowed = QPlainTextEdit("\n".join(str(entry) for entry in listener.allowed))
        self.allowed.setPlaceholderText("One per line: AE title, or AE title@IP address")
        self.allowed.setMaximumHeight(80)
        receive = QGroupBox("Receiving")
        form = QFormLayout(receive)
        form.addRow(self.enabled)
        form.addRow("Hilum's AE title", self.ae_title)
        form.addRow("Port", self.port)
        form.addRow(self.everywhere)
        form.addRow("Receive folder", folder_row)
        form.addRow("Allowed senders", self.allowed)

        self.table = QTableWidget(0, len(NODE_COLUMNS))
        self.table.setHorizontalHeaderLabels(NODE_COLUMNS)
        for node in nodes:
            self.add_node_row(node)
        add = QPushButton("Add node")
        add.clicked.connect(lambda: self.add_node_row(None))
        remove = QPushButton("Remove node")
        remove.clicked.connect(self._remove_node)
        buttons_row = QHBoxLayout()
        buttons_row.addWidget(add)
        buttons_row.addWidget(remove)
        buttons_row.addStretch(1)
        pacs = QGroupBox("PACS nodes (query, retrieve, send results)")
        pacs_layout = QVBoxLayout(pacs)
        pacs_layout.addWidget(self.table)
        pacs_layout.addLayout(buttons_row)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(receive)
        layout.addWidget(pacs, 1)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.resize(640, 560)

    def add_node_row(self, node: PacsNode | None) -> int:
        """Append a row for ``node`` (an empty row for ``None``); return its index."""
        row = self.table.rowCount()
        self.table.insertRow(row)
        values = ("", "", "", "104") if node is None else (
            node.name, node.ae_title, node.host, str(node.port)
        )  # fmt: skip
        for column, value in enumerate(values):
            self.table.setItem(row, column, QTableWidgetItem(value))
        method = QComboBox()
        method.addItems(RETRIEVE_METHODS)
        method.setCurrentText(node.retrieve if node else RETRIEVE_METHODS[0])
        self.table.setCellWidget(row, len(NODE_COLUMNS) - 1, method)
        return row

    @Slot()
    def _remove_node(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.removeRow(row)

    @Slot()
    def _choose_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Receive folder", self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    def read_form(self) -> tuple[ListenerSettings, bool, list[PacsNode]]:
        """The form as settings.

        Raises:
            ConfigError: a value is invalid (the message names it).
        """
        allowed = tuple(
            AllowedCaller.parse(line)
            for line in self.allowed.toPlainText().splitlines()
            if line.strip()
        )
        if self.enabled.isChecked() and not allowed:
            raise ConfigError(
                "Allowed senders is empty: name the AE titles of the X-ray units and PACSs that "
                "may send images (the listener rejects everyone else)."
            )
        listener = ListenerSettings(
            ae_title=self.ae_title.text(),
            port=self.port.value(),
            out_dir=Path(self.folder.text().strip() or str(Path.home() / "Hilum" / "received")),
            allowed=allowed,
            host=ALL_INTERFACES if self.everywhere.isChecked() else LOOPBACK,
        )
        nodes = []
        for row in range(self.table.rowCount()):
            name, title, host, port = (self._cell(row, column) for column in range(4))
            if not (title or host):
                continue
            method = self.table.cellWidget(row, len(NODE_COLUMNS) - 1)
            retrieve = method.currentText() if isinstance(method, QComboBox) else "C-MOVE"
            nodes.append(PacsNode(title, host, port, retrieve, name))  # type: ignore[arg-type]
        return listener, self.enabled.isChecked(), nodes

    def _cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text().strip() if item is not None else ""

    def accept(self) -> None:
        """Keep the dialog open with the reason when a value is invalid."""
        try:
            self.result_listener, self.result_enabled, self.result_nodes = self.read_form()
        except ConfigError as error:
            self.message.setText(str(error))
            return
        super().accept()
