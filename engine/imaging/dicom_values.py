"""Typed, guarded access to DICOM header values.

pydicom converts an element's bytes when it is first accessed and, in Hilum's lenient reading
mode, hands a malformed value back as it is: an IS of ``'1A'`` comes back as the string ``'1A'``,
a US read with a wrong VR as bytes, a value of the wrong multiplicity as a list. A file from
outside can hold anything, so every header value Hilum computes with goes through these
functions. They return clean Python numbers and strings, or raise :class:`MalformedValue` naming
the attribute and what it held; the caller then chooses between a clear
:class:`~engine.errors.ImageReadError` and a documented fallback.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pydicom.config
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

# The one process-wide pydicom setting Hilum makes, here beside the functions that check every
# value afterwards. pydicom validates a value when it is first accessed, and the validation mode is
# a global: dcmread takes no option for it, and switching it around each read (pydicom's
# strict_reading() context manager) would race, since files are read on several threads at once
# (the decoder pool, each PACS association). Hilum displays what a file holds and never rewrites
# it, so invalid values (a malformed UID, an over-long string) are read as they are, without a
# warning (which would print a sender's values to the log from the network thread); the functions
# below turn them into clear errors or documented fallbacks.
pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE

#: Longest piece of a malformed value quoted back to the user.
_SHOWN_CHARS = 40


class MalformedValue(ValueError):
    """A header attribute holds a value Hilum cannot use.

    Attributes:
        keyword: the attribute (DICOM keyword).
        shown: what it held, shortened for a message.
        expected: what a valid value looks like.
    """

    def __init__(self, keyword: str, value: object, expected: str, *, unreadable: str = "") -> None:
        self.keyword = keyword
        self.shown = (
            f"unreadable ({unreadable[: _SHOWN_CHARS * 3]})" if unreadable else _shorten(value)
        )
        self.expected = expected
        super().__init__(f"{keyword} is {self.shown}, expected {expected}")


def element_value(ds: Dataset, keyword: str) -> Any:
    """The value of ``keyword`` in ``ds`` (``None`` when absent).

    Raises:
        MalformedValue: pydicom could not convert the element's bytes.
    """
    try:
        return ds.get(keyword)
    except Exception as error:
        raise MalformedValue(keyword, None, "a readable value", unreadable=str(error)) from None


def values_of(ds: Dataset, keyword: str) -> list[Any]:
    """Every value of ``keyword`` as a list (empty when absent or empty)."""
    value = element_value(ds, keyword)
    if value is None or (isinstance(value, str | bytes) and not value):
        return []
    if isinstance(value, MultiValue | list | tuple):
        return list(value)
    return [value]


def as_number(keyword: str, value: object) -> float:
    """A finite float from a DS/FD/US/IS/... value.

    Raises:
        MalformedValue: the value is not a finite number.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedValue(keyword, value, "a number")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise MalformedValue(keyword, value, "a number") from None
    if not math.isfinite(number):
        raise MalformedValue(keyword, value, "a finite number")
    return number


def as_integer(keyword: str, value: object) -> int:
    """A whole number from an IS/US/SS/... value (``'512'``, ``512`` and ``512.0`` all count).

    Raises:
        MalformedValue: the value is not a whole number.
    """
    number = as_number(keyword, value)
    if not number.is_integer():
        raise MalformedValue(keyword, value, "a whole number")
    return int(number)


def numbers(ds: Dataset, keyword: str) -> list[float]:
    """Every value of ``keyword`` as a finite float (empty when absent).

    Raises:
        MalformedValue: the element is unreadable or one of its values is not a number.
    """
    return [as_number(keyword, value) for value in values_of(ds, keyword)]


def integer(ds: Dataset, keyword: str, default: int, allowed: Sequence[int] | range) -> int:
    """The single whole-number value of ``keyword``, or ``default`` when absent.

    Raises:
        MalformedValue: the element is unreadable, has several values, is not a whole number,
            or is not in ``allowed``.
    """
    found = values_of(ds, keyword)
    if not found:
        return default
    expected = _describe_allowed(allowed)
    if len(found) != 1:
        raise MalformedValue(keyword, found, expected)
    try:
        value = as_integer(keyword, found[0])
    except MalformedValue:
        raise MalformedValue(keyword, found[0], expected) from None
    if value not in allowed:
        raise MalformedValue(keyword, found[0], expected)
    return value


def text(ds: Dataset, keyword: str) -> str:
    """``keyword``'s value as stripped text; ``""`` when absent or unreadable (never raises).

    Used for descriptive attributes (names, UIDs, descriptions) that only label an image.
    """
    try:
        value = ds.get(keyword, "")
        return "" if value is None else str(value).strip()
    except Exception:
        return ""


def _describe_allowed(allowed: Sequence[int] | range) -> str:
    if isinstance(allowed, range):
        return f"a whole number from {allowed.start} to {allowed.stop - 1}"
    return "one of " + ", ".join(str(value) for value in allowed)


def _shorten(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= _SHOWN_CHARS else shown[: _SHOWN_CHARS - 1] + "…"
