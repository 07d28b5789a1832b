"""``hilum info``: what was read, or the error, for each file; exit 1 when any failed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from engine.cli.main import main
from tests.engine.synthetic import gradient


def test_info_on_the_real_dicom_folder(dicom_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(dicom_dir)]) == 1
    out = capsys.readouterr().out
    assert "25 readable, 2 failed, 1 non-image files ignored" in out
    assert out.count("ERROR ") == 2
    assert "JPEG 2000 Image Compression" in out and "MONOCHROME1" in out


def test_info_json(dicom_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--json", str(dicom_dir)]) == 1
    reports = json.loads(capsys.readouterr().out)
    assert len(reports) == 27
    failed = sorted(Path(r["path"]).name for r in reports if not r["ok"])
    assert failed == ["RG2_JPLY.dcm", "RG3_JPLY.dcm"]
    multiframe = next(r for r in reports if "HasFragment" in r["path"])
    assert multiframe["frames"] == 96 and multiframe["modality"] == "XA"
    for key in (
        "format",
        "width",
        "height",
        "photometric",
        "transfer_syntax",
        "windows",
        "modality",
        "frames",
        "warnings",
    ):
        assert key in multiframe


def test_info_all_good_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Image.fromarray(gradient()).save(tmp_path / "ok.png")
    assert main(["info", str(tmp_path / "ok.png")]) == 0
    assert "1 readable, 0 failed" in capsys.readouterr().out
