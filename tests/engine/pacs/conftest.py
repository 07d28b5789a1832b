"""Fixtures of the DICOM network tests: a real Orthanc, small real DICOM files, Hilum's listener.

One Orthanc server is shared by the session's tests (it starts in half a second but takes a
few to stop) and emptied before each test that uses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.pacs.orthanc import Orthanc, require_tools


@pytest.fixture(scope="session")
def orthanc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    require_tools()
    server = Orthanc(tmp_path_factory.mktemp("orthanc"))
    yield server
    server.stop()


@pytest.fixture
def orthanc(orthanc_server: Orthanc) -> Orthanc:
    """The session's Orthanc, empty and knowing no modality."""
    orthanc_server.clear()
    for name in orthanc_server.rest("GET", "/modalities"):
        orthanc_server.rest("DELETE", f"/modalities/{name}")
    return orthanc_server


@pytest.fixture
def tools() -> None:
    """Orthanc and DCMTK are installed (skip or fail otherwise, see ``require_tools``)."""
    require_tools()


@pytest.fixture(scope="session")
def small_cr(dicom_dir: Path) -> Path:
    """A real 16 x 16 CR image (pydicom's test file), uncompressed."""
    return dicom_dir / "pydicom_dicomdir_CR1_6154_cspine_16px.dcm"


@pytest.fixture(scope="session")
def chest_cr(dicom_dir: Path) -> Path:
    """The NEMA RG1 chest CR, 1955 x 1841, 15-bit MONOCHROME1, uncompressed (7 MB)."""
    return dicom_dir / "RG1_UNCR.dcm"
