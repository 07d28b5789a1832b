"""What the packaging tests share: running a command at the repository root."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import REPO


def run_in_repo(
    command: list[str], *, timeout: float, check: bool = False, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` at the repository root (Qt offscreen, ``env`` added), capturing its text."""
    return subprocess.run(
        command,
        cwd=REPO,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )
