"""End to end: ``hilum view FILE`` in a fresh process with fresh settings shows the image and
records the shipped default model's prediction, with no error dialog or banner.

Why a fresh process per file: the cold start is what failed (issue 19: a decoder start, the
file's reading and the model's import imported pydicom on three threads at once, and a process
that had imported pydicom before, like the test suite's, never saw it). Each run starts the
console command's entry point through :mod:`tests.viewer.cold_start_driver` and takes ~10-30 s
(TensorFlow's cold import and the model's load; ~9 s here), all of them in the default suite.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from engine.modeling.bundles import read_card
from tests.conftest import REPO
from tests.viewer.cold_start_driver import VERDICT
from viewer.resource_paths import default_model_dir

#: One DICOM of each transfer-syntax family Hilum decodes (see dicom/dicom_manifest.csv).
DICOM_FILES = [
    pytest.param("RG1_UNCR.dcm", id="uncompressed"),
    pytest.param("RG1_JLSN.dcm", id="jpeg-ls"),
    pytest.param("RG2_JPLL.dcm", id="jpeg-lossless"),
    pytest.param("RG1_J2KR.dcm", id="jpeg-2000"),
    pytest.param("RG2_RLE.dcm", id="rle"),
    pytest.param(
        "NIH_CXR_DX_1.3.6.1.4.1.11129.5.5.110503645592756492463169821050252582267888.dcm",
        id="nih-dx",
    ),
]


def run_fresh(home: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """``python -m command...`` in a new process whose settings and data live under ``home``."""
    environment = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-m", *command],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def verdict_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The driver's verdict line, parsed (the run must have ended well and printed one)."""
    verdicts = [line for line in done.stdout.splitlines() if line.startswith(VERDICT)]
    assert done.returncode == 0 and verdicts, f"exit {done.returncode}\n{done.stderr[-3000:]}"
    verdict: dict[str, Any] = json.loads(verdicts[-1][len(VERDICT) :])
    return verdict


def view_cold(file: Path, home: Path, runner: Sequence[str] = ()) -> dict[str, Any]:
    """Run ``hilum view file`` in a new process whose settings and data live under ``home``;
    return the driver's verdict (what the window showed, and the history database's rows).
    ``runner``: a module that runs the driver (``python -m RUNNER DRIVER FILE``), e.g.
    :mod:`tests.without_training`."""
    return verdict_of(run_fresh(home, *runner, "tests.viewer.cold_start_driver", str(file)))


def assert_shown_and_recorded(file: Path, verdict: dict[str, Any]) -> None:
    """The image is on screen, no error shows, and the default model's prediction is recorded."""
    assert verdict["dialogs"] == []
    assert verdict["banner"] == ""
    assert verdict["image"] == str(file)
    (record,) = verdict["records"]
    assert record["model_id"] == read_card(default_model_dir()).model_id
    assert 0.0 <= record["probability"] <= 1.0


@pytest.mark.parametrize("name", DICOM_FILES)
def test_a_cold_start_shows_a_dicom_file_and_records_its_prediction(
    name: str, dicom_dir: Path, tmp_path: Path
) -> None:
    file = dicom_dir / name
    assert_shown_and_recorded(file, view_cold(file, tmp_path))


def test_a_cold_start_shows_a_jpeg_and_records_its_prediction(
    shared_data: Path, tmp_path: Path
) -> None:
    file = min((shared_data / "chest_xray" / "external" / "NORMAL").glob("*.jp*g"))
    assert_shown_and_recorded(file, view_cold(file, tmp_path))


def test_arrivals_of_a_session_that_died_are_predicted_at_the_next_start(
    dicom_dir: Path, tmp_path: Path
) -> None:
    """Issue 19: received images the application died before predicting were lost. Queued in
    the history database by a session that dies (claimed, never predicted), they are predicted,
    listed in the triage list and recorded when ``hilum`` starts again."""
    received = tmp_path / "received"
    received.mkdir()
    files = []
    for name in ("RG1_UNCR.dcm", "RG1_JLSN.dcm"):
        files.append(received / name)
        shutil.copyfile(dicom_dir / name, files[-1])
    dying = run_fresh(tmp_path, "tests.viewer.arrivals_driver", "died", *map(str, files))
    assert dying.returncode == 0, dying.stderr[-3000:]
    verdict = verdict_of(
        run_fresh(tmp_path, "tests.viewer.arrivals_driver", "start", *map(str, files))
    )
    assert (verdict["dialogs"], verdict["banner"], verdict["waiting"]) == ([], "", 0)
    assert verdict["listed"] == sorted(str(file) for file in files)
    model_id = read_card(default_model_dir()).model_id
    assert sorted((r["path"], r["model_id"]) for r in verdict["records"]) == sorted(
        (str(file), model_id) for file in files
    )
