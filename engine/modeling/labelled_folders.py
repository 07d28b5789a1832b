"""Find labelled images on disk: class folders, patients, and stratified subsets.

Accepted layouts (case of folder names is ignored):

* ``DATA/NORMAL/*`` and ``DATA/PNEUMONIA/*`` — one labelled set;
* ``chest_xray/train/{NORMAL,PNEUMONIA}`` with optional ``val/`` and ``test/`` beside ``train/``.

Labels are 0 for NORMAL and 1 for PNEUMONIA (the positive class).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import DatasetError
from engine.imaging.files import walk_images

CLASS_NAMES = ("NORMAL", "PNEUMONIA")
_PATIENT = re.compile(r"person(\d+)_", re.IGNORECASE)
_NORMAL_STUDY = re.compile(r"^(?:NORMAL2-)?IM-(\d+)-\d+", re.IGNORECASE)


@dataclass(frozen=True)
class LabelledSet:
    """Image paths with their labels (0 = NORMAL, 1 = PNEUMONIA), in a stable order."""

    paths: tuple[Path, ...]
    labels: tuple[int, ...]
    root: Path

    def __len__(self) -> int:
        return len(self.paths)

    def counts(self) -> dict[str, int]:
        """Images per class name."""
        positives = int(sum(self.labels))
        return {CLASS_NAMES[0]: len(self.labels) - positives, CLASS_NAMES[1]: positives}

    def subset(self, indices: list[int] | np.ndarray) -> LabelledSet:
        """The images at ``indices`` (kept in the given order)."""
        return LabelledSet(
            tuple(self.paths[int(i)] for i in indices),
            tuple(self.labels[int(i)] for i in indices),
            self.root,
        )


@dataclass(frozen=True)
class DataFolders:
    """The splits found under a data folder; ``validation``/``test`` are ``None`` when absent."""

    train: LabelledSet
    validation: LabelledSet | None
    test: LabelledSet | None


def _class_dirs(folder: Path) -> dict[str, Path]:
    found = {}
    if folder.is_dir():
        for child in folder.iterdir():
            if child.is_dir() and child.name.upper() in CLASS_NAMES:
                found[child.name.upper()] = child
    return found


def read_labelled_set(folder: str | os.PathLike[str]) -> LabelledSet:
    """Every image under ``folder/NORMAL`` and ``folder/PNEUMONIA``.

    Raises:
        DatasetError: a class folder is missing or holds no image.
    """
    root = Path(folder)
    dirs = _class_dirs(root)
    missing = [name for name in CLASS_NAMES if name not in dirs]
    if missing:
        raise DatasetError(
            f"{root}: no {' or '.join(missing)} folder. Hilum expects class folders NORMAL/ and "
            "PNEUMONIA/ (or a chest_xray folder with train/ holding them)."
        )
    paths: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(CLASS_NAMES):
        files = walk_images([dirs[name]]).files
        if not files:
            raise DatasetError(f"{dirs[name]}: the {name} folder holds no image.")
        paths.extend(files)
        labels.extend([label] * len(files))
    return LabelledSet(tuple(paths), tuple(labels), root)


def find_data_folders(folder: str | os.PathLike[str]) -> DataFolders:
    """Recognise either layout; with class folders directly under ``folder`` it is all ``train``.

    Raises:
        DatasetError: neither layout is found.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(f"{root}: the data folder does not exist.")
    if _class_dirs(root):
        return DataFolders(read_labelled_set(root), None, None)
    splits = {child.name.lower(): child for child in root.iterdir() if child.is_dir()}
    if "train" not in splits:
        raise DatasetError(
            f"{root}: neither NORMAL/ and PNEUMONIA/ folders nor a train/ folder were found. "
            "Point Hilum at a folder with class folders, or at a chest_xray root."
        )

    def optional(name: str) -> LabelledSet | None:
        return read_labelled_set(splits[name]) if name in splits else None

    return DataFolders(read_labelled_set(splits["train"]), optional("val"), optional("test"))


def patient_id(path: Path) -> str:
    """The patient a file belongs to, from its name, or the file name itself when unknown.

    ``person1372_bacteria_3501.jpeg`` -> ``"person1372"``; ``NORMAL2-IM-0927-0001.jpeg`` ->
    ``"IM-0927"`` (the NORMAL images of this data set are named by study); anything else is its
    own group.
    """
    match = _PATIENT.search(path.name)
    if match:
        return f"person{int(match.group(1))}"
    match = _NORMAL_STUDY.match(path.name)
    if match:
        return f"IM-{int(match.group(1)):04d}"
    return path.name


def stratified_limit(data: LabelledSet, limit: int | None, seed: int) -> LabelledSet:
    """At most ``limit`` images keeping the class proportions (at least one of each class).

    ``None`` or a limit >= the set size returns the set unchanged. The choice is seeded.
    """
    if limit is None or limit >= len(data):
        return data
    if limit < 2:
        raise DatasetError(f"--limit must be at least 2 (one image per class), got {limit}.")
    rng = np.random.default_rng(seed)
    labels = np.asarray(data.labels)
    chosen: list[int] = []
    positives = round(limit * labels.mean())
    positives = min(max(positives, 1), limit - 1)
    for label, count in ((0, limit - positives), (1, positives)):
        indices = np.flatnonzero(labels == label)
        chosen.extend(rng.choice(indices, size=min(count, len(indices)), replace=False).tolist())
    return data.subset(sorted(chosen))
