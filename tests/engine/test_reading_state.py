"""The reading state of the image on screen: one answer for every view, with plain listeners."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.imaging.radiograph import Radiograph
from engine.inference.heatmap_strength import heatmap_strength
from engine.inference.prediction import Prediction
from engine.workflows.reading_state import ReadingState, ThresholdScope

CARD_THRESHOLD = 0.4


def an_image(name: str) -> Radiograph:
    pixels = np.zeros((8, 8), np.float32)
    return Radiograph(pixels, pixels, Path(f"/images/{name}.png"), "PNG", (0, 1), 8, "", ())


def a_prediction(image: Radiograph, probability: float, threshold: float = 0.4) -> Prediction:
    return Prediction(
        probability, probability, "PNEUMONIA" if probability >= threshold else "NORMAL",
        threshold, np.ones((8, 8), np.float32), {}, "model-1", "CPU", path=image.source,
    )  # fmt: skip


@pytest.fixture
def state() -> ReadingState:
    state = ReadingState()
    state.set_model("model-1", CARD_THRESHOLD)
    return state


def test_listeners_hear_each_change_and_can_leave(state: ReadingState) -> None:
    heard: list[str] = []
    leave = state.subscribe(heard.append)
    image = an_image("a")
    state.show_image(image)
    state.show_prediction(a_prediction(image, 0.3))
    state.set_threshold(0.2)
    state.reset_threshold()
    assert heard == ["image", "prediction", "threshold", "threshold"]
    leave()
    state.set_threshold(0.5)
    assert len(heard) == 4


def test_the_result_is_the_prediction_at_the_threshold_in_force(state: ReadingState) -> None:
    image = an_image("a")
    state.show_image(image)
    assert state.result() is None, "no prediction yet"
    state.show_prediction(a_prediction(image, 0.3))
    result = state.result()
    assert result is not None and not result.set_by_user
    assert (result.threshold, result.label) == (0.4, "NORMAL")
    assert result.heatmap_strength == pytest.approx(0.75)
    assert result.faded_heatmap is not None and result.faded_heatmap.max() == pytest.approx(0.75)
    assert state.threshold_origin == "the model card's operating point"

    state.set_threshold(0.25)
    moved = state.result()
    assert moved is not None and moved.set_by_user and moved.threshold == 0.25
    assert (moved.label, moved.heatmap_strength) == ("PNEUMONIA", 1.0)
    assert moved.model_threshold == 0.4
    assert state.threshold_origin == "set by the user for this session"


def test_a_site_heads_threshold_is_the_models_not_the_users(state: ReadingState) -> None:
    image = an_image("a")
    state.show_image(image)
    state.show_prediction(a_prediction(image, 0.3, threshold=0.2))
    assert state.threshold == 0.2 and not state.set_by_user
    assert state.threshold_origin == "the operating point for this image's site"


def test_a_threshold_for_this_image_ends_with_it_one_for_the_session_does_not(
    state: ReadingState,
) -> None:
    first, second, third = an_image("a"), an_image("b"), an_image("c")
    state.show_image(first)
    state.set_threshold(0.7, ThresholdScope.IMAGE)
    assert state.threshold == 0.7 and state.threshold_origin == "set by the user for this image"
    state.show_image(second)
    assert state.threshold == CARD_THRESHOLD and not state.set_by_user
    state.set_threshold(0.6, ThresholdScope.SESSION)
    state.show_image(third)
    assert state.threshold == 0.6 and state.set_by_user
    state.set_model("model-2", 0.5)
    assert state.threshold == 0.5, "another model: its own operating point"


def test_a_failed_file_leaves_no_prediction_and_takes_none_late(state: ReadingState) -> None:
    image = an_image("a")
    state.show_image(image)
    earlier = a_prediction(image, 0.99)
    state.show_prediction(earlier)
    state.fail(Path("/images/broken.dcm"), "the file is truncated")
    assert (state.image, state.prediction, state.result()) == (None, None, None)
    assert state.failure == "the file is truncated" and state.path == Path("/images/broken.dcm")
    assert not state.show_prediction(earlier), "a late prediction of the image before"
    assert state.result() is None


def test_a_prediction_of_another_file_is_not_taken(state: ReadingState) -> None:
    shown, other = an_image("a"), an_image("b")
    state.show_image(shown)
    assert not state.show_prediction(a_prediction(other, 0.9))
    assert state.prediction is None
    own = a_prediction(shown, 0.9)
    assert state.show_prediction(own) and state.prediction is own


def test_reading_a_new_image_drops_the_prediction_shown(state: ReadingState) -> None:
    image = an_image("a")
    state.show_image(image)
    state.show_prediction(a_prediction(image, 0.9))
    state.reading()
    assert state.result() is None and state.image is image


def test_the_threshold_is_kept_within_zero_and_one(state: ReadingState) -> None:
    state.set_threshold(1.7)
    assert state.threshold == 1.0
    state.set_threshold(-0.2)
    assert state.threshold == 0.0


def test_strength_agrees_with_the_heatmap_strength_rule(state: ReadingState) -> None:
    image = an_image("a")
    state.show_image(image)
    state.show_prediction(replace(a_prediction(image, 0.1), heatmap=None))
    result = state.result()
    assert result is not None and result.faded_heatmap is None
    assert result.heatmap_strength == heatmap_strength(0.1, 0.4)
