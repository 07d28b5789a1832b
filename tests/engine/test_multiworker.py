"""Multi-worker training: two ``hilum train`` processes on localhost form one TF_CONFIG cluster."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from engine.modeling.bundles import load_bundle
from tests.engine.tiny_bundles import tiny_train_args

REPO = Path(__file__).resolve().parents[2]
_WORKER = "import sys; from engine.cli.main import main; sys.exit(main(sys.argv[1:]))"


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def test_two_workers_train_together_and_only_the_chief_writes(
    tmp_path: Path, tiny_train_set: Path
) -> None:
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    command = [sys.executable, "-c", _WORKER, *tiny_train_args(tiny_train_set, epochs=2)]
    processes = []
    for index in range(2):
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps(
                {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            ),
        }
        out = tmp_path / f"out{index}"
        processes.append(
            subprocess.Popen(
                [*command, "--out", str(out)],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=150))
    finally:
        for process in processes:
            process.kill()
    for process, (_stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr[-3000:]
    chief_bundles = list((tmp_path / "out0").iterdir())
    assert len(chief_bundles) == 1
    card = load_bundle(chief_bundles[0]).card
    assert "MultiWorkerMirroredStrategy, 2 workers" in card.device
    assert card.training["epochs_run"] == 2
    assert not (tmp_path / "out1").exists()
    assert "not the chief" in outputs[1][0]
