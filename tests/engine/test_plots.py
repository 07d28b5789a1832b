"""Training curves: each line of the figure in a colour of its own."""

from __future__ import annotations

from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from engine.evaluation.plots import CURVES, draw_training_curves


def test_training_and_validation_curves_are_drawn_in_distinct_colours() -> None:
    histories = {
        name: {"loss": [0.9, 0.5], "val_loss": [1.0, 0.7], "auc": [0.8, 0.9], "val_auc": [0.7, 0.8]}
        for name in ("mobilenet", "small_cnn")
    }
    panels = Figure().subplots(1, len(CURVES))
    draw_training_curves(panels, histories)
    loss_lines = panels[0].get_lines()
    labels = [line.get_label() for line in loss_lines]
    assert labels == [
        "mobilenet (training)",
        "mobilenet (validation)",
        "small_cnn (training)",
        "small_cnn (validation)",
    ]
    colours = [to_hex(line.get_color()) for line in loss_lines]
    assert len(set(colours)) == len(colours), dict(zip(labels, colours, strict=True))
    assert [line.get_linestyle() for line in loss_lines] == ["-", "--", "-", "--"]
