"""Comparison figures as PNG files: ROC curves, confusion matrices, training curves.

Drawn with matplotlib's object API on a :class:`matplotlib.figure.Figure` (Agg canvas, no
pyplot state, no Qt), so it runs headless and on worker threads. The functions take plain data
(names mapped to curves, matrices or histories) rather than reports, and write atomically.

The ``draw_*`` functions draw onto axes the caller owns; the ``plot_*`` functions and the
viewer's figures (comparison view, training curves) are built on them, so each figure is drawn
by one piece of code and only the layout and font sizes differ.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from engine.atomic_files import replacing
from engine.modeling.labelled_folders import CLASS_NAMES

if TYPE_CHECKING:  # matplotlib is imported by the functions that draw, not with this module
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.ticker import Locator

#: Training-curve panels: history key (the validation curve is ``val_`` + key) and title.
CURVES = (("loss", "loss"), ("accuracy", "accuracy"), ("auc", "ROC AUC"))
#: Line style of training (solid) and validation (dashed) values, by history-key prefix; each
#: also has a colour of its own (:func:`curve_colour`).
STYLES = (("", "-", "training"), ("val_", "--", "validation"))

Curves = Mapping[str, Mapping[str, Sequence[float]]]
Histories = Mapping[str, Mapping[str, Sequence[float]]]


def draw_roc(
    axes: Axes,
    curves: Curves,
    points: Mapping[str, tuple[float, float]] | None = None,
    *,
    linewidths: Mapping[str, float] | None = None,
    chance_label: str = "chance",
    marker_size: float | None = 7,
) -> None:
    """The chance diagonal, then each model's ROC curve (colour ``C<i>``) and operating point.

    Args:
        axes: where to draw.
        curves: legend label -> ``{"fpr": [...], "tpr": [...]}`` (empty when AUC is undefined).
        points: legend label -> (false positive rate, sensitivity) at the model's threshold.
        linewidths: legend label -> line width (matplotlib's default for the others).
        chance_label: the diagonal's legend label (one starting with ``_`` is not listed).
        marker_size: size of the operating-point dots (matplotlib's default when ``None``).
    """
    widths = linewidths or {}
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", label=chance_label)
    for index, (name, curve) in enumerate(curves.items()):
        color = f"C{index % 10}"
        if curve["fpr"]:
            axes.plot(
                curve["fpr"], curve["tpr"], color=color, linewidth=widths.get(name), label=name
            )
        if points and name in points:
            axes.plot(*points[name], "o", color=color, markersize=marker_size)


def draw_confusion_matrix(
    axes: Axes,
    matrix: Sequence[Sequence[int]],
    *,
    class_names: Sequence[str] = CLASS_NAMES,
    fontsize: str | None = None,
) -> None:
    """A 2x2 confusion matrix (rows: truth; columns: prediction) with its counts written in.

    Args:
        axes: where to draw.
        matrix: ``[[tn, fp], [fn, tp]]``.
        class_names: the tick labels (NORMAL, PNEUMONIA).
        fontsize: size of the counts (matplotlib's default when ``None``).
    """
    axes.imshow(matrix, cmap="Blues")
    high = max(max(row) for row in matrix)
    for row in range(2):
        for column in range(2):
            value = matrix[row][column]
            axes.text(
                column,
                row,
                str(value),
                ha="center",
                va="center",
                color="white" if value > high / 2 else "black",
                fontsize=fontsize,
            )
    axes.set(xticks=[0, 1], yticks=[0, 1], xticklabels=class_names, yticklabels=class_names)


def draw_training_curves(
    panels: Sequence[Axes], histories: Histories, *, marker: str | None = None
) -> None:
    """One panel per :data:`CURVES` entry: every model's values per epoch, training solid and
    validation dashed, each in a colour of its own (:func:`curve_colour`); missing keys are
    skipped.

    Args:
        panels: one axes per :data:`CURVES` entry, in order.
        histories: model name -> Keras history (``{"loss": [...], "val_loss": [...], ...}``).
        marker: marker of each epoch's value (none by default).
    """
    for axes, (key, _title) in zip(panels, CURVES, strict=True):
        for index, (name, history) in enumerate(histories.items()):
            for kind_index, (prefix, style, kind) in enumerate(STYLES):
                values = history.get(prefix + key)
                if values:
                    axes.plot(
                        range(1, len(values) + 1),
                        values,
                        style,
                        marker=marker,
                        color=curve_colour(index, kind_index),
                        label=f"{name} ({kind})",
                    )
        axes.xaxis.set_major_locator(_integer_locator())


def curve_colour(model_index: int, kind_index: int) -> str:
    """The colour of a model's training (``kind_index`` 0) or validation (1) curve: matplotlib's
    ``C0``, ``C1``, ... in pairs, so that the two curves of one model never share a colour (a
    dashed line alone was hard to tell apart in a small panel)."""
    return f"C{(len(STYLES) * model_index + kind_index) % 10}"


def save_figure(figure: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``figure`` as a PNG (100 dpi), atomically; returns ``path``."""
    target = Path(path)
    with replacing(target) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    return target


def plot_roc(
    curves: Curves,
    path: str | os.PathLike[str],
    points: Mapping[str, tuple[float, float]] | None = None,
) -> Path:
    """All models' ROC curves on one axes, with each model's operating point when given.

    Args:
        curves: legend label -> ``{"fpr": [...], "tpr": [...]}`` (empty when AUC is undefined).
        path: the PNG to write.
        points: legend label -> (false positive rate, sensitivity) at the model's threshold.

    Returns:
        ``path``.
    """
    figure = _new_figure(figsize=(6, 6))
    axes = figure.add_subplot()
    draw_roc(axes, curves, points)
    axes.set(
        xlabel="1 - specificity (false positive rate)",
        ylabel="sensitivity (true positive rate)",
        xlim=(0, 1),
        ylim=(0, 1.01),
        title="ROC curves",
    )
    axes.legend(loc="lower right", fontsize="small")
    return save_figure(figure, path)


def plot_confusion_matrices(
    matrices: Mapping[str, Sequence[Sequence[int]]], path: str | os.PathLike[str]
) -> Path:
    """One confusion matrix per model, side by side (rows: truth; columns: prediction).

    Args:
        matrices: model name -> ``[[tn, fp], [fn, tp]]``.
        path: the PNG to write.

    Returns:
        ``path``.
    """
    count = max(len(matrices), 1)
    figure = _new_figure(figsize=(3.2 * count, 3.4), layout="constrained")
    for axes, (name, matrix) in zip(
        figure.subplots(1, count, squeeze=False)[0], matrices.items(), strict=False
    ):
        draw_confusion_matrix(axes, matrix)
        axes.set(xlabel="predicted", ylabel="truth", title=name)
    return save_figure(figure, path)


def plot_training_curves(histories: Histories, path: str | os.PathLike[str]) -> Path:
    """Loss, accuracy and AUC per epoch for every model: training solid, validation dashed.

    Args:
        histories: model name -> Keras history (``{"loss": [...], "val_loss": [...], ...}``);
            missing keys are skipped.
        path: the PNG to write.

    Returns:
        ``path``.
    """
    figure = _new_figure(figsize=(5 * len(CURVES), 4), layout="constrained")
    panels = figure.subplots(1, len(CURVES), squeeze=False)[0]
    draw_training_curves(panels, histories)
    for axes, (_key, title) in zip(panels, CURVES, strict=True):
        axes.set(xlabel="epoch", title=title)
        if axes.get_lines():
            axes.legend(fontsize="x-small")
        else:
            axes.text(0.5, 0.5, "no history in the cards", ha="center", transform=axes.transAxes)
    return save_figure(figure, path)


def _new_figure(
    figsize: tuple[float, float], layout: Literal["constrained"] | None = None
) -> Figure:
    """A matplotlib figure (Agg canvas, no pyplot); imports matplotlib on first use."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout=layout)


def _integer_locator() -> Locator:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)
