"""The model's compute threads (TensorFlow's pool, LiteRT's XNNPACK pool and the thread that
invokes LiteRT) run at a lower priority than the thread that calls the model, once the
application asked for it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

#: Sets a compute niceness of 7 in a fresh process, starts the runtime's compute threads, runs
#: the model, and prints each thread's name, niceness (Linux: /proc/self/task/<tid>/stat field
#: 19), whether it is the calling thread and whether it is new.
_SCRIPT = r"""
import os, sys, threading
from pathlib import Path
import numpy as np
from engine.runtime import set_compute_niceness
before = {task.name for task in Path("/proc/self/task").iterdir()}
set_compute_niceness(7)
if sys.argv[1] == "tensorflow":
    from engine.runtime import start_compute_threads, tensorflow
    start_compute_threads()
    tensorflow().reduce_sum(tensorflow().ones((256, 256)))
else:
    from engine.inference.predictor import Predictor
    predictor = Predictor.load("resources/models/default", runtime="litert")
    predictor.scorer.runners[0].probabilities(np.zeros((2, 224, 224, 3), np.float32))
    from engine.runtime import on_compute_thread
    invoker = on_compute_thread(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    print("invoker", invoker, False, False)
for task in Path("/proc/self/task").iterdir():
    fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
    caller = int(task.name) == threading.get_native_id()
    print((task / "comm").read_text().strip(), fields[16], caller, task.name not in before)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread niceness is Linux's")
@pytest.mark.parametrize("runtime", ["tensorflow", "litert"])
def test_compute_threads_are_lowered_and_the_calling_thread_is_not(runtime: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, runtime],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    threads = [line.split() for line in done.stdout.splitlines()]
    if runtime == "tensorflow":
        compute = [nice for name, nice, _, _ in threads if name.startswith("tf_Compute")]
        assert compute and set(compute) == {"7"}
    else:  # XNNPACK's workers are unnamed: the new threads the interpreter started
        assert "7" in {nice for _, nice, _, new in threads if new == "True"}
        # LiteRT computes on the thread that invokes it too: that one is lowered as well.
        assert ["invoker", "7", "False", "False"] in threads
    assert [nice for _, nice, caller, _ in threads if caller == "True"] == ["0"]
