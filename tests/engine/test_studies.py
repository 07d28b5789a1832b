"""Grouping files into patient / study / series, and folder walking."""

from __future__ import annotations

from pathlib import Path

import pydicom
from PIL import Image

from engine import find_studies
from engine.imaging.files import walk_images
from engine.imaging.studies import UNKNOWN_PATIENT
from tests.engine.synthetic import dicom_dataset, gradient, write_dicom


def test_real_dicom_folder_groups_by_uids_and_skips_the_manifest(dicom_dir: Path) -> None:
    index = find_studies([dicom_dir])
    assert [s.path.name for s in index.skipped] == ["dicom_manifest.csv"]
    assert "not an image" in index.skipped[0].reason
    assert len(index.images()) == 27  # undecodable files are still indexed: errors come on open
    for patient in index.patients:
        for study in patient.studies:
            for series in study.series:
                for image in series.images:
                    ds = pydicom.dcmread(image.path, stop_before_pixels=True, force=True)
                    if "SeriesInstanceUID" in ds:
                        assert series.uid == str(ds.SeriesInstanceUID)
                    if "StudyInstanceUID" in ds:
                        assert study.uid == str(ds.StudyInstanceUID)
    rg2 = next(p for p in index.patients if p.id == "10RG2")
    rg2_images = [i.path.name for s in rg2.studies for se in s.series for i in se.images]
    assert "RG2_UNC.dcm" in rg2_images and "RG2_RLE.dcm" in rg2_images


def test_series_and_instance_order(tmp_path: Path) -> None:
    base = dicom_dataset(gradient())
    for number in (3, 1, 2):
        ds = dicom_dataset(gradient())
        ds.StudyInstanceUID, ds.SeriesInstanceUID = base.StudyInstanceUID, base.SeriesInstanceUID
        ds.InstanceNumber = number
        write_dicom(tmp_path / f"img{number * 7 % 5}.dcm", ds)
    index = find_studies([tmp_path])
    assert len(index.patients) == 1 and len(index.patients[0].studies) == 1
    series = index.patients[0].studies[0].series
    assert len(series) == 1
    assert [image.instance_number for image in series[0].images] == [1, 2, 3]


def test_plain_images_group_by_folder_and_bad_files_are_skipped(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        Image.fromarray(gradient()).save(tmp_path / folder / "x.png")
    (tmp_path / "a" / "empty.jpg").write_bytes(b"")
    (tmp_path / "a" / "broken.dcm").write_bytes(b"not dicom at all" * 20)
    (tmp_path / "a" / "notes.txt").write_text("hello")
    index = find_studies([tmp_path])
    assert [p.id for p in index.patients] == [UNKNOWN_PATIENT]
    assert sorted(s.description for s in index.patients[0].studies) == ["a", "b"]
    reasons = {s.path.name: s.reason for s in index.skipped}
    assert set(reasons) == {"empty.jpg", "broken.dcm", "notes.txt"}
    assert "empty" in reasons["empty.jpg"]


def test_walk_keeps_explicit_files_and_ignores_hidden(tmp_path: Path) -> None:
    (tmp_path / ".DS_Store").write_bytes(b"junk")
    (tmp_path / "readme.md").write_text("x")
    Image.fromarray(gradient()).save(tmp_path / "scan", format="PNG")  # no extension
    walk = walk_images([tmp_path, tmp_path / "readme.md"])
    assert [p.name for p in walk.files] == ["scan", "readme.md"]
    assert [p.name for p, _ in walk.ignored] == ["readme.md"]
