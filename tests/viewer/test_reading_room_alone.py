"""The reading room without TensorFlow (issue 18 item 5): each check runs in a fresh process where
the full workstation's packages (the installer spec's ``TRAINING_ONLY``: TensorFlow, Keras,
scikit-learn, SciPy, ...) cannot be imported (:mod:`tests.without_training`), as in the
reading-room installation.

* ``hilum view FILE`` starts as a user starts it (fresh settings), shows a JPEG and a DICOM,
  records each prediction in the history, and its Training tab says what is missing and how to
  get it instead of the training form;
* the commands that train or fit exit non-zero with that message instead of an ``ImportError``,
  and so does reading a bundle whose networks have no LiteRT export (only TensorFlow runs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.engine.tiny_bundles import make_bundle
from tests.packaging.support import run_in_repo
from tests.viewer.test_cold_start import assert_shown_and_recorded, view_cold

RUNNER = ("tests.without_training",)
#: What the reading room says it lacks, and how to get it (engine.errors.TrainingUnavailableError).
NEEDS = "needs the full Hilum workstation (TensorFlow"
HOW = "pip install 'hilum[train]'"


def test_the_reading_room_shows_a_jpeg_records_its_prediction_and_explains_training(
    shared_data: Path, tmp_path: Path
) -> None:
    file = min((shared_data / "chest_xray" / "external" / "NORMAL").glob("*.jp*g"))
    verdict = view_cold(file, tmp_path, RUNNER)
    assert_shown_and_recorded(file, verdict)
    note = verdict["training_note"]
    assert note is not None and NEEDS in note and HOW in note, note


def test_the_reading_room_shows_a_dicom_and_records_its_prediction(
    dicom_dir: Path, tmp_path: Path
) -> None:
    file = dicom_dir / "RG1_UNCR.dcm"
    assert_shown_and_recorded(file, view_cold(file, tmp_path, RUNNER))


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["train", "DATA", "--variant", "cnn", "--epochs", "1"], id="train"),
        pytest.param(["domain-check", str(REPO / "resources" / "models" / "default")], id="domain"),
    ],
)
def test_a_workstation_command_says_what_is_missing_and_exits_non_zero(
    command: list[str], tmp_path: Path
) -> None:
    arguments = [str(tmp_path) if word == "DATA" else word for word in command]
    done = run_in_repo([sys.executable, "-m", *RUNNER, "viewer.entry", *arguments], timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert NEEDS in done.stderr and HOW in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr


def test_a_bundle_without_a_litert_export_says_what_reading_it_needs(
    shared_data: Path, tmp_path: Path
) -> None:
    bundle = make_bundle(tmp_path / "older")  # written without an export, as before issue 18
    image = min((shared_data / "chest_xray" / "external" / "NORMAL").glob("*.jp*g"))
    done = run_in_repo(
        [
            sys.executable,
            "-m",
            *RUNNER,
            "viewer.entry",
            "predict",
            str(image),
            "--model",
            str(bundle),
        ],
        timeout=120,
    )
    assert done.returncode != 0
    said = done.stdout + done.stderr
    assert "no LiteRT export" in said and f"hilum export-runtime {bundle}" in said, said[-2000:]
    assert NEEDS in said and HOW in said and "Traceback" not in said
