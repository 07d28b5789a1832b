"""A long tiny ``hilum train`` run in a subprocess, for tests that signal or kill it mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.engine.tiny_bundles import tiny_train_args

REPO = Path(__file__).resolve().parents[2]
#: A ceiling for a run that does not get going, not a speed check.
START_SECONDS = 120


@contextmanager
def long_train_run(
    data: Path, out: Path, log: Path, *, until: str, new_session: bool = False
) -> Iterator[subprocess.Popen[bytes]]:
    """``hilum train`` for 200 epochs (patience 200) of the tiny run, writing under ``out``.

    Yields the process once ``until`` appears in its stderr (written to ``log``); it is killed
    on leaving when still running. With ``new_session`` it leads its own process group, as a
    shell's foreground job does, so that ``os.killpg(process.pid, ...)`` is a terminal's signal.
    """
    args = [*tiny_train_args(data, epochs=200), "--out", str(out), "--patience", "200"]
    command = [
        sys.executable,
        "-c",
        "import sys; from engine.cli.main import main; sys.exit(main())",
    ]
    with open(log, "w") as stderr:
        process = subprocess.Popen(
            [*command, *args],
            cwd=REPO,
            stderr=stderr,
            stdout=subprocess.DEVNULL,
            start_new_session=new_session,
        )
        try:
            deadline = time.monotonic() + START_SECONDS
            while until not in log.read_text() and time.monotonic() < deadline:
                assert process.poll() is None, log.read_text()[-2000:]
                time.sleep(0.1)
            assert until in log.read_text(), "training did not get going"
            yield process
        finally:
            if process.poll() is None:
                if new_session:
                    os.killpg(process.pid, signal.SIGKILL)
                else:
                    process.kill()
                process.wait(30)
