"""Comparison figures as PNG files: ROC curves, confusion matrices, training curves.

Drawn with matplotlib's object API on a :class:`matplotlib.figure.Figure` (Agg canvas, no
pyplot state, no Qt), so it runs headless and on worker threads. The functions take plain data
(names mapped to curves, matrices or histories) rather than reports, and write atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from engine.atomic_files import replacing

#: Training-curve panels: history key (the validation curve is ``val_`` + key) and title.
CURVES = (("loss", "loss"), ("accuracy", "accuracy"), ("auc", "ROC AUC"))


def _save(figure: Figure, path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    with replacing(target) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    return target


def plot_roc(
    curves: Mapping[str, Mapping[str, Sequence[float]]],
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
    figure = Figure(figsize=(6, 6))
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
    for index, (name, curve) in enumerate(curves.items()):
        color = f"C{index % 10}"
        if curve["fpr"]:
            axes.plot(curve["fpr"], curve["tpr"], color=color, label=name)
        if points and name in points:
            axes.plot(*points[name], "o", color=color, markersize=7)
    axes.set(
        xlabel="1 - specificity (false positive rate)",
        ylabel="sensitivity (true positive rate)",
        xlim=(0, 1),
        ylim=(0, 1.01),
        title="ROC curves",
    )
    axes.legend(loc="lower right", fontsize="small")
    return _save(figure, path)


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
    figure = Figure(figsize=(3.2 * count, 3.4), layout="constrained")
    for axes, (name, matrix) in zip(
        figure.subplots(1, count, squeeze=False)[0], matrices.items(), strict=False
    ):
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
                )
        axes.set(
            xticks=[0, 1],
            yticks=[0, 1],
            xticklabels=["NORMAL", "PNEUMONIA"],
            yticklabels=["NORMAL", "PNEUMONIA"],
            xlabel="predicted",
            ylabel="truth",
            title=name,
        )
    return _save(figure, path)


def plot_training_curves(
    histories: Mapping[str, Mapping[str, Sequence[float]]], path: str | os.PathLike[str]
) -> Path:
    """Loss, accuracy and AUC per epoch for every model: training solid, validation dashed.

    Args:
        histories: model name -> Keras history (``{"loss": [...], "val_loss": [...], ...}``);
            missing keys are skipped.
        path: the PNG to write.

    Returns:
        ``path``.
    """
    figure = Figure(figsize=(5 * len(CURVES), 4), layout="constrained")
    panels = figure.subplots(1, len(CURVES), squeeze=False)[0]
    colors = [f"C{i % 10}" for i in range(len(histories))]
    for axes, (key, title) in zip(panels, CURVES, strict=True):
        for color, (name, history) in zip(colors, histories.items(), strict=True):
            for prefix, style in (("", "-"), ("val_", "--")):
                values = history.get(prefix + key)
                if values:
                    axes.plot(
                        range(1, len(values) + 1),
                        values,
                        style,
                        color=color,
                        label=f"{name} ({'validation' if prefix else 'training'})",
                    )
        axes.set(xlabel="epoch", title=title)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        if axes.get_lines():
            axes.legend(fontsize="x-small")
        else:
            axes.text(0.5, 0.5, "no history in the cards", ha="center", transform=axes.transAxes)
    return _save(figure, path)
