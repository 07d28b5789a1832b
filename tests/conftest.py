"""Test set-up shared by engine and viewer tests.

* Qt runs offscreen and TensorFlow quietly with oneDNN (set before anything imports them).
* The real data lives in ../shared/data beside the repository (override with HILUM_SHARED_DATA);
  tests that need it take one of the fixtures below and are skipped, with the reason, when it is
  absent, or fail when HILUM_REQUIRE_DATA=1 (as in CI). Nothing from there is ever copied into
  the repository.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Keep TensorFlow to the CI machine's two cores and deterministic where a test asks for it.
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "2")

import pytest

from tests.site_folders import link_site

# The Orthanc/DCMTK fixtures of the DICOM network tests (engine and viewer).
pytest_plugins = ["tests.pacs_support"]

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HILUM_SHARED_DATA", REPO.parent / "shared" / "data"))


#: Set to 1 (``.ci/run`` does) to make tests that need the real data FAIL when it is missing,
#: instead of skipping: in CI a missing ../shared must not pass as green.
REQUIRE_DATA = os.environ.get("HILUM_REQUIRE_DATA", "") not in ("", "0")


def _require(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.exists():
        reason = (
            f"needs the real data at {path} (../shared/data beside the repository, or set "
            "HILUM_SHARED_DATA); it is not part of the repository"
        )
        if REQUIRE_DATA:
            pytest.fail(f"HILUM_REQUIRE_DATA is set and the test {reason}", pytrace=False)
        pytest.skip(reason)
    return path


def _real_data(relative: str, doc: str) -> Any:
    """A session fixture (named by the variable it is assigned to): the real data at
    ``relative``, skipping (or failing, see :data:`REQUIRE_DATA`) the test when it is absent."""

    def fixture() -> Path:
        return _require(relative)

    fixture.__doc__ = doc
    return pytest.fixture(scope="session")(fixture)


shared_data = _real_data("", "Root of the real data (../shared/data).")
dicom_dir = _real_data("dicom", "The 27 real DICOM files.")
fullres_dir = _real_data("fullres", "60 original-resolution radiographs (NORMAL/, PNEUMONIA/).")
train_dir = _real_data("chest_xray/train", "The 5,216 training images (224x224 JPEG, two classes).")
chest_xray_dir = _real_data("chest_xray", "The chest_xray root (holds train/ only).")
external_dir = _real_data(
    "chest_xray/external", "313 images from elsewhere (NORMAL/, PNEUMONIA/), never trained on."
)
mobilenet_weights = _real_data(
    "weights/mobilenet_2_5_224_tf_no_top.h5",
    "Genuine ImageNet weights of MobileNet v1 alpha 0.25, no top.",
)


@pytest.fixture(scope="session")
def pydicom_test_files() -> Path:
    """pydicom's own test corpus (176 files: odd VRs, truncations, every codec), in its package."""
    import pydicom

    path = Path(pydicom.__file__).parent / "data" / "test_files"
    if not path.is_dir():
        pytest.skip(f"this pydicom installation has no test files at {path}")
    return path


@pytest.fixture(scope="session")
def tiny_train_set(tmp_path_factory: pytest.TempPathFactory, train_dir: Path) -> Path:
    """A tiny real data folder: 24 NORMAL + 24 PNEUMONIA training images, linked (not copied
    into the repository) into a temporary NORMAL/PNEUMONIA layout, several patients each."""
    root = tmp_path_factory.mktemp("tiny_train")
    for name in ("NORMAL", "PNEUMONIA"):
        (root / name).mkdir()
        for source in sorted((train_dir / name).iterdir())[::40][:24]:
            (root / name / source.name).symlink_to(source)
    return root


@pytest.fixture(scope="session")
def site_folder(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A second hospital's data folder for commissioning: 40 NORMAL + 40 PNEUMONIA films of
    ``sites/nih``, linked, with their manifest rows (patients and ages)."""
    return link_site(shared_data / "sites" / "nih", tmp_path_factory.mktemp("site"), 40)
