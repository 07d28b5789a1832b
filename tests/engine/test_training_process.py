"""The training child-process runner shared by ``hilum train`` and the Training tab: how a run
ends when the caller is interrupted, when the child dies after a stop, and on a terminal's
Ctrl-C (which only the caller sees: the child has its own session)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from engine.errors import HilumError
from engine.modeling.bundles import find_bundles
from engine.modeling.train_config import TrainConfig
from engine.modeling.training_process import train_in_process
from tests.engine.tiny_bundles import tiny_train_args

REPO = Path(__file__).resolve().parents[2]


def _config(data: Path, out: Path) -> TrainConfig:
    return TrainConfig(
        variant="cnn", data_dir=data, out_dir=out, image_size=32, epochs=50, batch_size=8
    )


def _training_child() -> Any:
    """The running training child (its runner names it after the variant), or ``None``."""
    children = [c for c in multiprocessing.active_children() if c.name == "hilum-train-cnn"]
    assert len(children) <= 1, children
    return children[0] if children else None


def _kill_training_child() -> None:
    child = _training_child()
    if child is not None:
        child.kill()


def test_an_interrupted_caller_terminates_the_child_at_once(
    tmp_path: Path, tiny_train_set: Path
) -> None:
    """A second Ctrl-C raises KeyboardInterrupt in the caller: the child is terminated, not
    left to finish its start-up and a batch (it would then end by itself, exit code 0)."""
    seen: list[Any] = []

    def interrupt() -> bool:
        seen.append(_training_child())
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_in_process(_config(tiny_train_set, tmp_path / "models"), should_stop=interrupt)
    assert seen[0] is not None and seen[0].exitcode == -signal.SIGTERM
    assert not (tmp_path / "models").exists()


def test_a_child_that_dies_after_a_stop_was_asked_for_is_a_cancelled_run(
    tmp_path: Path, tiny_train_set: Path
) -> None:
    """E.g. stopped while it was still starting: cancelled, not "ended without a result"."""

    def stop_and_die() -> bool:
        _kill_training_child()
        return True

    result = train_in_process(_config(tiny_train_set, tmp_path), should_stop=stop_and_die)
    assert result.cancelled and result.bundle is None


def test_a_child_that_dies_unasked_is_an_error_naming_the_variant(
    tmp_path: Path, tiny_train_set: Path
) -> None:
    def die() -> bool:
        _kill_training_child()
        return False

    with pytest.raises(HilumError, match="training process of 'cnn' ended without a result"):
        train_in_process(_config(tiny_train_set, tmp_path), should_stop=die)


def test_ctrl_c_in_the_terminal_cancels_hilum_train_with_status_130_and_no_bundle(
    tmp_path: Path, tiny_train_set: Path
) -> None:
    """SIGINT to the command's whole process group, as a terminal sends it: the child, in its
    own session, does not get it; the command forwards it as should_stop and the run stops
    cooperatively ("cancelled", not "interrupted")."""
    out = tmp_path / "runs"
    args = [*tiny_train_args(tiny_train_set, epochs=200), "--out", str(out), "--patience", "200"]
    command = [
        sys.executable,
        "-c",
        "import sys; from engine.cli.main import main; sys.exit(main())",
    ]
    log = tmp_path / "stderr.log"
    with open(log, "w") as stderr:
        process = subprocess.Popen(
            [*command, *args],
            cwd=REPO,
            stderr=stderr,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, like a shell's foreground job
        )
        try:
            deadline = time.monotonic() + 120
            while "epoch 1/200" not in log.read_text() and time.monotonic() < deadline:
                assert process.poll() is None, log.read_text()[-2000:]
                time.sleep(0.1)
            assert "epoch 1/200" in log.read_text(), "training did not get going"
            os.killpg(process.pid, signal.SIGINT)
            status = process.wait(120)  # a ceiling for a hung run, not a speed check
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)
    text = log.read_text()
    assert status == 130, text[-2000:]
    assert "Training cancelled; no model was written." in text, text[-2000:]
    assert "interrupted" not in text
    assert not out.exists() or find_bundles(out) == []
