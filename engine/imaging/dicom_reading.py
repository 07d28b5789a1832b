"""DICOM files to :class:`Radiograph`, in the standard's display order.

The grayscale pipeline of DICOM PS3.3 C.11 (and PS3.4 N.2):

1. stored values, decoded by a pydicom decoder plugin (first frame of a multi-frame image);
2. Modality LUT (C.11.1): the Modality LUT Sequence, or Rescale Slope/Intercept;
3. VOI LUT (C.11.2): the VOI LUT Sequence, or the first Window Center/Width (all windows are
   listed so the viewer can offer them); an automatic window when the file has neither;
4. MONOCHROME1 inverted *after* the VOI (C.7.6.3.1.2), so that bone is bright.

Getting this order wrong is the classic "double inversion" / "white image" bug of DICOM viewers.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pydicom.config
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi
from pydicom.pixels.utils import pixel_array
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from engine.errors import ImageReadError
from engine.imaging.limits import REMEDY_OTHER_FILE, check_pixel_limit
from engine.imaging.radiograph import (
    VOI_FUNCTIONS,
    FloatImage,
    Radiograph,
    Window,
    apply_window,
    automatic_window,
)

# Hilum displays what a file holds and never rewrites it, so invalid values (a malformed UID, an
# over-long string) are not worth a warning on every access: they are read as they are.
pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE

REMEDY_DAMAGED = (
    "Copy or export the file again from the X-ray unit or PACS; the original may be intact."
)
REMEDY_CODEC = (
    "Ask for the image to be exported uncompressed (Explicit VR Little Endian), lossless JPEG, "
    "JPEG-LS, JPEG 2000 or RLE, which Hilum can decode."
)


def read_dicom(file: Path, *, has_file_meta: bool, warnings_: list[str]) -> Radiograph:
    """Read a DICOM file (with or without its Part 10 header) into a :class:`Radiograph`.

    Raises:
        ImageReadError: see :func:`engine.load_image`.
    """
    ds = _read_dataset(file, has_file_meta, warnings_)
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        sop = UID(str(ds.get("SOPClassUID", "")))
        what = sop.name if sop else "object"
        raise ImageReadError(
            file,
            f"This DICOM file holds no image (it is a {what}, with no pixel data).",
            "Open the image files of the study instead.",
        )
    rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    if rows <= 0 or columns <= 0:
        raise ImageReadError(
            file, "The DICOM header gives no image size (Rows/Columns).", REMEDY_DAMAGED
        )
    check_pixel_limit(file, columns, rows)
    frame_count = int(ds.get("NumberOfFrames", 1) or 1)
    stored = _decode_first_frame(file, ds, warnings_)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    stored = _to_grayscale(stored, photometric, ds, warnings_)
    if stored.shape != (rows, columns):
        raise ImageReadError(
            file,
            f"The decoded image is {stored.shape}, but the header says {rows} x {columns}.",
            REMEDY_DAMAGED,
        )
    values = _modality_values(stored, ds)
    windows = _file_windows(ds, warnings_)
    invert = photometric == "MONOCHROME1"
    voi_lut_explanation = ""
    if "VOILUTSequence" in ds and len(ds.VOILUTSequence) > 0:
        pixels, voi_lut_explanation = _apply_voi_lut_sequence(values, ds, invert)
    auto = _automatic_window(values, stored, ds)
    windows = (*windows, auto)
    if not voi_lut_explanation:
        pixels = apply_window(values, windows[0], invert=invert)
    spacing, spacing_source = _pixel_spacing(ds)
    return Radiograph(
        pixels=pixels,
        values=values,
        source=file,
        format="DICOM",
        stored_range=(float(stored.min()), float(stored.max())),
        bits_stored=int(ds.get("BitsStored", 0) or stored.dtype.itemsize * 8),
        photometric=photometric,
        windows=windows,
        voi_lut_explanation=voi_lut_explanation,
        inverted=invert,
        transfer_syntax=UID(str(ds.file_meta.TransferSyntaxUID)).name,
        pixel_spacing=spacing,
        pixel_spacing_source=spacing_source,
        modality=_text(ds, "Modality"),
        body_part=_text(ds, "BodyPartExamined"),
        view_position=_text(ds, "ViewPosition"),
        patient_id=_text(ds, "PatientID"),
        patient_name=_text(ds, "PatientName"),
        study_uid=_text(ds, "StudyInstanceUID"),
        study_date=_text(ds, "StudyDate"),
        study_description=_text(ds, "StudyDescription"),
        series_uid=_text(ds, "SeriesInstanceUID"),
        series_description=_text(ds, "SeriesDescription"),
        sop_instance_uid=_text(ds, "SOPInstanceUID"),
        frame_count=frame_count,
        frame_index=0,
        warnings=tuple(warnings_),
    )


def read_header(file: Path) -> Dataset:
    """Read a DICOM file's attributes without its pixel data (for study browsing).

    Raises:
        ImageReadError: the file is not DICOM or its header is damaged.
    """
    return _read_dataset(
        file, has_file_meta=True, warnings_=[], stop_before_pixels=True, force_if_needed=True
    )


def _read_dataset(
    file: Path,
    has_file_meta: bool,
    warnings_: list[str],
    *,
    stop_before_pixels: bool = False,
    force_if_needed: bool = False,
) -> Dataset:
    """dcmread with every parser failure turned into an ImageReadError.

    pydicom signals damaged files with many exception types (EOFError, struct.error, ValueError,
    KeyError, ...), so the parse is guarded broadly and the original message kept in the text.
    """
    force = not has_file_meta
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                ds = pydicom.dcmread(file, force=force, stop_before_pixels=stop_before_pixels)
            except InvalidDicomError:
                if not force_if_needed:
                    raise
                force = True
                ds = pydicom.dcmread(file, force=True, stop_before_pixels=stop_before_pixels)
            len(ds)  # parse every element now, so truncation shows up here and not later
    except InvalidDicomError:
        raise ImageReadError(
            file, "The file is not a valid DICOM file.", REMEDY_OTHER_FILE
        ) from None
    except Exception as error:
        raise ImageReadError(
            file, f"The DICOM file is damaged or truncated ({error}).", REMEDY_DAMAGED
        ) from None
    warnings_.extend(f"DICOM reader: {w.message}" for w in caught)
    if force:
        if "SOPClassUID" not in ds and "PixelData" not in ds:
            raise ImageReadError(
                file, "The file is not a DICOM file, JPEG or PNG.", REMEDY_OTHER_FILE
            )
        warnings_.append(
            "The file has no DICOM file meta header (Part 10 preamble); it was read "
            "as a raw data set, which most viewers accept but some archives refuse."
        )
    meta = getattr(ds, "file_meta", None)
    if meta is None or "TransferSyntaxUID" not in meta:
        meta = meta if meta is not None else FileMetaDataset()
        implicit = getattr(ds, "is_implicit_VR", True)
        meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
        ds.file_meta = meta
    return ds


def _decode_first_frame(file: Path, ds: Dataset, warnings_: list[str]) -> np.ndarray[Any, Any]:
    syntax = UID(str(ds.file_meta.TransferSyntaxUID))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            stored = pixel_array(ds, index=0)
    except (RuntimeError, NotImplementedError) as error:
        if "decode" in str(error).lower() or "plugin" in str(error).lower():
            raise ImageReadError(
                file,
                f"The image is compressed as '{syntax.name}' ({syntax}), which none of Hilum's "
                f"installed decoders can read.",
                REMEDY_CODEC,
            ) from None
        raise ImageReadError(
            file, f"The pixel data cannot be decoded ({error}).", REMEDY_DAMAGED
        ) from None
    except Exception as error:
        problem = (
            f"The pixel data is incomplete: the file is truncated ({error})."
            if "less than" in str(error) or "end" in str(error).lower()
            else f"The pixel data cannot be decoded ({error})."
        )
        raise ImageReadError(file, problem, REMEDY_DAMAGED) from None
    warnings_.extend(f"DICOM decoder: {w.message}" for w in caught)
    return np.asarray(stored)


def _to_grayscale(
    stored: np.ndarray[Any, Any], photometric: str, ds: Dataset, warnings_: list[str]
) -> np.ndarray[Any, Any]:
    if photometric == "PALETTE COLOR" and stored.ndim == 2:
        stored = np.asarray(apply_color_lut(stored, ds))
    if stored.ndim == 2:
        return stored
    if stored.ndim == 3:
        warnings_.append(
            f"The image is in colour ({photometric}); it was converted to grayscale. "
            "A radiograph should be MONOCHROME: check that this is the right file."
        )
        rgb = stored.astype(np.float32)
        gray: np.ndarray[Any, Any] = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
        return gray.astype(np.float32)
    return stored


def _modality_values(stored: np.ndarray[Any, Any], ds: Dataset) -> FloatImage:
    """Apply the Modality LUT (PS3.3 C.11.1): LUT sequence or rescale slope/intercept."""
    if "ModalityLUTSequence" in ds:
        return np.asarray(apply_modality_lut(stored, ds), dtype=np.float32)
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    values = stored.astype(np.float32)
    if slope != 1.0:
        values *= np.float32(slope)
    if intercept != 0.0:
        values += np.float32(intercept)
    return values


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, MultiValue | list | tuple):
        return list(value)
    return [value]


def _file_windows(ds: Dataset, warnings_: list[str]) -> tuple[Window, ...]:
    """Every Window Center/Width pair in the file, in order (PS3.3 C.11.2.1.2)."""
    centers = _as_list(ds.get("WindowCenter"))
    widths = _as_list(ds.get("WindowWidth"))
    explanations = _as_list(ds.get("WindowCenterWidthExplanation"))
    function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").strip().upper()
    if function not in VOI_FUNCTIONS:
        warnings_.append(f"Unknown VOI LUT Function '{function}'; LINEAR used.")
        function = "LINEAR"
    windows = []
    for i, (center, width) in enumerate(zip(centers, widths, strict=False)):
        c, w = float(center), float(width)
        if w < (1 if function == "LINEAR" else 1e-6):
            warnings_.append(f"Window {i + 1} has an invalid width {w}; it was ignored.")
            continue
        explanation = str(explanations[i]) if i < len(explanations) else f"window {i + 1} (file)"
        windows.append(Window(c, w, explanation or f"window {i + 1} (file)", function))
    return tuple(windows)


def _apply_voi_lut_sequence(
    values: FloatImage, ds: Dataset, invert: bool
) -> tuple[FloatImage, str]:
    """Apply the first VOI LUT of the VOI LUT Sequence (PS3.3 C.11.2.1.1), scaled to [0, 1]."""
    item = ds.VOILUTSequence[0]
    out = np.asarray(apply_voi(values.astype(np.int64), ds, index=0), dtype=np.float32)
    descriptor: Sequence[int] = item.LUTDescriptor
    top = float(2 ** int(descriptor[2]) - 1)
    lut_max = float(np.max(np.asarray(item.LUTData))) if "LUTData" in item else top
    top = max(top if lut_max > top / 16 else lut_max, lut_max, 1.0)
    pixels = np.clip(out / np.float32(top), 0.0, 1.0).astype(np.float32)
    if invert:
        pixels = (np.float32(1.0) - pixels).astype(np.float32)
    explanation = str(item.get("LUTExplanation", "") or "VOI LUT 1 (file)")
    return pixels, explanation


def _automatic_window(values: FloatImage, stored: np.ndarray[Any, Any], ds: Dataset) -> Window:
    """:func:`automatic_window` for a file with no VOI (8-bit: stored 8 bits, no rescale)."""
    rescaled = (
        "ModalityLUTSequence" in ds
        or float(ds.get("RescaleSlope", 1) or 1) != 1.0
        or float(ds.get("RescaleIntercept", 0) or 0) != 0.0
    )
    eight_bit = int(ds.get("BitsStored", 16) or 16) <= 8 and stored.dtype.kind == "u"
    return automatic_window(values, eight_bit=eight_bit and not rescaled)


def _pixel_spacing(ds: Dataset) -> tuple[tuple[float, float] | None, str]:
    for keyword, note in (
        ("PixelSpacing", "Pixel Spacing (patient)"),
        (
            "ImagerPixelSpacing",
            "Imager Pixel Spacing (at the detector, not corrected for magnification)",
        ),
    ):
        value = _as_list(ds.get(keyword))
        if len(value) == 2:
            try:
                row, col = float(value[0]), float(value[1])
            except (TypeError, ValueError):
                continue
            if row > 0 and col > 0:
                return (row, col), note
    return None, ""


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    return "" if value is None else str(value).strip()
