"""One inference graph (probability + class activation map) exported to each runtime benchmarked.

Why a module of its own: :mod:`benchmarks.runtimes` compares the runtimes side by side and the
LiteRT quantisations; both need the same graph in every runtime. The graph is the one the
engine serves for a global-average-pooling head (:attr:`engine.inference.gradcam.GradCam.
single_pass`): a batch of network inputs in, the sigmoid probability and the ReLU'd class
activation map (conv grid, not yet normalised) out. tf2onnx and OpenVINO read the traced
``tf.function``; LiteRT's converter reads it with the variables frozen (:func:`frozen`).

Every runtime is wrapped as ``call(x) -> [probabilities, maps]`` and run through
:func:`engine.runtime.in_row_chunks` like the served path, so all see the same chunks of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.inference.gradcam import GradCam
from engine.modeling.bundles import Member
from engine.runtime import in_row_chunks, tensorflow

Outputs = list[npt.NDArray[np.float32]]
#: A runtime's forward call on a chunk of rows: ``[probabilities (n,), maps (n, h, w)]``.
Call = Callable[[npt.NDArray[np.float32]], Outputs]
THREADS = 2


def served_call(member: Member) -> tuple[Call, Any]:
    """TensorFlow as the engine serves it: the traced single-pass ``tf.function`` of
    :class:`GradCam` (the Grad-CAM map before normalisation), and that function."""
    cam = GradCam(member.model, member.gradcam_layer)
    if not cam.single_pass:
        raise SystemExit(f"{member.gradcam_layer}: the member's head needs the backward pass.")
    graph = cam._run  # the traced function the engine calls (benchmark-only access)

    def call(x: npt.NDArray[np.float32]) -> Outputs:
        return [np.asarray(out, dtype=np.float32) for out in graph(x)]

    return call, graph


def frozen(graph: Any) -> Any:
    """The traced graph with its variables folded into constants (LiteRT's converter reads a
    variable-free concrete function; with the variables kept, its outputs were NaN)."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    return convert_variables_to_constants_v2(graph.get_concrete_function())


def litert_flatbuffer(
    function: Any,
    quantisation: str = "float32",
    representative: Callable[[], Iterator[list[npt.NDArray[np.float32]]]] | None = None,
) -> bytes:
    """The graph converted to LiteRT: ``float32``, ``float16`` (weights), ``dynamic-int8``
    (weights int8, activations quantised on the fly) or ``int8`` (full integer kernels from a
    representative set; float input and outputs kept)."""
    tf = tensorflow()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function])
    if quantisation != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantisation == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif quantisation == "int8":
        if representative is None:
            raise ValueError("full-integer quantisation needs a representative set")
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
            tf.lite.OpsSet.TFLITE_BUILTINS,
        ]
    flat: bytes = converter.convert()
    return flat


def litert_call(flatbuffer: bytes) -> Call:
    """A LiteRT interpreter (XNNPACK, :data:`THREADS` threads) over ``flatbuffer``."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=flatbuffer, num_threads=THREADS)
    entry = interpreter.get_input_details()[0]["index"]
    outputs = sorted(interpreter.get_output_details(), key=lambda out: len(out["shape"]))
    rows = [-1]

    def call(x: npt.NDArray[np.float32]) -> Outputs:
        if rows[0] != len(x):
            interpreter.resize_tensor_input(entry, list(x.shape))
            interpreter.allocate_tensors()
            rows[0] = len(x)
        interpreter.set_tensor(entry, x)
        interpreter.invoke()
        return [np.array(interpreter.get_tensor(out["index"])) for out in outputs]

    return call


def onnx_file(graph: Any, folder: Path) -> Path:
    """The graph converted with tf2onnx (opset 17), written to ``folder``."""
    import tf2onnx

    path = folder / "graph.onnx"
    tf2onnx.convert.from_function(
        graph, input_signature=graph.input_signature, opset=17, output_path=str(path)
    )
    return path


def onnx_call(path: Path) -> Call:
    """ONNX Runtime (CPU provider, :data:`THREADS` threads) over the ONNX file ``path``."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    ranks = [len(out.shape) for out in session.get_outputs()]
    order = sorted(range(len(ranks)), key=ranks.__getitem__)

    def call(x: npt.NDArray[np.float32]) -> Outputs:
        out = session.run(None, {name: x})
        return [np.asarray(out[i], dtype=np.float32) for i in order]

    return call


def openvino_model(graph: Any) -> Any:
    """The traced graph converted by ``openvino.convert_model``."""
    import openvino

    return openvino.convert_model(graph)


def openvino_call(model: Any, precision: str = "f32") -> Call:
    """OpenVINO's CPU plugin over a converted ``model``, :data:`THREADS` threads, at
    ``precision`` (``f32``; on a CPU with bfloat16 units OpenVINO's default is ``bf16``)."""
    import openvino

    compiled = openvino.Core().compile_model(
        model,
        "CPU",
        {"INFERENCE_NUM_THREADS": THREADS, "INFERENCE_PRECISION_HINT": precision},
    )
    request = compiled.create_infer_request()
    order = sorted(compiled.outputs, key=lambda out: len(out.get_partial_shape()))

    def call(x: npt.NDArray[np.float32]) -> Outputs:
        result = request.infer({0: x})
        return [np.asarray(result[out], dtype=np.float32) for out in order]

    return call


def run_chunked(call: Call, x: npt.NDArray[np.float32]) -> Outputs:
    """``call`` over ``x`` in the served path's chunks of rows."""
    return in_row_chunks(call, x)
