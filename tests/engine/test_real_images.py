"""Every real file in ../shared/data loads correctly, or fails with its clear error."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut, apply_voi_lut

from engine import ImageReadError, Radiograph, apply_window, load_image

UNDECODABLE = {"RG2_JPLY.dcm", "RG3_JPLY.dcm"}


def _manifest(dicom_dir: Path) -> list[dict[str, str]]:
    with open(dicom_dir / "dicom_manifest.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def test_manifest_lists_every_dicom_file(dicom_dir: Path) -> None:
    names = {row["file"] for row in _manifest(dicom_dir)}
    assert names == {path.name for path in dicom_dir.glob("*.dcm")}
    assert len(names) == 27


def test_every_dicom_file_loads_with_its_size_or_fails_clearly(dicom_dir: Path) -> None:
    for row in _manifest(dicom_dir):
        path = dicom_dir / row["file"]
        if row["file"] in UNDECODABLE:
            with pytest.raises(ImageReadError, match=r"JPEG Extended.*none of Hilum's installed"):
                load_image(path)
            continue
        image = load_image(path)
        assert (image.height, image.width) == (int(row["Rows"]), int(row["Columns"])), row["file"]
        assert image.format == "DICOM"
        assert image.photometric == row["PhotometricInterpretation"]
        assert image.modality == row["Modality"]
        assert image.pixels.dtype == np.float32
        assert float(image.pixels.min()) >= 0.0 and float(image.pixels.max()) <= 1.0
        assert float(image.pixels.std()) > 0.01, f"{row['file']} displays as a flat image"


def test_undecodable_error_names_file_problem_and_remedy(dicom_dir: Path) -> None:
    with pytest.raises(ImageReadError) as info:
        load_image(dicom_dir / "RG3_JPLY.dcm")
    message = str(info.value)
    assert "RG3_JPLY.dcm" in message
    assert "1.2.840.10008.1.2.4.51" in message
    assert "export" in info.value.remedy


@pytest.mark.parametrize(
    "name", ["RG1_UNCR.dcm", "RG1_UNCI.dcm", "RG1_J2KR.dcm", "RG1_J2KI.dcm", "RG1_JLSN.dcm"]
)
def test_rg1_chest_monochrome1_shows_bones_bright_and_lungs_dark(
    dicom_dir: Path, name: str
) -> None:
    image = load_image(dicom_dir / name)
    assert image.photometric == "MONOCHROME1" and image.inverted
    h, w = image.pixels.shape
    spine = image.pixels[int(0.35 * h) : int(0.6 * h), int(0.47 * w) : int(0.53 * w)].mean()
    left_lung = image.pixels[int(0.3 * h) : int(0.55 * h), int(0.22 * w) : int(0.35 * w)].mean()
    right_lung = image.pixels[int(0.3 * h) : int(0.55 * h), int(0.65 * w) : int(0.78 * w)].mean()
    assert spine > left_lung + 0.15 and spine > right_lung + 0.15


def test_monochrome1_is_inverted_after_the_voi_window(dicom_dir: Path) -> None:
    image = load_image(dicom_dir / "RG1_UNCR.dcm")
    window = image.windows[0]
    assert (window.center, window.width) == (15000.0, 30000.0)
    expected = 1.0 - apply_window(image.values, window)
    np.testing.assert_allclose(image.pixels, expected, atol=1e-6)


def test_lossless_syntaxes_decode_to_identical_pixels(dicom_dir: Path) -> None:
    reference = load_image(dicom_dir / "RG2_UNC.dcm").pixels
    for name in ("RG2_JPLL.dcm", "RG2_JLSL.dcm", "RG2_J2KR.dcm", "RG2_RLE.dcm"):
        np.testing.assert_array_equal(load_image(dicom_dir / name).pixels, reference, err_msg=name)


def test_modality_lut_sequence_matches_pydicom(dicom_dir: Path) -> None:
    path = dicom_dir / "mlut_18.dcm"
    ds = pydicom.dcmread(path)
    expected = apply_modality_lut(ds.pixel_array, ds)
    np.testing.assert_array_equal(load_image(path).values, expected.astype(np.float32))


def test_voi_lut_sequence_is_the_default_display(dicom_dir: Path) -> None:
    path = dicom_dir / "vlut_04.dcm"
    ds = pydicom.dcmread(path)
    lut_output = apply_voi_lut(ds.pixel_array, ds, index=0).astype(np.float64)
    image = load_image(path)
    assert image.voi_lut_explanation
    bits = int(ds.VOILUTSequence[0].LUTDescriptor[2])
    np.testing.assert_allclose(image.pixels, lut_output / (2**bits - 1), atol=1e-6)


def test_every_window_is_listed_first_is_default(dicom_dir: Path) -> None:
    image = load_image(dicom_dir / "GH133_MG_VOILUT.dcm")
    file_windows = [(w.center, w.width) for w in image.windows[:3]]
    assert file_windows == [(2653.0, 900.0), (2713.0, 750.0), (2569.0, 1050.0)]
    assert image.windows[-1].explanation.startswith("automatic")


def test_file_without_meta_header_reads_with_warning(dicom_dir: Path) -> None:
    image = load_image(dicom_dir / "CR-MONO1-10-chest.dcm")
    assert image.pixels.shape == (440, 440)
    assert any("no DICOM file meta header" in warning for warning in image.warnings)


def test_multiframe_reads_first_frame_and_counts_frames(dicom_dir: Path) -> None:
    image = load_image(dicom_dir / "HasFragmentSequence_XA_JPEGbaseline.dcm")
    assert image.frame_count == 96 and image.frame_index == 0
    ds = pydicom.dcmread(dicom_dir / "HasFragmentSequence_XA_JPEGbaseline.dcm")
    first = pydicom.pixels.pixel_array(ds, index=0)
    np.testing.assert_array_equal(image.values, first.astype(np.float32))


def test_any_frame_of_a_multiframe_image_reads_and_a_missing_one_is_refused(
    dicom_dir: Path, fullres_dir: Path
) -> None:
    path = dicom_dir / "HasFragmentSequence_XA_JPEGbaseline.dcm"
    image = load_image(path, frame=50)  # JPEG baseline: decoded in a decoder process
    assert (image.frame_index, image.frame_count) == (50, 96)
    expected = pydicom.pixels.pixel_array(pydicom.dcmread(path), index=50)
    np.testing.assert_array_equal(image.values, expected.astype(np.float32))
    with pytest.raises(ImageReadError, match="Frame 97 was asked for, but the image has 96"):
        load_image(path, frame=96)
    jpeg = sorted((fullres_dir / "NORMAL").glob("*.jpeg"))[0]
    with pytest.raises(ImageReadError, match="has one frame"):
        load_image(jpeg, frame=1)


def test_dicom_metadata_is_carried(dicom_dir: Path) -> None:
    image: Radiograph = load_image(dicom_dir / "RG1_UNCR.dcm")
    ds = pydicom.dcmread(dicom_dir / "RG1_UNCR.dcm", stop_before_pixels=True)
    assert image.body_part == "CHEST"
    assert image.patient_id == str(ds.PatientID)
    assert image.study_uid == str(ds.StudyInstanceUID)
    assert image.series_uid == str(ds.SeriesInstanceUID)
    assert image.sop_instance_uid == str(ds.SOPInstanceUID)
    assert image.transfer_syntax == "Explicit VR Little Endian"
    assert image.stored_range[1] > image.stored_range[0]
    assert image.bits_stored == 15


def test_pixel_spacing_from_imager_spacing_when_no_pixel_spacing(dicom_dir: Path) -> None:
    for path in sorted(dicom_dir.glob("*.dcm")):
        if path.name in UNDECODABLE:
            continue
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        image = load_image(path)
        spacing = next(
            (
                ds[k].value
                for k in ("PixelSpacing", "ImagerPixelSpacing")
                if k in ds and all(float(v) > 0 for v in ds[k].value)
            ),
            None,
        )
        if spacing:  # a spacing of 0\\0 (RG1_J2KI) means unknown, not zero
            assert image.pixel_spacing == (float(spacing[0]), float(spacing[1])), path.name
        else:
            assert image.pixel_spacing is None, path.name


def test_every_fullres_image_loads(fullres_dir: Path, shared_data: Path) -> None:
    with open(shared_data / "fullres_manifest.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 60
    for row in rows:
        image = load_image(shared_data / row["file"])
        assert (image.width, image.height) == (int(row["width"]), int(row["height"])), row["file"]
        assert image.format == "JPEG"
        assert float(image.pixels.std()) > 0.02
