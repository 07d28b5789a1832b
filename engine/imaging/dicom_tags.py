"""An image's header as rows for people: DICOM attributes, or basic facts of a JPEG/PNG.

The viewer's DICOM tags panel shows these rows; reading them is file work, so it runs on a
worker thread together with the image (``pydicom.dcmread(stop_before_pixels=True)``: the header
only, a few milliseconds even for a large file), and the viewer never imports pydicom.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.imaging.radiograph import Radiograph

#: Longest value shown; longer ones end with an ellipsis.
MAX_VALUE_CHARS = 240


@dataclass(frozen=True)
class HeaderRow:
    """One attribute: ``tag`` as ``(gggg,eeee)`` ("" for facts), keyword, VR, value as text.

    A sequence has one child row per item (keyword ``Item N``), each holding its attributes.
    """

    tag: str
    keyword: str
    vr: str
    value: str
    children: tuple[HeaderRow, ...] = ()


def header_rows(radiograph: Radiograph) -> tuple[HeaderRow, ...]:
    """The rows to show for ``radiograph``: its file's DICOM attributes, or its basic facts.

    A DICOM header that cannot be read gives one ``(unreadable)`` row saying why.
    """
    if radiograph.format == "DICOM":
        return _dicom_rows(radiograph.source)
    facts = {
        "File": str(radiograph.source),
        "Format": radiograph.format,
        "Size": f"{radiograph.width} x {radiograph.height} pixels",
        "Bits": str(radiograph.bits_stored),
        "Mode": radiograph.photometric,
        "Value range": f"{radiograph.stored_range[0]:g} - {radiograph.stored_range[1]:g}",
        "Note": "Not a DICOM file: there are no DICOM tags.",
    }
    return tuple(HeaderRow("", name, "", value) for name, value in facts.items())


def _dicom_rows(path: Path) -> tuple[HeaderRow, ...]:
    import pydicom

    try:
        dataset = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except Exception as error:  # pydicom raises many kinds on a damaged header
        return (HeaderRow("", "(unreadable)", "", f"The header cannot be read: {error}"),)
    meta = getattr(dataset, "file_meta", None)
    return (*(_rows(meta) if meta is not None else ()), *_rows(dataset))


def _rows(dataset: Any) -> tuple[HeaderRow, ...]:
    rows = []
    for element in dataset:
        tag = f"({element.tag.group:04X},{element.tag.element:04X})"
        if element.VR == "SQ":
            items = tuple(
                HeaderRow("", f"Item {number}", "", "", _rows(item))
                for number, item in enumerate(element.value, start=1)
            )
            rows.append(
                HeaderRow(tag, element.keyword, "SQ", f"{len(element.value)} item(s)", items)
            )
        else:
            keyword = element.keyword or element.name
            rows.append(HeaderRow(tag, keyword, str(element.VR), _value_text(element)))
    return tuple(rows)


def _value_text(element: Any) -> str:
    value = getattr(element, "value", None)
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    text = str(value) if value is not None else ""
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"
