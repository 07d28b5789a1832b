"""The active model's life: choose a bundle, load it in the background, replace it, report it.

Model work has one owner: :attr:`ModelLifecycle.runner`, one Python thread that runs every call
of the loaded :class:`~engine.inference.predictor.Predictor` in order (loading it, the reading
room's image, triage batches and images arriving from the network), so TensorFlow never runs two
calls on one model at once. Loading and the image the user opened are urgent: they go before
batch work, which yields to them between two images (:mod:`viewer.jobs`). Loading imports
TensorFlow, reads the bundle and warms it up (seconds). Only the newest load counts: a bundle the
user already replaced is dropped when it finishes. The chosen bundle is remembered in the
settings; without one, the shipped default model is used.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from engine.errors import HilumError
from viewer.jobs import Job, JobRunner
from viewer.resource_paths import default_model_dir
from viewer.settings import Settings

if TYPE_CHECKING:  # imported for real on the model's thread: keeps start-up fast
    from engine.inference.predictor import Predictor
    from engine.modeling.card import ModelCard


def load_predictor(bundle: Path) -> Predictor:
    """Import the inference engine (and TensorFlow when it reads ``bundle``) and load ``bundle``:
    run on the model's thread.

    Raises:
        HilumError: the bundle cannot be used.
        ImportError: this build has no inference engine.
    """
    from engine.inference.predictor import Predictor
    from engine.runtime import set_compute_niceness

    set_compute_niceness(COMPUTE_NICENESS)  # the runtime's compute threads start lowered
    predictor = Predictor.load(bundle)
    settle_objects()
    return predictor


#: How much lower the model's compute threads (TensorFlow's or LiteRT's) run than the window
#: (POSIX ``nice``): when a burst of received images keeps both cores busy, the GUI thread gets a
#: core before the model's arithmetic (:func:`engine.runtime.lowered`).
COMPUTE_NICENESS = 10


def settle_objects() -> None:
    """Take every object alive now (TensorFlow, the model, the window) out of the cyclic garbage
    collector's sight, after freeing the garbage; run once a model is loaded.

    Why: a full collection scans every tracked object while holding Python's lock; with
    TensorFlow and a model loaded that is 400 000 objects and 0.25-0.75 s, the longest stalls of
    the window during a burst of received images (``benchmarks/pacs_receive.py --diagnose``
    logged them at the same moments). Frozen, they are skipped, and a full collection scans only
    what was made since. Unfreezing first lets the collection free the cycles of a model this one
    replaced. The collection itself is paid once per model load, on the model's thread.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def read_model_card(bundle: Path) -> ModelCard:
    """The card of ``bundle`` (quick: JSON and a checksum, no TensorFlow)."""
    from engine.modeling.bundles import read_card

    return read_card(bundle)


class ModelLifecycle(QObject):
    """Loads, replaces and reports the model the reading room predicts with.

    Args:
        settings: where the chosen bundle is remembered.
        parent: the Qt parent.

    Attributes:
        runner: the model's one thread: every call of the predictor runs there (submit the
            image the user opened with ``urgent=True``).

    Signals:
        loading(Path): a bundle started loading.
        ready(object): a model (``engine.inference.predictor.Predictor``) finished loading.
        failed(BaseException): a model could not be loaded (an ImportError becomes a HilumError).
        missing(): there is no model to load (no bundle chosen and none shipped).
        refused(BaseException): a chosen bundle's card is invalid; the active model stays.
    """

    loading = Signal(Path)
    ready = Signal(object)
    failed = Signal(object)
    missing = Signal()
    refused = Signal(object)

    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.runner = JobRunner(max_threads=1, parent=self, name="hilum-model")
        self._job: Job | None = None
        self._predictor: Predictor | None = None
        self._path: Path | None = None

    @property
    def predictor(self) -> Predictor | None:
        """The loaded model, or ``None``."""
        return self._predictor

    @property
    def path(self) -> Path | None:
        """The bundle loaded or loading, or ``None``."""
        return self._path

    @property
    def is_loading(self) -> bool:
        """A load is under way."""
        return self._job is not None and not self._job.is_done

    def start(self) -> None:
        """Load the bundle chosen in the settings, or the shipped default."""
        chosen = self.settings.model_path
        bundle = chosen if chosen is not None and chosen.is_dir() else default_model_dir()
        if bundle is None:
            self.missing.emit()
            return
        self.load(bundle)

    def load(self, bundle: Path) -> Job:
        """Load ``bundle`` in the background, replacing the active model."""
        self._predictor = None
        self._path = bundle
        self.loading.emit(bundle)
        job = self.runner.submit(load_predictor, bundle, callbacks=False, urgent=True)
        job.succeeded.connect(self._on_loaded)
        job.failed.connect(self._on_failed)
        self._job = job
        return job.start()

    def use(self, bundle: Path) -> bool:
        """Check ``bundle``'s card, remember it and load it; False (and ``refused``) if invalid."""
        try:
            read_model_card(bundle)
        except (HilumError, ImportError) as error:
            self.refused.emit(error)
            return False
        self.settings.model_path = bundle
        self.load(bundle)
        return True

    def use_default(self) -> None:
        """Forget the chosen bundle and load the shipped default."""
        self.settings.model_path = None
        self.start()

    def card(self) -> ModelCard | None:
        """The active model's card: the loaded one's, else read from the bundle being loaded.

        Raises:
            HilumError: the bundle's card cannot be read.
        """
        if self._predictor is not None:
            return self._predictor.bundle.card
        return read_model_card(self._path) if self._path is not None else None

    @Slot(object)
    def _on_loaded(self, predictor: Predictor) -> None:
        if self.sender() is not self._job:
            return
        self._predictor = predictor
        self.ready.emit(predictor)

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        if self.sender() is not self._job:
            return
        if isinstance(error, ImportError) and not isinstance(error, HilumError):
            error = HilumError(
                "Predictions are not available: this build of Hilum has no "
                f"inference engine ({error}). Images can still be viewed."
            )
        self.failed.emit(error)

    def shutdown(self, timeout_ms: int = 15_000) -> bool:
        """Wait for a load or prediction under way (a TensorFlow import cannot be interrupted);
        True when it ended in time."""
        return self.runner.shutdown(timeout_ms)
