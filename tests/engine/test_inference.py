"""Predictor, predict and predict_many on real images, with tiny bundles built here.

The consistency checks of issue 4 need the trained default model and skip without it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.imaging.dicom_samples import LOSSLESS, write_sample
from engine.imaging.images import load_image
from engine.inference.gradcam import ZERO_MAP_NOTE
from engine.inference.ood import fit_ood_reference, save_ood_reference
from engine.inference.predictor import Predictor, predict, predict_many
from engine.modeling.calibration import Calibration
from engine.modeling.preprocessing import preprocess
from engine.modeling.tta import make_views
from engine.progress import Progress
from engine.runtime import TENSORFLOW
from tests.engine.tiny_bundles import make_bundle

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = REPO / "resources" / "models" / "default"
TIMINGS = {"decode", "preprocess", "model_cam", "resize"}


@pytest.fixture(scope="module")
def predictor(tmp_path_factory) -> Predictor:
    bundle = make_bundle(tmp_path_factory.mktemp("bundle") / "tiny", threshold=0.4)
    return Predictor.load(bundle, runtime=TENSORFLOW)  # compared with the Keras model


@pytest.fixture(scope="module")
def jpeg(train_dir) -> Path:
    return sorted((train_dir / "PNEUMONIA").iterdir())[0]


@pytest.fixture(scope="module")
def some_jpegs(train_dir) -> list[Path]:
    return sorted(train_dir.glob("*/*.jpeg"))[::500]


def test_predict_a_jpeg(predictor, jpeg):
    result = predict(predictor, jpeg)

    assert 0.0 <= result.probability <= 1.0
    assert result.label == ("PNEUMONIA" if result.probability >= 0.4 else "NORMAL")
    assert result.threshold == 0.4
    assert result.heatmap is not None and result.heatmap.shape == (224, 224)
    assert result.heatmap.dtype == np.float32
    assert result.heatmap.min() >= 0.0 and result.heatmap.max() <= 1.0
    assert set(result.timings) == TIMINGS and result.seconds > 0
    assert result.model_id == "tiny-test" and result.device == str(predictor.device)
    assert result.path == jpeg and not result.out_of_distribution


def test_a_prediction_of_a_multiframe_image_says_which_frame(predictor, dicom_dir):
    path = dicom_dir / "HasFragmentSequence_XA_JPEGbaseline.dcm"
    result = predict(predictor, load_image(path, frame=2))
    assert (result.frame_index, result.frame_count) == (2, 96)
    assert "A multi-frame image (96 frames): this prediction is of frame 3 only." in result.warnings
    single = predict(predictor, dicom_dir / "CR-MONO1-10-chest.dcm")
    assert (single.frame_index, single.frame_count) == (0, 1)
    assert not any("multi-frame" in warning for warning in single.warnings)


def test_predict_a_full_size_dicom_gives_a_heatmap_at_display_size(
    predictor, dicom_dir, monkeypatch
):
    radiograph = load_image(dicom_dir / "RG1_UNCR.dcm")
    decoded: list[object] = []

    def counting_load_image(source: object) -> object:
        decoded.append(source)
        return load_image(source)

    monkeypatch.setattr("engine.inference.predictor.load_image", counting_load_image)

    result = predictor.predict(radiograph)

    assert result.heatmap is not None and result.heatmap.shape == radiograph.pixels.shape
    assert np.isfinite(result.heatmap).all()
    assert decoded == [], "a Radiograph was given: it must not be decoded again"
    predictor.predict(dicom_dir / "RG1_UNCR.dcm")
    assert decoded == [dicom_dir / "RG1_UNCR.dcm"], "a path is decoded once (the spy sees it)"


def test_the_model_sees_exactly_the_cards_preprocessing(predictor, jpeg):
    x = preprocess(load_image(jpeg).pixels, predictor.bundle.card.preprocessing)
    expected = float(np.asarray(predictor.bundle.model(x[np.newaxis], training=False))[0, 0])

    assert predictor.predict(jpeg).raw_probability == pytest.approx(expected, abs=1e-5)


def test_calibrated_probability_follows_the_card(tmp_path, jpeg, predictor):
    calibrated = Predictor.load(
        make_bundle(
            tmp_path / "calibrated",
            calibration=Calibration.from_card({"method": "temperature", "temperature": 0.25}),
        )
    )

    result = calibrated.predict(jpeg)

    assert result.raw_probability == pytest.approx(
        predictor.predict(jpeg).raw_probability, abs=1e-6
    )
    expected = float(Calibration("temperature", 4.0).apply(result.raw_probability))
    assert result.probability == pytest.approx(expected, abs=1e-6)
    assert abs(result.probability - result.raw_probability) > 0.05


@pytest.mark.parametrize(
    ("threshold", "label"),
    [
        (0.0, "PNEUMONIA"),
        (0.29, "PNEUMONIA"),
        (0.3, "PNEUMONIA"),
        (0.31, "NORMAL"),
        (1.0, "NORMAL"),
    ],
)
def test_label_at_another_threshold(predictor, jpeg, threshold, label):
    """A probability of 0.3 is PNEUMONIA at thresholds up to 0.3 (inclusive), NORMAL above."""
    result = replace(predictor.predict(jpeg), probability=0.3)
    assert result.label_at(threshold) == label


def test_an_all_zero_heatmap_is_zeros_with_a_note(tmp_path, jpeg):
    zero = Predictor.load(make_bundle(tmp_path / "zero", zero_cam=True))

    result = zero.predict(jpeg)

    assert result.heatmap is not None and (result.heatmap == 0.0).all()
    assert ZERO_MAP_NOTE in result.warnings


def test_gradcam_plus_plus_predictor(tmp_path, jpeg):
    bundle = make_bundle(tmp_path / "pp")
    plain, plus = Predictor.load(bundle), Predictor.load(bundle, method="gradcam++")

    a, b = plain.predict(jpeg), plus.predict(jpeg)

    assert a.probability == pytest.approx(b.probability, abs=1e-6)
    assert b.heatmap is not None and b.heatmap.min() >= 0.0 and b.heatmap.max() <= 1.0


def test_the_bundles_ood_reference_flags_a_blank_frame_and_a_hip(tmp_path, train_dir, dicom_dir):
    bundle = make_bundle(tmp_path / "with_reference")
    save_ood_reference(fit_ood_reference(sorted(train_dir.glob("*/*.jpeg"))[::100]), bundle)
    Image.fromarray(np.full((100, 120), 200, np.uint8)).save(tmp_path / "blank.png")
    predictor = Predictor.load(bundle)

    blank, hip = (
        predictor.predict(tmp_path / "blank.png"),
        predictor.predict(dicom_dir / "RG2_UNC.dcm"),
    )

    assert predictor.ood_reference is not None
    assert blank.out_of_distribution and "blank" in blank.warnings[-1]
    assert hip.out_of_distribution and hip.ood_score is not None and hip.ood_score > 1.0
    assert "body part HIP" in hip.warnings[-1]


def test_predict_many_streams_a_per_file_error_and_keeps_order(predictor, some_jpegs, tmp_path):
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    paths = [*some_jpegs[:4], corrupt, *some_jpegs[4:]]
    reports: list[Progress] = []

    results = list(predict_many(predictor, paths, batch_size=4, on_progress=reports.append))

    assert [result.path for result in results] == paths
    assert results[4].prediction is None and "corrupt.jpg" in (results[4].error or "")
    assert all(r.prediction is not None and r.error is None for r in results if r.path != corrupt)
    single = predictor.predict(some_jpegs[5]).probability
    assert results[6].prediction is not None
    assert results[6].prediction.probability == pytest.approx(single, abs=1e-5)
    assert results[6].prediction.heatmap is None  # heatmaps only when asked
    assert [report.done for report in reports] == list(range(1, len(paths) + 1))
    assert reports[-1].total == len(paths)


def test_predict_many_with_heatmaps(predictor, some_jpegs, tmp_path):
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not a JPEG")
    paths = [corrupt, corrupt, *some_jpegs[:3]]  # the first batch of 2 has no readable file

    results = list(predictor.predict_many(paths, with_heatmaps=True, batch_size=2))

    assert [result.path for result in results] == paths
    assert [result.error is not None for result in results] == [True, True, False, False, False]
    for path, result in zip(paths[2:], results[2:], strict=True):
        single = predictor.predict(path)
        assert result.prediction is not None and result.prediction.heatmap is not None
        assert single.heatmap is not None and result.prediction.heatmap.shape == (224, 224)
        assert result.prediction.probability == pytest.approx(single.probability, abs=1e-5)
        np.testing.assert_allclose(result.prediction.heatmap, single.heatmap, atol=1e-5)


def test_predict_many_stops_when_asked(predictor, some_jpegs):
    seen: list[object] = []

    results = list(
        predictor.predict_many(
            some_jpegs, batch_size=2, should_stop=lambda: len(seen) >= 3, on_progress=seen.append
        )
    )

    assert len(results) == 3 < len(some_jpegs)


# --- Consistency of the default model (issue 4); needs resources/models/default ---------------


@pytest.fixture(scope="module")
def default_predictor() -> Predictor:
    if not (DEFAULT_MODEL / "card.json").is_file():
        pytest.skip(f"needs the trained default model at {DEFAULT_MODEL} (not trained yet)")
    return Predictor.load(DEFAULT_MODEL, runtime=TENSORFLOW)  # compared with the Keras model


def test_full_resolution_and_224_copy_agree(default_predictor, fullres_dir, train_dir):
    """A full-resolution radiograph and its 224 px JPEG copy get nearly the same answer.

    Measured with the shipped MobileNetV2 (2026-12-01): median |delta p| 0.002, 90th percentile
    0.07, 5 of 60 above 0.1 and 2 labels of 60 different — the copies were re-compressed as JPEG,
    and this model is sensitive to that texture (the robustness battery's JPEG row). A broken
    preprocessing (scaling, channels, resizing) moves every image, which the median and the
    label agreement catch; the bounds leave the measured spread a small margin.
    """
    differences = []
    disagreements = 0
    for full in sorted(fullres_dir.glob("*/*.jpeg")):
        small = train_dir / full.parent.name / full.name
        big, copy = default_predictor.predict(full), default_predictor.predict(small)
        differences.append(abs(big.probability - copy.probability))
        disagreements += big.label != copy.label
    assert float(np.median(differences)) <= 0.01, sorted(differences)
    assert float(np.percentile(differences, 90)) <= 0.12, sorted(differences)
    assert disagreements <= 3, f"{disagreements} of {len(differences)} labels differ"


def test_jpeg_and_dicom_of_the_same_pixels_agree(default_predictor, train_dir, tmp_path):
    for jpeg in sorted(train_dir.glob("*/*.jpeg"))[::1000]:
        pixels = np.round(load_image(jpeg).pixels * 255).astype(np.uint8)
        reference = default_predictor.predict(jpeg).probability
        for syntax in sorted(LOSSLESS):
            for photometric in ("MONOCHROME2", "MONOCHROME1"):
                folder = tmp_path / jpeg.stem
                folder.mkdir(exist_ok=True)
                dicom = write_sample(pixels, folder, syntax, photometric)
                probability = default_predictor.predict(dicom).probability
                assert abs(probability - reference) <= 0.02, (jpeg.name, syntax.name, photometric)


def test_the_batched_fast_path_gives_the_cards_probability(default_predictor, fullres_dir):
    """The raw probability of :func:`predict` (every view in one forward call, the class
    activation map, views held gray until the call) is the card's definition computed the plain
    way: each test-time view preprocessed alone and run alone, the outputs averaged."""
    bundle = default_predictor.bundle
    spec, views = bundle.card.preprocessing, bundle.card.tta.views
    for path in sorted(fullres_dir.glob("*/*.jpeg")):
        pixels = load_image(path).pixels
        plain = [
            float(np.asarray(bundle.model(preprocess(view, spec)[None], training=False))[0, 0])
            for view in make_views(pixels, spec.image_size, views)
        ]

        fast = default_predictor.predict(path).raw_probability

        assert fast == pytest.approx(float(np.mean(plain)), abs=1e-4), path.name  # measured ~1e-7
