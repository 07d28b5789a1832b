"""Inference runtimes side by side on a bundle, then LiteRT's quantisations (issue 18, item 2).

Why: the runtime the reading room ships is chosen by measurement. One graph — every test-time
view in, probability and class activation map out (what the engine serves for a
global-average-pooling head, :mod:`benchmarks.runtime_graphs`) — runs in one process on
TensorFlow (``tf.function``, as ``HILUM_RUNTIME=tensorflow`` serves it), LiteRT (XNNPACK),
ONNX Runtime (tf2onnx) and OpenVINO (``convert_model``), all in the served path's chunks of
rows, 2 threads. Per runtime:

* images/s with all views batched, inputs in memory (``--batch`` external images);
* single-image latency: one image's views in one call, median of ``--latency-runs``;
* resident memory the runtime added (VmRSS after its runs minus before it was loaded; the
  conversions run first; TensorFlow's row: only its runs, the model being loaded already);
* agreement with TensorFlow on every image of ``--external``: largest |p - p_TF| (mean over
  views, raw) and largest |map - map_TF| (each map divided by its peak, as shown).

Then LiteRT at float32, float16, dynamic-range int8 and full int8 (``--representative`` images
of ``--train``): external AUC, accuracy, sensitivity, specificity at the card's threshold (the
card's calibration applied), labels flipped against TensorFlow's, the robustness battery the card
reports (:mod:`engine.evaluation.robustness`, 100 images per class, seed 0; worst change with
its worse class's flip rate, as the card; largest difference of a change's flip rate) and
speed. TensorFlow's row is the reference of the flips and differences.

Usage::

    .venv/bin/python benchmarks/runtimes.py [--model DIR] [--external DIR] [--train DIR]
        [--batch 32] [--repeats 3] [--latency-runs 20] [--representative 200] [--no-quantisation]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import runtime_graphs as graphs  # noqa: E402
from engine.evaluation.metrics import compute_metrics  # noqa: E402
from engine.evaluation.robustness import measure_robustness, sample_images  # noqa: E402
from engine.imaging.images import load_image  # noqa: E402
from engine.imaging.radiograph import FloatImage  # noqa: E402
from engine.inference.predictor import Predictor  # noqa: E402
from engine.inference.scorer import Scorer  # noqa: E402
from engine.modeling.labelled_folders import find_data_folders  # noqa: E402
from engine.runtime import FORWARD_ROWS, TENSORFLOW  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "chest_xray"
CHUNK = 32  # images per block when a whole set is scored (bounds the inputs held at once)


def rss_mb() -> float:
    """This process's resident memory now, in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def scores(
    call: graphs.Call, scorer: Scorer, pixels: Sequence[FloatImage]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]:
    """Raw probability (mean over views) and the identity view's peak-normalised map of each
    image, through ``call`` in the served chunks of rows."""
    probabilities: list[npt.NDArray[np.float64]] = []
    maps: list[npt.NDArray[np.float32]] = []
    for start in range(0, len(pixels), CHUNK):
        inputs = [scorer.inputs(image) for image in pixels[start : start + CHUNK]]
        p, cam = graphs.run_chunked(call, scorer.network_batch(inputs, 0))
        probabilities.append(p.reshape(len(inputs), scorer.views).mean(axis=1, dtype=np.float64))
        shown = cam[:: scorer.views]
        peaks = shown.max(axis=(1, 2), keepdims=True)
        maps.append(shown / np.where(peaks > 0, peaks, 1.0))
    return np.concatenate(probabilities), np.concatenate(maps)


def speed(
    call: graphs.Call, batch: npt.NDArray[np.float32], views: int, args: argparse.Namespace
) -> tuple[float, float]:
    """(images/s over ``batch`` with all views, median ms of one image's views in one call)."""
    graphs.run_chunked(call, batch)  # warm up
    started = time.perf_counter()
    for _ in range(args.repeats):
        graphs.run_chunked(call, batch)
    rate = len(batch) / views * args.repeats / (time.perf_counter() - started)
    one = batch[:views]
    call(one)
    times = []
    for _ in range(args.latency_runs):
        started = time.perf_counter()
        call(one)
        times.append(time.perf_counter() - started)
    return rate, 1000.0 * statistics.median(times)


def side_by_side(
    predictor: Predictor, pixels: list[FloatImage], args: argparse.Namespace, folder: Path
) -> dict[str, graphs.Call]:
    """Print the runtimes' table; return TensorFlow's and LiteRT's float32 calls (the
    quantisations' references)."""
    scorer = predictor.scorer
    member = scorer.members[0]
    inputs = [scorer.inputs(image) for image in pixels[: args.batch]]
    batch = scorer.network_batch(inputs, 0)
    served, graph = graphs.served_call(member)
    # Conversions first, so that the memory a runtime adds is its own, not its converter's.
    flat = graphs.litert_flatbuffer(graphs.frozen(graph))
    onnx = graphs.onnx_file(graph, folder)
    openvino = graphs.openvino_model(graph)
    loaders: dict[str, Callable[[], graphs.Call]] = {
        "TensorFlow tf.function (served)": lambda: served,
        "LiteRT float32 (XNNPACK)": lambda: graphs.litert_call(flat),
        "ONNX Runtime (tf2onnx)": lambda: graphs.onnx_call(onnx),
        "OpenVINO f32": lambda: graphs.openvino_call(openvino, "f32"),
        "OpenVINO bf16 (its default here)": lambda: graphs.openvino_call(openvino, "bf16"),
    }
    print(
        f"{predictor.model_id}: 1 network x {scorer.views} views ({', '.join(scorer.tta.views)}),"
        f" {len(pixels)} external images; calls of <= {FORWARD_ROWS} rows, {graphs.THREADS} threads"
    )
    print(
        f"{'runtime':34s} {'images/s':>9s} {'1 image ms':>11s} {'RSS +MB':>8s} "
        f"{'max|dp| vs TF':>14s} {'max|dmap|':>10s}"
    )
    reference: tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]] | None = None
    kept: dict[str, graphs.Call] = {}
    for name, load in loaders.items():
        before = rss_mb()
        call = load()
        rate, latency = speed(call, batch, scorer.views, args)
        p, maps = scores(call, scorer, pixels)
        added = rss_mb() - before
        if reference is None:
            reference = (p, maps)
        dp = float(np.abs(p - reference[0]).max())
        dmap = float(np.abs(maps - reference[1]).max())
        print(f"{name:34s} {rate:9.1f} {latency:11.1f} {added:8.0f} {dp:14.1e} {dmap:10.1e}")
        if name.startswith(("TensorFlow", "LiteRT")):
            kept[name.split(" (")[0]] = call
    return kept


def representative_set(
    scorer: Scorer, train: Path, count: int
) -> Iterator[list[npt.NDArray[np.float32]]]:
    """``count`` training images (every view, one row at a time), chosen with seed 0."""
    data = find_data_folders(train).train
    chosen = np.random.default_rng(0).permutation(len(data.paths))[:count]
    for index in chosen:
        x = scorer.network_batch([scorer.inputs(load_image(data.paths[index]).pixels)], 0)
        for row in x:
            yield [row[np.newaxis]]


def quantisations(
    predictor: Predictor,
    pixels: list[FloatImage],
    labels: list[int],
    reference: dict[str, graphs.Call],
    args: argparse.Namespace,
) -> None:
    """Print LiteRT's quantised variants after ``reference`` (TensorFlow's and LiteRT's float32
    calls): metrics, labels flipped and robustness against TensorFlow's, speed."""
    scorer = predictor.scorer
    member = scorer.members[0]
    calibration = predictor.bundle.card.calibration
    threshold = predictor.threshold
    _, graph = graphs.served_call(member)
    function = graphs.frozen(graph)
    battery_pixels, battery_labels, _ = sample_images(
        find_data_folders(args.external).train, 100, 0
    )
    batch = scorer.network_batch([scorer.inputs(image) for image in pixels[: args.batch]], 0)
    variants = dict(reference)
    for kind in ("float16", "dynamic-int8", "int8"):
        started = time.perf_counter()
        representative = (
            (lambda: representative_set(scorer, args.train, args.representative))
            if kind == "int8"
            else None
        )
        flat = graphs.litert_flatbuffer(function, kind, representative)
        print(
            f"converted {kind}: {len(flat) / 1e6:.1f} MB in {time.perf_counter() - started:.0f} s"
        )
        variants[kind] = graphs.litert_call(flat)
    print(
        f"\nLiteRT quantisation on {len(pixels)} external images at the card's threshold "
        f"{threshold:.3f}; robustness on {len(battery_pixels)} (100 per class, seed 0)"
    )
    print(
        f"{'variant':26s} {'AUC':>6s} {'acc':>6s} {'sens':>6s} {'spec':>6s} {'flips':>6s} "
        f"{'max|dp|':>8s} {'worst rob. (class)':>20s} {'max|d flip|':>12s} {'images/s':>9s} "
        f"{'1 image ms':>11s}"
    )
    base: tuple[npt.NDArray[np.float64], list[float]] | None = None
    for kind, call in variants.items():

        def calibrated(images: Sequence[FloatImage], run: graphs.Call = call) -> np.ndarray:
            return np.asarray(calibration.apply(scores(run, scorer, images)[0]))

        p = calibrated(pixels)
        metrics = compute_metrics(labels, p, threshold)
        report = measure_robustness(
            calibrated, battery_pixels, battery_labels, threshold, seed=0, data=str(args.external)
        )
        assert report is not None  # no should_stop given
        rates = [change.flip_rate for change in report.changes]
        if base is None:
            base = (p, rates)
        flips = int(((p >= threshold) != (base[0] >= threshold)).sum())
        drift = max(abs(a - b) for a, b in zip(rates, base[1], strict=True))
        worst_class = max(report.worst.flip_rate_normal, report.worst.flip_rate_pneumonia)
        worst = f"{report.worst.name} {worst_class:.1%}"
        rate, latency = speed(call, batch, scorer.views, args)
        print(
            f"{kind:26s} {metrics.auc or 0:6.4f} {metrics.accuracy:6.3f} "
            f"{metrics.sensitivity:6.3f} {metrics.specificity:6.3f} {flips:6d} "
            f"{float(np.abs(p - base[0]).max()):8.1e} {worst:>20s} {drift:12.1%} {rate:9.1f} "
            f"{latency:11.1f}"
        )
        print(
            "    flip rate per change: "
            + ", ".join(f"{c.name} {c.flip_rate:.1%}" for c in report.changes)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=REPO / "resources" / "models" / "default")
    parser.add_argument("--external", type=Path, default=DATA / "external")
    parser.add_argument("--train", type=Path, default=DATA / "train")
    parser.add_argument("--batch", type=int, default=32, help="images in the throughput batch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency-runs", type=int, default=20)
    parser.add_argument("--representative", type=int, default=200)
    parser.add_argument("--no-quantisation", action="store_true")
    args = parser.parse_args()
    predictor = Predictor.load(args.model, runtime=TENSORFLOW)
    if len(predictor.scorer.members) != 1:
        raise SystemExit("This benchmark measures a single-network bundle (the shipped one).")
    external = find_data_folders(args.external).train
    pixels = [load_image(path).pixels for path in external.paths]
    with tempfile.TemporaryDirectory() as folder:
        reference = side_by_side(predictor, pixels, args, Path(folder))
    if not args.no_quantisation:
        quantisations(predictor, pixels, list(external.labels), reference, args)


if __name__ == "__main__":
    main()
