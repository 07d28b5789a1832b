"""Model work has one owner: the reading room's image and a triage batch share the model's one
thread, never overlap, and the image the user opened goes before the rest of the batch."""

from __future__ import annotations

import dataclasses
import gc
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pytestqt.qtbot import QtBot

from engine.modeling.bundles import read_card
from engine.progress import ShouldStop
from tests.fakes import FakePrediction
from tests.viewer.helpers import MODEL_TIMEOUT_MS, fake_prediction
from tests.viewer.test_triage_list import FakeResult
from viewer.model import lifecycle
from viewer.resource_paths import default_model_dir
from viewer.window import triage_and_history as triage_history_module
from viewer.window.main_window import MainWindow


class RecordingPredictor:
    """Stands in for the loaded ``Predictor``: records each call's name and thread, counts calls
    that overlap, and holds the batch's second image until ``release`` is set."""

    def __init__(self) -> None:
        bundle = default_model_dir()
        assert bundle is not None, "needs the shipped default model's card"
        card = read_card(bundle)
        self.bundle = SimpleNamespace(card=card, path=bundle)
        self.model_id = card.model_id
        self.threshold = card.threshold
        self.device = SimpleNamespace(kind="CPU", __str__=lambda: "CPU")
        self.calls: list[tuple[str, int]] = []
        self.overlaps = 0
        self.release = threading.Event()
        self._active = 0
        self._count = threading.Lock()

    def _call(self, name: str, work: Callable[[], Any]) -> Any:
        with self._count:
            self._active += 1
            self.overlaps += self._active > 1
        try:
            return work()
        finally:
            with self._count:
                self._active -= 1
            self.calls.append((name, threading.get_ident()))

    def predict(self, source: Any) -> Any:
        """The reading room's call."""
        prediction = dataclasses.replace(
            fake_prediction(), path=source.source, model_id=self.model_id
        )
        return self._call("opened", lambda: prediction)

    def predict_many(
        self, paths: Sequence[Path], *, should_stop: ShouldStop, **_options: Any
    ) -> Iterator[FakeResult]:
        """The triage list's call: one image at a time, checking ``should_stop`` between two."""
        for index, path in enumerate(paths):
            if should_stop():
                return
            hold = self.release.wait if index == 1 else (lambda: True)
            self._call(f"batch {path.name}", hold)
            yield FakeResult(path, FakePrediction(0.5, 0.4, "PNEUMONIA", self.model_id, path=path))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Six small PNGs for the batch, and one more (outside it) for the user to open."""
    batch = tmp_path / "batch"
    batch.mkdir()
    for index in range(6):
        Image.fromarray(np.full((32, 32), index * 40, np.uint8)).save(batch / f"b{index}.png")
    Image.fromarray(np.full((32, 32), 99, np.uint8)).save(tmp_path / "opened.png")
    return batch


def test_the_opened_image_and_a_batch_run_on_one_thread_in_turn_image_first(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        triage_history_module, "default_history_path", lambda: folder.parent / "h.sqlite"
    )
    predictor = RecordingPredictor()
    monkeypatch.setattr(lifecycle, "load_predictor", lambda _bundle: predictor)
    window = make_window()
    with qtbot.waitSignal(window.model_ready, timeout=MODEL_TIMEOUT_MS):
        window.load_model(folder)
    triage_list = window.triage_history.triage_list
    triage_list.run([folder])
    qtbot.waitUntil(lambda: len(predictor.calls) == 1, timeout=MODEL_TIMEOUT_MS)  # b0 done
    # The batch is inside its second image's call: the user opens an image meanwhile.
    with qtbot.waitSignal(window.image_shown, timeout=MODEL_TIMEOUT_MS):
        window.reading_room.open_image(folder.parent / "opened.png")
    with (
        qtbot.waitSignal(triage_list.finished, timeout=MODEL_TIMEOUT_MS),
        qtbot.waitSignal(window.prediction_shown, timeout=MODEL_TIMEOUT_MS),
    ):
        predictor.release.set()
    names = [name for name, _ in predictor.calls]
    assert names == [
        "batch b0.png",
        "batch b1.png",
        "opened",
        *(f"batch b{i}.png" for i in range(2, 6)),
    ]
    assert predictor.overlaps == 0
    threads = {thread for _, thread in predictor.calls}
    assert len(threads) == 1 and threading.main_thread().ident not in threads


def test_a_loaded_model_frees_the_garbage_then_freezes_what_lives() -> None:
    """After a model load, full collections skip the objects alive then (their scan held
    Python's lock for up to 0.75 s during bursts), and the garbage of the load was freed first,
    not frozen."""

    class Cycle:
        loop: object

    garbage = Cycle()
    garbage.loop = garbage
    freed = weakref.ref(garbage)
    del garbage
    try:
        lifecycle.settle_objects()
        assert freed() is None
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()  # leave the test process as it was
