"""One frame of a DICOM file's pixel data, from its bytes and a validated description.

Decoding is split from the header on purpose. :func:`describe_pixels` reads the Image Pixel
module (PS3.3 C.7.6.3) of a parsed data set through the guarded accessors of
:mod:`engine.imaging.dicom_values`, refusing what cannot be decoded and falling back, with a
warning, where a safe default exists. :func:`decode_frame` then needs nothing but that
:class:`PixelDescription`, the transfer syntax and the pixel data bytes: all picklable, so the
same function runs in-process for uncompressed data and in a decoder process
(:mod:`engine.imaging.decoder_pool`) for compressed data, where a native decoder's crash cannot
reach the application.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pydicom.uid import UID

from engine.errors import ImageReadError
from engine.imaging.dicom_values import MalformedValue, element_value, integer, text
from engine.imaging.limits import check_pixel_limit

REMEDY_DAMAGED = (
    "Copy or export the file again from the X-ray unit or PACS; the original may be intact."
)
REMEDY_CODEC = (
    "Ask for the image to be exported uncompressed (Explicit VR Little Endian), lossless JPEG, "
    "JPEG-LS, JPEG 2000 or RLE, which Hilum can decode."
)

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_SIZE = range(1, 65536)  # Rows and Columns are US (PS3.5 6.2)
_BITS_ALLOCATED = (1, 8, 16, 32, 64)


@dataclass(frozen=True)
class PixelDescription:
    """The Image Pixel module values needed to decode a frame, each validated.

    Attributes mirror the DICOM attributes of the same name (PS3.3 C.7.6.3.1);
    ``pixel_keyword`` says which pixel data element holds the data, ``pixel_vr`` its VR, and
    ``extended_offsets`` is the Extended Offset Table and its lengths (bytes) when the file has one.
    """

    rows: int
    columns: int
    samples_per_pixel: int
    photometric: str
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    planar_configuration: int
    number_of_frames: int
    pixel_keyword: str
    pixel_vr: str
    extended_offsets: tuple[bytes, bytes] | None = field(default=None, repr=False)

    def frame_bytes(self) -> int:
        """Size of one decoded frame (bit-packed data is unpacked to one byte per sample)."""
        per_sample = max(1, self.bits_allocated // 8)
        return self.rows * self.columns * self.samples_per_pixel * per_sample

    def decoder_options(self) -> dict[str, Any]:
        """The description as pydicom decoder options (``Decoder.as_array`` keyword arguments)."""
        options: dict[str, Any] = {
            "rows": self.rows,
            "columns": self.columns,
            "samples_per_pixel": self.samples_per_pixel,
            "photometric_interpretation": self.photometric,
            "bits_allocated": self.bits_allocated,
            "bits_stored": self.bits_stored,
            "pixel_representation": self.pixel_representation,
            "planar_configuration": self.planar_configuration,
            "number_of_frames": self.number_of_frames,
            "pixel_keyword": self.pixel_keyword,
            "pixel_vr": self.pixel_vr,
        }
        if self.extended_offsets is not None:
            options["extended_offsets"] = self.extended_offsets
        return options


def describe_pixels(file: Path, ds: Dataset, warnings_: list[str]) -> PixelDescription:
    """Validate ``ds``'s Image Pixel module.

    Fallbacks (each adds a warning): an invalid Number of Frames reads the first frame as a
    single-frame image; an invalid Bits Stored uses Bits Allocated; an invalid Pixel
    Representation or Planar Configuration uses 0 (unsigned, colour-by-pixel).

    Raises:
        ImageReadError: no pixel data (a file cut short, or an object that is no image), no or
            invalid image size, an image over the pixel limit,
            or Samples per Pixel / Bits Allocated values no decoder can use.
    """
    keyword = next((k for k in PIXEL_KEYWORDS if k in ds), None)
    if keyword is None and _describes_an_image(ds):
        raise ImageReadError(
            file,
            f"The file ends before its pixel data: the header of {_object_kind(ds)} is there "
            "but the image is missing, so the file was probably cut short while it was copied "
            "or received.",
            REMEDY_DAMAGED,
        )
    if keyword is None:
        raise ImageReadError(
            file,
            f"This DICOM file holds no image (it is {_object_kind(ds)}, with no pixel data).",
            "Open the image files of the study instead.",
        )
    try:
        rows, columns = integer(ds, "Rows", 0, _SIZE), integer(ds, "Columns", 0, _SIZE)
        samples = integer(ds, "SamplesPerPixel", 1, (1, 3))
        bits_allocated = integer(ds, "BitsAllocated", 0, _BITS_ALLOCATED)
    except MalformedValue as error:
        raise ImageReadError(
            file,
            f"The DICOM header's {error.keyword} is {error.shown}; Hilum needs {error.expected} "
            "to decode the image.",
            REMEDY_DAMAGED,
        ) from None
    if not rows or not columns or not bits_allocated:
        raise ImageReadError(
            file,
            "The DICOM header does not say how the image is stored (Rows, Columns or Bits "
            "Allocated is missing).",
            REMEDY_DAMAGED,
        )
    check_pixel_limit(file, columns, rows)
    return PixelDescription(
        rows=rows,
        columns=columns,
        samples_per_pixel=samples,
        photometric=text(ds, "PhotometricInterpretation").upper() or "MONOCHROME2",
        bits_allocated=bits_allocated,
        bits_stored=_or_fallback(
            ds, "BitsStored", bits_allocated, range(1, bits_allocated + 1), warnings_
        ),
        pixel_representation=_or_fallback(ds, "PixelRepresentation", 0, (0, 1), warnings_),
        planar_configuration=_or_fallback(
            ds, "PlanarConfiguration", 0, (0, 1), warnings_ if samples > 1 else []
        ),
        number_of_frames=_or_fallback(ds, "NumberOfFrames", 1, range(1, 2**31), warnings_),
        pixel_keyword=keyword,
        pixel_vr=str(ds.get_item(Tag(keyword), keep_deferred=True).VR),  # unconverted
        extended_offsets=_extended_offsets(ds),
    )


def decode_frame(
    transfer_syntax: str, description: PixelDescription, payload: bytes, index: int = 0
) -> np.ndarray[Any, Any]:
    """Decode frame ``index`` (0 = the first) of ``payload`` (the pixel data element's value).

    Raises:
        Exception: whatever pydicom or its decoder plugin raises (turned into a user message by
            :func:`decoding_error`); native plugins may also crash the process, hence the
            decoder pool for compressed data.
    """
    from pydicom.pixels.decoders.base import get_decoder

    decoder = get_decoder(UID(transfer_syntax))
    options = description.decoder_options()
    array, _ = decoder.as_array(payload, index=index, validate=True, **options)
    return np.asarray(array)


def codec_name(transfer_syntax: str) -> str:
    """The codec family a user knows (``JPEG 2000``, ``JPEG-LS``, ``RLE``, ``JPEG``, ...)."""
    syntax = UID(transfer_syntax)
    if not syntax.is_valid:
        return "image"
    name = syntax.name
    for family in ("JPEG-LS", "JPEG 2000", "JPEG XL", "RLE", "JPEG", "Deflate"):
        if family in name:
            return family
    return name or "image"


def decoding_error(file: Path, transfer_syntax: str, kind: str, message: str) -> ImageReadError:
    """The user's message for a decoder exception of type name ``kind``.

    Separate from the exception object so that a decoder process can report by name what it
    caught (a Rust ``PanicException`` cannot be pickled back).
    """
    syntax = UID(transfer_syntax)
    codec = codec_name(transfer_syntax)
    lowered = message.lower()
    if kind == "PanicException":
        problem = f"The {codec} decoder failed on this file's pixel data ({message})."
    elif kind == "MemoryError" or "cannot allocate memory" in lowered:
        problem = (
            f"Decoding the pixel data ({codec}) needed more memory than Hilum allows a decoder: "
            "the header or the compressed data is probably damaged."
        )
    elif kind in ("RuntimeError", "NotImplementedError") and (
        "plugin" in lowered or "not supported" in lowered
    ):
        label = f"'{syntax.name}' ({syntax})" if syntax.is_valid else "an unknown transfer syntax"
        details = "; ".join(line.strip() for line in message.splitlines()[1:]) or message
        return ImageReadError(
            file,
            f"The image is compressed as {label}, which none of Hilum's "
            f"installed decoders can read ({details}); the data may also be damaged.",
            REMEDY_CODEC,
        )
    elif "less than" in lowered or "end of" in lowered or "truncat" in lowered:
        problem = f"The pixel data is incomplete: the file is truncated ({message})."
    else:
        problem = f"The pixel data cannot be decoded ({message})."
    return ImageReadError(file, problem, REMEDY_DAMAGED)


def _describes_an_image(ds: Dataset) -> bool:
    """Whether ``ds`` is meant to hold an image though it has no pixel data: its SOP class is an
    image storage class; or, for a class pydicom does not name (or an unreadable one), it has the
    Image Pixel module's size attributes; or it does not even say what it is (cut short)."""
    sop = _sop_class(ds)
    if sop.is_valid and sop.name != sop:
        return "Image Storage" in sop.name
    image_module = any(keyword in ds for keyword in ("Rows", "Columns", "BitsAllocated"))
    return image_module or not sop


def _sop_class(ds: Dataset) -> UID:
    """The SOP class of ``ds``, from the file meta information when the data set lacks it."""
    own = text(ds, "SOPClassUID")
    meta = getattr(ds, "file_meta", None)
    return UID(own or (text(meta, "MediaStorageSOPClassUID") if meta is not None else ""))


def _object_kind(ds: Dataset) -> str:
    """What the file is, e.g. "a Basic Text SR Storage" (never the raw bytes of a bad UID)."""
    sop = _sop_class(ds)
    if sop.is_valid and sop.name != sop:
        return f"a {sop.name}"
    return f"an object of SOP class {sop}" if sop.is_valid else "an object of unknown type"


def _or_fallback(
    ds: Dataset, keyword: str, default: int, allowed: range | tuple[int, ...], warnings_: list[str]
) -> int:
    try:
        return integer(ds, keyword, default, allowed)
    except MalformedValue as error:
        warnings_.append(
            f"The DICOM header's {error.keyword} is {error.shown} (expected {error.expected}); "
            f"{default} was used."
        )
        return default


def _extended_offsets(ds: Dataset) -> tuple[bytes, bytes] | None:
    try:
        offsets = element_value(ds, "ExtendedOffsetTable")
        lengths = element_value(ds, "ExtendedOffsetTableLengths")
    except MalformedValue:
        return None
    if isinstance(offsets, bytes) and isinstance(lengths, bytes):
        return offsets, lengths
    return None
