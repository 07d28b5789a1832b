"""Predicting with a model bundle: one image with its heatmap, or many images streamed.

Why a :class:`Predictor`: loading a bundle, building the Grad-CAM model and tracing its
``tf.function`` take seconds, predicting one image takes milliseconds. The viewer loads one
predictor per model and calls :func:`predict` for every image it opens (on a worker thread);
:class:`Prediction` is the only object that crosses back to the GUI.

The model runs through the bundle's :class:`~engine.inference.scorer.Scorer` (every member
network and test-time view, in the runtime :mod:`engine.inference.bundle_runtime` chose,
each fed by :func:`engine.modeling.preprocessing.preprocess` with
the preprocessing recorded in the card); the mean raw probability goes through the card's
calibration, and the label is decided at the card's threshold (``probability >= threshold`` is
PNEUMONIA). Every prediction carries the reader's warnings and the out-of-distribution check's
(:mod:`engine.inference.ood`).

:func:`predict_many` decodes files on a thread pool while the model runs on the previous batch,
reports a file that cannot be read as an error result without stopping, and stops between files
when ``should_stop()`` says so.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.errors import ImageReadError
from engine.imaging.images import load_image
from engine.imaging.radiograph import FloatImage, Radiograph
from engine.inference.age_check import age_warning
from engine.inference.bundle_runtime import open_networks, tensorflow_networks
from engine.inference.domain_features import DomainAssessment, DomainCheck, canonical_image
from engine.inference.domain_verdict import outside_sentence, validated_on
from engine.inference.gradcam import ZERO_MAP_NOTE, Method, upsample
from engine.inference.networks import Networks
from engine.inference.ood import OodCheck, OodReference, check_radiograph, load_ood_reference
from engine.inference.prediction import FileResult, Prediction, frame_note, label_for
from engine.inference.scorer import Scored, Scorer
from engine.modeling.bundles import Bundle
from engine.modeling.domain_reference import LIMIT, load_domain_reference
from engine.modeling.metrics import FloatArray
from engine.progress import OnProgress, Progress, ShouldStop, ignore_progress, never_stop

Source = Radiograph | str | os.PathLike[str]


@dataclass
class _Prepared:
    """A decoded, preprocessed image waiting for the model (built on a worker thread)."""

    path: Path | None
    inputs: list[npt.NDArray[np.float32]]
    shape: tuple[int, int]
    warnings: list[str]
    ood: OodCheck
    canonical: FloatImage | None
    timings: dict[str, float] = field(default_factory=dict)
    frame: tuple[int, int] = (0, 1)  # the frame predicted and the image's frame count


class Predictor:
    """A loaded model bundle, ready to predict on its device.

    Args:
        bundle: the loaded bundle.
        method: ``"gradcam"`` or ``"gradcam++"``.
        ood_reference: the content reference of :mod:`engine.inference.ood` (``None`` skips that
        rule).
        networks: the bundle's networks in the runtime that reads images
            (:func:`engine.inference.bundle_runtime.open_networks`); by default its Keras models
            with TensorFlow.

    Attributes:
        bundle: the bundle.
        device: where and with which runtime the model runs (e.g. "CPU · LiteRT (XNNPACK, 2
            threads)").
        runtime: ``"tensorflow"`` or ``"litert"``.
        ood_reference: as given.
    """

    def __init__(
        self,
        bundle: Bundle,
        *,
        method: Method = "gradcam",
        ood_reference: OodReference | None = None,
        networks: Networks | None = None,
    ) -> None:
        networks = networks or tensorflow_networks(bundle.members, method)
        self.bundle = bundle
        self.device = networks.device
        self.runtime = networks.runtime
        self.ood_reference = ood_reference
        self._calibration = bundle.card.calibration
        self.scorer = Scorer(bundle.members, bundle.card.tta, method, networks.cams)
        section = bundle.card.domain_check
        self.domain: DomainCheck | None = None
        if section is not None:
            reference = load_domain_reference(bundle.path, section)
            extractors = networks.features(reference.entries)
            self.domain = DomainCheck(bundle.members, reference, extractors)
        self._validated_on = validated_on(bundle.card)

    @classmethod
    def load(
        cls,
        bundle_dir: str | os.PathLike[str],
        *,
        method: Method = "gradcam",
        runtime: str | None = None,
    ) -> Predictor:
        """Load a bundle folder (and its ``ood_reference.json`` if any) in the runtime that
        reads images (``runtime`` forces one, :func:`~engine.inference.bundle_runtime.
        open_networks`), and warm the model up.

        Raises:
            ModelFileError: the bundle is missing, invalid, tampered with, or its Grad-CAM layer
                is unusable.
        """
        bundle, networks = open_networks(bundle_dir, method, runtime)
        reference = load_ood_reference(bundle_dir)
        return cls(bundle, method=method, ood_reference=reference, networks=networks)

    @property
    def model_id(self) -> str:
        """The bundle's model id."""
        return self.bundle.card.model_id

    @property
    def threshold(self) -> float:
        """The card's operating point."""
        return self.bundle.card.threshold

    def predict(self, source: Source) -> Prediction:
        """Probability, label and heatmap for one image.

        Args:
            source: a file path or an already-read :class:`Radiograph`.

        Returns:
            The prediction, with a heatmap at the image's display size.

        Raises:
            ImageReadError: ``source`` is a path that cannot be read.
        """
        prepared = self._prepare(source)
        started = time.perf_counter()
        scored = self.scorer.raw_with_heatmap(prepared.inputs)
        prepared.timings["model_cam"] = time.perf_counter() - started
        domain = self._domain([prepared])
        return self._finish(prepared, scored.raw, scored.heatmap, scored.empty, domain[0])

    def probabilities(self, images: Sequence[FloatImage], *, batch_size: int = 32) -> FloatArray:
        """Calibrated probabilities of PNEUMONIA for display-ready images, without heatmaps.

        The same path as :meth:`predict` (card preprocessing, members, test-time views, the
        card's calibration), for callers that already hold pixels (the robustness battery).
        """
        return self._calibration.apply(self.scorer.raw_of_pixels(images, batch_size))

    def predict_many(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        on_progress: OnProgress = ignore_progress,
        should_stop: ShouldStop = never_stop,
        batch_size: int = 32,
        with_heatmaps: bool = False,
        workers: int = 2,
    ) -> Iterator[FileResult]:
        """Stream predictions for many files, in order, one :class:`FileResult` per file.

        Files are decoded and preprocessed on ``workers`` threads, one batch ahead of the
        model; the model runs once per ``batch_size`` readable files. Without heatmaps only the
        forward pass runs and nothing is upsampled.

        Args:
            paths: image files (use :func:`engine.imaging.files.walk_images` to expand folders).
            on_progress: called after each file (stage ``"predict"``, message = file name).
            should_stop: checked between files; when True the generator ends early (results
                already yielded stand; no error).
            batch_size: images per model call.
            with_heatmaps: also compute each heatmap (at display size: memory grows with the
                image size, not the number of files).
            workers: decoding threads.

        Yields:
            A result per file: ``prediction`` set, or ``error`` set to the reader's message.
        """
        files = [Path(path) for path in paths]
        total = len(files)
        done = 0
        pending: deque[tuple[Path, Future[_Prepared]]] = deque()
        waiting: list[tuple[Path, _Prepared | str]] = []
        executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="decode")
        queue = iter(files)
        # Decoded ahead: enough for the next batch while the model runs on this one, no more
        # (each prepared file holds every view of its input: 2.4 MB for the shipped model).
        ahead = batch_size + max(1, workers)
        try:
            while True:
                while len(pending) < ahead and (path := next(queue, None)) is not None:
                    pending.append((path, executor.submit(self._prepare, path)))
                if not pending or should_stop():
                    break
                path, future = pending.popleft()
                try:
                    waiting.append((path, future.result()))
                except ImageReadError as error:
                    waiting.append((path, str(error)))
                ready = sum(not isinstance(item, str) for _, item in waiting)
                if ready < batch_size and pending:
                    continue
                for result in self._run_batch(waiting, with_heatmaps):
                    if should_stop():
                        return
                    done += 1
                    yield result
                    on_progress(Progress("predict", done, total, result.path.name))
                waiting = []
        finally:
            executor.shutdown(wait=True, cancel_futures=True)

    def _run_batch(
        self, waiting: list[tuple[Path, _Prepared | str]], with_heatmaps: bool
    ) -> Iterator[FileResult]:
        """The model on a batch, then its results one by one, in order: each heatmap is resized
        to display size only when its result is taken (one full-size map alive, not a batch)."""
        prepared = [item for _, item in waiting if not isinstance(item, str)]
        started = time.perf_counter()
        inputs = [item.inputs for item in prepared]
        scored = (
            self.scorer.raw_with_heatmaps(inputs)
            if with_heatmaps
            else [Scored(float(raw), None, False) for raw in self.scorer.raw(inputs)]
        )
        share = (time.perf_counter() - started) / max(1, len(prepared))
        found = zip(prepared, scored, self._domain(prepared), strict=True)
        outcomes = {id(item): (result, domain) for item, result, domain in found}
        for path, entry in waiting:
            if isinstance(entry, str):
                yield FileResult(path, error=entry)
                continue
            entry.timings["model_cam"] = share
            result, domain = outcomes[id(entry)]
            prediction = self._finish(entry, result.raw, result.heatmap, result.empty, domain)
            yield FileResult(path, prediction=prediction)

    def _prepare(self, source: Source) -> _Prepared:
        """Decode (when given a path), preprocess and check one image; thread-safe."""
        started = time.perf_counter()
        radiograph = source if isinstance(source, Radiograph) else load_image(source)
        decoded = time.perf_counter()
        inputs = self.scorer.inputs(radiograph.pixels)
        ood = check_radiograph(radiograph, self.ood_reference)
        canonical = None if self.domain is None else canonical_image(radiograph.pixels)
        age = age_warning(radiograph.patient_age_years, self.bundle.card.validated_on)
        frame = frame_note(radiograph.frame_index, radiograph.frame_count)
        warnings = [*radiograph.warnings, *(text for text in (ood.warning, age, frame) if text)]
        return _Prepared(
            radiograph.source,
            inputs,
            radiograph.pixels.shape[:2],
            warnings,
            ood,
            canonical,
            {"decode": decoded - started, "preprocess": time.perf_counter() - decoded},
            (radiograph.frame_index, radiograph.frame_count),
        )

    def _domain(self, prepared: Sequence[_Prepared]) -> list[DomainAssessment | None]:
        """The domain check's assessment of prepared images (``None`` each without a check)."""
        if self.domain is None:
            return [None] * len(prepared)
        started = time.perf_counter()
        canonicals = [item.canonical for item in prepared if item.canonical is not None]
        assessed = self.domain.assess(canonicals)
        share = (time.perf_counter() - started) / max(1, len(prepared))
        for item in prepared:
            item.timings["domain"] = share
        return list(assessed)

    def _finish(
        self,
        prepared: _Prepared,
        raw: float,
        cam: npt.NDArray[np.float32] | None,
        empty: bool,
        domain: DomainAssessment | None,
    ) -> Prediction:
        started = time.perf_counter()
        heatmap = None if cam is None else upsample(cam, prepared.shape)
        prepared.timings["resize"] = time.perf_counter() - started
        probability = float(self._calibration.apply(raw))
        threshold = self.threshold
        notes = [ZERO_MAP_NOTE] if empty else []
        domain_score = None if domain is None else domain.score
        in_domain = None if domain_score is None else domain_score <= LIMIT
        if domain is not None and domain.site is not None:  # a commissioned site's own head
            probability, threshold = domain.site.probability, domain.site.threshold
            notes.append(
                f"Scored by the head commissioned for {domain.site.site} (this image is like that "
                "site's images, not the original training images); the heatmap is the original "
                "network's."
            )
        return Prediction(
            probability=probability,
            raw_probability=raw,
            label=label_for(probability, threshold),
            threshold=threshold,
            heatmap=heatmap,
            timings=dict(prepared.timings),
            model_id=self.model_id,
            device=str(self.device),
            warnings=(*prepared.warnings, *notes),
            path=prepared.path,
            out_of_distribution=prepared.ood.out_of_distribution,
            ood_score=prepared.ood.score,
            heatmap_kind=self.scorer.heatmap_kind,
            in_domain=in_domain,
            domain_score=domain_score,
            outside=outside_sentence(prepared.ood, domain_score, self._validated_on),
            frame_index=prepared.frame[0],
            frame_count=prepared.frame[1],
        )


def predict(predictor: Predictor, source: Source) -> Prediction:
    """Probability, label and heatmap for one image: the viewer's entry point.

    See :meth:`Predictor.predict`.
    """
    return predictor.predict(source)


def predict_many(
    predictor: Predictor, paths: Iterable[str | os.PathLike[str]], **options: Any
) -> Iterator[FileResult]:
    """Stream predictions for many files; see :meth:`Predictor.predict_many` for ``options``."""
    return predictor.predict_many(paths, **options)
