"""A seeded generator of damaged DICOM files, for the fuzz tests.

Each mutant is a real file with one kind of damage a file from outside can carry: truncation,
flipped header or pixel-data bytes, a random tail, an overwritten stretch of header, absurd
Rows / Columns / Number of Frames, a wrong VR, another transfer syntax than the data's, or no bytes
at all. The same seed gives the same files, so a failure names a mutant that can be regenerated.
"""

from __future__ import annotations

import random
import re
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"
PREAMBLE = 132
VRS = (
    b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN "
    b"UR US UT UV"
).split()
# An explicit-VR element header: an even group (0002 to 0028), an element number, a VR.
_ELEMENT = re.compile(rb"[\x02\x08\x10\x18\x20\x28]\x00..(" + b"|".join(VRS) + rb")", re.DOTALL)
TRANSFER_SYNTAXES = (
    b"1.2.840.10008.1.2",
    b"1.2.840.10008.1.2.1",
    b"1.2.840.10008.1.2.2",
    b"1.2.840.10008.1.2.1.99",
    b"1.2.840.10008.1.2.5",
    b"1.2.840.10008.1.2.4.50",
    b"1.2.840.10008.1.2.4.51",
    b"1.2.840.10008.1.2.4.57",
    b"1.2.840.10008.1.2.4.70",
    b"1.2.840.10008.1.2.4.80",
    b"1.2.840.10008.1.2.4.81",
    b"1.2.840.10008.1.2.4.90",
    b"1.2.840.10008.1.2.4.91",
    b"1.2.840.10008.1.2.4.201",
)
_SIZE_TAGS = (b"\x28\x00\x10\x00", b"\x28\x00\x11\x00")  # Rows, Columns (US)
_FRAMES_TAG = b"\x28\x00\x08\x00"  # Number of Frames (IS)


@dataclass(frozen=True)
class Mutant:
    """One damaged file: ``name`` says its number, its damage and its source."""

    name: str
    data: bytes


Mutation = Callable[[bytes, random.Random], bytes]


def mutants(sources: Sequence[Path], count: int, seed: int) -> Iterator[Mutant]:
    """``count`` damaged files made from ``sources``, every kind of damage in turn."""
    rng = random.Random(seed)
    cache: dict[Path, bytes] = {}
    for number in range(count):
        source = rng.choice(list(sources))
        data = cache.setdefault(source, source.read_bytes())
        mutation = MUTATIONS[number % len(MUTATIONS)]
        yield Mutant(f"{number:05d}_{mutation.__name__}_{source.name}", mutation(data, rng))


def _pixel_start(data: bytes) -> int:
    found = data.find(PIXEL_DATA_TAG, PREAMBLE)
    return found if found > 0 else len(data)


def truncate(data: bytes, rng: random.Random) -> bytes:
    """Cut the file anywhere (half the time inside the header)."""
    end = _pixel_start(data) + 16 if rng.random() < 0.5 else len(data)
    return data[: rng.randrange(0, max(1, min(end, len(data))))]


def flip_header_bytes(data: bytes, rng: random.Random) -> bytes:
    """Change 1-8 bytes between the preamble and the pixel data."""
    return _flip(data, PREAMBLE, _pixel_start(data), rng.randint(1, 8), rng)


def flip_pixel_bytes(data: bytes, rng: random.Random) -> bytes:
    """Change 1-32 bytes of the pixel data (the compressed stream, for compressed files)."""
    return _flip(data, _pixel_start(data), len(data), rng.randint(1, 32), rng)


def random_tail(data: bytes, rng: random.Random) -> bytes:
    """Replace the end of the file (from somewhere in its second half) with random bytes."""
    cut = rng.randrange(len(data) // 2, len(data) + 1)
    return data[:cut] + rng.randbytes(rng.randint(1, 4096))


def overwrite_header(data: bytes, rng: random.Random) -> bytes:
    """Overwrite 4-64 consecutive header bytes with random ones."""
    end = _pixel_start(data)
    if end <= PREAMBLE + 4:
        return data + rng.randbytes(64)
    start = rng.randrange(PREAMBLE, end)
    length = rng.randint(4, 64)
    return data[:start] + rng.randbytes(length) + data[start + length :]


def huge_dimensions(data: bytes, rng: random.Random) -> bytes:
    """Set Rows or Columns to 0, 1, 32768 or 65535, or Number of Frames to its largest value."""
    if rng.random() < 0.3 and _FRAMES_TAG in data:
        return _set_value(data, _FRAMES_TAG, lambda size: b"9" * size)
    value = struct.pack("<H", rng.choice((0, 1, 32768, 65535)))
    return _set_value(data, rng.choice(_SIZE_TAGS), lambda size: value[:size].ljust(size, b"\0"))


def wrong_vr(data: bytes, rng: random.Random) -> bytes:
    """Give one explicit-VR header element another VR (implicit-VR files get a flipped byte)."""
    found = list(_ELEMENT.finditer(data, PREAMBLE, _pixel_start(data)))
    if not found:
        return flip_header_bytes(data, rng)
    where = rng.choice(found).start(1)
    return data[:where] + rng.choice(VRS) + data[where + 2 :]


def other_transfer_syntax(data: bytes, rng: random.Random) -> bytes:
    """Relabel the data with another transfer syntax (compressed data fed to the wrong decoder)."""
    where = data.find(b"\x02\x00\x10\x00UI", PREAMBLE)
    if where < 0:
        return flip_pixel_bytes(data, rng)
    (old_length,) = struct.unpack_from("<H", data, where + 6)
    uid = rng.choice(TRANSFER_SYNTAXES)
    uid += b"\0" * (len(uid) % 2)
    meta_length = data.find(b"\x02\x00\x00\x00UL", PREAMBLE)
    out = bytearray(data[: where + 6] + struct.pack("<H", len(uid)) + uid)
    out += data[where + 8 + old_length :]
    if meta_length >= 0:  # keep the File Meta Information Group Length consistent
        (group_length,) = struct.unpack_from("<I", out, meta_length + 8)
        struct.pack_into("<I", out, meta_length + 8, group_length + len(uid) - old_length)
    return bytes(out)


def empty(_data: bytes, _rng: random.Random) -> bytes:
    """No bytes at all."""
    return b""


MUTATIONS: tuple[Mutation, ...] = (
    truncate,
    flip_header_bytes,
    flip_pixel_bytes,
    random_tail,
    overwrite_header,
    huge_dimensions,
    wrong_vr,
    other_transfer_syntax,
    flip_pixel_bytes,
    truncate,
    other_transfer_syntax,
    empty,
)


def _flip(data: bytes, start: int, end: int, count: int, rng: random.Random) -> bytes:
    if end <= start:
        return data
    out = bytearray(data)
    for _ in range(count):
        out[rng.randrange(start, end)] ^= rng.randint(1, 255)
    return bytes(out)


def _set_value(data: bytes, tag: bytes, make: Callable[[int], bytes]) -> bytes:
    """Replace the value of the first element with ``tag`` (explicit or implicit VR)."""
    where = data.find(tag, PREAMBLE)
    if where < 0:
        return data
    if data[where + 4 : where + 6] in VRS:  # explicit VR: 2-byte length after the VR
        (size,) = struct.unpack_from("<H", data, where + 6)
        start = where + 8
    else:  # implicit VR: 4-byte length
        (size,) = struct.unpack_from("<I", data, where + 4)
        start = where + 8
    if size > 16:
        return data
    return data[:start] + make(size) + data[start + size :]
