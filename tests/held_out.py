"""A fixed held-out subset of the external images and the AUC of scores on it, for tests that
check a model discriminates (where ``0 <= p <= 1`` would pass a model that says NORMAL always)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

CLASSES = ("NORMAL", "PNEUMONIA")


def external_subset(external_dir: Path, per_class: int = 40) -> list[tuple[Path, int]]:
    """``per_class`` images of each class (0 NORMAL, 1 PNEUMONIA), spread evenly over the
    sorted file names: the same images on every run."""
    chosen: list[tuple[Path, int]] = []
    for label, name in enumerate(CLASSES):
        files = sorted((external_dir / name).iterdir())
        step = max(1, len(files) // per_class)
        chosen.extend((path, label) for path in files[::step][:per_class])
    return chosen


def pair_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """The ROC AUC as the share of (PNEUMONIA, NORMAL) pairs ranked right, ties counting half
    (Mann-Whitney), computed here independently of the engine's metrics."""
    values = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(labels) == 1
    positive, negative = values[truth][:, None], values[~truth][None, :]
    return float(((positive > negative) + 0.5 * (positive == negative)).mean())
