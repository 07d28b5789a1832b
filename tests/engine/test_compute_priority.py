"""TensorFlow's compute threads run at a lower priority than the thread that calls the model."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

#: Starts the runtime at nice 7 in a fresh process, runs one operation, and prints each thread's
#: name and niceness (Linux: /proc/self/task/<tid>/stat field 19).
_SCRIPT = r"""
import os, threading
from pathlib import Path
from engine.runtime import start_compute_threads, tensorflow
start_compute_threads(7)
tensorflow().reduce_sum(tensorflow().ones((256, 256)))
for task in Path("/proc/self/task").iterdir():
    fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
    caller = int(task.name) == threading.get_native_id()
    print((task / "comm").read_text().strip(), fields[16], caller)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread niceness is Linux's")
def test_compute_threads_are_lowered_and_the_calling_thread_is_not() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    threads = [line.split() for line in done.stdout.splitlines()]
    compute = [nice for name, nice, _ in threads if name.startswith("tf_Compute")]
    assert compute and set(compute) == {"7"}
    assert [nice for _, nice, caller in threads if caller == "True"] == ["0"]
