"""Fuzzing the DICOM reader: every damaged file either loads or raises ImageReadError.

Mutants of pydicom's own test corpus and of the real DICOMs in ../shared/data/dicom (see
:mod:`tests.engine.dicom_mutations`) are read in this test process, as the viewer and
``hilum predict`` read them: a native decoder's abort or panic would end the run, an escaping
exception fails it, a hang trips the timeout, and the process's memory is sampled throughout.
``make test`` reads a few hundred small mutants; ``make test-slow`` reads more than 2,000 made from
every file, large ones included. Run with ``-s`` to see what happened to them.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from engine import ImageReadError, load_image
from tests.engine.dicom_mutations import PIXEL_DATA_TAG, mutants

#: Sources for ``make test``: files up to this size, so that a few hundred mutants read quickly.
SMALL_FILE_BYTES = 1_000_000
#: The process may grow this much while reading mutants (2k x 2k images need about 100 MB)...
PEAK_GROWTH_BYTES = 1024 * 2**20
#: ... and keep this much once they are read (caches and imported decoders, not leaks).
KEPT_GROWTH_BYTES = 256 * 2**20


def _images(folder: Path, max_bytes: int | None = None) -> list[Path]:
    """The files under ``folder`` that hold pixel data (mutating the others tests nothing new)."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and (max_bytes is None or path.stat().st_size <= max_bytes)
        and PIXEL_DATA_TAG in path.read_bytes()
    )


def _resident_bytes() -> int:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * 4096


class _MemorySampler:
    """The process's resident memory, sampled every 10 ms on a thread (Linux)."""

    def __init__(self) -> None:
        self.baseline = self.peak = _resident_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, _resident_bytes())

    def __enter__(self) -> _MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _fuzz(tmp_path: Path, sources: list[Path], count: int, seed: int) -> None:
    assert sources, "no DICOM file with pixel data to mutate"
    load_image(sources[0])  # decoders imported and started before memory is measured
    outcomes: Counter[str] = Counter()
    problems: list[str] = []
    started = time.monotonic()
    with _MemorySampler() as memory:
        for mutant in mutants(sources, count, seed):
            path = tmp_path / mutant.name
            path.write_bytes(mutant.data)
            try:
                load_image(path)
                outcomes["loaded"] += 1
            except ImageReadError as error:
                outcomes["ImageReadError"] += 1
                outcomes[_kind(error)] += 1
                if str(path) not in str(error) or not error.remedy:
                    problems.append(f"{mutant.name}: a message without the file or a remedy")
            except Exception as error:
                problems.append(f"{mutant.name}: {type(error).__name__}: {error}")
            finally:
                path.unlink()
        kept = _resident_bytes() - memory.baseline
    print(
        f"\n{count} mutants of {len(sources)} files in {time.monotonic() - started:.0f} s: "
        f"{dict(outcomes)}; memory peak +{(memory.peak - memory.baseline) / 2**20:.0f} MiB, "
        f"kept +{kept / 2**20:.0f} MiB"
    )
    assert not problems, "\n".join(problems)
    assert outcomes["loaded"] + outcomes["ImageReadError"] == count
    assert outcomes["loaded"] and outcomes["ImageReadError"], "mutations that all pass or all fail"
    assert memory.peak - memory.baseline < PEAK_GROWTH_BYTES
    assert kept < KEPT_GROWTH_BYTES


def _kind(error: ImageReadError) -> str:
    """A coarse label for the summary line."""
    for words, label in (
        ("crashed", "  decoder crashed"),
        ("failed on this", "  decoder panicked"),
        ("did not finish", "  decoder stopped"),
        ("memory", "  decoder out of memory"),
        ("could not interpret", "  unforeseen pydicom error"),
    ):
        if words in error.problem:
            return label
    return "  other clear errors"


linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="memory is sampled from /proc/self/statm"
)


@linux_only
@pytest.mark.timeout(600)
def test_mutants_of_pydicoms_test_files(tmp_path: Path, pydicom_test_files: Path) -> None:
    _fuzz(tmp_path, _images(pydicom_test_files, SMALL_FILE_BYTES), count=250, seed=11)


@linux_only
@pytest.mark.timeout(600)
def test_mutants_of_the_real_dicom_files(tmp_path: Path, dicom_dir: Path) -> None:
    _fuzz(tmp_path, _images(dicom_dir, SMALL_FILE_BYTES), count=150, seed=12)


@linux_only
@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_many_mutants_of_pydicoms_test_files(tmp_path: Path, pydicom_test_files: Path) -> None:
    _fuzz(tmp_path, _images(pydicom_test_files), count=1200, seed=21)


@linux_only
@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_many_mutants_of_the_real_dicom_files(tmp_path: Path, dicom_dir: Path) -> None:
    _fuzz(tmp_path, _images(dicom_dir), count=1200, seed=22)
