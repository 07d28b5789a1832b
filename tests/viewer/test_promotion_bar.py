"""The comparison's promotion buttons: a bundle with a blocking problem is refused with the
reason, warnings are shown and must be accepted, a clean bundle is promoted without a question,
and revert / use default swap the reading room's model.

The bundles hold a stand-in ``model.keras`` (the check reads and verifies cards; no network is
loaded here: the window's loading is covered in ``test_training_tab.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from engine.modeling.calibration import Calibration
from engine.workflows.promotion import SHIPPED_DEFAULT, PromotionCheck
from tests.engine.tiny_bundles import external_figures, promotable_card, write_card_bundle
from tests.viewer.helpers import show_widget
from viewer.jobs import JobRunner
from viewer.settings import Settings, TrainingSettings
from viewer.training.promotion_bar import PromotionBar

CHECK_TIMEOUT_MS = 10_000


class Window:
    """Stands in for the main window: loads nothing, remembers what it was asked to use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.requests: list[Path | str] = []

    def use_model(self, bundle: Path) -> None:
        self.requests.append(bundle)
        self.settings.model_path = bundle

    def use_default(self) -> None:
        self.requests.append(SHIPPED_DEFAULT)
        self.settings.model_path = None


@pytest.fixture
def make_bar(
    qtbot: QtBot, settings: Settings
) -> Iterator[Callable[[list[PromotionCheck] | None], tuple[PromotionBar, Window]]]:
    """Factory of a shown bar wired to a :class:`Window`; ``asked`` collects the checks whose
    warnings were shown (answered Yes), or a question makes the test fail when ``None``."""
    runners: list[JobRunner] = []

    def factory(asked: list[PromotionCheck] | None) -> tuple[PromotionBar, Window]:
        runner = JobRunner(max_threads=1)
        runners.append(runner)
        bar = show_widget(qtbot, PromotionBar(TrainingSettings(settings), runner), (600, 80))
        window = Window(settings)
        bar.promoted.connect(window.use_model)
        bar.default_requested.connect(window.use_default)

        def confirm(check: PromotionCheck) -> bool:
            assert asked is not None, f"asked to confirm: {check.warnings}"
            asked.append(check)
            return True

        bar.confirm_promotion = confirm  # type: ignore[method-assign]
        return bar, window

    yield factory
    for runner in runners:
        assert runner.shutdown(5_000)


def _promote(qtbot: QtBot, bar: PromotionBar, bundle: Path) -> PromotionCheck:
    bar.set_candidate(bundle)
    with qtbot.waitSignal(bar.checked, timeout=CHECK_TIMEOUT_MS) as checked:
        bar.promote_button.click()
    check: PromotionCheck = checked.args[0]
    return check


def test_a_clean_bundle_is_promoted_without_a_question(
    qtbot: QtBot, make_bar: Callable[..., tuple[PromotionBar, Window]], tmp_path: Path
) -> None:
    bar, window = make_bar(None)
    # Compared with the active model, the shipped default: better on images from elsewhere.
    card = promotable_card(external=external_figures(0.99, 0.95))
    bundle = write_card_bundle(tmp_path / "good", card)
    _promote(qtbot, bar, bundle)
    assert window.requests == [bundle]
    assert bar.settings.previous_model == SHIPPED_DEFAULT and bar.revert_button.isEnabled()
    assert "good" in bar.active_label.text()


def test_a_blocking_problem_refuses_with_the_reason_and_changes_nothing(
    qtbot: QtBot, make_bar: Callable[..., tuple[PromotionBar, Window]], tmp_path: Path
) -> None:
    bar, window = make_bar(None)
    messages: list[str] = []
    bar.message.connect(messages.append)
    bundle = write_card_bundle(tmp_path / "raw", promotable_card(calibration=Calibration("none")))
    check = _promote(qtbot, bar, bundle)
    assert not check.allowed
    assert window.requests == [] and bar.settings.previous_model is None
    assert messages[-1].startswith("Not promoted:") and "not calibrated" in messages[-1]
    boxes = [box for box in bar.findChildren(QMessageBox) if box.isVisible()]
    assert (
        len(boxes) == 1 and "not calibrated" in boxes[0].text() and str(bundle) in boxes[0].text()
    )
    boxes[0].accept()


def test_warnings_are_shown_and_a_no_keeps_the_active_model(
    qtbot: QtBot, make_bar: Callable[..., tuple[PromotionBar, Window]], tmp_path: Path
) -> None:
    bar, window = make_bar(None)
    shown: list[PromotionCheck] = []

    def decline(check: PromotionCheck) -> bool:
        shown.append(check)
        return False

    bar.confirm_promotion = decline  # type: ignore[method-assign]
    bundle = write_card_bundle(tmp_path / "local", promotable_card(external={}))
    _promote(qtbot, bar, bundle)
    assert len(shown) == 1 and "never measured on images from elsewhere" in shown[0].warnings[0]
    assert window.requests == [] and bar.settings.previous_model is None


def test_the_candidate_is_compared_with_the_active_bundle(
    qtbot: QtBot,
    make_bar: Callable[..., tuple[PromotionBar, Window]],
    settings: Settings,
    tmp_path: Path,
) -> None:
    active = write_card_bundle(
        tmp_path / "active",
        promotable_card("cnn-active", name="ward model", external=external_figures(0.99, 0.9)),
    )
    settings.model_path = active
    asked: list[PromotionCheck] = []
    bar, window = make_bar(asked)
    bundle = write_card_bundle(tmp_path / "new", promotable_card())
    _promote(qtbot, bar, bundle)
    assert len(asked) == 1 and len(asked[0].warnings) == 2
    assert all("(ward model: " in warning for warning in asked[0].warnings)
    assert window.requests == [bundle] and bar.settings.previous_model == active


def test_use_default_then_revert_swap_the_reading_room_model(
    make_bar: Callable[..., tuple[PromotionBar, Window]], settings: Settings, tmp_path: Path
) -> None:
    bundle = write_card_bundle(tmp_path / "m", promotable_card())
    settings.model_path = bundle
    bar, window = make_bar(None)
    assert not bar.revert_button.isEnabled()

    bar.default_button.click()
    assert window.requests == [SHIPPED_DEFAULT] and bar.settings.previous_model == bundle
    assert "the shipped default" in bar.active_label.text()
    bar.revert_button.click()  # no check: it was in use
    assert window.requests == [SHIPPED_DEFAULT, bundle]
    assert bar.settings.previous_model == SHIPPED_DEFAULT
