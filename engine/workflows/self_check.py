"""Headless checks that an installation works end to end (the engine half of ``--self-test``).

Proves what a workstation needs before a radiographer relies on it: the default model bundle
loads (checksum and card), every DICOM decoder plugin was installed (each transfer syntax of
:mod:`engine.imaging.dicom_samples` is written and read back), and a prediction with its heatmap
comes out of both a DICOM and a JPEG. Used by ``hilum --self-test`` from source and in the
PyInstaller bundle, where a missing plugin or data file shows up here rather than in front of a
patient's image.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from engine.errors import HilumError
from engine.imaging.dicom_samples import WRITERS, write_sample


@dataclass(frozen=True)
class Check:
    """One check's outcome: ``detail`` says what was found or what failed."""

    name: str
    ok: bool
    seconds: float
    detail: str


def versions() -> dict[str, str]:
    """Versions of Python and the packages Hilum's behaviour depends on."""
    found = {"python": platform.python_version()}
    for package in (
        "hilum",
        "ai-edge-litert",
        "tensorflow",
        "keras",
        "numpy",
        "pillow",
        "pydicom",
        "pylibjpeg",
        "pylibjpeg-openjpeg",
        "pylibjpeg-rle",
        "pyjpegls",
        "python-gdcm",
        "pyside6-essentials",
    ):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def phantom(size: int = 512) -> npt.NDArray[np.uint8]:
    """A synthetic chest-like image (bright mediastinum and ribs, dark lungs) for smoke tests.

    Only proves that the pipeline runs; says nothing about the model's accuracy.
    """
    y, x = np.mgrid[0:size, 0:size] / size
    body = np.exp(-(((x - 0.5) / 0.42) ** 6 + ((y - 0.55) / 0.48) ** 6))
    lungs = np.exp(-(((np.abs(x - 0.5) - 0.2) / 0.13) ** 2 + ((y - 0.5) / 0.28) ** 2))
    ribs = 0.15 * (np.sin(y * 60) > 0.6) * lungs
    image = 0.85 * body - 0.55 * lungs + ribs + 0.15 * np.exp(-(((x - 0.5) / 0.06) ** 2))
    phantom_image: npt.NDArray[np.uint8] = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    return phantom_image


def timed(name: str, action: Callable[[], str]) -> Check:
    """Run ``action`` (which returns what it found) as the check ``name``; a failure it raises
    becomes a failed :class:`Check` with the error, so that the self-test goes on."""
    start = time.perf_counter()
    try:
        detail = action()
        return Check(name, True, time.perf_counter() - start, detail)
    except (HilumError, OSError, RuntimeError, ValueError, KeyError, ImportError) as error:
        return Check(name, False, time.perf_counter() - start, f"{type(error).__name__}: {error}")


def run_checks(model_dir: str | os.PathLike[str] | None) -> list[Check]:
    """Run every check; never raises for a failed check (it is reported as ``ok=False``)."""
    from engine.imaging.images import load_image
    from engine.inference.predictor import Predictor
    from engine.runtime import device, tensorflow_installed

    checks: list[Check] = []
    if model_dir is None:
        if tensorflow_installed():  # what training uses; the reading room has LiteRT only
            checks.append(timed("device", lambda: str(device())))
        checks.append(Check("default model", False, 0.0, "no default model bundle is installed"))
        return checks
    loaded: list[Predictor] = []

    def load() -> str:
        loaded.append(Predictor.load(model_dir))
        return f"{loaded[0].model_id} ({Path(model_dir).name})"

    checks.append(timed("load model", load))
    # The device and runtime the model reads images with (LiteRT needs no TensorFlow).
    checks.append(timed("device", lambda: str(loaded[0].device if loaded else device())))
    pixels = phantom()
    with tempfile.TemporaryDirectory(prefix="hilum-selftest-") as folder:
        jpeg = Path(folder) / "phantom.jpg"
        Image.fromarray(pixels).save(jpeg, quality=95)
        samples = [jpeg] + [write_sample(pixels, folder, syntax) for syntax in WRITERS]
        for sample in samples:
            name = f"read {sample.stem}"

            def read_and_predict(path: Path = sample) -> str:
                image = load_image(path)
                if not loaded:
                    return f"{image.width}x{image.height} read (no model to predict with)"
                prediction = loaded[0].predict(image)
                heatmap = prediction.heatmap
                if heatmap is None or heatmap.shape != image.pixels.shape:
                    raise ValueError("the heatmap is missing or not at the image's size")
                if not 0.0 <= prediction.probability <= 1.0:
                    raise ValueError(f"probability {prediction.probability} is outside [0, 1]")
                return (
                    f"{image.transfer_syntax or image.format}: p={prediction.probability:.3f}"
                    f" heatmap {heatmap.shape[1]}x{heatmap.shape[0]}"
                )

            checks.append(timed(name, read_and_predict))
    return checks
