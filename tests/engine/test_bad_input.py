"""Each kind of bad input raises ImageReadError naming the file, the problem and a remedy."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom.uid import UID

from engine import HilumError, ImageReadError, load_image
from tests.engine.synthetic import dicom_dataset, gradient, png_header_only, write_dicom


def _expect(path: Path, match: str) -> ImageReadError:
    with pytest.raises(ImageReadError, match=match) as info:
        load_image(path)
    error = info.value
    assert isinstance(error, HilumError)
    assert str(path) in str(error), "the message must name the file"
    assert error.remedy, "the message must say what the user can do"
    return error


def test_zero_byte_file(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    _expect(tmp_path / "empty.jpg", "empty")


def test_truncated_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (256, 256), np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    _expect(path, "truncated")


def test_truncated_png(tmp_path: Path) -> None:
    path = tmp_path / "cut.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (256, 256), np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    _expect(path, "truncated|corrupt")


def test_truncated_dicom_pixel_data(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "cut.dcm", dicom_dataset(gradient(256, 256)))
    path.write_bytes(path.read_bytes()[:-5000])
    _expect(path, "truncated|incomplete|damaged")


def test_truncated_dicom_header(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "cut_header.dcm", dicom_dataset(gradient()))
    path.write_bytes(path.read_bytes()[:300])
    error = _expect(path, "ends before its pixel data")
    assert "cut short" in str(error) and "holds no image" not in str(error)
    assert "export the file again" in error.remedy


def test_text_file_with_an_image_extension(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("patient notes, not an image\n")
    _expect(tmp_path / "notes.png", "its name says PNG, but its content is not")


def test_random_bytes_are_not_an_image(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(os.urandom(4096))
    _expect(tmp_path / "blob.bin", "not an image")


def test_random_bytes_named_dcm(tmp_path: Path) -> None:
    (tmp_path / "blob.dcm").write_bytes(b"\x01\x02" * 2048)
    _expect(tmp_path / "blob.dcm", "is not a DICOM file, JPEG or PNG")


def test_dicom_without_pixel_data(tmp_path: Path) -> None:
    ds = dicom_dataset(gradient())
    del ds.PixelData
    ds.SOPClassUID = UID("1.2.840.10008.5.1.4.1.1.88.11")  # Basic Text SR
    error = _expect(write_dicom(tmp_path / "report.dcm", ds), "holds no image")
    assert "Basic Text SR" in str(error)


def test_transfer_syntax_without_a_decoder(tmp_path: Path) -> None:
    ds = dicom_dataset(gradient())
    path = write_dicom(tmp_path / "jpip.dcm", ds)
    # Re-label as a JPIP referenced syntax: no plugin decodes it.
    from pydicom import dcmread
    from pydicom.encaps import encapsulate

    ds = dcmread(path)
    ds.file_meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.4.94")
    ds.PixelData = encapsulate([b"\x00" * 100])
    ds["PixelData"].VR = "OB"
    ds.save_as(path)
    _expect(path, "none of Hilum's installed decoders")


def test_png_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    error = _expect(png_header_only(tmp_path / "bomb.png", 40_000, 40_000), "megapixels")
    assert "1600 megapixels" in str(error)


def test_dicom_over_the_pixel_limit_is_refused(tmp_path: Path) -> None:
    ds = dicom_dataset(gradient())
    ds.Rows, ds.Columns = 60_000, 60_000
    _expect(write_dicom(tmp_path / "huge.dcm", ds), "megapixels")


def test_missing_file(tmp_path: Path) -> None:
    _expect(tmp_path / "nowhere.dcm", "does not exist")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    _expect(tmp_path, "folder")


@pytest.mark.parametrize(
    ("raised", "match"),
    [
        (PermissionError(13, "Permission denied"), "not allowed"),
        (OSError(5, "Input/output error"), "cannot be opened"),
    ],
)
def test_file_that_cannot_be_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raised: OSError, match: str
) -> None:
    # As root every file is readable, so the operating system's refusal is simulated.
    path = tmp_path / "locked.png"
    Image.fromarray(gradient()).save(path)

    def refuse(*_: object, **__: object) -> bytes:
        raise raised

    monkeypatch.setattr("engine.imaging.images.read_head", refuse)
    _expect(path, match)
