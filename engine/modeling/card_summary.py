"""A model card as a page a person reads (the viewer's "Show model card", the CLI).

The card itself is JSON for machines; a radiographer deciding whether to trust a model wants
its provenance and validation figures in plain lines. The summary leads, in plain words, with
what decides whether a result applies to the patient at hand: where the model was validated
(sites, ages, views, images), when it warns that an image is unlike those, its worst known
weakness (the robustness battery's), and how it did elsewhere and on validation. Below a
"Technical details" heading follow the facts for engineers: ids, input scaling, operating point,
calibration parameters, composition, training and data, and how to rebuild it. Missing facts are
skipped or said to be unrecorded, so older or hand-made cards still read well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.modeling.card import ModelCard
from engine.modeling.validation_sites import Site, ages_in_words

#: The heading above the engineers' facts; nothing above it names a parameter or a layer.
TECHNICAL = "Technical details"
_SHOWN = ("auc", "accuracy", "sensitivity", "specificity", "precision", "f1", "brier", "ece")


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


def external_lines(card: ModelCard) -> list[str]:
    """'Expected on images from elsewhere': the external figures, cross-fitted when the external
    set also chose the calibration and threshold (then those are the honest ones). Shown by the
    card summary and quoted by the PDF report."""
    metrics = card.external.get("metrics") or {}
    if not metrics:
        return ["Expected on images from elsewhere: not measured (no external set was given)."]
    crossed = expected_elsewhere(card) or {}
    if card.external.get("fitted_on_this_set") and crossed:
        return [
            f"Expected on images from elsewhere ({crossed.get('n', '?')} external images, "
            "calibration and threshold cross-fitted): "
            + _figures(crossed, ("auc", "accuracy", "sensitivity", "specificity", "ece")),
            "  (fitted on all of them, as shipped: " + _figures(metrics, _SHOWN) + ")",
        ]
    return [
        f"Expected on images from elsewhere ({metrics.get('n', '?')} external images): "
        + _figures(metrics, _SHOWN)
    ]


def expected_elsewhere(card: ModelCard) -> dict[str, Any] | None:
    """The external figures to expect on images from elsewhere: the cross-fitted ones when the
    external set also chose the calibration and threshold, else the plain ones; ``None`` when
    the card has no external figures."""
    crossed = card.external.get("cross_fitted") or {}
    if card.external.get("fitted_on_this_set") and crossed:
        return dict(crossed)
    metrics = card.external.get("metrics") or {}
    return dict(metrics) if metrics else None


def worst_flip(robustness: Mapping[str, Any]) -> tuple[str, float] | None:
    """The robustness battery's worst change and its largest per-class flip rate, if measured.

    Read from the card's ``worst_change`` / ``worst_flip_rate``, which
    :meth:`engine.evaluation.robustness.RobustnessReport.to_card` computed when it was written.
    """
    if robustness.get("worst_change") is None or robustness.get("worst_flip_rate") is None:
        return None
    return str(robustness["worst_change"]), float(robustness["worst_flip_rate"])


def _composition_lines(card: ModelCard) -> list[str]:
    """Members, test-time views and robustness."""
    lines = []
    if card.members:
        names = [card.variant] + [member.variant for member in card.members]
        lines.append(f"Ensemble of {len(names)} networks: {', '.join(names)}")
    if card.tta and len(card.tta.views) > 1:
        lines.append(f"Test-time augmentation: mean over {', '.join(card.tta.views)}")
    worst = worst_flip(card.robustness)
    if worst is not None:
        changes = card.robustness["changes"]
        lines.append(
            f"Robustness ({card.robustness.get('images', '?')} images): worst change "
            f"'{worst[0]}' flips {worst[1]:.1%} of one class's labels; "
            + ", ".join(f"{c['name']} {float(c['flip_rate']):.1%}" for c in changes)
        )
    return lines


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.3g} %"


def _site_words(site: Site) -> str:
    """'<name>, <place>: children aged 1–5 years, AP views, 5,529 images (...)'."""
    where = site.name + (f", {site.place}" if site.place else "")
    ages = ages_in_words(site.ages) if site.ages else "age range not recorded"
    views = f"{'/'.join(site.views)} views" if site.views else "views not recorded"
    images = f"{site.image_count:,} images" if site.images else "image count not recorded"
    if len(site.images) > 1:
        images += " (" + ", ".join(f"{n:,} {use}" for use, n in site.images.items()) + ")"
    return f"{where}: {ages}, {views}, {images}"


def validated_on_line(card: ModelCard) -> str:
    """'Validated on: <site>: <ages>, <views>, <images>', or that the card does not say."""
    validated = card.validated_on
    if validated is None:
        return "Validated on: not recorded in this card (sites, ages and views unknown)."
    return "Validated on: " + "; ".join(_site_words(site) for site in validated.sites)


def _lead_lines(card: ModelCard) -> list[str]:
    """Where the model was validated, when it warns, and its worst known weakness."""
    lines = [validated_on_line(card)]
    check = card.domain_check
    if check is None:
        lines.append("No domain check: it does not warn when an image is unlike these.")
    else:
        sources = ", ".join(f"{source.name}, {source.images:,} images" for source in check.sources)
        lines.append(
            f"Warns when an image is unlike these ({sources}); about "
            f"{_percent(check.false_alarm_rate)} of images like them get the warning too."
        )
    lines.extend(_caveat_lines(card.robustness))
    return lines


def _caveat_lines(robustness: Mapping[str, Any]) -> list[str]:
    """The robustness battery's worst change in words: which labels it turned into which."""
    worst = worst_flip(robustness)
    if worst is None:
        return []
    changes: list[Mapping[str, Any]] = list(robustness.get("changes") or ())
    change = next((c for c in changes if c.get("name") == worst[0]), {})
    normal, pneumonia = change.get("flip_rate_normal"), change.get("flip_rate_pneumonia")
    tested = f"the worst of the small changes tested on {robustness.get('images', '?')} images"
    if normal is None or pneumonia is None:
        flips = _percent(worst[1])
        return [f"Caveat: '{worst[0]}' flips {flips} of one class's labels ({tested})."]
    low, high = ("NORMAL", "PNEUMONIA") if normal >= pneumonia else ("PNEUMONIA", "NORMAL")
    rate = max(float(normal), float(pneumonia))
    return [
        f"Caveat: after '{change.get('description') or worst[0]}', {_percent(rate)} of {low} "
        f"labels became {high} ({tested})."
    ]


def describe_card(card: ModelCard) -> str:
    """Plain-text summary of a model card, one fact per line.

    The plain-words lines come first (see the module docstring); then :data:`TECHNICAL`.

    Args:
        card: a card as :func:`engine.modeling.bundles.read_card` returns it.

    Returns:
        Lines separated by newlines; no trailing newline.
    """
    lines = [f"Model: {card.display_name}", *_lead_lines(card), *external_lines(card)]
    metrics = card.validation_metrics
    if metrics:
        lines.append(
            f"In-distribution (validation split of the training hospital, {metrics.n} images; "
            "flatters the model): " + _figures(metrics.to_dict(), _SHOWN)
        )
    lines += ["", TECHNICAL]
    lines.append(
        f"Id {card.model_id}, variant {card.variant}, created {card.created or '?'} on "
        f"{card.device or '?'}"
    )
    pre = card.preprocessing
    lines.append(
        f"Input: {pre.image_size} x {pre.image_size} px, {pre.channels} channel(s), per-image "
        f"contrast stretch {'on' if pre.stretch else 'off'}, scaling {pre.scaling}"
    )
    point = card.operating_point
    how = point.method if point else "?"
    if point and point.target is not None:
        how += f" (target {point.target:.2f})"
    chosen_on = card.selection.get("calibration_and_threshold_fitted_on", "validation")
    lines.append(
        f"Operating point: threshold {card.threshold:.3f}, chosen on {chosen_on} images by {how}"
    )
    calibration = card.calibration.to_card()
    method = calibration.pop("method")
    extra = ", ".join(
        f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in calibration.items()
    )
    lines.append(f"Calibration: {method}" + (f" ({extra})" if extra else ""))
    if metrics:
        (tn, fp), (fn, tp) = metrics.confusion_matrix
        lines.append(f"Confusion matrix at the threshold: TN {tn}, FP {fp}, FN {fn}, TP {tp}")
    lines.extend(_composition_lines(card))
    training = card.training
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
    data = card.data
    if data.get("counts"):
        lines.append(f"Data: {_counts(data['counts'])}")
    if data.get("split"):
        split = data["split"]
        lines.append(
            f"Validation split: {split.get('method', '?')}, fraction {split.get('fraction', '?')}, "
            f"seed {split.get('seed', '?')}"
        )
    if card.command:
        lines.append(f"Reproduce: {card.command}")
    if card.model_sha256:
        lines.append(f"model.keras sha256: {card.model_sha256}")
    return "\n".join(lines)
