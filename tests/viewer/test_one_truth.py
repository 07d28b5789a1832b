"""One truth for the image on screen, through real clicks: a failed file leaves nothing of the
image before it, and the study list highlights the image a triage row opened."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QTreeWidgetItem
from pytestqt.qtbot import QtBot

from engine.inference.prediction import FileResult
from engine.progress import ShouldStop
from tests.viewer.helpers import LOAD_TIMEOUT_MS, fake_prediction
from viewer.window.main_window import MainWindow

MakeWindow = Callable[..., MainWindow]


def folder_with_a_broken_file(fullres_dir: Path, folder: Path) -> tuple[Path, Path]:
    """A readable JPEG and one cut short (listed by its header, failing when decoded)."""
    folder.mkdir()
    original = sorted((fullres_dir / "NORMAL").glob("*.jpeg"))[0]
    good, broken = folder / "a_good.jpeg", folder / "b_broken.jpeg"
    shutil.copyfile(original, good)
    broken.write_bytes(original.read_bytes()[:3000])
    return good, broken


def tree_item(window: MainWindow, path: Path) -> QTreeWidgetItem:
    tree = window.browser.tree
    found = [
        item
        for item in tree.findItems("*", Qt.MatchFlag.MatchWildcard | Qt.MatchFlag.MatchRecursive)
        if item.text(0) == path.name
    ]
    assert found, f"{path.name} is not listed"
    return found[0]


def click_row(qtbot: QtBot, window: MainWindow, path: Path) -> None:
    """Click ``path``'s row in the study list, as the user does."""
    tree = window.browser.tree
    qtbot.waitUntil(lambda: path in window.browser.image_paths(), timeout=LOAD_TIMEOUT_MS)
    item = tree_item(window, path)
    tree.scrollToItem(item)
    QTest.mouseClick(
        tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center()
    )


def test_a_failed_file_leaves_nothing_of_the_image_before(
    qtbot: QtBot, make_window: MakeWindow, fullres_dir: Path, tmp_path: Path
) -> None:
    good, broken = folder_with_a_broken_file(fullres_dir, tmp_path / "study")
    window = make_window()
    with qtbot.waitSignal(window.image_shown, timeout=LOAD_TIMEOUT_MS) as shown:
        window.open_paths([tmp_path / "study"])
    radiograph = shown.args[0]
    assert radiograph.source == good
    window.reading_room.show_prediction(
        dataclasses.replace(
            fake_prediction(0.3, shape=radiograph.pixels.shape), path=radiograph.source
        )
    )
    panel = window.panel
    assert "Heatmap faded to 75% strength: the probability 30.0%" in panel.strength_text
    assert window.view.has_heatmap

    with qtbot.waitSignal(window.image_failed, timeout=LOAD_TIMEOUT_MS):
        click_row(qtbot, window, broken)
    assert panel.strength_text == "" and panel.label_text == ""
    assert panel.probability_text in ("", "–")
    assert "No image" in [label.text() for label in panel.findChildren(QLabel)]
    assert not window.view.has_heatmap
    panel.set_threshold(0.05)  # a redraw (at another strength) must not bring the map back
    assert not window.view.has_heatmap and panel.strength_text == ""
    assert window.reading_room.result_on_screen() is None
    assert window.browser.highlighted == broken, "the file the user clicked stays highlighted"


def late_verdicts(paths: Sequence[Path], *, should_stop: ShouldStop) -> Iterator[FileResult]:
    """Stands in for ``predict_many``: every image NORMAL at 0.2."""
    for path in paths:
        yield FileResult(path, dataclasses.replace(fake_prediction(0.2), path=path))


def test_the_study_list_highlights_the_image_a_triage_row_opened(
    qtbot: QtBot, make_window: MakeWindow, fullres_dir: Path, tmp_path: Path
) -> None:
    """A row of a folder triaged without being opened: double-clicking it shows that image,
    and the study list highlights it (not the other patient's file it highlighted before)."""
    opened = sorted((fullres_dir / "NORMAL").glob("*.jpeg"))[:2]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    triaged = elsewhere / "triaged.jpeg"
    shutil.copyfile(sorted((fullres_dir / "PNEUMONIA").glob("*.jpeg"))[0], triaged)
    window = make_window()
    with qtbot.waitSignal(window.image_shown, timeout=LOAD_TIMEOUT_MS):
        window.open_paths(opened)
    qtbot.waitUntil(lambda: window.browser.highlighted == opened[0], timeout=LOAD_TIMEOUT_MS)

    triage_list = window.triage_history.triage_list
    triage_list.set_batch_predictor(late_verdicts)
    with qtbot.waitSignal(triage_list.finished, timeout=LOAD_TIMEOUT_MS):
        triage_list.run([triaged])
    window.tabs.setCurrentWidget(triage_list)
    table = triage_list.table
    point = table.visualRect(table.proxy.index(0, 1)).center()
    with qtbot.waitSignal(window.image_shown, timeout=LOAD_TIMEOUT_MS) as shown:
        QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=point)
        QTest.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert shown.args[0].source == triaged
    assert window.tabs.currentIndex() == 0
    qtbot.waitUntil(lambda: window.browser.highlighted == triaged, timeout=LOAD_TIMEOUT_MS)
    assert set(opened) <= set(window.browser.image_paths()), "what was open stays listed"
