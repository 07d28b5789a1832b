"""The training child-process runner shared by ``hilum train`` and the Training tab: how a run
ends when the caller is interrupted, when the child dies after a stop, and on a terminal's
Ctrl-C (which only the caller sees: the child has its own session)."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from engine.errors import HilumError
from engine.modeling.bundles import find_bundles
from engine.modeling.train_config import TrainConfig
from engine.workflows.training_process import train_in_process
from tests.engine.train_runs import long_train_run


def _config(data: Path, out: Path) -> TrainConfig:
    return TrainConfig(
        variant="cnn", data_dir=data, out_dir=out, image_size=32, epochs=50, batch_size=8
    )


def _training_child() -> Any:
    """The running training child (its runner names it after the variant), or ``None``."""
    children = [c for c in multiprocessing.active_children() if c.name == "hilum-train-cnn"]
    assert len(children) <= 1, children
    return children[0] if children else None


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


@pytest.mark.parametrize("stop_asked", [True, False])
def test_a_child_that_dies_is_a_cancelled_run_after_a_stop_else_an_error(
    tmp_path: Path, tiny_train_set: Path, stop_asked: bool
) -> None:
    """Dead after a stop (e.g. stopped while still starting): cancelled, no bundle. Dead unasked
    (e.g. out of memory): an error naming the variant."""

    def kill_then_answer() -> bool:
        child = _training_child()
        if child is not None:
            child.kill()
        return stop_asked

    config = _config(tiny_train_set, tmp_path)
    if stop_asked:
        result = train_in_process(config, should_stop=kill_then_answer)
        assert result.cancelled and result.bundle is None
    else:
        with pytest.raises(HilumError, match="training process of 'cnn' ended without a result"):
            train_in_process(config, should_stop=kill_then_answer)


def test_ctrl_c_in_the_terminal_cancels_hilum_train_with_status_130_and_no_bundle(
    tmp_path: Path, tiny_train_set: Path
) -> None:
    """SIGINT to the command's whole process group, as a terminal sends it: the child, in its
    own session, does not get it; the command forwards it as should_stop and the run stops
    cooperatively ("cancelled", not "interrupted")."""
    out, log = tmp_path / "runs", tmp_path / "stderr.log"
    with long_train_run(tiny_train_set, out, log, until="epoch 1/200", new_session=True) as run:
        os.killpg(run.pid, signal.SIGINT)
        status = run.wait(120)  # a ceiling for a hung run, not a speed check
    text = log.read_text()
    assert status == 130, text[-2000:]
    assert "Training cancelled; no model was written." in text, text[-2000:]
    assert "interrupted" not in text
    assert not out.exists() or find_bundles(out) == []
