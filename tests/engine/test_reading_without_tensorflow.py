"""The reading path runs without TensorFlow: a fresh process in which importing ``tensorflow`` or
``keras`` fails loads the shipped bundle, and predicts a real external JPEG and a real DICOM with
heatmap, domain verdict and chest-radiograph check, on LiteRT (issue 18 item 5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = REPO / "resources" / "models" / "default"

SCRIPT = """
import json, sys
from tests.packaging.spec import spec_list
from tests.without_training import Refuse

sys.meta_path.insert(0, Refuse(spec_list("TRAINING_ONLY")))
from engine.inference.predictor import Predictor

predictor = Predictor.load(sys.argv[1])
results = []
for path in sys.argv[2:]:
    prediction = predictor.predict(path)
    results.append({
        "probability": prediction.probability,
        "heatmap": list(prediction.heatmap.shape),
        "peak": float(prediction.heatmap.max()),
        "in_domain": prediction.in_domain,
        "domain_score": prediction.domain_score,
        "out_of_distribution": prediction.out_of_distribution,
        "outside": prediction.outside,
    })
loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras"))
print(json.dumps({"runtime": predictor.runtime, "device": str(predictor.device),
                  "loaded": loaded, "results": results}))
"""


def test_the_shipped_bundle_reads_images_without_tensorflow(shared_data: Path) -> None:
    jpeg = sorted((shared_data / "chest_xray" / "external" / "PNEUMONIA").glob("*.jpeg"))[0]
    dicom = shared_data / "dicom" / "RG1_UNCR.dcm"
    env = {key: value for key, value in os.environ.items() if key != "HILUM_RUNTIME"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(DEFAULT_MODEL), str(jpeg), str(dicom)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["loaded"] == []
    assert report["runtime"] == "litert"
    assert "LiteRT" in report["device"]
    film, nema = report["results"]
    assert film["heatmap"] == [224, 224] and film["peak"] > 0.99
    assert film["in_domain"] is True and film["outside"] is None
    assert 0.5 < film["probability"] <= 1.0  # a pneumonia film the model gets right
    assert nema["heatmap"][0] > 1000 and nema["peak"] > 0.99  # the heatmap at display size
    assert nema["in_domain"] is False and nema["domain_score"] > 1.0
    assert nema["outside"].startswith("Outside what this model was validated on")
