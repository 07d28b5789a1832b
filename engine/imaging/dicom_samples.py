"""Write the same pixels as DICOM in every transfer syntax Hilum decodes.

Used by ``hilum --self-test`` (which proves, in an installed bundle, that every decoder plugin
was packaged and works) and by the tests that check a prediction does not depend on how an image
was encoded. Encoders: pydicom's own (RLE) and the plugins' (JPEG-LS via pyjpegls, JPEG 2000 via
pylibjpeg-openjpeg); JPEG baseline is encoded by Pillow and encapsulated; JPEG lossless
(process 14) by GDCM.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)

SECONDARY_CAPTURE = UID("1.2.840.10008.5.1.4.1.1.7")


def chest_dataset(
    pixels: npt.NDArray[np.uint8] | npt.NDArray[np.uint16], photometric: str = "MONOCHROME2"
) -> Dataset:
    """A minimal, valid DX chest data set holding ``pixels`` (8- or 16-bit) uncompressed.

    For ``MONOCHROME1`` the stored values are inverted (maximum - pixels), so that the displayed
    image is the same as ``pixels`` once the reader applies the photometric interpretation.
    """
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
    instance = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = instance
    ds.SOPClassUID = SECONDARY_CAPTURE
    ds.SOPInstanceUID = instance
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID, ds.Modality, ds.BodyPartExamined = "SELFTEST", "DX", "CHEST"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    bits = 8 * pixels.dtype.itemsize
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    stored = np.iinfo(pixels.dtype).max - pixels if photometric == "MONOCHROME1" else pixels
    ds.PixelData = np.ascontiguousarray(stored).tobytes()
    return ds


def _plain(syntax: UID) -> Callable[[Dataset, Path], None]:
    def write(ds: Dataset, path: Path) -> None:
        ds.file_meta.TransferSyntaxUID = syntax
        ds.save_as(
            path,
            implicit_vr=syntax == ImplicitVRLittleEndian,
            little_endian=True,
            enforce_file_format=True,
        )

    return write


def _pydicom_encoder(syntax: UID) -> Callable[[Dataset, Path], None]:
    def write(ds: Dataset, path: Path) -> None:
        ds.compress(syntax)
        ds.save_as(path, enforce_file_format=True)

    return write


def _jpeg_baseline(ds: Dataset, path: Path) -> None:
    stored = ds.pixel_array
    buffer = io.BytesIO()
    Image.fromarray(stored).save(buffer, format="JPEG", quality=95)
    ds.PixelData = encapsulate([buffer.getvalue()])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.LossyImageCompression = "01"
    ds.save_as(path, enforce_file_format=True)


def _jpeg_lossless_gdcm(ds: Dataset, path: Path) -> None:
    import gdcm

    source = path.with_suffix(".uncompressed.dcm")
    _plain(ExplicitVRLittleEndian)(ds, source)
    try:
        reader = gdcm.ImageReader()
        reader.SetFileName(str(source))
        if not reader.Read():
            raise OSError(f"GDCM could not read {source}")
        change = gdcm.ImageChangeTransferSyntax()
        change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEGLosslessProcess14_1))
        change.SetInput(reader.GetImage())
        if not change.Change():
            raise OSError("GDCM could not encode JPEG lossless")
        writer = gdcm.ImageWriter()
        writer.SetFileName(str(path))
        writer.SetFile(reader.GetFile())
        writer.SetImage(change.GetOutput())
        if not writer.Write():
            raise OSError(f"GDCM could not write {path}")
    finally:
        source.unlink(missing_ok=True)


#: Every transfer syntax Hilum decodes, with the function that writes a sample of it.
WRITERS: dict[UID, Callable[[Dataset, Path], None]] = {
    ExplicitVRLittleEndian: _plain(ExplicitVRLittleEndian),
    ImplicitVRLittleEndian: _plain(ImplicitVRLittleEndian),
    RLELossless: _pydicom_encoder(RLELossless),
    JPEGLSLossless: _pydicom_encoder(JPEGLSLossless),
    JPEG2000Lossless: _pydicom_encoder(JPEG2000Lossless),
    JPEGLosslessSV1: _jpeg_lossless_gdcm,
    JPEGBaseline8Bit: _jpeg_baseline,
}

LOSSLESS = frozenset(WRITERS) - {JPEGBaseline8Bit}


def write_sample(
    pixels: npt.NDArray[np.uint8],
    folder: str | os.PathLike[str],
    syntax: UID,
    photometric: str = "MONOCHROME2",
) -> Path:
    """Write ``pixels`` as one DICOM file in ``syntax``; return its path.

    Raises:
        KeyError: ``syntax`` is not one Hilum writes samples of (see :data:`WRITERS`).
    """
    label: str = syntax.name
    name = f"{photometric.lower()}_{label.split(' (')[0].replace(' ', '_').replace(',', '')}"
    path = Path(folder) / f"{name}.dcm"
    WRITERS[syntax](chest_dataset(pixels, photometric), path)
    return path
