"""Steps 2 and 3 of the DICOM grayscale pipeline: Modality LUT and VOI (PS3.3 C.11.1, C.11.2).

Every header value is read through :mod:`engine.imaging.dicom_values`. What the image's values
depend on (the Modality LUT Sequence, Rescale Slope and Intercept) is a clear error when
malformed: there is no safe guess. What only chooses a display has a fallback, with a warning: a
malformed window is left out, a malformed VOI LUT Sequence gives way to the windows, and with no
valid window left the automatic window is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_modality_lut, apply_voi

from engine.errors import ImageReadError
from engine.imaging.dicom_values import (
    MalformedValue,
    as_integer,
    as_number,
    element_value,
    numbers,
    text,
    values_of,
)
from engine.imaging.pixel_frames import REMEDY_DAMAGED
from engine.imaging.radiograph import VOI_FUNCTIONS, FloatImage, Window


def modality_values(
    file: Path, stored: np.ndarray[Any, Any], ds: Dataset
) -> tuple[FloatImage, bool]:
    """Apply the Modality LUT (PS3.3 C.11.1): LUT sequence or rescale slope/intercept.

    Returns:
        The values, and whether a Modality LUT or rescale changed them.

    Raises:
        ImageReadError: the Modality LUT Sequence or the rescale is malformed (the image's values
            cannot be known, so there is no safe fallback).
    """
    if "ModalityLUTSequence" in ds:
        try:
            return np.asarray(apply_modality_lut(stored, ds), dtype=np.float32), True
        except Exception as error:  # pydicom raises many types on a malformed LUT
            raise ImageReadError(
                file, f"The Modality LUT Sequence is malformed ({error}).", REMEDY_DAMAGED
            ) from None
    try:
        slope = _single_number(ds, "RescaleSlope", 1.0)
        intercept = _single_number(ds, "RescaleIntercept", 0.0)
    except MalformedValue as error:
        raise ImageReadError(
            file,
            f"The DICOM header's {error.keyword} is {error.shown}, not {error.expected}: the "
            "image's values cannot be computed.",
            REMEDY_DAMAGED,
        ) from None
    values = stored.astype(np.float32)
    if slope != 1.0:
        values *= np.float32(slope)
    if intercept != 0.0:
        values += np.float32(intercept)
    return values, slope != 1.0 or intercept != 0.0


def _single_number(ds: Dataset, keyword: str, default: float) -> float:
    found = numbers(ds, keyword)
    if len(found) > 1:
        raise MalformedValue(keyword, found, "one number")
    return found[0] if found else default


def file_windows(ds: Dataset, warnings_: list[str]) -> tuple[Window, ...]:
    """Every valid Window Center/Width pair in the file, in order (PS3.3 C.11.2.1.2).

    A malformed pair is left out with a warning; with none left, the automatic window is used.
    """
    try:
        centers = values_of(ds, "WindowCenter")
        widths = values_of(ds, "WindowWidth")
    except MalformedValue as error:
        warnings_.append(f"The file's window is unreadable ({error}); an automatic one was used.")
        return ()
    explanations = _texts(ds, "WindowCenterWidthExplanation")
    function = text(ds, "VOILUTFunction").upper() or "LINEAR"
    if function not in VOI_FUNCTIONS:
        warnings_.append(f"Unknown VOI LUT Function '{function}'; LINEAR used.")
        function = "LINEAR"
    windows = []
    for i, (center, width) in enumerate(zip(centers, widths, strict=False)):
        try:
            c, w = as_number("WindowCenter", center), as_number("WindowWidth", width)
        except MalformedValue as error:
            warnings_.append(f"Window {i + 1} is malformed ({error}); it was ignored.")
            continue
        if w < (1 if function == "LINEAR" else 1e-6):
            warnings_.append(f"Window {i + 1} has an invalid width {w}; it was ignored.")
            continue
        explanation = explanations[i] if i < len(explanations) else ""
        windows.append(Window(c, w, explanation or f"window {i + 1} (file)", function))
    return tuple(windows)


def _texts(ds: Dataset, keyword: str) -> list[str]:
    try:
        return [str(value).strip() for value in values_of(ds, keyword)]
    except MalformedValue:
        return []


def voi_lut_display(
    values: FloatImage, ds: Dataset, invert: bool, warnings_: list[str]
) -> tuple[FloatImage, str] | None:
    """The first VOI LUT of the VOI LUT Sequence (PS3.3 C.11.2.1.1) applied, scaled to [0, 1].

    Returns ``None`` when the file has none, or (with a warning) when it is malformed: the window
    is used instead.
    """
    try:
        sequence = element_value(ds, "VOILUTSequence")
        if not sequence:
            return None
        item = sequence[0]
        descriptor = [as_integer("LUTDescriptor", v) for v in values_of(item, "LUTDescriptor")]
        if len(descriptor) != 3 or not 8 <= descriptor[2] <= 16:
            raise MalformedValue("LUTDescriptor", descriptor, "3 numbers, the last from 8 to 16")
        out = np.asarray(apply_voi(values.astype(np.int64), ds, index=0), dtype=np.float32)
        top = float(2 ** descriptor[2] - 1)
        lut_max = float(np.max(np.asarray(item.LUTData))) if "LUTData" in item else top
    except Exception as error:  # pydicom raises many types on a malformed LUT
        warnings_.append(f"The VOI LUT Sequence is malformed ({error}); a window was used instead.")
        return None
    top = max(top if lut_max > top / 16 else lut_max, lut_max, 1.0)
    pixels = np.clip(out / np.float32(top), 0.0, 1.0).astype(np.float32)
    if invert:
        pixels = (np.float32(1.0) - pixels).astype(np.float32)
    return pixels, text(item, "LUTExplanation") or "VOI LUT 1 (file)"
