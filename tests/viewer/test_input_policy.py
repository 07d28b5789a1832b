"""Input that does what the user meant, driven by real keys, clicks and wheel events: the wheel
changes a field only when it has focus, the reading room's one-key shortcuts fire only in the
reading room and never while a text field has focus, and a threshold moved away from the card's
says so plainly and goes back in one click."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QPushButton, QScrollArea, QWidget
from pytestqt.qtbot import QtBot

from tests.engine.test_reading_state import an_image
from tests.viewer.helpers import fake_prediction, show_widget, wheel_over
from viewer.reading_room.prediction_panel import PredictionPanel
from viewer.widgets.marked_slider import MarkedSlider
from viewer.window.main_window import MainWindow

MakeWindow = Callable[..., MainWindow]


def active_window(qtbot: QtBot, make_window: MakeWindow) -> MainWindow:
    """A shown main window that has the keyboard focus (as the one the user works in)."""
    window = make_window()
    with qtbot.waitActive(window):
        window.activateWindow()
    return window


def click_tab(window: MainWindow, page: QWidget) -> None:
    """Click the tab of ``page`` in the window's tab bar."""
    bar = window.tabs.tabBar()
    spot = bar.tabRect(window.tabs.indexOf(page)).center()
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=spot)
    assert window.tabs.currentWidget() is page


def test_the_wheel_over_an_unfocused_field_scrolls_the_form_not_the_value(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = active_window(qtbot, make_window)
    window.resize(1600, 700)
    click_tab(window, window.training_tab)
    batch = window.training_tab.form.batch_size
    scroll = window.training_tab.findChild(QScrollArea)
    assert batch.value() == 32 and not batch.hasFocus()
    bar = scroll.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    before = bar.value()
    taker = wheel_over(batch, notches=-3)
    assert batch.value() == 32  # was 29: the wheel changed the field it passed over
    assert taker is not batch
    if bar.maximum() > 0:  # the form is taller than the tab: the wheel scrolled it
        assert bar.value() > before
    QTest.mouseClick(batch, Qt.MouseButton.LeftButton, pos=QPoint(8, batch.height() // 2))
    assert batch.hasFocus()
    assert wheel_over(batch, notches=-3) is batch
    assert batch.value() == 29  # focused: the wheel is the user's way to change it


def test_a_passing_wheel_leaves_the_threshold_alone(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = active_window(qtbot, make_window)
    window.show_prediction(fake_prediction(probability=0.5, threshold=0.4))
    panel = window.panel
    slider = panel.findChild(MarkedSlider)
    window.view.setFocus()
    before = panel.threshold
    wheel_over(slider, notches=2)
    assert panel.threshold == before
    slider.setFocus()
    wheel_over(slider, notches=2)
    assert panel.threshold != before


def test_one_key_shortcuts_stay_in_the_reading_room(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = active_window(qtbot, make_window)
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_I)
    assert window.invert_action.isChecked()  # the reading room: I inverts
    QTest.keyClick(window.view, Qt.Key.Key_I)
    heatmap = window.heatmap_action.isChecked()

    click_tab(window, window.training_tab)
    field = window.training_tab.dataset.path_edit
    QTest.mouseClick(field, Qt.MouseButton.LeftButton)
    QTest.keyClicks(field, "/data/chest/images1")  # i, h, 1 and the rest: typed, not commands
    assert field.text() == "/data/chest/images1"
    QTest.keyClick(field, Qt.Key.Key_Return)  # the typed folder is used (here: it is missing)
    assert window.training_tab.dataset.status.text().startswith(
        "There is no folder at /data/chest/images1"
    )
    assert not window.invert_action.isChecked() and not window.view.inverted
    assert window.heatmap_action.isChecked() == heatmap
    for key in (Qt.Key.Key_I, Qt.Key.Key_H):
        QTest.keyClick(window.training_tab.start_button, key)  # a button, not a field
    assert not window.invert_action.isChecked() and not window.view.inverted
    assert window.heatmap_action.isChecked() == heatmap

    click_tab(window, window.reading_room)
    tag_filter = window.tags.findChild(QLineEdit)
    QTest.mouseClick(tag_filter, Qt.MouseButton.LeftButton)
    QTest.keyClicks(tag_filter, "hi")
    assert tag_filter.text() == "hi"
    assert window.heatmap_action.isChecked() == heatmap and not window.view.inverted
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_H)
    assert window.heatmap_action.isChecked() != heatmap  # back in the reading room: H works


def test_a_threshold_moved_from_the_card_is_plain_and_reset_in_one_click(qtbot: QtBot) -> None:
    panel = show_widget(qtbot, PredictionPanel(), (360, 700))
    panel.set_model("test model", "CPU", 0.4)
    panel.show_prediction(fake_prediction(probability=0.41, threshold=0.4))
    reset = next(b for b in panel.findChildren(QPushButton) if b.text().startswith("Reset"))
    assert panel.threshold_note == "0.400 (the model card's operating point)"
    assert not reset.isEnabled()
    slider = panel.findChild(MarkedSlider)
    slider.setFocus()
    for _ in range(20):
        QTest.keyClick(slider, Qt.Key.Key_Right)  # the arrow keys move a focused slider
    assert panel.threshold == pytest.approx(0.42)
    assert panel.threshold_note == "0.420 (set by the user for this image) — the model's: 0.400"
    assert panel.state.set_by_user and reset.isEnabled() and reset.text() == "Reset to 0.400"
    assert panel.label_text == "NORMAL"
    QTest.mouseClick(reset, Qt.MouseButton.LeftButton)
    assert panel.threshold == pytest.approx(0.4) and not panel.state.set_by_user
    assert panel.threshold_note == "0.400 (the model card's operating point)"
    assert not reset.isEnabled() and panel.label_text == "PNEUMONIA"


def test_a_threshold_lasts_for_this_image_unless_the_user_keeps_it(qtbot: QtBot) -> None:
    """Issue 19: a moved threshold silently carried to later images. It now lasts for the image
    it was set on; ticking "Keep for the next images" (a real click) makes it the session's."""
    panel = show_widget(qtbot, PredictionPanel(), (360, 700))
    panel.set_model("test model", "CPU", 0.4)
    control = panel.threshold_control
    for keep in (False, True):
        panel.state.show_image(an_image("first"))
        panel.show_prediction(fake_prediction(probability=0.41, threshold=0.4))
        if keep:
            QTest.mouseClick(control.keep, Qt.MouseButton.LeftButton)
        control.slider.setFocus()
        QTest.keyClick(control.slider, Qt.Key.Key_End)  # all the way: 0.4 -> 1.0
        assert panel.threshold == pytest.approx(1.0)
        scope = "session" if keep else "image"
        assert panel.threshold_note.startswith(f"1.000 (set by the user for this {scope})")
        panel.state.show_image(an_image("second"))
        panel.show_prediction(fake_prediction(probability=0.41, threshold=0.4))
        assert panel.threshold == pytest.approx(1.0 if keep else 0.4)
        assert panel.label_text == ("NORMAL" if keep else "PNEUMONIA")
        panel.reset_threshold()
