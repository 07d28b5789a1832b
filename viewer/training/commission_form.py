"""The "Commission for a site" form: its values are a
:class:`engine.workflows.commissioning.CommissionConfig`.

What to commission (by default the reading room's active model), the site's data folder, the
site's name (by default the folder's name), where the new model goes (by default a new folder
``<site>-<date>`` in the Training tab's model folder, so that the comparison lists it), an
optional set of labelled images from elsewhere to measure on too, and whether to refit on all the
site's images. Validation of the values is the engine's (:class:`CommissionConfig` and the
workflow itself); the form only says which field is still empty.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from engine.workflows.commissioning import CommissionConfig, site_slug
from viewer.resource_paths import default_model_dir
from viewer.settings import TrainingSettings

REFIT_EXPLANATION = (
    "After measuring on the site's test part, fit again on all its images: more data for the "
    "model you use; the figures shown stay those measured before the refit."
)


def suggested_output(models: Path, site: str, today: date) -> Path:
    """A new folder for a site's model in ``models``: ``<site>-<date>``, numbered when taken."""
    base = models / f"{site_slug(site)}-{today.isoformat()}"
    candidate, number = base, 2
    while candidate.exists():
        candidate, number = base.with_name(f"{base.name}-{number}"), number + 1
    return candidate


class FolderField(QWidget):
    """A path typed in or chosen with "Choose…".

    Signals:
        chosen(): the user typed or chose a path (not emitted for :meth:`suggest`).
    """

    chosen = Signal()

    def __init__(self, title: str, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = title
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.textEdited.connect(self.chosen)
        button = QPushButton("Choose…")
        button.clicked.connect(self.choose)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(button)
        self.user_set = False
        self.chosen.connect(self._mark)

    @property
    def path(self) -> Path | None:
        """The path in the field, or ``None`` when it is empty."""
        text = self.edit.text().strip()
        return Path(text).expanduser() if text else None

    def suggest(self, path: Path | None) -> None:
        """Show ``path`` unless the user typed or chose one."""
        if not self.user_set:
            self.edit.setText(str(path) if path is not None else "")

    @Slot()
    def choose(self) -> None:
        """Ask for a folder."""
        start = self.path or Path.home()
        chosen = QFileDialog.getExistingDirectory(self, self._title, str(start))
        if chosen:
            self.edit.setText(chosen)
            self.chosen.emit()

    @Slot()
    def _mark(self) -> None:
        self.user_set = True


class CommissionForm(QWidget):
    """The bundle, the site's folder and name, the output folder, "also measure on" and
    "refit on all".

    Args:
        settings: the Training tab's settings (model folder; the active model is
            ``settings.settings.model_path``).
        parent: the Qt parent.

    Signals:
        edited(): a value changed.
    """

    edited = Signal()

    def __init__(self, settings: TrainingSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.bundle = FolderField("Model to commission", "a model bundle folder")
        self.site_data = FolderField(
            "The site's data folder", "NORMAL/ and PNEUMONIA/ folders, optional manifest.csv"
        )
        self.site_name = QLineEdit()
        self.out = FolderField("Where the new model goes", "a new folder")
        self.external = FolderField(
            "Also measure on", "optional: labelled images from elsewhere (NORMAL/, PNEUMONIA/)"
        )
        self.refit = QCheckBox("Refit on all the site's images")
        explanation = QLabel(REFIT_EXPLANATION)
        explanation.setWordWrap(True)
        self.destination = QLabel()
        self.destination.setWordWrap(True)

        layout = QFormLayout(self)
        layout.addRow("Model", self.bundle)
        layout.addRow("Site data", self.site_data)
        layout.addRow("Site name", self.site_name)
        layout.addRow("New model folder", self.out)
        layout.addRow("", self.destination)
        layout.addRow("Also measure on", self.external)
        layout.addRow("", self.refit)
        layout.addRow("", explanation)

        for field in (self.bundle, self.site_data, self.out, self.external):
            field.edit.textChanged.connect(self.edited)
        self.site_data.edit.textChanged.connect(self._suggest_output)
        self.site_name.textChanged.connect(self._suggest_output)
        self.site_name.textChanged.connect(self.edited)
        self.out.edit.textChanged.connect(self._describe_destination)
        self.refresh_defaults()

    def site(self) -> str:
        """The site's name: as typed, or the data folder's name."""
        folder = self.site_data.path
        return self.site_name.text().strip() or (folder.resolve().name if folder else "")

    @Slot()
    def refresh_defaults(self) -> None:
        """Show the reading room's active model and the suggested output folder (fields the user
        set are kept)."""
        self.bundle.suggest(self.settings.settings.model_path or default_model_dir())
        self._suggest_output()

    @Slot()
    def _suggest_output(self) -> None:
        folder = self.site_data.path
        self.site_name.setPlaceholderText(folder.resolve().name if folder else "the folder's name")
        site = self.site()
        self.out.suggest(
            suggested_output(self.settings.model_folder, site, date.today()) if site else None
        )

    @Slot()
    def _describe_destination(self) -> None:
        out = self.out.path
        self.destination.setText(
            f"The new model is written to {out}; the model it starts from is not changed."
            if out is not None
            else ""
        )

    def blocking_reason(self) -> str | None:
        """Which field still needs a value, or ``None`` when commissioning can start."""
        if self.bundle.path is None:
            return "Choose the model to commission."
        if self.site_data.path is None:
            return "Choose the site's data folder."
        if self.out.path is None:
            return "Choose where the new model goes."
        return None

    def config(self) -> CommissionConfig:
        """The form's values as a configuration.

        Raises:
            ConfigError: a value the engine refuses.
            ValueError: a field is still empty (see :meth:`blocking_reason`).
        """
        bundle, site_data, out = self.bundle.path, self.site_data.path, self.out.path
        if bundle is None or site_data is None or out is None:
            raise ValueError(self.blocking_reason())
        return CommissionConfig(
            bundle=bundle,
            site_data=site_data,
            out=out,
            site=self.site(),
            refit_on_all=self.refit.isChecked(),
            external=self.external.path,
        )
