"""Commissioning a model for a site from the Training tab, driven through the form with real
clicks and keys: the site's figures before and after with their intervals, the new bundle and
its promotion (refused here: the site's test part is small), Cancel leaving nothing, and bad
input named in a message.

The model is a tiny untrained network with a domain check (as in
``tests/engine/test_commissioning.py``); the site is 40 + 40 films of ``sites/nih``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from engine.errors import ConfigError, DatasetError
from engine.evaluation import domain_fitting
from engine.inference.domain_features import entry_features
from engine.modeling.bundles import read_card
from engine.modeling.card import CARD_FILE
from engine.progress import Cancelled, Progress
from engine.workflows.promotion import PromotionCheck
from tests.engine.tiny_bundles import (
    domain_checked_bundle,
    make_bundle,
    promotable_card,
    write_card_bundle,
)
from tests.site_folders import link_site
from tests.viewer.helpers import show_widget
from viewer.jobs import JobRunner
from viewer.settings import Settings, TrainingSettings
from viewer.training.commission_panel import CommissionPanel
from viewer.training.promotion_bar import PromotionBar
from viewer.training.training_tab import TrainingTab

pytestmark = pytest.mark.data

RUN_TIMEOUT_MS = 240_000
CHECK_TIMEOUT_MS = 30_000
#: A figure with its 95 % interval, as the card's lines show it: ``auc 0.612 (0.480-0.745)``.
WITH_INTERVAL = re.compile(r"auc \d\.\d{3} \(\d\.\d{3}-\d\.\d{3}\)")


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory, tiny_train_set: Path) -> Path:
    """The model to commission: tiny, with a domain check fitted on the tiny training set."""
    return domain_checked_bundle(tmp_path_factory.mktemp("original") / "tiny", tiny_train_set)


@pytest.fixture
def make_panel(
    qtbot: QtBot, settings: Settings, tmp_path: Path, original: Path
) -> Iterator[Callable[[], tuple[CommissionPanel, PromotionBar]]]:
    """Factory of a shown panel whose active model is ``original`` and whose model folder is
    ``tmp_path/models``; its runners are stopped afterwards."""
    settings.model_path = original
    training = TrainingSettings(settings)
    training.model_folder = tmp_path / "models"
    runners: list[JobRunner] = []

    def factory() -> tuple[CommissionPanel, PromotionBar]:
        tf, io = JobRunner(max_threads=1), JobRunner(max_threads=1)
        runners.extend((tf, io))
        bar = PromotionBar(training, io)
        panel = show_widget(qtbot, CommissionPanel(training, tf, bar), (900, 800))
        return panel, bar

    yield factory
    for runner in runners:
        assert runner.shutdown(RUN_TIMEOUT_MS)


def type_into(edit: QLineEdit, text: str) -> None:
    """Click ``edit``, select what it holds and type ``text`` over it."""
    QTest.mouseClick(edit, Qt.MouseButton.LeftButton)
    QTest.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(edit, text)


def click(widget: QWidget) -> None:
    """A left click in the middle of ``widget``."""
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


def run(qtbot: QtBot, panel: CommissionPanel) -> Any:
    """Click Start and return what the run ended with (the bundle or the exception)."""
    with qtbot.waitSignal(panel.done, timeout=RUN_TIMEOUT_MS) as done:
        click(panel.start_button)
    return done.args[0]


def test_commissioning_shows_before_and_after_with_intervals_and_offers_promotion(
    qtbot: QtBot,
    make_panel: Callable[[], tuple[CommissionPanel, PromotionBar]],
    original: Path,
    site_folder: Path,
    tiny_train_set: Path,
    tmp_path: Path,
) -> None:
    panel, bar = make_panel()
    form = panel.form
    assert form.bundle.path == original  # the reading room's active model
    assert not panel.start_button.isEnabled() and "site's data folder" in panel.reason.text()
    type_into(form.site_data.edit, str(site_folder))
    type_into(form.site_name, "Second Hospital")
    out = tmp_path / "models" / f"second-hospital-{date.today().isoformat()}"
    assert form.out.path == out and str(out) in form.destination.text()
    type_into(form.external.edit, str(tiny_train_set))

    assert run(qtbot, panel) == out
    assert (out / CARD_FILE).is_file() and (original / CARD_FILE).is_file()
    lines = panel.figures.toPlainText().splitlines()
    assert lines[0].startswith("Commissioned for Second Hospital")
    for where in ("the site's test part", "external images"):
        for moment in ("before", "after"):
            line = next(text for text in lines if text.startswith(f"{where}, {moment}:"))
            assert WITH_INTERVAL.search(line), line
    assert str(out) in panel.status.text()

    # Promotion goes through the promotion bar: site figures first, and a refusal here (the
    # test part has about 20 films of each class, fewer than promotion wants).
    with qtbot.waitSignal(bar.checked, timeout=CHECK_TIMEOUT_MS) as checked:
        click(panel.promote_button)
    check: PromotionCheck = checked.args[0]
    assert check.bundle == out and not check.allowed
    assert check.site[0].startswith("Commissioned for Second Hospital")
    assert panel.status.text().startswith("Not promoted:")
    boxes = [box for box in bar.findChildren(QMessageBox) if box.isVisible()]
    assert len(boxes) == 1 and boxes[0].text().startswith("Commissioned for Second Hospital")
    boxes[0].accept()


def test_cancel_during_the_run_leaves_no_bundle(
    qtbot: QtBot,
    make_panel: Callable[[], tuple[CommissionPanel, PromotionBar]],
    site_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The second batch of site features waits until Cancel was clicked, so that Cancel lands
    # mid-run however fast the machine is.
    clicked = threading.Event()
    batches = []

    def gated(*args: Any) -> Any:
        batches.append(1)
        if len(batches) == 2:
            assert clicked.wait(RUN_TIMEOUT_MS / 1000)
        return entry_features(*args)

    monkeypatch.setattr(domain_fitting, "entry_features", gated)
    panel, _ = make_panel()
    type_into(panel.form.site_data.edit, str(site_folder))
    out = panel.form.out.path
    assert out is not None
    with qtbot.waitSignal(panel.done, timeout=RUN_TIMEOUT_MS) as done:
        with qtbot.waitSignal(
            panel.progressed,
            timeout=RUN_TIMEOUT_MS,
            check_params_cb=lambda report: isinstance(report, Progress) and report.done > 0,
        ):
            click(panel.start_button)
        assert panel.cancel_button.isEnabled()
        click(panel.cancel_button)
        clicked.set()
    assert isinstance(done.args[0], Cancelled)
    assert not out.exists()
    models = tmp_path / "models"
    assert not models.exists() or not any(models.iterdir())  # no half-written folder either
    assert panel.status.text() == "Cancelled: nothing was written."
    assert panel.start_button.isEnabled() and not panel.promote_button.isEnabled()


@pytest.mark.parametrize(
    ("make_site", "problem"),
    [
        (lambda root, nih: (root / "images").mkdir(parents=True), "NORMAL/ and PNEUMONIA/"),
        (lambda root, nih: link_site(nih, root, 12), "9 NORMAL patient(s)"),
    ],
    ids=["no class folders", "too few patients"],
)
def test_an_unusable_site_folder_is_named_in_the_message(
    qtbot: QtBot,
    make_panel: Callable[[], tuple[CommissionPanel, PromotionBar]],
    shared_data: Path,
    tmp_path: Path,
    make_site: Callable[[Path, Path], object],
    problem: str,
) -> None:
    ward = tmp_path / "ward"
    make_site(ward, shared_data / "sites" / "nih")
    panel, _ = make_panel()
    type_into(panel.form.site_data.edit, str(ward))
    error = run(qtbot, panel)
    assert isinstance(error, DatasetError)
    assert panel.banner.isVisible()
    message = panel.banner.text()
    assert str(ward) in message and problem in message
    assert panel.form.out.path is not None and not panel.form.out.path.exists()


def test_a_model_without_a_domain_check_is_refused_with_what_to_do(
    qtbot: QtBot,
    make_panel: Callable[[], tuple[CommissionPanel, PromotionBar]],
    site_folder: Path,
    tmp_path: Path,
) -> None:
    plain = make_bundle(tmp_path / "plain")
    panel, _ = make_panel()
    type_into(panel.form.bundle.edit, str(plain))
    type_into(panel.form.site_data.edit, str(site_folder))
    error = run(qtbot, panel)
    assert isinstance(error, ConfigError)
    assert str(plain) in panel.banner.text() and "hilum domain-check" in panel.banner.text()


def test_the_training_tab_has_the_page_and_lists_a_commissioned_model(
    qtbot: QtBot, settings: Settings, tmp_path: Path
) -> None:
    tab = TrainingTab(settings)  # not shown: no parameter counting, no model folder scan
    qtbot.addWidget(tab)
    pages = [tab.pages.tabText(index) for index in range(tab.pages.count())]
    assert "Commission for a site" in pages
    bundle = write_card_bundle(tmp_path / "site", promotable_card("cnn-site"))
    tab.commissioning.commissioned.emit(bundle, read_card(bundle))
    assert tab.comparison.entry(bundle) is not None
    assert tab.shutdown(CHECK_TIMEOUT_MS)
