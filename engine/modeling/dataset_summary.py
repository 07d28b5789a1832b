"""What a training data folder holds: images per class and split, and the unreadable files.

The viewer's data panel runs :func:`scan_dataset` as a job. It reads the folder with the engine's
own functions, so the counts are those training will use. Validation comes from a ``val/`` folder
when the engine would use it, otherwise it is carved from train exactly as
:func:`engine.modeling.datasets.make_split` carves it (same fraction and seed). Every file is
decoded with :func:`engine.load_image` to find the unreadable ones, because training silently skips
them (weight
0) and the user should know beforehand.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ImageReadError
from engine.imaging.images import load_image
from engine.modeling.labelled_folders import LabelledSet, find_data_folders
from engine.progress import OnProgress, Progress, ShouldStop, ignore_progress, never_stop

#: Splits in display order.
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class DatasetSummary:
    """Images per split and class, how validation was obtained, and the unreadable files.

    Attributes:
        root: the data folder.
        counts: split -> class name -> images (``SPLITS`` present in the folder only).
        validation: how the validation split is made (the engine's ``Split.method``).
        unreadable: ``(file, reason)`` of every file :func:`engine.load_image` refused.
    """

    root: Path
    counts: dict[str, dict[str, int]]
    validation: str
    unreadable: tuple[tuple[Path, str], ...]

    @property
    def total(self) -> int:
        """Images in every split."""
        return sum(sum(per_class.values()) for per_class in self.counts.values())

    def share(self, class_name: str) -> float:
        """The share of ``class_name`` among all images (0 when there is none)."""
        count = sum(per_class.get(class_name, 0) for per_class in self.counts.values())
        return count / self.total if self.total else 0.0


def scan_dataset(
    folder: str | os.PathLike[str],
    *,
    fraction: float,
    seed: int,
    on_progress: OnProgress | None = None,
    should_stop: ShouldStop | None = None,
) -> DatasetSummary | None:
    """Count ``folder``'s images per split and class and find the unreadable ones.

    Args:
        folder: class folders, or a chest_xray root (see :mod:`engine.modeling.labelled_folders`).
        fraction: validation share carved from train when there is no usable ``val/``.
        seed: seed of that carve (the training form's seed).
        on_progress: receives ``Progress("scan", files checked, files)``.
        should_stop: polled between files; True ends the scan.

    Returns:
        The summary, or ``None`` when stopped.

    Raises:
        DatasetError: the folder has neither layout, or too few images to carve validation.
    """
    from engine.modeling.datasets import make_split  # scikit-learn: only when a folder is scanned

    report = on_progress or ignore_progress
    stop = should_stop or never_stop
    folders = find_data_folders(folder)
    split = make_split(folders, fraction, seed)
    sets: dict[str, LabelledSet] = {"train": split.train, "validation": split.validation}
    if folders.test is not None:
        sets["test"] = folders.test
    files = [path for data in sets.values() for path in data.paths]
    unreadable: list[tuple[Path, str]] = []
    for done, path in enumerate(files, start=1):
        if stop():
            return None
        try:
            load_image(path)
        except ImageReadError as error:
            unreadable.append((path, str(error)))
        if done % 16 == 0 or done == len(files):
            report(Progress("scan", done, len(files), path.name))
    counts = {name: data.counts() for name, data in sets.items()}
    return DatasetSummary(Path(folder), counts, split.method, tuple(unreadable))
