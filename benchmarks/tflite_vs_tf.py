"""Forward-pass throughput of a bundle's networks: TensorFlow (as served) vs TFLite, side by side.

Why: batch triage wants >= 150 images/s on 2 cores. The served path is the bundle's
:class:`~engine.inference.scorer.Scorer` (every member, every test-time view); this script
prints its images/s on inputs already in memory, and the same networks converted to TFLite
(which ships inside TensorFlow; XNNPACK kernels, ``--threads`` threads), one view and all
views, and the largest |difference| of the probabilities the two runtimes give.

Usage::

    .venv/bin/python benchmarks/tflite_vs_tf.py [--model DIR] [--batch 32] [--batches 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.inference.predictor import Predictor  # noqa: E402
from engine.runtime import TENSORFLOW, tensorflow  # noqa: E402


def tflite_runner(model: Any, batch: int, threads: int) -> Any:
    """A function ``run(x) -> probabilities`` over a TFLite copy of ``model`` at ``batch``."""
    tf = tensorflow()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    flat = converter.convert()
    interpreter = tf.lite.Interpreter(model_content=flat, num_threads=threads)
    entry = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(entry["index"], [batch, *model.input_shape[1:]])
    interpreter.allocate_tensors()
    output = interpreter.get_output_details()[0]["index"]

    def run(x: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(entry["index"], x)
        interpreter.invoke()
        return np.asarray(interpreter.get_tensor(output)).reshape(-1)

    return run


def rate(run: Any, x: np.ndarray, batches: int) -> float:
    """Images per second of ``run(x)`` over ``batches`` calls after one warm-up call."""
    run(x)
    started = time.perf_counter()
    for _ in range(batches):
        run(x)
    return len(x) * batches / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=REPO / "resources" / "models" / "default")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    predictor = Predictor.load(args.model, runtime=TENSORFLOW)  # its Keras models are converted
    scorer = predictor.scorer
    views = scorer.views
    print(
        f"{predictor.model_id}: {len(scorer.members)} network(s) x {views} view(s) "
        f"({', '.join(scorer.tta.views)}) on {predictor.device}"
    )
    rng = np.random.default_rng(0)
    images = [rng.random((224, 224), dtype=np.float32) for _ in range(args.batch)]
    inputs = [scorer.inputs(pixels) for pixels in images]
    scorer.raw(inputs)  # warm up: traces the forward pass for this batch size
    started = time.perf_counter()
    for _ in range(args.batches):
        scorer.raw(inputs)
    served = args.batch * args.batches / (time.perf_counter() - started)
    print(f"{'TensorFlow, as served (all views)':40s} {served:7.1f} images/s")
    single_view = 0.0
    tflite_all = 0.0
    worst = 0.0
    for index, member in enumerate(scorer.members):
        x = scorer.network_batch(inputs, index)  # (batch * views, h, w, c)
        one = np.ascontiguousarray(x[::views])
        run_one = tflite_runner(member.model, len(one), args.threads)
        run_all = tflite_runner(member.model, len(x), args.threads)
        single_view += 1.0 / rate(run_one, one, args.batches)
        tflite_all += 1.0 / (rate(run_all, x, args.batches) / views)
        reference = np.asarray(member.model.predict_on_batch(one)).reshape(-1)
        worst = max(worst, float(np.abs(run_one(one) - reference).max()))
    print(f"{'TFLite, all views':40s} {1.0 / tflite_all:7.1f} images/s")
    print(f"{'TFLite, identity view only':40s} {1.0 / single_view:7.1f} images/s")
    print(f"largest |p_tflite - p_tf| on these inputs: {worst:.2e}")


if __name__ == "__main__":
    main()
