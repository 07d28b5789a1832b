"""Measure the out-of-distribution warning: false alarms on chest images, hits on the rest.

Why cross-validated: a reference fitted on all training images and scored on the same images
flags 0.5% by construction; scoring each image with a reference fitted on the *other* patients
(5 folds split by patient id) is the honest false-alarm rate.

Usage::

    .venv/bin/python benchmarks/ood_rates.py [--data ../shared/data] [--limit N]

Prints the false-alarm rate on the training images (cross-validated), on the 60 full-resolution
images and on the chest DICOM files, and the hit rate on the non-chest files, per rule.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.errors import ImageReadError  # noqa: E402
from engine.imaging.images import load_image  # noqa: E402
from engine.inference.ood import OodReference, check_radiograph, fit_ood_reference  # noqa: E402

#: Non-chest files in shared/data/dicom (prefixes), and the chest ones.
NON_CHEST = (
    "RG2_",
    "RG3_",
    "mlut_",
    "vlut_",
    "GH133",
    "CR-ModalitySequenceLUT",
    "HasFragment",
    "pydicom_dicomdir_CR1",
)
CHEST = ("RG1_", "CR-MONO1-10-chest", "NIH_CXR")
FOLDS = 5


def patient(path: Path) -> str:
    """The patient id in a training file name (person1372_... or IM-0115-0001 / NORMAL2-IM-...)."""
    match = re.search(r"person(\d+)", path.name)
    return match.group(1) if match else path.stem.rsplit("-", 1)[0]


def rate(flags: list[bool]) -> str:
    return f"{sum(flags)}/{len(flags)} = {100 * sum(flags) / max(len(flags), 1):.2f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--limit", type=int, default=0, help="use only every k-th training image")
    args = parser.parse_args()
    train = sorted((args.data / "chest_xray" / "train").glob("*/*.jpeg"))
    if args.limit:
        train = train[:: max(1, len(train) // args.limit)]
    started = time.perf_counter()
    radiographs = {path: load_image(path) for path in train}
    folds = {path: zlib.crc32(patient(path).encode()) % FOLDS for path in train}
    flags: list[bool] = []
    for fold in range(FOLDS):
        fitted = [p for p in train if folds[p] != fold]
        reference = OodReference.from_dict(fit_ood_reference(fitted))
        flags += [
            check_radiograph(radiographs[p], reference).out_of_distribution
            for p in train
            if folds[p] == fold
        ]
    reference = OodReference.from_dict(fit_ood_reference(train))
    print(f"Training images, {FOLDS}-fold by patient: false alarms {rate(flags)}")
    fullres = sorted((args.data / "fullres").rglob("*.jp*g"))
    full_flags = [check_radiograph(load_image(p), reference).out_of_distribution for p in fullres]
    print(f"Full-resolution chest images: false alarms {rate(full_flags)}")

    print("\nDICOM files (reference fitted on all training images):")
    print(f"{'file':42s} {'kind':9s} {'flagged':8s} {'score':>6s}  reasons")
    hits: list[bool] = []
    content_hits: list[bool] = []
    chest_flags: list[bool] = []
    for path in sorted((args.data / "dicom").glob("*.dcm")):
        kind = (
            "non-chest"
            if path.name.startswith(NON_CHEST)
            else "chest"
            if path.name.startswith(CHEST)
            else "other"
        )
        try:
            result = check_radiograph(load_image(path), reference)
        except ImageReadError:
            print(f"{path.name[:42]:42s} {kind:9s} unreadable (reader error)")
            continue
        score = f"{result.score:.2f}" if result.score is not None else "-"
        print(
            f"{path.name[:42]:42s} {kind:9s} {result.out_of_distribution!s:8s} {score:>6s}  "
            + "; ".join(result.reasons)
        )
        if kind == "non-chest":
            hits.append(result.out_of_distribution)
            content_hits.append(result.score is None or result.score > 1.0)
        elif kind == "chest":
            chest_flags.append(result.out_of_distribution)
    print(
        f"\nNon-chest DICOM hit rate: {rate(hits)} (content rule alone or blank: "
        f"{rate(content_hits)})"
    )
    print(f"Chest DICOM false alarms: {rate(chest_flags)}")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
