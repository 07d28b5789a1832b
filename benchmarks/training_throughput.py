"""Training throughput of every model variant: images/s, seconds per epoch, peak memory.

Each variant runs in its own process (so its peak RSS is its own) over the real training set
(../shared/data/chest_xray/train, with the validation share carved out as ``hilum train`` does).
By default a variant trains ``--warmup`` steps, then ``--steps`` timed steps, on cached,
augmented batches exactly as in training; the epoch time is EXTRAPOLATED from those steps
(``train images / images per s``) and the output says so. The first epoch also decodes every
file once (the decode rate is measured on the same images and added). ``--full-epoch`` instead
times two real epochs over the whole training split (the first decodes and fills the cache,
the second reads the cache). Validation passes are not included.

    .venv/bin/python benchmarks/training_throughput.py                      # every variant
    .venv/bin/python benchmarks/training_throughput.py --variants cnn --full-epoch

Run it on an otherwise idle machine; it prints a table and is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_DATA = Path(os.environ.get("HILUM_SHARED_DATA", REPO.parent / "shared" / "data")) / (
    "chest_xray/train"
)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(
    variant: str,
    data: Path,
    image_size: int | None,
    batch_size: int,
    warmup: int,
    steps: int,
    full_epoch: bool,
    deterministic: bool = False,
) -> dict[str, Any]:
    """Train ``variant`` briefly (or for two full epochs) and return its figures."""
    from engine.modeling import datasets, variants
    from engine.modeling.labelled_folders import DataFolders, find_data_folders
    from engine.modeling.train_config import TrainConfig
    from engine.runtime import device, tensorflow
    from engine.workflows.training import compile_model

    tensorflow()
    import keras

    keras.utils.set_random_seed(0)
    if deterministic:
        tensorflow().config.experimental.enable_op_determinism()
    config = TrainConfig(variant=variant, data_dir=data, image_size=image_size)
    spec = variants.get_variant(variant)
    preprocessing = spec.preprocessing_for(image_size)
    folders = find_data_folders(data)
    split = datasets.make_split(
        DataFolders(folders.train, None, None), config.validation_fraction, config.seed
    )
    train_set = split.train
    if not full_epoch:
        train_set = train_set.subset(
            list(
                range(0, len(train_set), max(1, len(train_set) // ((warmup + steps) * batch_size)))
            )[: (warmup + steps) * batch_size]
        )
    dataset = datasets.make_dataset(
        train_set,
        preprocessing,
        batch_size=batch_size,
        training=True,
        augment=True,
        seed=0,
        log=datasets.DecodeLog(),
        weights=datasets.class_weights(train_set.labels),
    )
    model = variants.build_model(spec, image_size)
    compile_model(model, config.learning_rate)
    marks: list[float] = []
    epochs: list[float] = []

    class Clock(keras.callbacks.Callback):  # type: ignore[misc]
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            marks.append(time.perf_counter())

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            epochs.append(time.perf_counter())

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            epochs[-1] = time.perf_counter() - epochs[-1]

    result: dict[str, Any] = {
        "variant": variant,
        "input": "x".join(map(str, preprocessing.input_shape)),
        "parameters": model.count_params(),
        "train_images": len(split.train),
        "batch_size": batch_size,
        "device": str(device()),
    }
    if full_epoch:
        model.fit(dataset, epochs=2, verbose=0, shuffle=False, callbacks=[Clock()])
        result.update(
            mode="2 full epochs (measured)",
            first_epoch_s=epochs[0],
            epoch_s=epochs[1],
            images_per_s=len(split.train) / epochs[1],
        )
    else:
        started = time.perf_counter()
        for _ in dataset.take(-1):  # decode + fill the cache (also warms the pipeline)
            pass
        decode_s = time.perf_counter() - started
        model.fit(dataset, epochs=1, verbose=0, shuffle=False, callbacks=[Clock()])
        timed = marks[warmup - 1 :]
        rate = (len(timed) - 1) * batch_size / (timed[-1] - timed[0])
        epoch_s = len(split.train) / rate
        result.update(
            mode=f"extrapolated from {len(timed) - 1} steps after {warmup} warm-up",
            images_per_s=rate,
            epoch_s=epoch_s,
            first_epoch_s=epoch_s + decode_s * len(split.train) / len(train_set),
        )
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def main() -> int:
    """Run every requested variant in its own process and print the table."""
    from engine.modeling.variants import list_variants

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default=",".join(spec.name for spec in list_variants()))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument(
        "--full-epoch",
        action="store_true",
        help="time two real epochs over the whole training split",
    )
    parser.add_argument(
        "--deterministic", action="store_true", help="enable TensorFlow op determinism"
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child process: one variant, JSON out
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"No training data at {args.data}; set HILUM_SHARED_DATA or --data.")
        return 2
    if args.one:
        figures = measure(
            args.one,
            args.data,
            args.image_size,
            args.batch_size,
            args.warmup,
            args.steps,
            args.full_epoch,
            args.deterministic,
        )
        print("RESULT " + json.dumps(figures))
        return 0
    rows = []
    for name in args.variants.split(","):
        command = [
            sys.executable,
            __file__,
            "--one",
            name,
            "--data",
            str(args.data),
            "--batch-size",
            str(args.batch_size),
            "--warmup",
            str(args.warmup),
            "--steps",
            str(args.steps),
        ]
        command += ["--image-size", str(args.image_size)] if args.image_size else []
        command += ["--full-epoch"] if args.full_epoch else []
        command += ["--deterministic"] if args.deterministic else []
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode or not lines:
            print(f"{name}: failed\n{done.stderr[-2000:]}")
            continue
        rows.append(json.loads(lines[-1][len("RESULT ") :]))
        print(f"{name}: done", file=sys.stderr)
    if not rows:
        return 1
    print(
        f"\nTraining throughput on {rows[0]['device']}, batch {args.batch_size}, "
        f"{rows[0]['train_images']} training images (augmented, class-weighted):"
    )
    print(
        f"{'variant':<13}{'input':<12}{'params':>12}{'img/s':>9}{'s/epoch':>9}"
        f"{'1st epoch s':>13}{'peak RSS MB':>13}  mode"
    )
    for row in rows:
        print(
            f"{row['variant']:<13}{row['input']:<12}{row['parameters']:>12,}"
            f"{row['images_per_s']:>9.1f}{row['epoch_s']:>9.1f}{row['first_epoch_s']:>13.1f}"
            f"{row['peak_rss_mb']:>13.0f}  {row['mode']}"
        )
    if args.deterministic:
        print("TensorFlow op determinism was enabled (as `hilum train` does by default).")
    print(
        "s/epoch: an epoch over cached images; 1st epoch: also decodes every file once. "
        "Validation passes are not included."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
