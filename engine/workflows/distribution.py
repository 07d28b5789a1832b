"""Which ``tf.distribute`` strategy a training run uses, and whether this process is the chief.

* ``TF_CONFIG`` describing a cluster of more than one task -> ``MultiWorkerMirroredStrategy``:
  every worker runs the same ``hilum train`` command with its own ``TF_CONFIG``, e.g. for two
  machines (or two processes on localhost)::

      TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
                  "task": {"type": "worker", "index": 0}}'  hilum train DATA --variant cnn

  Worker 0 (or a task of type ``chief``) is the chief: only it writes the model bundle; the
  others train in lock-step and return without writing. The batch size is the global batch,
  split across workers; each worker reads the whole file list and keeps its shard
  (``AutoShardPolicy.DATA``), so the data folder must be visible to every worker. The strategy
  must exist before TensorFlow runs any op, so :func:`choose_strategy` is called first thing in
  a fresh process; cancelling one worker stalls the others until their collective timeout.
  Keras 3's ``fit`` does not run under this strategy as released (keras-team/keras#20585: it
  reduces the tuple of a data batch, and scalar metrics along axis 0);
  :func:`multi_worker_keras_fixes` patches those two spots for the duration of a multi-worker
  fit only, and the two-process test in tests/engine/test_multiworker.py guards it.
* More than one local GPU -> ``MirroredStrategy`` across them.
* Otherwise the default strategy (one GPU, or the CPU).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engine.errors import ConfigError
from engine.runtime import device, tensorflow


@dataclass(frozen=True)
class Distribution:
    """The strategy to build and train under.

    Attributes:
        strategy: a ``tf.distribute.Strategy``.
        description: for people and the model card, e.g. ``"MultiWorkerMirroredStrategy, 2
            workers"``.
        is_chief: whether this process writes the results.
        workers: number of worker processes.
    """

    strategy: Any
    description: str
    is_chief: bool
    workers: int


def cluster_spec() -> tuple[int, bool] | None:
    """``(workers, is_chief)`` when ``TF_CONFIG`` describes a multi-task cluster, else ``None``.

    Raises:
        ConfigError: ``TF_CONFIG`` is not valid JSON or lacks ``cluster``/``task``.
    """
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return None
    try:
        config = json.loads(raw)
        cluster = config["cluster"]
        task = config.get("task", {})
        tasks = sum(len(cluster[kind]) for kind in ("chief", "worker") if kind in cluster)
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError(
            f"TF_CONFIG is not a valid cluster description ({error!r}): {raw[:200]}. Expected "
            '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": 0}} '
            "or unset it to train on this machine alone."
        ) from None
    if tasks <= 1:
        return None
    kind = task.get("type", "worker")
    is_chief = kind == "chief" or (
        kind == "worker" and int(task.get("index", 0)) == 0 and "chief" not in cluster
    )
    return tasks, is_chief


def choose_strategy() -> Distribution:
    """The strategy for this process (see the module docstring).

    Raises:
        ConfigError: ``TF_CONFIG`` is malformed.
    """
    cluster = cluster_spec()
    tf = tensorflow()
    if cluster is not None:
        workers, is_chief = cluster
        strategy = tf.distribute.MultiWorkerMirroredStrategy()  # before any other TF call
        return Distribution(
            strategy,
            f"{device()}; MultiWorkerMirroredStrategy, {workers} workers",
            is_chief,
            workers,
        )
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        return Distribution(
            tf.distribute.MirroredStrategy(), f"{device()}; MirroredStrategy", True, 1
        )
    return Distribution(tf.distribute.get_strategy(), str(device()), True, 1)


@contextlib.contextmanager
def multi_worker_keras_fixes(distribution: Distribution) -> Iterator[None]:
    """Make Keras 3 ``fit`` work under ``MultiWorkerMirroredStrategy`` while the block runs.

    Does nothing for the other strategies. Two private Keras functions are replaced and put
    back on exit: the symbolic build takes this worker's local batch instead of reducing the
    batch tuple across workers, and per-replica metric values are averaged as scalars.
    """
    if distribution.workers <= 1:
        yield
        return
    tf = tensorflow()
    from keras.src.backend.tensorflow import trainer

    def symbolic_build(model: Any, iterator: Any = None, data_batch: Any = None) -> None:
        strategy = model.distribute_strategy
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(
                    lambda value: strategy.experimental_local_results(value)[0], next(batches)
                )
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    original_reduce = trainer.reduce_per_replica

    def reduce_per_replica(values: Any, strategy: Any, reduction: str) -> Any:
        if reduction in ("auto", "mean"):
            return tf.nest.map_structure(
                lambda value: strategy.reduce("MEAN", value, axis=None), values
            )
        return original_reduce(values, strategy, reduction)

    original_build = trainer.TensorFlowTrainer._maybe_symbolic_build
    trainer.TensorFlowTrainer._maybe_symbolic_build = symbolic_build
    trainer.reduce_per_replica = reduce_per_replica
    try:
        yield
    finally:
        trainer.TensorFlowTrainer._maybe_symbolic_build = original_build
        trainer.reduce_per_replica = original_reduce
