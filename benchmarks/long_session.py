"""Memory over a long session: 500 images opened one after another, then a 313-image triage.

Why: a reading session opens hundreds of images in one process; resident memory must stay flat
(no cache, trace or buffer that grows with the number of images) and its peak within the budget
of issue 18 (<= 1.2 GB for viewing + triage). A test cannot hold this: resident memory depends on
the allocator, the machine and TensorFlow's thread pools; this table is read by a person.

The viewing part calls :func:`engine.inference.predictor.predict` (the viewer's entry point) on
files cycled from ``chest_xray/train`` (224 px JPEG), ``fullres`` (full-size JPEG) and ``dicom``
(every real DICOM file, compressed ones through the decoder pool; files that cannot be read count
as errors, as in the viewer); the triage part runs ``predict_many`` over ``chest_xray/external``.
Prints the resident memory every ``--every`` images and the peak (``VmHWM``).

Usage::

    .venv/bin/python benchmarks/long_session.py [--model DIR] [--images 500] [--every 50]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.errors import ImageReadError  # noqa: E402
from engine.inference.predictor import Predictor, predict  # noqa: E402

DEFAULT_MODEL = REPO / "resources" / "models" / "default"


def memory_gb() -> tuple[float, float]:
    """Resident memory now and its peak so far (GB), from ``/proc/self/status`` (Linux)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024**2  # kB
    return fields["VmRSS"], fields["VmHWM"]


def report(stage: str, done: int, started: float) -> None:
    """One line of the table."""
    now, peak = memory_gb()
    print(f"{stage:10s} {done:6d} {time.perf_counter() - started:8.1f} {now:8.2f} {peak:8.2f}")


def viewing_files(data: Path, count: int) -> list[Path]:
    """``count`` files: training JPEGs, full-size films and DICOM files in turn, cycled."""
    train = sorted((data / "chest_xray" / "train").glob("*/*.jpeg"))
    fullres = sorted((data / "fullres").glob("*/*.jpeg"))
    dicom = sorted((data / "dicom").glob("*.dcm"))
    kinds = [itertools.cycle(files) for files in (train, fullres, dicom) if files]
    return [next(kind) for kind in itertools.islice(itertools.cycle(kinds), count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--images", type=int, default=500, help="images opened one by one")
    parser.add_argument("--every", type=int, default=50, help="report every N images")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"{'stage':10s} {'images':>6s} {'seconds':>8s} {'RSS GB':>8s} {'peak GB':>8s}")
    report("start", 0, started)
    predictor = Predictor.load(args.model)
    report("loaded", 0, started)
    errors = 0
    for done, path in enumerate(viewing_files(args.data, args.images), start=1):
        try:
            predict(predictor, path)
        except ImageReadError:
            errors += 1
        if done % args.every == 0:
            report("viewing", done, started)
    external = sorted((args.data / "chest_xray" / "external").glob("*/*.jpeg"))
    triaged = 0
    for triaged, _ in enumerate(predictor.predict_many(external), start=1):
        if triaged % args.every == 0:
            report("triage", triaged, started)
    report("end", triaged, started)
    now, peak = memory_gb()
    print(f"\n{args.images} images opened ({errors} unreadable), {triaged} triaged")
    print(f"RSS at the end {now:.2f} GB, peak {peak:.2f} GB")


if __name__ == "__main__":
    main()
