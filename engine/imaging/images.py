"""``load_image``: read a JPEG, PNG or DICOM file into a :class:`Radiograph`.

The format is decided by the file's content, not its name. Every failure becomes an
:class:`ImageReadError` naming the file, the problem and what to do; nothing else escapes.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.errors import ImageReadError
from engine.imaging.files import kind_from_extension, read_head, sniff_kind
from engine.imaging.limits import REMEDY_OTHER_FILE, check_pixel_limit, too_large
from engine.imaging.radiograph import FloatImage, Radiograph, apply_window, automatic_window

#: Channels of an RGB image are "equal" (a grayscale image saved as RGB) when they differ by at
#: most this many 8-bit levels: JPEG's chroma subsampling leaves a level or two of noise.
_EQUAL_CHANNEL_TOLERANCE = 3

_COLOUR_WARNING = (
    "This is a colour image (its red, green and blue channels differ); it was converted "
    "to grayscale. A radiograph should be grayscale: check that this is the right file."
)


def load_image(path: str | os.PathLike[str], frame: int = 0) -> Radiograph:
    """Read one image file into a display- and model-ready :class:`Radiograph`.

    JPEG and PNG are read with Pillow (8- and 16-bit, grayscale, RGB with equal channels, RGBA,
    palette), honouring EXIF orientation. DICOM is read with pydicom and its decoder plugins
    through the standard display pipeline (see :mod:`engine.imaging.dicom_reading`).

    Args:
        path: the file to read.
        frame: which frame of a multi-frame DICOM image to read (0, the first, by default;
            ``Radiograph.frame_count`` says how many there are).

    Returns:
        The radiograph, with any work-arounds listed in ``warnings``.

    Raises:
        ImageReadError: the file is missing, unreadable, empty, truncated, not an image, a DICOM
            object without pixel data, in a transfer syntax no installed plugin decodes, or larger
            than :data:`MAX_PIXELS`.
    """
    file = Path(path)
    head = _read_head_or_raise(file)
    kind = sniff_kind(head)
    claimed = kind_from_extension(file)
    warnings_: list[str] = []
    if kind is None and claimed == "DICOM":
        kind = "DICOM-RAW"  # maybe a data set without preamble; the DICOM reader decides
    if kind is None:
        what = f"its name says {claimed}, but its content is not" if claimed else "it is not"
        raise ImageReadError(
            file,
            f"This file is not an image Hilum can read: {what} a JPEG, PNG or DICOM image.",
            REMEDY_OTHER_FILE,
        )
    actual = "DICOM" if kind.startswith("DICOM") else kind
    if claimed is not None and claimed != actual:
        warnings_.append(
            f"The file name says {claimed} but the content is {actual}; read as {actual}."
        )
    if kind.startswith("DICOM"):
        from engine.imaging.dicom_reading import read_dicom  # pydicom is only imported when needed

        return read_dicom(file, has_file_meta=kind == "DICOM", warnings_=warnings_, frame=frame)
    if frame:
        raise ImageReadError(
            file,
            f"Frame {frame + 1} was asked for, but a {kind} image has one frame.",
            "Open it without choosing a frame.",
        )
    return _read_with_pillow(file, warnings_)


def _read_head_or_raise(file: Path) -> bytes:
    try:
        if file.is_dir():
            raise ImageReadError(
                file,
                "This is a folder, not a file.",
                "Open the folder as a study instead, or choose a file in it.",
            )
        head = read_head(file)
    except FileNotFoundError:
        raise ImageReadError(
            file,
            "The file does not exist.",
            "Check the path; the file may have been moved or deleted.",
        ) from None
    except PermissionError:
        raise ImageReadError(
            file,
            "Hilum is not allowed to read this file.",
            "Ask for read permission, or copy the file somewhere readable.",
        ) from None
    except OSError as error:
        raise ImageReadError(
            file,
            f"The file cannot be opened ({error.strerror or error}).",
            "Check that the disk or network share is available.",
        ) from None
    if not head:
        raise ImageReadError(
            file,
            "The file is empty (0 bytes).",
            "The copy or export was probably interrupted: copy it again.",
        )
    return head


def _read_with_pillow(file: Path, warnings_: list[str]) -> Radiograph:
    """Decode a JPEG/PNG, refusing bombs before decoding and truncation when decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(file)
        with image:
            width, height = image.size
            check_pixel_limit(file, width, height)
            fmt = str(image.format)
            if fmt == "JPEG" and image.mode == "RGB":
                # Skip libjpeg's YCbCr -> RGB conversion: a gray image saved as RGB is its luma
                # (Y) with neutral chroma, checked in _gray_values. 3x faster on 224 px files.
                image.draft("YCbCr", image.size)
            image.load()
            oriented: Image.Image = ImageOps.exif_transpose(image) or image
            values, bits, mode = _gray_values(file, oriented, warnings_)
    except ImageReadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow refuses before we see the size; its message carries the pixel count.
        found = re.search(r"\((\d+) pixels\)", str(error))
        raise too_large(file, int(found.group(1)) if found else None, "") from None
    except UnidentifiedImageError:
        raise ImageReadError(
            file, "The file's content is not a valid JPEG or PNG image.", REMEDY_OTHER_FILE
        ) from None
    except (OSError, SyntaxError, ValueError) as error:
        problem = (
            "The image data ends early: the file is truncated."
            if "truncated" in str(error).lower()
            else f"The image data is corrupt ({error})."
        )
        raise ImageReadError(
            file, problem, "Copy or export the file again; the original may be intact."
        ) from None
    stored_range = (float(values.min()), float(values.max()))
    window = automatic_window(values, eight_bit=bits <= 8)
    return Radiograph(
        pixels=apply_window(values, window),
        values=values,
        source=file,
        format=fmt,
        stored_range=stored_range,
        bits_stored=bits,
        photometric=mode,
        windows=(window,),
        warnings=tuple(warnings_),
    )


def _gray_values(
    file: Path, image: Image.Image, warnings_: list[str]
) -> tuple[FloatImage, int, str]:
    """Grayscale values as float32 plus their bit depth, from any Pillow mode."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image).astype(np.float32)
        return values, 16, mode
    if mode == "F":
        return np.asarray(image, dtype=np.float32), 32, mode
    if mode == "YCbCr":  # a JPEG decoded without colour conversion (see _read_with_pillow)
        luma, *chroma = image.split()
        planes = [np.asarray(band, dtype=np.int16) for band in chroma]
        offset = max(max(abs(int(p.min()) - 128), abs(int(p.max()) - 128)) for p in planes)
        if offset > _EQUAL_CHANNEL_TOLERANCE:  # neutral chroma (128) means equal R, G, B
            warnings_.append(_COLOUR_WARNING)
        return np.asarray(luma, dtype=np.float32), 8, "RGB"
    if mode in ("1", "L"):
        return np.asarray(image.convert("L"), dtype=np.float32), 8, mode
    if mode in ("LA", "RGBA", "PA") or (mode == "P" and "transparency" in image.info):
        alpha = np.asarray(image.convert("RGBA"))[..., 3]
        if int(alpha.min()) < 255:
            warnings_.append("The image has transparent pixels; transparency was ignored.")
    rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
    spread = int(np.abs(rgb - rgb[..., :1]).max()) if rgb.size else 0
    if spread > _EQUAL_CHANNEL_TOLERANCE:
        warnings_.append(_COLOUR_WARNING)
        gray = np.asarray(image.convert("RGB").convert("L"), dtype=np.float32)
    else:
        gray = rgb.mean(axis=2, dtype=np.float32)
    return gray.astype(np.float32, copy=False), 8, mode
