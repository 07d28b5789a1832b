"""How strongly a Grad-CAM heatmap is drawn: in proportion to the probability, up to the
operating point.

Why: Grad-CAM is normalised per image (its maximum is always 1), so on its own a heatmap says
*where* the model looked, never *how much* it believed in pneumonia: a 2 % NORMAL image and a 99 %
PNEUMONIA one both show a full-strength red hot spot. Hilum therefore multiplies the map by a
strength, ``min(1, probability / threshold)`` with the calibrated probability and the operating
point in use:

* at or above the operating point (the image is called PNEUMONIA) the map is drawn as computed;
* below it, the map fades in proportion: 2 % against an operating point of 40 % is drawn at 5 %
  strength (almost invisible, and in the cold colours), 30 % at 75 %.

Chosen over "show only at or above the operating point" because an image just below the cut-off
is exactly the one a reader wants to examine, and a map that vanishes at a hard edge would make
a 39 % and a 41 % image look categorically different; a fade keeps what the map shows
proportional to what the model concluded. Every surface that draws a heatmap fades it with
:func:`scaled_heatmap`: the viewer, the PDF report, the PACS Secondary Capture and the CLI's
overlays; :func:`strength_legend` says in words what the user sees.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def heatmap_strength(probability: float, threshold: float) -> float:
    """The strength in [0, 1] a heatmap is drawn at (see the module docstring).

    Args:
        probability: the calibrated probability of pneumonia, in [0, 1].
        threshold: the operating point the label is computed at, in [0, 1].

    Returns:
        1.0 at or above ``threshold`` (or for a threshold of 0), else ``probability / threshold``.
    """
    probability = min(max(float(probability), 0.0), 1.0)
    threshold = float(threshold)
    if threshold <= 0.0 or probability >= threshold:
        return 1.0
    return probability / threshold


def scaled_heatmap(
    heatmap: npt.ArrayLike, probability: float, threshold: float
) -> npt.NDArray[np.float32]:
    """``heatmap`` (values in [0, 1]) multiplied by :func:`heatmap_strength`, as float32."""
    strength = np.float32(heatmap_strength(probability, threshold))
    return np.clip(np.asarray(heatmap, dtype=np.float32), 0.0, 1.0) * strength


def strength_legend(probability: float, threshold: float) -> str:
    """One sentence saying how strongly the heatmap is drawn and why, for the viewer and the PDF."""
    strength = heatmap_strength(probability, threshold)
    if strength >= 1.0:
        return (
            f"Heatmap at full strength: the probability {probability:.1%} is at or above the "
            f"operating point {threshold:.1%}."
        )
    return (
        f"Heatmap faded to {strength:.0%} strength: the probability {probability:.1%} is below "
        f"the operating point {threshold:.1%} (full strength only at or above it)."
    )
