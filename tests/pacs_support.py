"""A real Orthanc PACS for tests, the DCMTK command-line tools as an independent client, and
their fixtures (registered for every test in tests/conftest.py).

:class:`Orthanc` starts the Debian ``orthanc`` package's server with a temporary configuration
and storage on free loopback ports, and talks to its REST API with the standard library.
:func:`require_tools` skips a test, with the reason, when Orthanc or DCMTK is missing on a
machine where they cannot be installed; as root (as in CI, where ``make test`` installs them)
a missing tool is a failure, so these tests never skip silently there.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ORTHANC_AET = "ORTHANC"
TOOLS = ("Orthanc", "storescu", "findscu", "movescu", "echoscu", "dsrdump")
INSTALL = "scripts/ensure_pacs_tools.sh (run by make test as root) or apt-get install orthanc dcmtk"


def tool_path(name: str) -> str | None:
    """Where a tool is installed (Debian puts Orthanc in /usr/sbin, off some users' PATH)."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def require_tools() -> None:
    """Skip (or, as root, fail) when Orthanc or a DCMTK tool is not installed."""
    missing = [tool for tool in TOOLS if tool_path(tool) is None]
    if not missing:
        return
    message = f"needs Orthanc and DCMTK ({', '.join(missing)} not found); install with {INSTALL}"
    if os.geteuid() == 0:
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Orthanc:
    """A running Orthanc with its own configuration and storage under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.dicom_port = free_port()
        self.http_port = free_port()
        config = {
            "Name": "HilumTest",
            "StorageDirectory": str(folder / "storage"),
            "IndexDirectory": str(folder / "storage"),
            "DicomAet": ORTHANC_AET,
            "DicomPort": self.dicom_port,
            "HttpPort": self.http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomCheckCalledAet": True,
            "DicomModalities": {},
            "Plugins": [],
            "ConcurrentJobs": 1,
        }
        (folder / "orthanc.json").write_text(json.dumps(config))
        self.log = folder / "orthanc.log"
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                [str(tool_path("Orthanc")), str(folder / "orthanc.json")],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_up()

    @property
    def node_text(self) -> str:
        """Its address as Hilum's CLI takes it: ``ORTHANC@127.0.0.1:port``."""
        return f"{ORTHANC_AET}@127.0.0.1:{self.dicom_port}"

    def _wait_until_up(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                self.rest("GET", "/system")
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Orthanc did not start; its log:\n{self.log.read_text()[-3000:]}")

    def rest(self, method: str, path: str, body: Any = None) -> Any:
        """Call the REST API; JSON in and out (raw bytes for non-JSON answers)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}{path}", data=data, method=method
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
        try:
            return json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            return payload

    def add_modality(self, name: str, ae_title: str, port: int) -> None:
        """Tell Orthanc about a DICOM node on this computer (for C-FIND/C-MOVE permissions)."""
        self.rest(
            "PUT", f"/modalities/{name}", {"AET": ae_title, "Host": "127.0.0.1", "Port": port}
        )

    def seed(self, *files: Path) -> None:
        """Store ``files`` with storescu (the independent client), as a modality would."""
        result = dcmtk(
            "storescu", "-xv", "-aet", "MODALITY", "-aec", ORTHANC_AET, "127.0.0.1",
            self.dicom_port, *files,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr

    def clear(self) -> None:
        """Delete every patient (and so every study and instance)."""
        for patient in self.rest("GET", "/patients"):
            self.rest("DELETE", f"/patients/{patient}")

    def instances(self) -> list[dict[str, Any]]:
        """Every stored instance with its main DICOM tags."""
        return [self.rest("GET", f"/instances/{i}") for i in self.rest("GET", "/instances")]

    def instance_file(self, orthanc_id: str) -> bytes:
        """The stored DICOM file of an instance."""
        return bytes(self.rest("GET", f"/instances/{orthanc_id}/file"))

    def stop(self) -> None:
        """Stop the server and wait for it."""
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def dcmtk(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a DCMTK tool; its output and status are returned, never raised."""
    return subprocess.run(
        [str(arg) for arg in args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="session")
def orthanc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    """One Orthanc for the session (it starts in half a second but takes a few to stop)."""
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
def pacs_tools() -> None:
    """Orthanc and DCMTK are installed (skip or fail otherwise, see :func:`require_tools`)."""
    require_tools()


@pytest.fixture(scope="session")
def small_cr(dicom_dir: Path) -> Path:
    """A real 16 x 16 CR image (pydicom's test file), uncompressed."""
    return dicom_dir / "pydicom_dicomdir_CR1_6154_cspine_16px.dcm"


@pytest.fixture(scope="session")
def chest_cr(dicom_dir: Path) -> Path:
    """The NEMA RG1 chest CR, 1955 x 1841, 15-bit MONOCHROME1, uncompressed (7 MB)."""
    return dicom_dir / "RG1_UNCR.dcm"
