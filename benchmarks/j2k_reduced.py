"""JPEG 2000 decoded at reduced resolution: how far the model's probability moves, and the time.

Why: a 2k JPEG 2000 film spends most of its open-to-heatmap time decoding, and the model reads
it at 224 px. A JPEG 2000 codestream holds its lower resolution levels, so the model's copy could
be decoded at half or quarter size while the display gets the full image later. Hilum adopts
that only if the probability moves by less than 1e-3 on real files. pylibjpeg-openjpeg (the
engine's decoder) has no option for it; Pillow's OpenJPEG plugin has (``Image.reduce = levels``
before loading). For each JPEG 2000 DICOM of ``--dicom``: the calibrated probability from
Pillow's full-resolution decode (checked equal to pydicom's) and from 1 and 2 levels fewer,
through the file's own modality rescale and display window, and each decode's time (best of 2).

Usage::

    .venv/bin/python benchmarks/j2k_reduced.py [--model DIR] [--dicom DIR]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.encaps import generate_frames

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.imaging.dicom_display import modality_values  # noqa: E402
from engine.imaging.images import load_image  # noqa: E402
from engine.imaging.radiograph import apply_window  # noqa: E402
from engine.inference.predictor import Predictor  # noqa: E402
from engine.runtime import TENSORFLOW  # noqa: E402


def decode(frame: bytes, levels: int, bits_stored: int) -> np.ndarray:
    """Stored values of a JPEG 2000 codestream with ``levels`` resolution levels dropped
    (Pillow scales samples of fewer than 16 bits up to 16; undone here)."""
    with Image.open(io.BytesIO(frame)) as image:
        if levels:
            image.reduce = levels  # type: ignore[method-assign]  # Pillow's JPEG 2000 setter
        image.load()
        values = np.asarray(image).astype(np.int32)
        shift = 16 - bits_stored if image.mode.startswith("I;16") else 0
    return values >> max(0, shift)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=REPO / "resources" / "models" / "default")
    parser.add_argument("--dicom", type=Path, default=REPO.parent / "shared" / "data" / "dicom")
    args = parser.parse_args()
    predictor = Predictor.load(args.model, runtime=TENSORFLOW)
    print(
        f"{'file':10s} {'levels':>6s} {'size':>12s} {'decode ms':>10s} {'p':>8s} "
        f"{'p - p_full':>11s}"
    )
    for path in sorted(args.dicom.glob("*J2K*.dcm")):
        radiograph = load_image(path)
        dataset = pydicom.dcmread(path)
        frame = next(generate_frames(dataset.PixelData, number_of_frames=1))
        full = None
        for levels in (0, 1, 2):
            try:
                times = []
                for _ in range(2):
                    started = time.perf_counter()
                    stored = decode(frame, levels, int(dataset.BitsStored))
                    times.append(time.perf_counter() - started)
            except OSError as error:
                print(f"{path.stem:10s} {levels:6d} decode failed: {error}")
                continue
            values, _ = modality_values(path, stored, dataset)
            pixels = apply_window(values, radiograph.windows[0], radiograph.inverted)
            if levels == 0 and not np.array_equal(pixels, radiograph.pixels):
                raise SystemExit(f"{path.name}: Pillow's decode is not the engine's image")
            p = float(predictor.probabilities([pixels])[0])
            full = p if full is None else full
            shape = "x".join(map(str, stored.shape))
            print(
                f"{path.stem:10s} {levels:6d} {shape:>12s} {1000 * min(times):10.0f} {p:8.4f} "
                f"{p - full:+11.5f}"
            )


if __name__ == "__main__":
    main()
