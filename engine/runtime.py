"""TensorFlow start-up and the device Hilum computes on.

TensorFlow is imported only through :func:`tensorflow`, which first sets the environment that
makes it fast and quiet on the workstation's CPU:

* ``TF_ENABLE_ONEDNN_OPTS=1``: oneDNN kernels train 1.5-2.2x faster on the target CPU (measured
  on a 2-core AVX2 CPU: the CNN at 128 px 83 -> 124 images/s, MobileNetV2 at 224 px 48 -> 98);
  they are off by default there.
* ``TF_CPP_MIN_LOG_LEVEL=2``: hide TensorFlow's C++ info/warning chatter from users.

A value the user already set wins (``setdefault``). A CUDA GPU is used automatically when
TensorFlow sees one; :func:`device` says which device runs.

**Which runtime reads images** (:func:`choose_runtime`): TensorFlow on a GPU it sees; otherwise
LiteRT with XNNPACK (``ai-edge-litert``, no TensorFlow needed) when every network of the bundle
was exported for it, since it runs the shipped 4-view MobileNetV2 2-3.5x faster on the CPU with
the same probabilities (``benchmarks/runtimes.py``, side by side with ONNX Runtime and OpenVINO:
28.8 vs 8.1 images/s under load, |dp| <= 3.1e-6 on the external set); otherwise
TensorFlow. ``HILUM_RUNTIME=tensorflow|litert`` forces one (tests, benchmarks). Looking for a GPU
never imports TensorFlow when it is not installed (the reading-room installation).

The reading room (the core install, and its PyInstaller edition) has no TensorFlow:
:func:`training_available` is the one place that says whether this installation is the full
workstation, and :func:`require_training` raises the message that says how to get it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from engine.errors import ConfigError, TrainingUnavailableError

#: Most images one compiled forward call takes at a time. A network's activations for all the
#: rows of a call are alive together (MobileNetV2 at 224 px: 4.8 MB per image for its largest
#: layer alone), and the allocator keeps what it once held. Measured on the shipped model:
#: calls of 128 rows (32 files x 4 test-time views) raised the peak resident memory from 1.0 to
#: 3.3 GB and kept it there; over 128 rows in calls of 32, 16 and 8 rows the peak grew by 0.45,
#: 0.21 and 0.08 GB, at the same images per second on the CPU (53 and 52 at 32 and 8 rows).
T = TypeVar("T")

FORWARD_ROWS = 8

TENSORFLOW = "tensorflow"
LITERT = "litert"
#: The runtimes Hilum can read images with (values of ``HILUM_RUNTIME``).
RUNTIMES = (TENSORFLOW, LITERT)
RUNTIME_VARIABLE = "HILUM_RUNTIME"


@cache
def tensorflow() -> ModuleType:
    """Import TensorFlow once, with Hilum's environment, and return the module."""
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ModuleNotFoundError as error:  # the reading room: say so, not a bare ImportError
        raise TrainingUnavailableError("This step", ["TensorFlow"]) from error

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


def installed(module: str) -> bool:
    """Whether top-level ``module`` can be imported here (looked up, never imported)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # an import hook refusing it, or a broken installation
        return False


def tensorflow_installed() -> bool:
    """Whether TensorFlow can be imported here (without importing it)."""
    return installed("tensorflow")


def tensorflow_gpu() -> bool:
    """Whether TensorFlow is installed and sees a GPU.

    TensorFlow is imported only when it is installed and a GPU is possible at all: its GPU
    builds run on Linux only (native Windows and macOS have none since 2.11), with the NVIDIA
    driver loaded (``/proc/driver/nvidia``) or, under WSL2, the GPU bridge (``/dev/dxg``).
    Elsewhere the answer is known without the seconds TensorFlow takes to import.
    """
    if not sys.platform.startswith("linux") or not tensorflow_installed():
        return False
    if not any(Path(path).exists() for path in ("/proc/driver/nvidia", "/dev/dxg")):
        return False
    return device().kind == "GPU"


def choose_runtime(exported: bool) -> str:
    """The runtime that reads images (see the module docstring).

    Args:
        exported: every network of the bundle has a LiteRT export with a class activation map
            (its head needs no backward pass).

    Returns:
        :data:`TENSORFLOW` or :data:`LITERT`.

    Raises:
        ConfigError: ``HILUM_RUNTIME`` holds something else.
    """
    forced = os.environ.get(RUNTIME_VARIABLE, "").strip().lower()
    if forced:
        if forced not in RUNTIMES:
            raise ConfigError(
                f"{RUNTIME_VARIABLE} is '{forced}'; expected one of {', '.join(RUNTIMES)} "
                "(or unset it to let Hilum choose)."
            )
        return forced
    if tensorflow_gpu() or not exported:
        return TENSORFLOW
    return LITERT


def litert_threads() -> int:
    """Threads a LiteRT interpreter uses: one per core."""
    return os.cpu_count() or 1


def runtime_device(runtime: str) -> Device:
    """The device and runtime that read images, for people (the viewer's status line)."""
    if runtime == LITERT:
        return Device("CPU", f"CPU · LiteRT (XNNPACK, {litert_threads()} threads)", 1)
    found = device()
    return Device(found.kind, f"{found.name} · TensorFlow", found.count)


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


#: What the full workstation adds to the reading room (the ``train`` extra), by import name,
#: with the name a person installs it by. The reading room (view, predict, triage, PACS, PDF)
#: needs none of them.
TRAINING_MODULES = {"tensorflow": "TensorFlow", "sklearn": "scikit-learn", "scipy": "SciPy"}


def training_missing() -> list[str]:
    """The packages of the full workstation that this installation lacks (none: it can train).

    Looks the modules up without importing them, so asking is cheap and never loads TensorFlow.
    """
    return [package for module, package in TRAINING_MODULES.items() if not installed(module)]


def training_available() -> bool:
    """True when this is the full workstation: training and the Training tab can run."""
    return not training_missing()


def require_training(what: str) -> None:
    """Raise :class:`TrainingUnavailableError` saying that ``what`` (e.g. "Training") needs the
    full workstation, when a package of it is missing; return quietly otherwise."""
    missing = training_missing()
    if missing:
        raise TrainingUnavailableError(what, missing)


#: How much lower (POSIX ``nice``) the model's compute threads run than the thread that calls
#: the model: a process-wide policy, set once by the application (the viewer lowers them so that
#: its window gets a core first during a burst); 0 leaves them as they are.
_compute_niceness = 0


def set_compute_niceness(niceness: int) -> None:
    """Run compute threads started from now on ``niceness`` lower (see :func:`lowered`)."""
    global _compute_niceness
    _compute_niceness = max(0, int(niceness))


def lower_this_thread(niceness: int) -> None:
    """Make the calling thread at least ``niceness`` nice (Linux, where niceness belongs to a
    thread; elsewhere nothing). Never raises it: a process started nicer stays so (raising needs
    privileges)."""
    if sys.platform == "linux":
        thread = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, max(current, niceness))


def _lower_this_thread() -> None:
    lower_this_thread(_compute_niceness)


@cache
def _compute_thread() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, "hilum-compute", initializer=_lower_this_thread)


def on_compute_thread(work: Callable[[], T]) -> T:
    """``work()`` — a call into a runtime that releases Python's lock while it computes (LiteRT's
    ``invoke``) — run on one process-wide thread at the compute niceness, when one is set; here
    otherwise.

    Why: XNNPACK's pool computes on the thread that invokes it too, so with the model's owner
    thread invoking, half the arithmetic ran at the window's priority and a burst of received
    images kept the GUI thread waiting for a core. The compute thread holds Python's lock only
    to pick up work and hand back results, so lowering it risks no long priority inversion.
    """
    if _compute_niceness <= 0:
        return work()
    return _compute_thread().submit(work).result()


def in_lowered_thread(make: Callable[[], T], niceness: int) -> T:
    """``make()``, run on a short-lived helper thread at least ``niceness`` nice, and its result:
    the threads and processes it starts inherit the lower priority (Linux) while the caller keeps
    its own.

    Raises:
        Exception: whatever ``make`` raised.
    """
    done: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            lower_this_thread(niceness)
            done.append(make())
        except BaseException as error:  # handed to the caller's thread
            failed.append(error)

    helper = threading.Thread(target=run, name="hilum-lowered-start")
    helper.start()
    helper.join()
    if failed:
        raise failed[0]
    return done[0]


def lowered(make: Callable[[], T]) -> T:
    """``make()``, run at the compute niceness (:func:`set_compute_niceness`) so that the threads
    it starts (a runtime's pool of compute threads) inherit the lower priority, and its result.

    Why: on Linux a thread inherits its creator's niceness, so a pool started from a lowered
    helper runs lower, while the thread that calls the model keeps its priority. Only threads
    that never hold Python's lock for long are lowered: a lowered Python thread, preempted while
    holding the lock, makes every other thread wait (:mod:`engine.workflows.training_process`).
    With no niceness set, or elsewhere than Linux, ``make`` runs here.

    Raises:
        Exception: whatever ``make`` raised.
    """
    if _compute_niceness <= 0 or sys.platform != "linux":
        return make()
    return in_lowered_thread(make, _compute_niceness)


def start_compute_threads() -> None:
    """Start TensorFlow's runtime, and with it its pool of compute threads, at the compute
    niceness (:func:`lowered`; TensorFlow is imported first, by the caller's thread). Once the
    runtime runs, this changes nothing."""
    tf = tensorflow()
    lowered(lambda: tf.constant(0))  # the first operation starts the runtime and its pools
