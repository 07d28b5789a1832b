"""The heatmap's strength follows the probability up to the operating point."""

from __future__ import annotations

import numpy as np
import pytest

from engine.inference.heatmap_strength import heatmap_strength, scaled_heatmap, strength_legend


@pytest.mark.parametrize(
    ("probability", "threshold", "expected"),
    [
        (0.02, 0.4, 0.05),  # far below the operating point: nearly invisible
        (0.3, 0.4, 0.75),
        (0.4, 0.4, 1.0),  # at the operating point: full strength
        (0.99, 0.4, 1.0),
        (0.5, 0.0, 1.0),  # every image is positive at a threshold of 0
        (1.5, 0.4, 1.0),  # out-of-range inputs are clipped, not amplified
        (-0.1, 0.4, 0.0),
    ],
)
def test_strength(probability: float, threshold: float, expected: float) -> None:
    assert heatmap_strength(probability, threshold) == pytest.approx(expected)


def test_a_two_percent_prediction_has_no_hot_spot() -> None:
    hot = np.zeros((8, 8), dtype=np.float32)
    hot[3:5, 3:5] = 1.0  # Grad-CAM is normalised per image: its maximum is always 1
    assert scaled_heatmap(hot, 0.02, 0.4).max() == pytest.approx(0.05)
    assert scaled_heatmap(hot, 0.99, 0.4).max() == pytest.approx(1.0)
    assert scaled_heatmap(hot, 0.99, 0.4).dtype == np.float32


def test_the_legend_says_how_strongly_and_why() -> None:
    faded = strength_legend(0.02, 0.4)
    assert "5% strength" in faded and "2.0%" in faded and "40.0%" in faded
    assert "full strength" in strength_legend(0.4, 0.4)
