"""TensorFlow start-up and the device Hilum computes on.

TensorFlow is imported only through :func:`tensorflow`, which first sets the environment that
makes it fast and quiet on the workstation's CPU:

* ``TF_ENABLE_ONEDNN_OPTS=1``: oneDNN kernels train 1.5-2.2x faster on the target CPU (measured
  on a 2-core AVX2 CPU: the CNN at 128 px 83 -> 124 images/s, MobileNetV2 at 224 px 48 -> 98);
  they are off by default there.
* ``TF_CPP_MIN_LOG_LEVEL=2``: hide TensorFlow's C++ info/warning chatter from users.

A value the user already set wins (``setdefault``). A CUDA GPU is used automatically when
TensorFlow sees one; :func:`device` says which device runs.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

#: Most images one compiled forward call takes at a time. A network's activations for all the
#: rows of a call are alive together (MobileNetV2 at 224 px: 4.8 MB per image for its largest
#: layer alone), and the allocator keeps what it once held. Measured on the shipped model:
#: calls of 128 rows (32 files x 4 test-time views) raised the peak resident memory from 1.0 to
#: 3.3 GB and kept it there; over 128 rows in calls of 32, 16 and 8 rows the peak grew by 0.45,
#: 0.21 and 0.08 GB, at the same images per second on the CPU (53 and 52 at 32 and 8 rows).
FORWARD_ROWS = 8


@cache
def tensorflow() -> ModuleType:
    """Import TensorFlow once, with Hilum's environment, and return the module."""
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    module: ModuleType = tf
    return module


@dataclass(frozen=True)
class Device:
    """Where models run: ``kind`` is ``"GPU"`` or ``"CPU"``; ``name`` is for people."""

    kind: str
    name: str
    count: int

    def __str__(self) -> str:
        return self.name


@cache
def device() -> Device:
    """The device TensorFlow will use: the local GPU(s) when visible, otherwise the CPU."""
    tf = tensorflow()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        try:
            details = tf.config.experimental.get_device_details(gpus[0])
            label = str(details.get("device_name", "GPU"))
        except (RuntimeError, ValueError):
            label = "GPU"
        suffix = f" x{len(gpus)}" if len(gpus) > 1 else ""
        return Device("GPU", f"GPU: {label}{suffix}", len(gpus))
    cores = os.cpu_count() or 1
    return Device("CPU", f"CPU ({cores} cores, no GPU found)", 1)


def in_row_chunks(
    call: Any, images: npt.NDArray[np.float32], rows: int = FORWARD_ROWS
) -> list[npt.NDArray[np.float32]]:
    """``call`` (a compiled forward function: one tensor or a list of tensors out, each with one
    row per image) on at most ``rows`` images at a time; each output concatenated over the
    chunks, as float32 numpy arrays. Bounds the memory of a forward pass (:data:`FORWARD_ROWS`).
    """
    parts: list[list[npt.NDArray[np.float32]]] = []
    for start in range(0, max(1, len(images)), rows):
        outputs = call(images[start : start + rows])
        outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
        parts.append([np.asarray(output, dtype=np.float32) for output in outputs])
    return [np.concatenate(chunks) for chunks in zip(*parts, strict=True)]


def start_compute_threads(niceness: int) -> None:
    """Start TensorFlow's runtime, and with it its pool of compute threads, ``niceness`` lower.

    Why: on Linux a thread inherits its creator's niceness, so the pool started from a helper
    thread that lowered its own priority runs lower, while the thread that calls the model keeps
    its priority. Only threads that never hold Python's lock are lowered (TensorFlow is imported
    first, by the caller): a lowered Python thread, preempted while holding the lock, makes every
    other thread wait (:mod:`engine.workflows.training_process`). Elsewhere, or once the runtime
    runs, this changes nothing.
    """
    tf = tensorflow()
    if sys.platform != "linux":
        return

    def start() -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
        tf.constant(0)  # the first operation starts the runtime and its thread pools

    helper = threading.Thread(target=start, name="hilum-compute-start")
    helper.start()
    helper.join()
