"""Promotion: the reading room's model transitions, and the checks a bundle must pass (or the
warnings a person must accept) before it replaces the model clinicians read with.

The bundles here hold a few bytes as ``model.keras`` with the matching checksum in a real card:
the checks read and verify cards, they never load a network (no TensorFlow).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.modeling.bundles import MODEL_FILE
from engine.modeling.calibration import Calibration
from engine.modeling.card import CARD_FILE
from engine.workflows.promotion import SHIPPED_DEFAULT, ReadingRoomModels, check_promotion
from tests.engine.tiny_bundles import (
    external_figures,
    promotable_card,
    robustness_figures,
    write_card_bundle,
)

# --- transitions ---------------------------------------------------------------------------------


def test_promote_remembers_the_model_it_replaces_and_revert_swaps_back(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    start = ReadingRoomModels()
    assert start.active == SHIPPED_DEFAULT and not start.can_revert
    assert start.revert() == start

    promoted = start.promote(first)
    assert promoted == ReadingRoomModels(first, SHIPPED_DEFAULT) and promoted.can_revert
    again = promoted.promote(second)
    assert again == ReadingRoomModels(second, first)
    assert again.revert() == ReadingRoomModels(first, second)
    assert again.revert().revert() == again


def test_use_default_remembers_the_bundle_it_replaces(tmp_path: Path) -> None:
    models = ReadingRoomModels(tmp_path / "a", SHIPPED_DEFAULT).use_default()
    assert models == ReadingRoomModels(SHIPPED_DEFAULT, tmp_path / "a")
    assert models.revert().active == tmp_path / "a"


# --- checks --------------------------------------------------------------------------------------


def test_a_complete_card_passes_without_warnings(tmp_path: Path) -> None:
    bundle = write_card_bundle(tmp_path / "good", promotable_card())
    check = check_promotion(bundle)
    assert check.allowed and check.errors == () and check.warnings == ()
    assert check.card is not None and check.card.model_id == "cnn-good"


def test_a_damaged_bundle_is_refused_naming_the_folder(tmp_path: Path) -> None:
    bundle = write_card_bundle(tmp_path / "damaged", promotable_card())
    (bundle / MODEL_FILE).write_bytes(b"changed after training")
    check = check_promotion(bundle)
    assert not check.allowed and check.card is None
    assert str(bundle) in check.errors[0] and "does not match the checksum" in check.errors[0]


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    check = check_promotion(tmp_path / "nowhere")
    assert not check.allowed and "the folder does not exist" in check.errors[0]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"operating_point": None}, "was not chosen on data"),
        ({"calibration": Calibration("none")}, "not calibrated"),
    ],
)
def test_an_unchosen_threshold_or_uncalibrated_probabilities_are_refused(
    tmp_path: Path, changes: dict[str, Any], expected: str
) -> None:
    bundle = write_card_bundle(tmp_path / "m", promotable_card(**changes))
    check = check_promotion(bundle)
    assert not check.allowed and len(check.errors) == 1
    assert expected in check.errors[0] and str(bundle) in check.errors[0]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"external": {}}, "never measured on images from elsewhere"),
        ({"robustness": {}}, "no robustness figures"),
        ({"robustness": robustness_figures(0.27)}, "'crop', flips 27% of one class's calls"),
    ],
)
def test_missing_external_or_weak_robustness_warn_but_allow(
    tmp_path: Path, changes: dict[str, Any], expected: str
) -> None:
    bundle = write_card_bundle(tmp_path / "m", promotable_card(**changes))
    check = check_promotion(bundle)
    assert check.allowed and len(check.warnings) == 1
    assert expected in check.warnings[0] and str(bundle) in check.warnings[0]


def test_the_flip_rate_bound_is_inclusive_and_adjustable(tmp_path: Path) -> None:
    bundle = write_card_bundle(tmp_path / "m", promotable_card(robustness=robustness_figures(0.10)))
    assert check_promotion(bundle).warnings == ()
    assert len(check_promotion(bundle, max_flip_rate=0.05).warnings) == 1


def test_worse_external_figures_than_the_active_model_warn(tmp_path: Path) -> None:
    active = promotable_card(
        "cnn-active", name="active model", external=external_figures(0.97, 0.80)
    )
    candidate = write_card_bundle(
        tmp_path / "m", promotable_card(external=external_figures(0.93, 0.90))
    )
    check = check_promotion(candidate, active)
    assert check.allowed and len(check.warnings) == 1
    assert "expected sensitivity on images from elsewhere, 0.930" in check.warnings[0]
    assert "active model: 0.970" in check.warnings[0]
    better = write_card_bundle(
        tmp_path / "b", promotable_card(external=external_figures(0.98, 0.81))
    )
    assert check_promotion(better, active).warnings == ()


def test_the_active_model_can_be_given_as_its_bundle(tmp_path: Path) -> None:
    active = write_card_bundle(
        tmp_path / "active", promotable_card("cnn-active", external=external_figures(0.90, 0.95))
    )
    candidate = write_card_bundle(
        tmp_path / "m", promotable_card(external=external_figures(0.95, 0.85))
    )
    warnings = check_promotion(candidate, active).warnings
    assert len(warnings) == 1 and "expected specificity" in warnings[0]
    (active / CARD_FILE).write_text("{", encoding="utf-8")  # unreadable: nothing to compare
    assert check_promotion(candidate, active).warnings == ()


def test_cross_fitted_external_figures_are_the_ones_compared(tmp_path: Path) -> None:
    """When the external set also chose the threshold, its plain figures flatter the model."""
    external = {
        **external_figures(0.99, 0.99),
        "fitted_on_this_set": True,
        "cross_fitted": {"n": 313, "sensitivity": 0.90, "specificity": 0.99},
    }
    active = promotable_card("cnn-active", external=external_figures(0.95, 0.85))
    candidate = write_card_bundle(tmp_path / "m", promotable_card(external=external))
    warnings = check_promotion(candidate, active).warnings
    assert len(warnings) == 1 and "sensitivity on images from elsewhere, 0.900" in warnings[0]
