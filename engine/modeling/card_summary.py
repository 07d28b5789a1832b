"""A model card as a page a person reads (the viewer's "Show model card", the CLI).

The card itself is JSON for machines; a radiographer deciding whether to trust a model wants
its provenance and validation figures in plain lines: what it is, how its operating point and
calibration were chosen, how it did on validation, what it was trained on, and how to rebuild it.
Missing fields are skipped, so older or hand-made cards still read well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _figures(metrics: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    return ", ".join(
        f"{key} {float(metrics[key]):.3f}" for key in keys if metrics.get(key) is not None
    )


def _counts(counts: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{split}: " + " / ".join(f"{n} {label}" for label, n in by_label.items())
        for split, by_label in counts.items()
        if isinstance(by_label, Mapping)
    )


_SCORES = ("auc", "accuracy", "sensitivity", "specificity", "precision", "f1", "brier", "ece")


def _external_lines(card: Mapping[str, Any]) -> list[str]:
    """'Expected on images from elsewhere': the external figures, cross-fitted when the external
    set also chose the calibration and threshold (then those are the honest ones)."""
    external = card.get("external") or {}
    metrics = external.get("metrics") or {}
    if not metrics:
        return ["Expected on images from elsewhere: not measured (no external set was given)."]
    crossed = external.get("cross_fitted") or {}
    if external.get("fitted_on_this_set") and crossed:
        return [
            f"Expected on images from elsewhere ({crossed.get('n', '?')} external images, "
            f"calibration and threshold cross-fitted): "
            + _figures(crossed, ("auc", "accuracy", "sensitivity", "specificity", "ece")),
            "  (fitted on all of them, as shipped: " + _figures(metrics, _SCORES) + ")",
        ]
    return [
        f"Expected on images from elsewhere ({metrics.get('n', '?')} external images): "
        + _figures(metrics, _SCORES)
    ]


def _composition_lines(card: Mapping[str, Any]) -> list[str]:
    """Members, test-time views and robustness."""
    lines = []
    members = card.get("members") or []
    if members:
        names = [str(card.get("variant", "?"))] + [str(m.get("variant", "?")) for m in members]
        lines.append(f"Ensemble of {len(names)} networks: {', '.join(names)}")
    views = (card.get("tta") or {}).get("views") or []
    if len(views) > 1:
        lines.append(f"Test-time augmentation: mean over {', '.join(views)}")
    robustness = card.get("robustness") or {}
    if robustness.get("changes"):
        worst = max(
            robustness["changes"],
            key=lambda c: max(c["flip_rate_normal"], c["flip_rate_pneumonia"]),
        )
        lines.append(
            f"Robustness ({robustness.get('images', '?')} images): worst change "
            f"'{worst['name']}' flips {float(worst['flip_rate_normal']):.1%} of NORMAL and "
            f"{float(worst['flip_rate_pneumonia']):.1%} of PNEUMONIA labels; "
            + ", ".join(f"{c['name']} {float(c['flip_rate']):.1%}" for c in robustness["changes"])
        )
    return lines


def describe_card(card: Mapping[str, Any]) -> str:
    """Plain-text summary of a model card, one fact per line.

    Args:
        card: a card as :func:`engine.modeling.bundles.read_card` returns it.

    Returns:
        Lines separated by newlines; no trailing newline.
    """
    lines = [f"Model: {card.get('name') or card.get('model_id', 'unknown')}"]
    lines.append(
        f"Id {card.get('model_id', '?')}, variant {card.get('variant', '?')}, created "
        f"{card.get('created', '?')} on {card.get('device', '?')}"
    )
    pre = card.get("preprocessing") or {}
    if pre:
        lines.append(
            f"Input: {pre.get('image_size')} x {pre.get('image_size')} px, {pre.get('channels')} "
            f"channel(s), per-image contrast stretch {'on' if pre.get('stretch') else 'off'}, "
            f"scaling {pre.get('scaling')}"
        )
    point = card.get("operating_point") or {}
    if card.get("threshold") is not None:
        how = point.get("method", "?")
        if point.get("target") is not None:
            how += f" (target {float(point['target']):.2f})"
        chosen_on = (card.get("selection") or {}).get(
            "calibration_and_threshold_fitted_on", "validation"
        )
        lines.append(
            f"Operating point: threshold {float(card['threshold']):.3f}, chosen on {chosen_on} "
            f"images by {how}"
        )
    calibration = dict(card.get("calibration") or {})
    if calibration:
        method = calibration.pop("method", "?")
        extra = ", ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in calibration.items()
        )
        lines.append(f"Calibration: {method}" + (f" ({extra})" if extra else ""))
    lines.extend(_external_lines(card))
    metrics = card.get("validation_metrics") or {}
    if metrics:
        lines.append(
            f"In-distribution (validation split of the training hospital, {metrics.get('n', '?')} "
            "images; flatters the model): " + _figures(metrics, _SCORES)
        )
        matrix = metrics.get("confusion_matrix")
        if matrix:
            (tn, fp), (fn, tp) = matrix
            lines.append(f"Confusion matrix at the threshold: TN {tn}, FP {fp}, FN {fn}, TP {tp}")
    lines.extend(_composition_lines(card))
    training = card.get("training") or {}
    if training:
        weights = (training.get("weights") or {}).get("source", "?")
        parameters = training.get("parameters")
        epochs, best = training.get("epochs_run", "?"), training.get("best_epoch", "?")
        lines.append(
            f"Training: {epochs} epochs (best {best}), "
            f"{float(training.get('total_seconds', 0)):.0f} s, "
            + (f"{int(parameters):,} parameters, " if parameters is not None else "")
            + f"initial weights: {weights}"
        )
    data = card.get("data") or {}
    if data.get("counts"):
        lines.append(f"Data: {_counts(data['counts'])}")
    if data.get("split"):
        split = data["split"]
        lines.append(
            f"Validation split: {split.get('method', '?')}, fraction {split.get('fraction', '?')}, "
            f"seed {split.get('seed', '?')}"
        )
    if card.get("command"):
        lines.append(f"Reproduce: {card['command']}")
    if card.get("model_sha256"):
        lines.append(f"model.keras sha256: {card['model_sha256']}")
    return "\n".join(lines)
