"""The installer: build the PyInstaller bundle and run its self-test (slow: ~10-20 minutes).

Run with ``make test-slow`` (or ``pytest -m slow``); ``make test`` leaves it out to stay within
its time budget. Needs the shipped default model, which the self-test loads.
"""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.packaging.support import run_in_repo

pytestmark = pytest.mark.slow


@pytest.mark.timeout(3600)
def test_bundle_builds_and_passes_its_self_test() -> None:
    if not (REPO / "resources" / "models" / "default" / "card.json").is_file():
        pytest.skip("needs the shipped default model in resources/models/default")
    result = run_in_repo(
        ["bash", str(REPO / "packaging" / "build.sh")], timeout=3500, PYTHON_BIN=sys.executable
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "0 failed" in result.stdout
    for check in (
        "load model",
        "read phantom",
        "RLE_Lossless",
        "JPEG_2000",
        "JPEG-LS",
        "main window",
        "train (CLI, 1 epoch)",  # the installed app does what the source app does (issue 11)
        "evaluate --json (CLI)",
        "predict --json (CLI)",
        "PDF report",
        "training tab (child process, 1 epoch)",
    ):
        assert check in result.stdout, check
    archives = sorted((REPO / "dist").glob("hilum-*-linux-*.tar.gz"))
    assert archives, "no installer archive"
    with tarfile.open(archives[-1]) as archive:
        names = archive.getnames()
    assert any(name.endswith("/install.sh") for name in names)
    assert any(name.endswith("/hilum.desktop") for name in names)
    assert any(name.endswith("/app/hilum") for name in names)
    assert Path(REPO / "dist" / "hilum" / "hilum").is_file()
