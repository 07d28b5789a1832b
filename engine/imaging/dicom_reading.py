"""DICOM files to :class:`Radiograph`, in the standard's display order.

The grayscale pipeline of DICOM PS3.3 C.11 (and PS3.4 N.2):

1. stored values, decoded by a pydicom decoder plugin (one frame of a multi-frame image: the
   first unless another is asked for);
2. Modality LUT (C.11.1): the Modality LUT Sequence, or Rescale Slope/Intercept;
3. VOI LUT (C.11.2): the VOI LUT Sequence, or the first Window Center/Width (all windows are
   listed so the viewer can offer them); an automatic window when the file has neither;
4. MONOCHROME1 inverted *after* the VOI (C.7.6.3.1.2), so that bone is bright.

Getting this order wrong is the classic "double inversion" / "white image" bug of DICOM viewers.
Steps 2 and 3 are in :mod:`engine.imaging.dicom_display`; step 1 in
:mod:`engine.imaging.pixel_frames`, in a decoder process (:mod:`engine.imaging.decoder_pool`) for
compressed data. This module is the one place where files from outside reach pydicom
(:func:`read_dicom`, :func:`read_header`).
"""

from __future__ import annotations

import dataclasses
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels.processing import apply_color_lut
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    UncompressedTransferSyntaxes,
)

from engine.errors import ImageReadError
from engine.imaging.decoder_pool import shared_pool
from engine.imaging.dicom_display import file_windows, modality_values, voi_lut_display
from engine.imaging.dicom_values import MalformedValue, element_value, numbers, text
from engine.imaging.limits import MAX_PIXELS, REMEDY_OTHER_FILE
from engine.imaging.patient_age import patient_age_years
from engine.imaging.pixel_frames import (
    REMEDY_DAMAGED,
    PixelDescription,
    decode_frame,
    decoding_error,
    describe_pixels,
)
from engine.imaging.radiograph import Radiograph, apply_window, automatic_window

#: Largest data set inflated from a Deflated Explicit VR Little Endian file: room for the largest
#: image Hilum opens (MAX_PIXELS 16-bit samples) twice over, far below a decompression bomb.
MAX_INFLATED_BYTES = 4 * MAX_PIXELS
_DEFLATED = b"1.2.840.10008.1.2.1.99"
_META_GROUP_LENGTH = b"DICM\x02\x00\x00\x00UL\x04\x00"  # then its value, then the meta group
_STEP = 2**20


def read_dicom(
    file: Path, *, has_file_meta: bool, warnings_: list[str], frame: int = 0
) -> Radiograph:
    """Read frame ``frame`` of a DICOM file (with or without its Part 10 header) into a
    :class:`Radiograph`.

    Every header value is converted through :mod:`engine.imaging.dicom_values`: a value the image
    cannot be shown without (size, bits, rescale, Modality LUT) is a clear error when malformed;
    one with a safe default falls back with a warning (a malformed window or VOI LUT gives the
    automatic window; see also :func:`engine.imaging.pixel_frames.describe_pixels`). Compressed
    pixel data is decoded in a worker process (:mod:`engine.imaging.decoder_pool`). Anything
    pydicom raises on a value nobody foresaw still becomes an ImageReadError: one bad file never
    stops a folder.

    Raises:
        ImageReadError: see :func:`engine.load_image`.
    """
    ds = _read_dataset(file, has_file_meta, warnings_)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # pydicom warns on values it had to repair
            radiograph = _radiograph(file, ds, warnings_, frame)
    except ImageReadError:
        raise
    except Exception as error:  # the safety net for hostile input; the message keeps the cause
        raise ImageReadError(
            file,
            f"Hilum could not interpret this DICOM file ({type(error).__name__}: {error}).",
            REMEDY_DAMAGED,
        ) from None
    repaired = dict.fromkeys(f"DICOM reader: {w.message}" for w in caught)
    if not repaired:
        return radiograph
    return dataclasses.replace(radiograph, warnings=(*radiograph.warnings, *repaired))


def _radiograph(file: Path, ds: Dataset, warnings_: list[str], frame: int) -> Radiograph:
    description = describe_pixels(file, ds, warnings_)
    if not 0 <= frame < description.number_of_frames:
        raise ImageReadError(
            file,
            f"Frame {frame + 1} was asked for, but the image has "
            f"{description.number_of_frames} frame(s).",
            f"Choose a frame from 1 to {description.number_of_frames}.",
        )
    syntax = text(ds.file_meta, "TransferSyntaxUID")
    stored = _decode_frame(file, ds, syntax, description, warnings_, frame)
    photometric = description.photometric
    stored = _to_grayscale(file, stored, photometric, ds, warnings_)
    if stored.shape != (description.rows, description.columns):
        raise ImageReadError(
            file,
            f"The decoded image is {stored.shape}, but the header says "
            f"{description.rows} x {description.columns}.",
            REMEDY_DAMAGED,
        )
    values, rescaled = modality_values(file, stored, ds)
    if not (np.isfinite(values.min()) and np.isfinite(values.max())):  # a NaN makes both NaN
        raise ImageReadError(
            file,
            "The image's values are not all numbers (NaN or infinite pixels, or a rescale that "
            "overflows).",
            REMEDY_DAMAGED,
        )
    windows = file_windows(ds, warnings_)
    invert = photometric == "MONOCHROME1"
    voi_lut = voi_lut_display(values, ds, invert, warnings_)
    eight_bit = description.bits_stored <= 8 and stored.dtype.kind == "u" and not rescaled
    windows = (*windows, automatic_window(values, eight_bit=eight_bit))
    pixels, voi_lut_explanation = voi_lut or (apply_window(values, windows[0], invert), "")
    spacing, spacing_source = _pixel_spacing(ds)
    return Radiograph(
        pixels=pixels,
        values=values,
        source=file,
        format="DICOM",
        stored_range=(float(stored.min()), float(stored.max())),
        bits_stored=description.bits_stored,
        photometric=photometric,
        windows=windows,
        voi_lut_explanation=voi_lut_explanation,
        inverted=invert,
        transfer_syntax=UID(syntax).name,
        pixel_spacing=spacing,
        pixel_spacing_source=spacing_source,
        modality=text(ds, "Modality"),
        body_part=text(ds, "BodyPartExamined"),
        view_position=text(ds, "ViewPosition"),
        patient_id=text(ds, "PatientID"),
        patient_name=text(ds, "PatientName"),
        study_uid=text(ds, "StudyInstanceUID"),
        study_date=text(ds, "StudyDate"),
        study_description=text(ds, "StudyDescription"),
        series_uid=text(ds, "SeriesInstanceUID"),
        series_description=text(ds, "SeriesDescription"),
        sop_instance_uid=text(ds, "SOPInstanceUID"),
        patient_age_years=patient_age_years(ds),
        frame_count=description.number_of_frames,
        frame_index=frame,
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
    _refuse_deflate_bomb(file)
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


def _refuse_deflate_bomb(file: Path) -> None:
    """Measure a deflated data set before pydicom inflates it whole, in memory (PS3.5 A.5).

    A few kilobytes of deflate can claim gigabytes; inflating in bounded steps and counting keeps
    such a file from exhausting the application's memory.

    Raises:
        ImageReadError: the data set would inflate to more than :data:`MAX_INFLATED_BYTES`, or the
            file does not say where it starts (no File Meta Information Group Length).
    """
    try:
        with open(file, "rb") as stream:
            head = stream.read(1024)
            if _DEFLATED not in head:
                return
            if head[128:140] != _META_GROUP_LENGTH:
                raise ImageReadError(
                    file,
                    "The file is deflated, but its header has no File Meta Information Group "
                    "Length to say where the deflated data starts.",
                    REMEDY_DAMAGED,
                )
            stream.seek(144 + int.from_bytes(head[140:144], "little"))
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            size, data = 0, stream.read(_STEP)
            while data and size <= MAX_INFLATED_BYTES:
                size += len(inflater.decompress(data, _STEP))
                data = inflater.unconsumed_tail or stream.read(_STEP)
    except (OSError, zlib.error):
        return  # unreadable or not deflate after all: the parse reports it
    if size > MAX_INFLATED_BYTES:
        raise ImageReadError(
            file,
            f"The deflated data set inflates to more than {MAX_INFLATED_BYTES / 1e6:.0f} MB: it is "
            "probably a decompression bomb.",
            REMEDY_OTHER_FILE,
        )


def _decode_frame(
    file: Path,
    ds: Dataset,
    syntax: str,
    description: PixelDescription,
    warnings_: list[str],
    frame: int,
) -> np.ndarray[Any, Any]:
    """Stored values of frame ``frame``: in-process when uncompressed, else in a decoder process."""
    try:
        payload = element_value(ds, description.pixel_keyword)
    except MalformedValue as error:
        raise ImageReadError(
            file, f"The pixel data element is {error.shown}.", REMEDY_DAMAGED
        ) from None
    if not isinstance(payload, bytes | bytearray):
        raise ImageReadError(
            file,
            f"The pixel data is not stored as bytes (its VR is {description.pixel_vr}).",
            REMEDY_DAMAGED,
        )
    if syntax in UncompressedTransferSyntaxes:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                stored = decode_frame(syntax, description, bytes(payload), frame)
        except Exception as error:
            raise decoding_error(file, syntax, type(error).__name__, str(error)) from None
        messages = [str(w.message) for w in caught]
    else:
        _require_decoder(file, syntax)
        stored, messages = shared_pool().decode(file, syntax, description, bytes(payload), frame)
    warnings_.extend(f"DICOM decoder: {message}" for message in messages)
    return stored


def _require_decoder(file: Path, syntax: str) -> None:
    """Refuse, without starting a decoder process, a transfer syntax no installed plugin reads."""
    from pydicom.pixels.decoders.base import get_decoder

    try:
        available = get_decoder(UID(syntax)).is_available
    except NotImplementedError:
        available = False
    if not available:
        message = f"no installed plugin decodes '{UID(syntax).name}'"
        raise decoding_error(file, syntax, "NotImplementedError", message)


def _to_grayscale(
    file: Path, stored: np.ndarray[Any, Any], photometric: str, ds: Dataset, warnings_: list[str]
) -> np.ndarray[Any, Any]:
    if photometric == "PALETTE COLOR" and stored.ndim == 2:
        try:
            stored = np.asarray(apply_color_lut(stored, ds))
        except Exception as error:  # pydicom raises many types on a malformed palette
            raise ImageReadError(
                file, f"The image's colour palette is malformed ({error}).", REMEDY_DAMAGED
            ) from None
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


def _pixel_spacing(ds: Dataset) -> tuple[tuple[float, float] | None, str]:
    """Pixel Spacing, else Imager Pixel Spacing; unknown (``None``) when absent or malformed."""
    for keyword, note in (
        ("PixelSpacing", "Pixel Spacing (patient)"),
        (
            "ImagerPixelSpacing",
            "Imager Pixel Spacing (at the detector, not corrected for magnification)",
        ),
    ):
        try:
            value = numbers(ds, keyword)
        except MalformedValue:
            continue
        if len(value) == 2 and value[0] > 0 and value[1] > 0:
            return (value[0], value[1]), note
    return None, ""
