"""Inference speed of a model bundle: open-to-heatmap latency, batch throughput, peak memory.

Why a script and not a test: timings depend on the machine and its load; the targets of issue 4
(2-core CPU) are checked by reading this table, not by a flaky assertion.

Measures, in one process, with the runtime the predictor chose (``HILUM_RUNTIME=tensorflow`` or
``litert`` forces one; the header line names it):

* open-to-heatmap latency of :func:`engine.inference.predictor.predict` for a 2k x 2k DICOM
(uncompressed
  and JPEG 2000) and a 224 px JPEG: median of ``--runs`` warm runs, split into decode,
  preprocess (with the out-of-distribution check and the domain check's canonical copy), model
  (the forward pass of one view alone), CAM (the rest of the model call: the other test-time
  views in the same forward call, the class activation map, or the backward pass for a head
  that needs it) and heatmap resize; the total also holds the domain check's forward pass;
* batch throughput of :meth:`Predictor.predict_many` over the training JPEGs, without and with
  heatmaps;
* the seed notebooks' way on the same model (``keras.utils.image_dataset_from_directory`` +
  ``model.predict``), for the ratio, and the forward pass alone on inputs already in memory
  (the ceiling of any pipeline with this model);
* peak resident memory, also as it was before the seed notebooks' way ran (Keras's
  ``model.predict`` on batches of 32 holds its own activations; Hilum's path alone is the first
  figure).

Usage::

    .venv/bin/python benchmarks/inference_latency.py [--model DIR] [--limit N] [--runs 20]

Targets (issue 18, printed with a verdict beside each figure): open-to-heatmap 2k uncompressed
DICOM <= 50 ms, JPEG-LS <= 200 ms, JPEG 2000 <= 250 ms, 224 px JPEG <= 30 ms; batch triage with
all test-time views >= 50 images/s and >= 0.9x the runtime's forward pass alone on the same
views (inputs in memory); peak RSS <= 1.2 GB.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.imaging.images import load_image  # noqa: E402
from engine.inference.predictor import Predictor  # noqa: E402
from engine.modeling.bundles import load_bundle  # noqa: E402
from engine.modeling.preprocessing import preprocess  # noqa: E402
from engine.runtime import tensorflow  # noqa: E402

DEFAULT_MODEL = REPO / "resources" / "models" / "default"
#: Issue 18's open-to-heatmap targets (ms), by the row's label.
LATENCY_TARGETS_MS = {
    "2k DICOM uncompressed (RG1_UNCR)": 50.0,
    "2k DICOM JPEG-LS (RG1_JLSN)": 200.0,
    "2k DICOM JPEG 2000 (RG1_J2KR)": 250.0,
    "224 px JPEG": 30.0,
}
THROUGHPUT_TARGET = 50.0  # images/s, all views
CEILING_RATIO_TARGET = 0.9
RSS_TARGET_GB = 1.2


def verdict(met: bool) -> str:
    """How a figure compares with its target."""
    return "met" if met else "NOT MET"


def median_ms(values: list[float]) -> float:
    return 1000.0 * statistics.median(values)


def peak_gb() -> float:
    """Peak resident memory of this process so far, in GB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def latency(predictor: Predictor, path: Path, runs: int) -> dict[str, float]:
    """Median milliseconds per stage of ``runs`` warm predictions of ``path``."""
    model_only = predictor.scorer.runners[0]  # the runtime's own forward pass
    x = preprocess(load_image(path).pixels, predictor.bundle.card.preprocessing)[None]
    model_only.probabilities(x)
    forward = []
    for _ in range(runs):
        started = time.perf_counter()
        model_only.probabilities(x)
        forward.append(time.perf_counter() - started)
    predictor.predict(path)  # warm: file cache, decoder
    stages: dict[str, list[float]] = {}
    totals = []
    for _ in range(runs):
        started = time.perf_counter()
        result = predictor.predict(path)
        totals.append(time.perf_counter() - started)
        for stage, seconds in result.timings.items():
            stages.setdefault(stage, []).append(seconds)
    model_ms = median_ms(forward)
    return {
        "decode": median_ms(stages["decode"]),
        "preprocess": median_ms(stages["preprocess"]),
        "model": model_ms,
        "cam": median_ms(stages["model_cam"]) - model_ms,
        "resize": median_ms(stages["resize"]),
        "total": median_ms(totals),
    }


def throughput(predictor: Predictor, files: list[Path], batch_size: int, heatmaps: bool) -> float:
    """Images per second of ``predict_many`` over ``files``."""
    started = time.perf_counter()
    count = sum(
        result.prediction is not None
        for result in predictor.predict_many(files, batch_size=batch_size, with_heatmaps=heatmaps)
    )
    return count / (time.perf_counter() - started)


def model_ceiling(predictor: Predictor, batch_size: int, batches: int = 30) -> float:
    """Images per second of the forward pass alone over every test-time view of each image
    (``views`` rows per image), on inputs already in memory: the most a pipeline can reach."""
    model_only = predictor.scorer.runners[0]
    rows = batch_size * predictor.scorer.views
    x = np.random.default_rng(0).random(
        (rows, *predictor.bundle.card.preprocessing.input_shape), dtype=np.float32
    )
    model_only.probabilities(x)
    started = time.perf_counter()
    for _ in range(batches):
        model_only.probabilities(x)
    return batch_size * batches / (time.perf_counter() - started)


def seed_baseline(
    model: Any, train_dir: Path, limit: int, size: int, channels: int, scaling: str
) -> float:
    """Images per second the seed notebooks' way: image_dataset_from_directory + predict."""
    tensorflow()
    import keras

    batch = 32
    dataset = keras.utils.image_dataset_from_directory(
        train_dir,
        image_size=(size, size),
        batch_size=batch,
        shuffle=False,
        color_mode="grayscale" if channels == 1 else "rgb",
        verbose=False,
    )
    offset = 1.0 if scaling == "minus_one_one" else 0.0
    factor = 2.0 / 255.0 if scaling == "minus_one_one" else 1.0 / 255.0

    def scale(x: Any, y: Any) -> tuple[Any, Any]:
        return x * factor - offset, y

    dataset = dataset.map(scale)
    if limit:
        dataset = dataset.take(max(1, limit // batch))
    images = sum(int(x.shape[0]) for x, _ in dataset)
    started = time.perf_counter()
    model.predict(dataset, verbose=0)
    return images / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model",
        type=Path,
        default=DEFAULT_MODEL if DEFAULT_MODEL.exists() else None,
        help="bundle folder (default: resources/models/default)",
    )
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--limit", type=int, default=0, help="training images for throughput")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    if args.model is None:
        parser.error("no default model in resources/models/default: give --model DIR")
    started = time.perf_counter()
    predictor = Predictor.load(args.model)
    load_seconds = time.perf_counter() - started
    spec = predictor.bundle.card.preprocessing
    train_dir = args.data / "chest_xray" / "train"
    files = sorted(train_dir.glob("*/*.jpeg"))
    files = files[: args.limit] if args.limit else files
    jpeg = sorted((train_dir / "NORMAL").glob("*.jpeg"))[0]

    print(
        f"model {predictor.model_id} ({predictor.bundle.card.variant}, input {spec.input_shape}) "
        f"on {predictor.device}; loaded + warmed up in {load_seconds:.1f} s\n"
    )
    print(f"Open-to-heatmap latency, median of {args.runs} warm runs (ms)")
    print(
        f"{'image':34s} {'decode':>7s} {'prep':>7s} {'model':>7s} {'CAM':>7s} {'resize':>7s} "
        f"{'total':>7s}"
    )
    for label, path in (
        ("2k DICOM uncompressed (RG1_UNCR)", args.data / "dicom/RG1_UNCR.dcm"),
        ("2k DICOM JPEG-LS (RG1_JLSN)", args.data / "dicom/RG1_JLSN.dcm"),
        ("2k DICOM JPEG 2000 (RG1_J2KR)", args.data / "dicom/RG1_J2KR.dcm"),
        ("224 px JPEG", jpeg),
    ):
        row = latency(predictor, path, args.runs)
        target = LATENCY_TARGETS_MS[label]
        print(
            f"{label:34s} "
            + " ".join(
                f"{row[key]:7.1f}"
                for key in ("decode", "preprocess", "model", "cam", "resize", "total")
            )
            + f"  (target <= {target:.0f}: {verdict(row['total'] <= target)})"
        )

    print(f"\nBatch throughput over {len(files)} training JPEGs (batch {args.batch_size})")
    fast = throughput(predictor, files, args.batch_size, heatmaps=False)
    with_maps = throughput(predictor, files, args.batch_size, heatmaps=True)
    hilum_peak = peak_gb()
    keras_model = predictor.bundle.model or load_bundle(args.model).model  # None with LiteRT
    seed = seed_baseline(
        keras_model, train_dir, len(files), spec.image_size, spec.channels, spec.scaling
    )
    print(
        f"{'predict_many, probabilities':34s} {fast:7.0f} images/s  ({fast / seed:.1f}x seed; "
        f"target >= {THROUGHPUT_TARGET:.0f}: {verdict(fast >= THROUGHPUT_TARGET)})"
    )
    print(
        f"{'predict_many, with heatmaps':34s} {with_maps:7.0f} images/s  "
        f"({with_maps / seed:.1f}x seed)"
    )
    print(f"{'seed: dataset_from_directory+predict':34s} {seed:7.0f} images/s")
    ceiling = model_ceiling(predictor, args.batch_size)
    print(
        f"{'model alone, all views (in memory)':34s} {ceiling:7.0f} images/s  "
        f"({ceiling / seed:.1f}x seed: the most any pipeline can gain)"
    )
    ratio = fast / ceiling
    print(
        f"{'predict_many / model alone':34s} {ratio:7.2f}x  (target >= {CEILING_RATIO_TARGET}: "
        f"{verdict(ratio >= CEILING_RATIO_TARGET)}; each image also needs the domain check's "
        f"forward pass, one row more than its {predictor.scorer.views} views)"
    )
    print(
        f"\nPeak RSS {peak_gb():.2f} GB ({hilum_peak:.2f} GB before the seed way ran; target "
        f"<= {RSS_TARGET_GB} GB for Hilum's path: {verdict(hilum_peak <= RSS_TARGET_GB)})"
    )


if __name__ == "__main__":
    main()
