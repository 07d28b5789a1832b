"""A bundle's networks run by LiteRT (XNNPACK) from the graphs exported beside them.

Why: on the CPU, LiteRT runs the shipped 4-view MobileNetV2 2.3x faster than TensorFlow with the
same outputs, and it needs no TensorFlow (:mod:`engine.runtime`). Each network is one
interpreter holding the graph of :mod:`engine.modeling.runtime_export`: one call gives the
probability, the class activation map and the domain check's pooled features. Interpreters are
not thread-safe, so each call holds the network's lock; the input is resized only when the
number of rows changes (the allocations are reused otherwise), and rows go through in chunks of
:data:`engine.runtime.FORWARD_ROWS` as with TensorFlow.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from engine.errors import ModelFileError
from engine.imaging.radiograph import FloatImage
from engine.inference.domain_features import layers_read
from engine.inference.gradcam import CamBatch, cam_batch
from engine.inference.networks import FeatureRunner, Features, Networks
from engine.modeling.bundles import Member, sha256_of
from engine.modeling.card import ModelCard
from engine.modeling.domain_reference import STATISTICS, Entry
from engine.modeling.preprocessing import preprocess
from engine.modeling.runtime_export import CAM, PROBABILITY, ExportedNetwork, RuntimeExport
from engine.runtime import (
    LITERT,
    in_row_chunks,
    litert_threads,
    lowered,
    on_compute_thread,
    runtime_device,
)


class LiteNetwork:
    """One exported network in a LiteRT interpreter (a :class:`~engine.inference.networks.
    CamRunner`, and the source of its :class:`LiteFeatures`).

    Raises:
        ModelFileError: the file is not a graph with the outputs its card entry lists.
    """

    single_pass = True
    explains = "gradcam"

    def __init__(self, path: Path, exported: ExportedNetwork, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.exported = exported

        def start() -> Interpreter:
            interpreter = Interpreter(model_path=str(path), num_threads=threads)
            interpreter.allocate_tensors()  # starts XNNPACK's pool of compute threads
            return interpreter

        try:
            self._interpreter = lowered(start)  # the pool at the compute niceness
        except ValueError as error:
            raise ModelFileError(
                f"LiteRT cannot read {path} ({error}). Export the bundle's networks again with "
                f"`hilum export-runtime {path.parent}`."
            ) from None
        self._input = int(self._interpreter.get_input_details()[0]["index"])
        self._outputs = [int(d["index"]) for d in self._interpreter.get_output_details()]
        if len(self._outputs) != len(exported.outputs):
            raise ModelFileError(
                f"{path} has {len(self._outputs)} outputs but the card lists "
                f"{len(exported.outputs)}. Export the bundle's networks again with "
                f"`hilum export-runtime {path.parent}`."
            )
        self._rows = -1
        self._lock = threading.Lock()

    def _invoke(self, images: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
        """Every output of one chunk of rows, computed on the compute thread
        (:func:`engine.runtime.on_compute_thread`)."""
        batch = np.ascontiguousarray(images, dtype=np.float32)
        return on_compute_thread(lambda: self._run(batch))

    def _run(self, batch: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
        """Every output of one chunk of rows, under the lock."""
        with self._lock:
            if len(batch) != self._rows:
                self._interpreter.resize_tensor_input(self._input, list(batch.shape))
                self._interpreter.allocate_tensors()
                self._rows = len(batch)
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            return [self._interpreter.get_tensor(index) for index in self._outputs]

    def outputs(self, images: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.float32]]:
        """Every output of a batch of network inputs, by name."""
        return dict(zip(self.exported.outputs, in_row_chunks(self._invoke, images), strict=True))

    def run(self, images: npt.NDArray[np.float32]) -> CamBatch:
        """Probabilities and normalised class activation maps."""
        found = self.outputs(images)
        return cam_batch(found[PROBABILITY], found[CAM])

    def probabilities(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Probabilities only (the same single call: the graph computes everything at once)."""
        return self.outputs(images)[PROBABILITY]


class LiteFeatures:
    """The pooled features of some layers of a :class:`LiteNetwork`, for the domain check."""

    def __init__(self, network: LiteNetwork, member: Member, layers: Sequence[str]) -> None:
        self.network = network
        self.member = member
        self.layers = tuple(layers)

    def input(self, canonical: FloatImage) -> FloatImage:
        """The member's input for a canonical image (its card preprocessing)."""
        return preprocess(canonical, self.member.preprocessing)

    def __call__(self, inputs: npt.NDArray[np.float32]) -> dict[tuple[str, str], Features]:
        """``(layer, statistic)`` -> the ``(n, width)`` pooled features of a batch of inputs."""
        found = self.network.outputs(inputs)
        return {
            (layer, stat): found[f"{layer}:{stat}"] for layer in self.layers for stat in STATISTICS
        }


def checked_exports(folder: Path, section: RuntimeExport) -> list[Path]:
    """The paths of a bundle's exported networks, each checked against its card checksum.

    Raises:
        ModelFileError: a file is missing or does not match; the message names it and says how
            to make it again.
    """
    remedy = (
        f"Export the bundle's networks again with `hilum export-runtime {folder}` "
        "(needs TensorFlow), or re-copy the bundle."
    )
    paths = []
    for network in section.networks:
        path = folder / network.file
        if not path.is_file():
            raise ModelFileError(f"Model bundle {folder}: {network.file} is missing. {remedy}")
        actual = sha256_of(path)
        if actual != network.sha256:
            raise ModelFileError(
                f"Model bundle {folder}: {network.file} does not match the checksum in card.json "
                f"(sha256 {actual[:12]}..., card says {network.sha256[:12]}...): the file was "
                f"changed or damaged. {remedy}"
            )
        paths.append(path)
    return paths


def litert_networks(folder: Path, card: ModelCard, members: Sequence[Member]) -> Networks:
    """The bundle's exported networks in LiteRT interpreters (one per network, one thread per
    core).

    Raises:
        ModelFileError: the card has no export, or a file is missing or fails its checksum.
    """
    section = card.runtime_export
    if section is None or len(section.networks) != len(members):
        raise ModelFileError(
            f"Model bundle {folder}: its networks are not exported for LiteRT. Export them with "
            f"`hilum export-runtime {folder}` (needs TensorFlow), or unset HILUM_RUNTIME."
        )
    paths = checked_exports(folder, section)
    threads = litert_threads()
    networks = [
        LiteNetwork(path, exported, threads)
        for path, exported in zip(paths, section.networks, strict=True)
    ]

    def features(entries: Sequence[Entry]) -> dict[int, FeatureRunner]:
        return {
            index: LiteFeatures(networks[index], members[index], names)
            for index, names in layers_read(entries).items()
        }

    return Networks(LITERT, runtime_device(LITERT), tuple(networks), features)
