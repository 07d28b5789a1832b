"""What decoding compressed DICOM in worker processes costs: before/after, per file.

Why a script and not a test: timings depend on the machine and its load. Issue 11's target is
read from this table: open-to-heatmap of the 2k JPEG-LS and JPEG 2000 samples not slower by more
than 20 ms with the decoder pool warm.

For each file, ``--runs`` rounds alternate the two ways (so that load changes hit both alike):

* **in-process** (before): the same pydicom decoder called in this process, as Hilum did before
  :mod:`engine.imaging.decoder_pool` (a crash there ends the application);
* **isolated** (after): :func:`engine.load_image` as shipped, the frame decoded in a warm worker
  and passed back through shared memory.

It prints the median milliseconds of ``load_image`` and of open-to-heatmap
(:meth:`engine.inference.Predictor.predict` from the path) both ways, their difference, and the
one-off cost of starting a worker (paid once, when the viewer starts or at the first file).
On a busy machine the decodes' own variation hides a few milliseconds, so it also sends an
uncompressed 2k frame through the pool (payload to the worker, frame back): that difference is the
isolation's own cost, with decoding itself nearly free on both sides.

Usage::

    .venv/bin/python benchmarks/decoder_isolation.py [--model DIR] [--runs 15] [--data DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import engine.imaging.dicom_reading as dicom_reading  # noqa: E402
from engine.imaging.decoder_pool import DecoderPool, shared_pool  # noqa: E402
from engine.imaging.images import load_image  # noqa: E402
from engine.imaging.pixel_frames import PixelDescription, decode_frame  # noqa: E402

DEFAULT_MODEL = REPO / "resources" / "models" / "default"
TRANSPORT_FILE = "dicom/RG1_UNCR.dcm"
FILES = (
    ("2k JPEG-LS near-lossless (RG1_JLSN)", "dicom/RG1_JLSN.dcm"),
    ("2k JPEG 2000 lossless (RG1_J2KR)", "dicom/RG1_J2KR.dcm"),
    ("2k JPEG 2000 lossy (RG1_J2KI)", "dicom/RG1_J2KI.dcm"),
)


class InProcessDecoder:
    """The pool's interface, decoding in this process: Hilum's reading before the pool."""

    def decode(
        self,
        _file: Path,
        syntax: str,
        description: PixelDescription,
        payload: bytes,
        index: int = 0,
    ) -> tuple[Any, list[str]]:
        return decode_frame(syntax, description, payload, index), []


@contextmanager
def in_process() -> Iterator[None]:
    """Route the DICOM reader's compressed decodes to this process for a while."""
    original = dicom_reading.shared_pool
    dicom_reading.shared_pool = InProcessDecoder  # type: ignore[assignment]
    try:
        yield
    finally:
        dicom_reading.shared_pool = original


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return 1000.0 * (time.perf_counter() - started)


def compare(
    before_action: Callable[[], object], after_action: Callable[[], object], runs: int
) -> tuple[list[float], list[float]]:
    """Milliseconds of ``runs`` calls of each action, the two alternating (after a warm-up)."""
    before: list[float] = []
    after: list[float] = []
    before_action()
    after_action()
    for _ in range(runs):
        before.append(timed(before_action))
        after.append(timed(after_action))
    return before, after


def in_process_action(action: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        with in_process():
            return action()

    return run


def request(path: Path) -> tuple[Path, str, PixelDescription, bytes]:
    """What :mod:`engine.imaging.dicom_reading` hands the pool for ``path``."""
    ds = dicom_reading._read_dataset(path, True, [])
    description = dicom_reading.describe_pixels(path, ds, [])
    return path, str(ds.file_meta.TransferSyntaxUID), description, ds.PixelData


def worker_start_ms(path: Path) -> float:
    """First decode in a new pool: starting a worker (imports) plus the decode."""
    pool = DecoderPool(size=1)
    arguments = request(path)
    try:
        return timed(lambda: pool.decode(*arguments))
    finally:
        pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument(
        "--model",
        type=Path,
        default=DEFAULT_MODEL if DEFAULT_MODEL.exists() else None,
        help="bundle for open-to-heatmap (default: resources/models/default)",
    )
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    predictor = None
    if args.model is not None:
        from engine.inference import Predictor

        predictor = Predictor.load(args.model)
    shared_pool().start()
    print(
        f"{args.runs} warm runs each, in-process (before) vs isolated (after), in ms: median "
        "and minimum (the minimum is the least disturbed by other load on the machine)"
    )
    header = (
        f"{'file':38s} {'step':16s} {'median before':>13s} {'after':>7s} {'cost':>7s}   "
        f"{'min before':>10s} {'after':>7s} {'cost':>7s}"
    )
    print(header + "\n" + "-" * len(header))
    pool = shared_pool()
    for label, relative in FILES:
        path = args.data / relative
        arguments = request(path)
        steps: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
            (
                "decode only",
                lambda a=arguments: decode_frame(*a[1:]),
                lambda a=arguments: pool.decode(*a),
            ),
            (
                "load_image",
                in_process_action(lambda p=path: load_image(p)),
                lambda p=path: load_image(p),
            ),
        ]
        if predictor is not None:
            steps.append(
                (
                    "open-to-heatmap",
                    in_process_action(lambda p=path: predictor.predict(p)),
                    lambda p=path: predictor.predict(p),
                )
            )
        for step, before_action, after_action in steps:
            before, after = compare(before_action, after_action, args.runs)
            b, a = statistics.median(before), statistics.median(after)
            print(
                f"{label:38s} {step:16s} {b:13.1f} {a:7.1f} {a - b:+7.1f}   "
                f"{min(before):10.1f} {min(after):7.1f} {min(after) - min(before):+7.1f}"
            )
    native = request(args.data / TRANSPORT_FILE)
    before, after = compare(
        lambda: decode_frame(*native[1:]), lambda: pool.decode(*native), args.runs * 3
    )
    print(
        f"\nThe pool's own cost, measured where decoding is nearly free: {TRANSPORT_FILE} "
        f"({len(native[3]) / 2**20:.1f} MiB uncompressed, 2k 16-bit) sent through the pool, "
        f"{args.runs * 3} runs: median {statistics.median(after) - statistics.median(before):+.1f}"
        f" ms, minimum {min(after) - min(before):+.1f} ms"
    )
    print(
        f"\nStarting a decoder worker (once; the viewer does it when its window shows): "
        f"{worker_start_ms(args.data / FILES[1][1]):.0f} ms"
    )


if __name__ == "__main__":
    main()
