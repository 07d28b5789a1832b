"""``hilum info``: what was read, or the error, for each file; exit 1 when any failed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from engine.cli.main import main
from engine.imaging.files import walk_images
from tests.conftest import REPO
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


def test_info_on_pydicoms_corpus_reports_every_file_and_no_traceback(
    pydicom_test_files: Path,
) -> None:
    # In a child process, as a user runs it: a native decoder crash would end it early.
    command = "import sys; from engine.cli.main import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run(
        [sys.executable, "-c", command, "info", "--json", str(pydicom_test_files)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 1  # the corpus holds non-image objects and broken files
    reports = json.loads(result.stdout)
    assert [report["path"] for report in reports] == [
        str(path) for path in walk_images([pydicom_test_files]).files
    ]
    for report in reports:
        assert report["ok"] or report["error"].startswith(report["path"] + ": ")
    by_name = {Path(report["path"]).name: report for report in reports}
    assert by_name["badVR.dcm"]["ok"]  # once the file that stopped the whole folder
    assert sum(report["ok"] for report in reports) > len(reports) // 3
