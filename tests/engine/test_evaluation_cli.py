"""``hilum evaluate`` and ``hilum compare`` end to end on 48 real images with tiny bundles."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.cli.main import main
from engine.errors import ModelFileError
from engine.evaluation.bundle_evaluation import (
    EvaluationCancelled,
    compute_metrics,
    predict_probabilities,
    select_evaluation_set,
)
from engine.inference.predictor import Predictor
from engine.modeling.bundles import load_bundle, read_card, update_card
from engine.modeling.calibration import Calibration
from engine.modeling.metrics import SCORES
from engine.modeling.preprocessing import Preprocessing, load_and_preprocess
from tests.engine.tiny_bundles import make_bundle

HISTORY = {
    "loss": [0.7, 0.6],
    "val_loss": [0.72, 0.65],
    "accuracy": [0.6, 0.7],
    "val_accuracy": [0.55, 0.66],
    "auc": [0.6, 0.75],
    "val_auc": [0.58, 0.7],
}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, tiny_train_set: Path) -> list[Path]:
    """Two untrained bundles whose thresholds split the tiny set's calibrated probabilities
    at their median, so that both classes are called."""
    root = tmp_path_factory.mktemp("bundles")
    plain = make_bundle(root / "plain")
    calibrated = make_bundle(
        root / "calibrated",
        Preprocessing(96, channels=3, scaling="caffe"),
        seed=1,
        calibration=Calibration("platt", 0.5, 0.2),
    )
    training = {
        "history": HISTORY,
        "parameters": 1234,
        "epochs_run": 2,
        "total_seconds": 10.0,
        "seconds_per_epoch": 5.0,
    }
    update_card(calibrated, replace(read_card(calibrated), training=training))
    images, _ = select_evaluation_set(tiny_train_set)
    for folder in (plain, calibrated):
        bundle = load_bundle(folder)
        raw = predict_probabilities(Predictor(bundle).scorer, images.paths)
        threshold = float(np.median(bundle.card.calibration.apply(raw)))
        update_card(folder, replace(bundle.card, threshold=threshold))
    return [plain, calibrated]


def _expected(bundle_dir: Path, data: Path) -> dict[str, object]:
    """The metrics computed independently: model called directly on a stacked array."""
    bundle = load_bundle(bundle_dir)
    images, _ = select_evaluation_set(data)
    x = np.stack([load_and_preprocess(path, bundle.card.preprocessing) for path in images.paths])
    probabilities = bundle.card.calibration.apply(np.asarray(bundle.model(x)).reshape(-1))
    return compute_metrics(images.labels, probabilities, bundle.card.threshold).to_dict()


def test_evaluate_json_matches_metrics_of_the_same_predictions(
    models: list[Path], tiny_train_set: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for model in models:
        assert main(["evaluate", str(model), str(tiny_train_set), "--json"]) == 0
        captured = capsys.readouterr()
        report = json.loads(captured.out)
        expected = _expected(model, tiny_train_set)
        for key in ("n", *SCORES, "threshold", "loss"):
            assert report[key] == pytest.approx(expected[key], abs=1e-6), key
        assert report["confusion_matrix"] == expected["confusion_matrix"]
        tn, fp = report["confusion_matrix"][0]
        assert tn > 0 and fp > 0
        assert report["n"] == 48 and report["data"]["split"] == "folder"
        assert "48/48 images" in captured.err


def test_evaluate_prints_a_readable_summary_and_honours_limit(
    models: list[Path], tiny_train_set: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evaluate", str(models[1]), str(tiny_train_set), "--limit", "10"]) == 0
    out = capsys.readouterr().out
    assert "10 images (5 NORMAL, 5 PNEUMONIA), 0 unreadable" in out
    assert "calibration platt" in out and "1,234 parameters, 2 epochs" in out


def test_unreadable_images_are_left_out_and_counted(
    models: list[Path], tiny_train_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("NORMAL", "PNEUMONIA"):
        (tmp_path / name).mkdir()
        for source in sorted((tiny_train_set / name).iterdir())[:3]:
            (tmp_path / name / source.name).symlink_to(source)
    (tmp_path / "NORMAL" / "broken.jpeg").write_bytes(b"\xff\xd8\xff truncated")
    assert main(["evaluate", str(models[0]), str(tmp_path), "--json"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["n"] == 6 and report["data"]["unreadable"] == [
        str(tmp_path / "NORMAL" / "broken.jpeg")
    ]
    assert "unreadable, left out" in captured.err


def test_chest_xray_root_uses_test_then_val_then_train(
    tiny_train_set: Path, tmp_path: Path
) -> None:
    (tmp_path / "train").symlink_to(tiny_train_set)
    assert select_evaluation_set(tmp_path)[1] == "train"
    (tmp_path / "val").symlink_to(tiny_train_set)
    assert select_evaluation_set(tmp_path)[1] == "val"
    (tmp_path / "test").symlink_to(tiny_train_set)
    images, split = select_evaluation_set(tmp_path)
    assert split == "test" and images.root == tmp_path / "test" and len(images) == 48


def test_compare_writes_table_csv_and_plots(
    models: list[Path], tiny_train_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table, plots = tmp_path / "out" / "table.csv", tmp_path / "plots"
    table.parent.mkdir()
    assert (
        main(
            [
                "compare",
                *map(str, models),
                "--data",
                str(tiny_train_set),
                "--csv",
                str(table),
                "--plots",
                str(plots),
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["model", "variant", "n", "loss"]
    assert [line.split()[0] for line in lines[2:]] == ["plain", "calibrated"]
    with table.open() as stream:
        rows = list(csv.DictReader(stream))
    assert [row["model"] for row in rows] == ["plain", "calibrated"]
    assert rows[1]["parameters"] == "1234" and rows[0]["parameters"] == ""
    expected = _expected(models[1], tiny_train_set)
    assert float(rows[1]["recall"]) == pytest.approx(expected["sensitivity"])
    assert json.loads(rows[1]["confusion_matrix"]) == expected["confusion_matrix"]
    assert sorted(path.name for path in plots.iterdir()) == [
        "confusion_matrices.png",
        "roc.png",
        "training_curves.png",
    ]
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in plots.iterdir())
    assert sorted(path.name for path in table.parent.iterdir()) == ["table.csv"]


def test_a_tampered_bundle_stops_the_command_with_status_2(
    tiny_train_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_bundle(tmp_path / "b")
    with (folder / "model.keras").open("ab") as stream:
        stream.write(b"tampered")
    assert main(["evaluate", str(folder), str(tiny_train_set)]) == 2
    assert "checksum" in capsys.readouterr().err
    with pytest.raises(ModelFileError, match="checksum"):
        load_bundle(folder)


def test_prediction_can_be_cancelled(models: list[Path], tiny_train_set: Path) -> None:
    scorer = Predictor.load(models[0]).scorer
    images, _ = select_evaluation_set(tiny_train_set)
    with pytest.raises(EvaluationCancelled, match="cancelled"):
        predict_probabilities(
            scorer,
            images.paths,
            batch_size=8,
            should_stop=lambda: True,
        )


def test_compare_refuses_an_unwritable_csv_with_status_2(
    models: list[Path], tiny_train_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("not a folder")
    arguments = ["compare", str(models[0]), "--data", str(tiny_train_set), "--limit", "4"]
    assert main([*arguments, "--csv", str(tmp_path / "file" / "table.csv")]) == 2
    assert "Cannot write the output" in capsys.readouterr().err
