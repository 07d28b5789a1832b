"""Malformed DICOM header values give a clear ImageReadError or a documented, warned fallback.

Malformed values are written as the text a damaged or hand-edited file carries (pydicom refuses
to set "1A" as an IS, so the element is stored with a text VR, as a wrong-VR file would be).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import DeflatedExplicitVRLittleEndian

from engine import ImageReadError, find_studies, load_image
from engine.imaging import dicom_reading
from tests.conftest import REPO
from tests.engine.synthetic import dicom_dataset, gradient, write_dicom


def _file(tmp_path: Path, **text_values: str | list[str]) -> Path:
    """A valid CR image whose named attributes hold ``text_values`` (stored with VR LO)."""
    ds = dicom_dataset(gradient())
    for keyword, value in text_values.items():
        ds.add_new(keyword, "LO", value)
    return write_dicom(tmp_path / "image.dcm", ds)


def test_pydicoms_bad_vr_file_loads_its_first_frame_with_a_warning() -> None:
    path = Path(str(get_testdata_file("badVR.dcm")))  # Number of Frames is '1A'
    image = load_image(path)
    assert (image.height, image.width, image.frame_count) == (10, 10, 1)
    assert any("NumberOfFrames is '1A'" in warning for warning in image.warnings)


def test_a_malformed_window_is_left_out_and_the_next_one_is_the_default(tmp_path: Path) -> None:
    image = load_image(_file(tmp_path, WindowCenter=["abc", "100"], WindowWidth=["20", "80"]))
    assert (image.windows[0].center, image.windows[0].width) == (100.0, 80.0)
    assert any("Window 1 is malformed" in warning for warning in image.warnings)


def test_with_no_valid_window_the_automatic_window_is_used(tmp_path: Path) -> None:
    image = load_image(_file(tmp_path, WindowCenter="nan", WindowWidth="x"))
    assert image.windows[0].explanation.startswith("automatic")
    assert len(image.windows) == 1
    assert any("Window 1 is malformed" in warning for warning in image.warnings)


@pytest.mark.parametrize("keyword", ["RescaleSlope", "RescaleIntercept"])
def test_a_malformed_rescale_is_an_error(tmp_path: Path, keyword: str) -> None:
    with pytest.raises(ImageReadError, match=f"{keyword} is '2,5'.*cannot be computed"):
        load_image(_file(tmp_path, **{keyword: "2,5"}))


def test_a_rescale_that_overflows_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="not all numbers"):
        load_image(_file(tmp_path, RescaleSlope="1e38"))


@pytest.mark.parametrize(("keyword", "value"), [("Rows", "64A"), ("Columns", "-48")])
def test_a_malformed_image_size_is_an_error_naming_the_attribute(
    tmp_path: Path, keyword: str, value: str
) -> None:
    with pytest.raises(ImageReadError, match=f"{keyword} is '{value}'; Hilum needs a whole number"):
        load_image(_file(tmp_path, **{keyword: value}))


def test_bits_stored_above_bits_allocated_falls_back_with_a_warning(tmp_path: Path) -> None:
    image = load_image(_file(tmp_path, BitsStored="12"))  # the file's pixels are 8-bit
    assert image.bits_stored == 8
    assert any("BitsStored is '12'" in warning for warning in image.warnings)


def test_malformed_pixel_spacing_is_unknown_spacing(tmp_path: Path) -> None:
    image = load_image(_file(tmp_path, PixelSpacing=["0.1", "wide"]))
    assert image.pixel_spacing is None


def _lut(descriptor: list[int], entries: int) -> Dataset:
    item = Dataset()
    item.LUTDescriptor = descriptor
    item.add_new("LUTData", "OW", np.arange(entries, dtype=np.uint16).tobytes())
    return item


def test_a_voi_lut_with_an_absurd_descriptor_falls_back_to_the_window(tmp_path: Path) -> None:
    # 4000-bit entries (the standard allows 8 to 16): the LUT's top, 2**4000 - 1, overflows a float.
    ds = dicom_dataset(gradient())
    ds.VOILUTSequence = [_lut([256, 0, 4000], 256)]
    path = write_dicom(tmp_path / "lut.dcm", ds)
    image = load_image(path)
    assert image.voi_lut_explanation == ""
    assert any("VOI LUT Sequence is malformed" in warning for warning in image.warnings)
    np.testing.assert_allclose(image.pixels.max(), 1.0)


def test_a_modality_lut_shorter_than_its_descriptor_is_an_error(tmp_path: Path) -> None:
    ds = dicom_dataset(gradient())
    item = _lut([256, 0, 16], 3)
    item.ModalityLUTType = "US"
    ds.ModalityLUTSequence = [item]
    with pytest.raises(ImageReadError, match="Modality LUT Sequence is malformed"):
        load_image(write_dicom(tmp_path / "mlut.dcm", ds))


def test_the_study_browser_indexes_files_with_malformed_identifiers(tmp_path: Path) -> None:
    ds = dicom_dataset(gradient())
    ds.add_new("NumberOfFrames", "LO", "many")
    ds.add_new("InstanceNumber", "LO", "first")
    write_dicom(tmp_path / "odd.dcm", ds)
    index = find_studies([tmp_path])
    assert index.skipped == []
    (image,) = [
        image
        for patient in index.patients
        for study in patient.studies
        for series in study.series
        for image in series.images
    ]
    assert (image.frames, image.instance_number) == (1, None)


def test_a_sop_class_uid_of_garbage_is_not_echoed_in_the_message(tmp_path: Path) -> None:
    ds = dicom_dataset(gradient())
    del ds.PixelData
    ds.add_new("SOPClassUID", "LO", "\x07not a uid\x1b[2J")
    with pytest.raises(ImageReadError, match="an object of unknown type") as info:
        load_image(write_dicom(tmp_path / "garbage.dcm", ds))
    assert "\x1b" not in str(info.value)


def test_pydicom_reads_our_malformed_files_back_as_written(tmp_path: Path) -> None:
    """The fixtures above mean what they say: the malformed value reaches the reader as text."""
    ds = pydicom.dcmread(_file(tmp_path, NumberOfFrames="1A"))
    assert ds["NumberOfFrames"].VR == "LO" and ds.NumberOfFrames == "1A"


def test_files_from_outside_reach_pydicom_only_through_the_guarded_reader() -> None:
    """``engine.imaging.dicom_reading`` is the one entry point (PACS receive too, when it comes)."""
    allowed = {
        Path("engine/imaging/dicom_reading.py"),  # read_dicom and read_header
        Path("engine/imaging/dicom_samples.py"),  # decodes the samples it has just written itself
        # PACS: parses only the header of a received instance (guarded, pixels never decoded) to
        # file it by its UIDs; the image itself is read later through the guarded reader.
        Path("engine/pacs/storage.py"),
        # PACS: reads a file to forward it byte for byte (guarded; pixel data never decoded).
        Path("engine/pacs/sending.py"),
    }
    calls = [
        f"{path.relative_to(REPO)}: {line.strip()}"
        for package in ("engine", "viewer")
        for path in sorted((REPO / package).rglob("*.py"))
        if path.relative_to(REPO) not in allowed
        for line in path.read_text().splitlines()
        if re.search(r"\bdcmread\(|\.pixel_array\b|\bpixel_array\(|\.decompress\(", line)
    ]
    assert calls == []


def test_a_deflated_data_set_is_measured_before_it_is_inflated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = dicom_dataset(gradient(256, 256))  # 64 KiB of pixels: deflated, a few KiB
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    path = write_dicom(tmp_path / "deflated.dcm", ds)
    assert path.stat().st_size < 32_000
    assert load_image(path).width == 256
    monkeypatch.setattr(dicom_reading, "MAX_INFLATED_BYTES", 32_000)
    with pytest.raises(ImageReadError, match=r"inflates to more than 0 MB.*decompression bomb"):
        load_image(path)
