"""The training form's external-images, fit-on-external and test-time-augmentation settings
become the engine's TrainConfig; a missing external folder is refused naming the setting."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from viewer.training.train_form import TTA_VIEWS, TrainForm


def test_external_images_fit_and_tta_reach_the_config(qtbot: QtBot, tmp_path: Path) -> None:
    form = TrainForm()
    qtbot.addWidget(form)
    (config,) = form.configs(["cnn"], tmp_path, tmp_path / "runs")
    assert config.external_dir is None and config.fit_on == "validation"
    assert config.tta == ("identity",)

    form.external_dir.setText(str(tmp_path))
    form.fit_on_external.setChecked(True)
    form.tta.setChecked(True)
    (config,) = form.configs(["cnn"], tmp_path, tmp_path / "runs")
    assert config.external_dir == tmp_path and config.fit_on == "external"
    assert config.tta == TTA_VIEWS


def test_fit_on_external_without_a_folder_is_refused(qtbot: QtBot, tmp_path: Path) -> None:
    form = TrainForm()
    qtbot.addWidget(form)
    form.fit_on_external.setChecked(True)
    message = form.validate(["cnn"], tmp_path, tmp_path / "runs")
    assert message is not None and message.startswith("fit_on='external' needs an external")
    assert form.fit_on_external.styleSheet() != ""

    form.external_dir.setText(str(tmp_path / "missing"))
    message = form.validate(["cnn"], tmp_path, tmp_path / "runs")
    assert message is not None and message.startswith("external_dir")
    assert form.external_dir.styleSheet() != ""
