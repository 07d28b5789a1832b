"""Keras callbacks private to :func:`engine.workflows.training.train`: progress, cancel, best
weights.

Built lazily (:func:`progress_callback`, :func:`best_weights_callback`) because their base class
comes from Keras, which is imported only after :func:`engine.runtime.tensorflow` set the
environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.progress import Cancelled, OnProgress, Progress, ShouldStop
from engine.runtime import tensorflow


def _numbers(logs: Mapping[str, Any] | None) -> dict[str, float]:
    return {key: float(value) for key, value in (logs or {}).items()}


def progress_callback(
    on_progress: OnProgress, should_stop: ShouldStop, steps_per_epoch: int, epochs: int
) -> Any:
    """A callback reporting every batch and epoch and stopping when ``should_stop()`` says so.

    Epochs are numbered over the whole run (frozen and fine-tuning phases alike), 1-based. A
    cancel request sets ``model.stop_training`` (Keras leaves the batch loop after the current
    batch, the way its ``EarlyStopping`` stops) and the validation pass Keras would then start
    is abandoned by raising :class:`engine.progress.Cancelled` (caught by ``train``, which returns
    a result marked cancelled); ``callback.cancelled`` tells the caller.
    """
    tensorflow()
    import keras

    class _Progress(keras.callbacks.Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.cancelled = False
            self.epoch = 0

        def _check(self) -> None:
            if not self.cancelled and should_stop():
                self.cancelled = True
                self.model.stop_training = True

        def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
            on_progress(
                Progress(
                    "train",
                    batch + 1,
                    steps_per_epoch,
                    f"epoch {self.epoch}/{epochs}",
                    _numbers(logs),
                    self.epoch,
                    epochs,
                )
            )
            self._check()

        def on_test_begin(self, logs: Mapping[str, Any] | None = None) -> None:
            if self.cancelled:
                raise Cancelled

        def on_test_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
            self._check()
            if self.cancelled:
                raise Cancelled

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            metrics = _numbers(logs)
            metrics.pop("learning_rate", None)
            on_progress(
                Progress(
                    "train",
                    steps_per_epoch,
                    steps_per_epoch,
                    f"epoch {self.epoch}/{epochs} done",
                    metrics,
                    self.epoch,
                    epochs,
                    final_of_epoch=True,
                )
            )
            self._check()

    return _Progress()


def best_weights_callback(monitor: str) -> Any:
    """A callback keeping, in memory, the weights of the epoch with the highest ``monitor``.

    One instance spans both training phases; :meth:`restore` puts the best weights back. Nothing
    is written to disk, so a cancelled or failed run leaves no file behind.
    """
    tensorflow()
    import keras

    class _BestWeights(keras.callbacks.Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.best: float | None = None
            self.best_epoch = 0
            self.weights: list[Any] | None = None

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            value = (logs or {}).get(monitor)
            if value is None:
                return
            if self.best is None or float(value) > self.best:
                self.best = float(value)
                self.best_epoch = epoch + 1
                self.weights = self.model.get_weights()

        def restore(self, model: Any) -> None:
            if self.weights is not None:
                model.set_weights(self.weights)

    return _BestWeights()
