"""The engine as a library from any kind of script: compressed DICOM decodes in the worker pool
whether the script comes from stdin, ``python -c``, a file without a main guard or a notebook's
``exec``, and the script itself runs exactly once (the workers never import its main module).

Each script runs in a new interpreter (the repository first on ``PYTHONPATH``, as in CI), prints
a digest of the decoded image's values and appends a line to a file; the digest must equal the
one of the same file read in this process.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import load_image
from engine.imaging.decoder_worker import WORKER_FLAG
from tests.conftest import REPO

#: JPEG-LS, the example of issue 19: decoded in a worker process.
COMPRESSED = "RG1_JLSN.dcm"


def script(image: Path, runs: Path) -> str:
    """A script without a main guard: decode ``image``, print the digest, note that it ran."""
    return (
        "import hashlib\n"
        "from engine import load_image\n"
        f"values = load_image({str(image)!r}).values\n"
        "print('digest', hashlib.sha256(values.tobytes()).hexdigest())\n"
        f"with open({str(runs)!r}, 'a') as runs:\n"
        "    runs.write('ran\\n')\n"
    )


def run_python(args: list[str], stdin: str | None, folder: Path) -> str:
    """Run this interpreter with ``args`` in ``folder``; its stdout (failing on a bad exit)."""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, *args],
        input=stdin,
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("kind", ["stdin", "unguarded file", "python -c", "notebook exec"])
def test_any_script_decodes_compressed_dicom_and_runs_once(
    kind: str, dicom_dir: Path, tmp_path: Path
) -> None:
    image = dicom_dir / COMPRESSED
    runs = tmp_path / "runs.txt"
    code = script(image, runs)
    if kind == "stdin":
        output = run_python(["-"], code, tmp_path)
    elif kind == "unguarded file":
        (tmp_path / "unguarded.py").write_text(code)
        output = run_python(["unguarded.py"], None, tmp_path)
    elif kind == "python -c":
        output = run_python(["-c", code], None, tmp_path)
    else:  # a notebook runs its cells with exec in the kernel's __main__
        output = run_python(["-c", f"exec(compile({code!r}, '<cell>', 'exec'))"], None, tmp_path)
    expected = hashlib.sha256(load_image(image).values.tobytes()).hexdigest()
    assert output.split() == ["digest", expected]
    assert runs.read_text() == "ran\n"


def test_the_frozen_launcher_runs_decoder_workers_with_the_pool_s_flag() -> None:
    launcher = (REPO / "packaging" / "launcher.py").read_text()
    assert f'sys.argv[1:2] == ["{WORKER_FLAG}"]' in launcher
