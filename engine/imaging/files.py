"""Recognising image files by their content and walking folders for them.

Hilum trusts a file's first bytes over its name: a DICOM file called ``.jpg`` is read as DICOM
(with a warning), a text file called ``.png`` is refused with a clear error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: Extensions a folder walk considers even when the content is not recognised (so that a broken
#: file with an image's name is reported rather than silently ignored). "" covers DICOM files
#: without an extension, as PACS exports often are.
IMAGE_EXTENSIONS = frozenset({".dcm", ".dicom", ".dic", ".jpg", ".jpeg", ".png", ""})

_KIND_BY_EXTENSION = {
    ".dcm": "DICOM",
    ".dicom": "DICOM",
    ".dic": "DICOM",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
}


def sniff_kind(head: bytes) -> str | None:
    """Recognise a file from its first 132 bytes.

    Returns:
        ``"DICOM"`` (Part 10 preamble + ``DICM``), ``"JPEG"``, ``"PNG"``, ``"DICOM-RAW"`` for a
        plausible DICOM data set without file meta header (starts with a group 0x0008 tag in
        little endian, as implicit-VR files from older modalities do), or ``None``.
    """
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "DICOM"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if (
        len(head) >= 4
        and head[0:2] == b"\x08\x00"
        and head[2:4] in (b"\x00\x00", b"\x05\x00", b"\x08\x00", b"\x16\x00", b"\x18\x00")
    ):
        return "DICOM-RAW"
    return None


def kind_from_extension(path: Path) -> str | None:
    """The kind a file's extension claims (``"DICOM"``, ``"JPEG"``, ``"PNG"``) or ``None``."""
    return _KIND_BY_EXTENSION.get(path.suffix.lower())


def read_head(path: Path, size: int = 132) -> bytes:
    """The first ``size`` bytes of ``path`` (fewer for a shorter file)."""
    with open(path, "rb") as stream:
        return stream.read(size)


def is_candidate(path: Path) -> bool:
    """Whether a folder walk should hand ``path`` to the reader.

    Files with an image extension are candidates whatever their content;
    other files only when their content is recognised.
    """
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return True
    try:
        return sniff_kind(read_head(path)) is not None
    except OSError:
        return False


@dataclass(frozen=True)
class Walk:
    """Result of :func:`walk_images`: files to read, and files left out with the reason."""

    files: list[Path]
    ignored: list[tuple[Path, str]]


def walk_images(paths: Iterable[str | os.PathLike[str]]) -> Walk:
    """Expand files and folders into the image files to read, in a stable (sorted) order.

    A path given explicitly is always returned (so that the user sees an error for a bad file
    they chose); inside folders, hidden entries are skipped silently, only candidates
    (:func:`is_candidate`) are returned, and the rest are listed in ``ignored``. Missing paths
    are returned too: reading them gives the clear error.
    """
    files: list[Path] = []
    ignored: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            files.append(path)
            continue
        for found in _walk_sorted(path):
            if is_candidate(found):
                files.append(found)
            else:
                ignored.append((found, f"not an image file (extension '{found.suffix}')"))
    return Walk(files, ignored)


def _walk_sorted(folder: Path) -> Iterator[Path]:
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.startswith("."):  # .DS_Store, Thumbs caches, editor temp files
                yield Path(root) / name
