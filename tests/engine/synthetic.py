"""Synthetic files for unit tests (never as proof that the model works)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from engine.imaging.dicom_samples import chest_dataset


def gradient(height: int = 64, width: int = 48) -> np.ndarray:
    """A uint8 ramp with a bright square: easy to check orientation and values."""
    image = np.tile(np.linspace(0, 200, width, dtype=np.uint8), (height, 1))
    image[8:20, 8:20] = 255
    return image


def dicom_dataset(pixels: np.ndarray, photometric: str = "MONOCHROME2") -> Dataset:
    """A minimal valid CR chest image data set holding ``pixels`` (uint8 or uint16)."""
    ds = chest_dataset(pixels, photometric)
    ds.Modality = "CR"
    return ds


def write_dicom(path: Path, ds: Dataset) -> Path:
    """Write ``ds`` as a Part 10 file."""
    ds.save_as(path, enforce_file_format=True)
    return path


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` (a decompression bomb's signature)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )
    return path
