"""The Training tab on a tiny real data set: training, progress, comparison, operating point,
promotion, cancelling and closing, and an event loop that keeps running while a model trains
(how long it may stall is measured by ``benchmarks/training_responsiveness.py``, not here).

Every run trains on the 48 images of ``tiny_train_set`` at 64 px for one or two epochs (seconds).
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from pytestqt.qtbot import QtBot

from engine.errors import DatasetError
from engine.evaluation.bundle_evaluation import evaluate_bundle
from engine.evaluation.comparison import COLUMNS
from engine.modeling.bundles import find_bundles, read_card
from engine.modeling.labelled_folders import CLASS_NAMES
from engine.modeling.train_config import TrainConfig
from engine.modeling.variants import build_model, get_variant, list_variants
from engine.progress import Progress
from engine.workflows.promotion import SHIPPED_DEFAULT, PromotionCheck
from engine.workflows.training import TrainingResult, split_of
from engine.workflows.training_process import train_in_process
from tests.engine.tiny_bundles import train_tiny
from tests.viewer.helpers import show_widget
from viewer.settings import Settings, TrainingSettings
from viewer.training.comparison_view import ComparisonView
from viewer.training.training_tab import TrainingTab
from viewer.window.main_window import MainWindow

pytestmark = pytest.mark.data

TRAIN_TIMEOUT_MS = 240_000
MODEL_TIMEOUT_MS = 90_000
#: Ticks of a 20 ms GUI-thread timer that must be served while one variant trains (measured
#: 235 and 288 for dense and cnn). A loop served only when a progress report arrives (14 per
#: variant here) would let at most about one tick through per report.
MIN_TICKS = 50
#: The metric keys the comparison takes from the engine's metrics, by column key.
METRIC_COLUMNS = {
    "loss": "loss",
    "accuracy": "accuracy",
    "recall": "sensitivity",
    "precision": "precision",
    "f1": "f1",
    "specificity": "specificity",
    "auc": "auc",
    "ece": "ece",
    "threshold": "threshold",
    "confusion_matrix": "confusion_matrix",
}


def assert_same_metrics(row: dict[str, object], metrics: dict[str, object]) -> None:
    """The comparison row shows exactly the engine's metrics."""
    for column, key in METRIC_COLUMNS.items():
        expected = metrics[key]
        if isinstance(expected, list):
            assert row[column] == expected, column
        else:
            assert row[column] == pytest.approx(expected), column


def recomputed_validation_metrics(bundle: Path, data: Path, folder: Path) -> dict[str, object]:
    """The engine's evaluation of ``bundle`` on its validation images, found again from the
    card's split (seed, fraction) of ``data`` and linked into ``folder``: figures computed
    apart from the card that the comparison row is built from."""
    split = read_card(bundle).data["split"]
    config = TrainConfig(
        variant="dense",
        data_dir=data,
        out_dir=folder / "unused",
        seed=split["seed"],
        validation_fraction=split["fraction"],
    )
    validation = split_of(config).validation
    for path, label in zip(validation.paths, validation.labels, strict=True):
        target = folder / CLASS_NAMES[label] / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path)
    return evaluate_bundle(bundle, folder).metrics.to_dict()


@pytest.fixture(scope="module")
def trained_models(tmp_path_factory: pytest.TempPathFactory, tiny_train_set: Path) -> Path:
    """A model folder holding ``dense`` and ``cnn`` bundles trained by the engine directly."""
    folder = tmp_path_factory.mktemp("models")
    for variant in ("dense", "cnn"):
        train_tiny(
            tiny_train_set, folder, variant, image_size=64, batch_size=16, augmentation=False
        )
    return folder


@pytest.fixture
def make_tab(qtbot: QtBot, settings: Settings) -> Iterator[Callable[..., TrainingTab]]:
    """Factory of shown Training tabs with a temporary model folder; each is shut down after.

    Parameter counts are pre-filled (unless ``count=True``) so that tests which do not look at
    them do not spend seconds building every variant.
    """
    tabs: list[TrainingTab] = []

    def factory(model_folder: Path, *, count: bool = False) -> TrainingTab:
        stored = TrainingSettings(settings)
        stored.model_folder = model_folder
        if not count:
            stored.parameter_counts = {spec.name: 1 for spec in list_variants()}
        tab = show_widget(qtbot, TrainingTab(settings), (1400, 900))
        tabs.append(tab)
        return tab

    yield factory
    for tab in tabs:
        assert tab.shutdown(), "background work of the Training tab did not stop"


def scan(qtbot: QtBot, tab: TrainingTab, folder: Path) -> None:
    with qtbot.waitSignal(tab.dataset.scanned, timeout=60_000):
        tab.set_data_folder(folder)


def set_quick_settings(tab: TrainingTab, epochs: int) -> None:
    tab.form.epochs.setValue(epochs)
    tab.form.image_size.setValue(64)
    tab.form.batch_size.setValue(8)
    tab.form.augmentation.setChecked(False)


def test_dataset_panel_counts_splits_and_classes(
    qtbot: QtBot, make_tab: Callable[..., TrainingTab], tiny_train_set: Path, tmp_path: Path
) -> None:
    tab = make_tab(tmp_path / "models")
    scan(qtbot, tab, tiny_train_set)

    summary = tab.dataset.summary
    assert summary is not None
    assert summary.total == 48
    assert set(summary.counts) == {"train", "validation"}  # no test/ folder here
    assert sum(summary.counts["validation"].values()) == 6  # 12.5 % carved by patient
    assert summary.share("NORMAL") == pytest.approx(0.5)
    assert summary.unreadable == ()
    assert tab.dataset.table.item(0, 2).text() == str(sum(summary.counts["train"].values()))
    assert tab.dataset.table.item(2, 0).text() == "—"


def test_trains_two_variants_with_progress_and_a_responsive_window(
    qtbot: QtBot, make_tab: Callable[..., TrainingTab], tiny_train_set: Path, tmp_path: Path
) -> None:
    """Both variants train with progress, and the GUI thread keeps serving its event loop.

    Responsiveness is checked by what load cannot break: a 20 ms timer kept firing, many times,
    while each variant trained (training that blocked the GUI thread, even between batches,
    would let only a tick or so through per report). The comparison rows are checked against
    the engine's evaluation of each model on its validation images, not against the card they
    were built from. How long the loop stalls is a figure for
    ``benchmarks/training_responsiveness.py``.
    """
    tab = make_tab(tmp_path / "models")
    scan(qtbot, tab, tiny_train_set)
    tab.variants.set_checked(["dense", "cnn"])
    set_quick_settings(tab, epochs=2)
    assert tab.start_button.isEnabled(), tab.reason.text()

    events: list[tuple[str, str]] = []  # (variant, "progress" / "tick" / "finished"), in order
    reports: list[tuple[str, Progress]] = []
    results: dict[str, object] = {}

    def on_progress(name: str, report: Progress) -> None:
        reports.append((name, report))
        events.append((name, "progress"))

    def on_finished(name: str, result: object) -> None:
        results[name] = result
        events.append((name, "finished"))

    tab.progressed.connect(on_progress)
    tab.variant_finished.connect(on_finished)
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: events.append(("", "tick")))
    with qtbot.waitSignal(tab.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        timer.start()
        tab.start_training()
    timer.stop()

    assert finished.args == [False]
    for name in ("dense", "cnn"):
        first = events.index((name, "progress"))
        last = events.index((name, "finished"))
        ticks = [kind for _, kind in events[first:last] if kind == "tick"]

        assert len(ticks) >= MIN_TICKS, f"{len(ticks)} timer ticks while {name} trained"
    for name in ("dense", "cnn"):
        result = results[name]
        assert isinstance(result, TrainingResult) and result.bundle is not None
        assert result.bundle.parent == tmp_path / "models"
        epochs = [r.epoch for n, r in reports if n == name and r.final_of_epoch]
        assert epochs == [1, 2]
        assert tab.curves.histories[name]["val_auc"] == result.history["val_auc"]
    assert all(bar.value() == bar.maximum() for bar in tab.progress.bars)
    assert tab.progress.overall.value() == tab.progress.overall.maximum()
    qtbot.waitUntil(
        lambda: tab.curves.pixmap() is not None and not tab.curves.pixmap().isNull(), timeout=10_000
    )
    # The comparison lists both new models, with their cards' validation figures.
    assert sorted(e.bundle for e in tab.comparison.entries) == sorted(
        find_bundles(tmp_path / "models")
    )
    for index, entry in enumerate(tab.comparison.entries):
        expected = recomputed_validation_metrics(
            entry.bundle, tiny_train_set, tmp_path / str(index)
        )
        assert_same_metrics(entry.row, expected)


def test_comparison_matches_engine_sorts_numbers_and_exports(
    qtbot: QtBot,
    make_tab: Callable[..., TrainingTab],
    tiny_train_set: Path,
    trained_models: Path,
    tmp_path: Path,
) -> None:
    tab = make_tab(trained_models)
    scan(qtbot, tab, tiny_train_set)
    view = tab.comparison
    qtbot.waitUntil(lambda: len(view.entries) == 2, timeout=20_000)
    table = view.table

    columns = [*COLUMNS, "source"]
    for row in range(2):
        entry = table.record_at(table.proxy.index(row, 0))
        card = read_card(entry.bundle).to_dict()
        expected = recomputed_validation_metrics(entry.bundle, tiny_train_set, tmp_path / str(row))
        assert_same_metrics(entry.row, expected)
        assert entry.row["parameters"] == card["training"]["parameters"]
        shown = table.proxy.index(row, columns.index("parameters")).data()
        assert shown == f"{card['training']['parameters']:,}"

    parameters = columns.index("parameters")
    table.sortByColumn(parameters, Qt.SortOrder.AscendingOrder)
    ordered = [entry.row["parameters"] for entry in table.shown_records()]
    assert ordered == sorted(ordered) and ordered[0] < ordered[1]  # numeric, not text

    table.selectRow(0)
    dense = table.shown_records()[0].bundle
    with qtbot.waitSignal(view.evaluated, timeout=MODEL_TIMEOUT_MS):
        view.evaluate_selected()
    expected = evaluate_bundle(dense, tiny_train_set)
    row = view.entry(dense).row
    assert row["source"] == f"folder: {tiny_train_set.name}"
    assert_same_metrics(row, expected.metrics.to_dict())

    view.export_csv(tmp_path / "comparison.csv")
    with (tmp_path / "comparison.csv").open(newline="") as stream:
        lines = list(csv.DictReader(stream))
    assert [line["model"] for line in lines] == [e.name for e in table.shown_records()]
    assert float(lines[0]["accuracy"]) == pytest.approx(row["accuracy"])
    view.export_png(tmp_path / "comparison.png")
    assert (tmp_path / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_operating_point_by_target_and_by_clicking_the_roc(
    qtbot: QtBot, make_tab: Callable[..., TrainingTab], trained_models: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "models"
    source = next(b for b in find_bundles(trained_models) if b.name.startswith("cnn"))
    bundle = Path(shutil.copytree(source, folder / source.name))
    tab = make_tab(folder)
    view = tab.comparison
    tab.pages.setCurrentWidget(view)
    qtbot.waitUntil(lambda: len(view.entries) == 1, timeout=20_000)
    view.table.selectRow(0)

    view.target.setValue(1.0)
    view.use_target()
    with qtbot.waitSignal(view.operating_point_saved, timeout=20_000):
        view.save_operating_point()
    card = read_card(bundle).to_dict()
    roc = card["validation_metrics"]["roc"]
    first_full = next(i for i, tpr in enumerate(roc["tpr"]) if tpr >= 1.0)
    assert card["threshold"] == pytest.approx(roc["thresholds"][first_full])
    assert card["operating_point"]["method"] == "target_sensitivity"
    assert card["operating_point"]["sensitivity"] == 1.0
    assert card["validation_metrics"]["sensitivity"] == 1.0

    # A real click near (0, 0) of the ROC axes: the strictest point, nothing called PNEUMONIA.
    view.figure.canvas.draw()
    x, y = view.figure.roc_axes.transData.transform((0.02, 0.02))
    ratio = view.figure.canvas.device_pixel_ratio
    click = QPoint(round(x / ratio), round(view.figure.canvas.height() - y / ratio))
    qtbot.mouseClick(view.figure.canvas, Qt.MouseButton.LeftButton, pos=click)
    assert view.save_button.isEnabled()
    with qtbot.waitSignal(view.operating_point_saved, timeout=20_000):
        view.save_operating_point()
    card = read_card(bundle).to_dict()
    assert card["threshold"] == pytest.approx(min(roc["thresholds"][0], 1.0))
    assert card["operating_point"]["method"] == "manual"
    negatives = card["validation_metrics"]["n_negative"]
    positives = card["validation_metrics"]["n_positive"]
    assert card["validation_metrics"]["confusion_matrix"] == [[negatives, 0], [positives, 0]]
    assert view.entry(bundle).threshold == card["threshold"]


def test_invalid_settings_are_refused_with_the_reason(
    qtbot: QtBot, make_tab: Callable[..., TrainingTab], tiny_train_set: Path, tmp_path: Path
) -> None:
    tab = make_tab(tmp_path / "models")
    assert not tab.start_button.isEnabled()
    assert tab.reason.text() == "Choose a data folder."
    scan(qtbot, tab, tiny_train_set)
    assert tab.reason.text() == "Check at least one variant."
    tab.variants.set_checked(["cnn"])
    assert tab.start_button.isEnabled()

    cases = [
        (tab.form.epochs.setValue, 0, "epochs must be between 1 and 1000, got 0", tab.form.epochs),
        (
            tab.form.image_size.setValue,
            10,
            "image_size 10 is out of range for variant 'cnn'",
            tab.form.image_size,
        ),
        (
            tab.form.learning_rate.setText,
            "fast",
            "learning_rate must be a number",
            tab.form.learning_rate,
        ),
        (tab.form.limit.setValue, 5, "limit must be between 20", tab.form.limit),
        (tab.form.batch_size.setValue, 0, "batch_size must be between 1", tab.form.batch_size),
    ]
    for set_value, bad, reason, field in cases:
        good = field.text() if hasattr(field, "setText") else field.value()
        set_value(bad)
        assert not tab.start_button.isEnabled()
        assert reason in tab.reason.text()
        assert tab.form.error.text() == tab.reason.text()
        assert field.styleSheet(), "the refused field is marked"
        set_value(good)
        assert tab.start_button.isEnabled(), tab.reason.text()
        assert not field.styleSheet()

    tab.variants.set_checked(["cnn", "mobilenet"])
    tab.form.weights_file.setText(str(tmp_path / "missing.h5"))
    assert "does not exist" in tab.reason.text() and not tab.start_button.isEnabled()
    tab.variants.set_checked(["cnn"])  # the weights file is for transfer variants only
    assert tab.start_button.isEnabled(), tab.reason.text()


def test_parameter_counts_are_built_once_in_the_background(
    qtbot: QtBot, settings: Settings, make_tab: Callable[..., TrainingTab], tmp_path: Path
) -> None:
    stored = TrainingSettings(settings)
    stored.parameter_counts = {s.name: 1 for s in list_variants() if s.name not in ("dense", "cnn")}
    tab = make_tab(tmp_path / "models", count=True)
    qtbot.waitUntil(
        lambda: "dense" in stored.parameter_counts and "cnn" in stored.parameter_counts,
        timeout=MODEL_TIMEOUT_MS,
    )
    expected = build_model(get_variant("cnn")).count_params()
    assert stored.parameter_counts["cnn"] == expected
    item = tab.variants.findItems("cnn", Qt.MatchFlag.MatchExactly)[0]
    assert item.text(1) == f"{expected:,}"


def test_cancel_keeps_the_finished_model_and_leaves_no_bundle(
    qtbot: QtBot, make_tab: Callable[..., TrainingTab], tiny_train_set: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "models"
    tab = make_tab(folder)
    scan(qtbot, tab, tiny_train_set)
    tab.variants.set_checked(["dense", "cnn"])
    set_quick_settings(tab, epochs=2)
    after_cancel: list[Progress] = []
    cancelled_at: list[Progress] = []

    def on_progress(name: str, report: Progress) -> None:
        if name != "cnn":
            return
        if not cancelled_at:
            cancelled_at.append(report)
            tab.cancel_training()
        else:
            after_cancel.append(report)

    tab.progressed.connect(on_progress)  # dense runs to the end; cnn is cancelled at once
    with qtbot.waitSignal(tab.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        tab.start_training()

    assert finished.args == [True]
    # The stop reaches the child process within POLL_SECONDS; it then stops after one batch.
    assert not [r for r in after_cancel if r.final_of_epoch], "an epoch ended after Cancel"
    # However soon the stop arrives (none may come after it), fewer than an epoch's batches.
    assert cancelled_at and cancelled_at[0].total > 1
    assert len(after_cancel) < cancelled_at[0].total
    bundles = find_bundles(folder)
    assert [b.name.split("-")[0] for b in bundles] == ["dense"]
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "partial bundle left"
    assert "cancelled" in tab.progress.statuses[1].text()
    assert [e.bundle for e in tab.comparison.entries] == bundles
    assert tab.start_button.isEnabled()


def test_a_failed_run_raises_the_engine_error_and_leaves_no_bundle(
    tiny_train_set: Path, tmp_path: Path
) -> None:
    data = tmp_path / "one_class"
    (data / "PNEUMONIA").mkdir(parents=True)
    (data / "NORMAL").mkdir()
    for source in sorted((tiny_train_set / "PNEUMONIA").iterdir())[:8]:
        (data / "PNEUMONIA" / source.name).symlink_to(source.resolve())
    (data / "NORMAL" / "broken.png").write_bytes(b"not an image")
    config = TrainConfig(
        variant="dense", data_dir=data, out_dir=tmp_path / "models", image_size=64, epochs=1
    )

    with pytest.raises(DatasetError):  # raised in the child, re-raised with its type here
        train_in_process(config)
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").iterdir())


def training_tab_of(window: MainWindow) -> tuple[MainWindow, TrainingTab]:
    """``window`` showing its Training tab, with parameter counts stored (so that opening the
    tab builds no model to count them)."""
    TrainingSettings(window.settings).parameter_counts = {s.name: 1 for s in list_variants()}
    window.tabs.setCurrentWidget(window.training_tab)
    return window, window.training_tab


def test_promote_switches_the_reading_room_model_and_can_revert(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    trained_models: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window, tab = training_tab_of(make_window())
    view: ComparisonView = tab.comparison
    view.set_model_folder(trained_models)
    qtbot.waitUntil(lambda: len(view.entries) == 2, timeout=20_000)
    view.table.selectRow(0)
    bundle = view.current().bundle
    asked: list[PromotionCheck] = []

    def accept(check: PromotionCheck) -> bool:
        asked.append(check)
        return True

    monkeypatch.setattr(view.promotion, "confirm_promotion", accept)

    with qtbot.waitSignal(window.model_ready, timeout=MODEL_TIMEOUT_MS) as ready:
        view.promotion.promote_button.click()
    # Trained without an external set: promoted only after the person accepted the warning.
    assert [check.bundle for check in asked] == [bundle]
    assert any("never measured on images from elsewhere" in w for w in asked[0].warnings)
    assert window.settings.model_path == bundle
    assert ready.args[0].bundle.path == bundle
    assert view.settings.previous_model == SHIPPED_DEFAULT
    assert view.promotion.revert_button.isEnabled()
    assert bundle.name in view.promotion.active_label.text()

    view.promotion.revert()  # back to the shipped default; the promoted model stays recoverable
    assert window.settings.model_path is None
    assert view.settings.previous_model == bundle


def test_closing_during_training_asks_then_cancels_cleanly(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    tiny_train_set: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window, tab = training_tab_of(make_window())
    tab.settings.model_folder = tmp_path / "models"
    scan(qtbot, tab, tiny_train_set)
    tab.variants.set_checked(["cnn"])
    set_quick_settings(tab, epochs=50)
    asked: list[bool] = []
    answer = [False]

    def confirm() -> bool:
        asked.append(answer[0])
        return answer[0]

    monkeypatch.setattr(tab, "confirm_stop_training", confirm)
    with qtbot.waitSignal(tab.progressed, timeout=TRAIN_TIMEOUT_MS):
        tab.start_training()

    window.close()
    assert asked == [False] and window.isVisible() and tab.is_training

    answer[0] = True
    window.close()
    assert asked == [False, True] and not window.isVisible()
    qtbot.waitUntil(lambda: not tab.is_training, timeout=5_000)  # the job had already ended
    assert find_bundles(tmp_path / "models") == []
