"""The patient's age from the DICOM header, and the warning when it is outside the card's ages.

Age strings follow PS3.5 6.2 (VR AS: ``nnnD``/``nnnW``/``nnnM``/``nnnY``); dates VR DA. Hostile
values must give "unknown", never an exception. The NEMA RG1 chest (born 1940-03-05, studied
2004-08-26) is about 64; the shipped model was validated on children aged 1 to 5.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from engine.imaging.images import load_image
from engine.imaging.patient_age import age_string_years, dicom_date, patient_age_years
from engine.inference.age_check import age_in_words, age_warning
from engine.inference.predictor import Predictor
from engine.modeling.bundles import read_card, update_card
from engine.modeling.validation_sites import Site, ValidatedOn
from tests.engine.synthetic import dicom_dataset, gradient, write_dicom
from tests.engine.tiny_bundles import make_bundle

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "resources" / "models" / "default"
CHILDREN = ValidatedOn((Site("Guangzhou", ages=(1, 5)),))


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("064Y", 64.0),
        ("006M", 0.5),
        ("052W", 52 * 7 / 365.25),
        ("003D", 3 / 365.25),
        ("64Y", 64.0),  # lenient: fewer digits
        (" 064y ", 64.0),  # lenient: case and padding
        ("130Y", 130.0),
        ("000Y", None),  # what anonymisers write
        ("131Y", None),  # implausible
        ("999Y", None),
        ("1000Y", None),  # more than three digits
        ("064", None),  # no unit
        ("Y", None),
        ("", None),
        ("-01Y", None),
        ("1.5Y", None),
        ("064X", None),
        ("064Y\\010Y", None),  # two values
        ("9" * 100_000 + "Y", None),  # huge
        ("sixty", None),
    ],
)
def test_age_strings(text: str, years: float | None) -> None:
    assert age_string_years(text) == (None if years is None else pytest.approx(years))


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("19400305", date(1940, 3, 5)),
        ("1940.03.05", date(1940, 3, 5)),  # ACR-NEMA form
        ("00000000", None),
        ("19401305", None),
        ("20230229", None),
        ("1940035", None),
        ("", None),
        ("not a date", None),
    ],
)
def test_dates(text: str, day: date | None) -> None:
    assert dicom_date(text) == day


def _header(**values: object) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def test_the_age_comes_from_the_age_string_else_birth_and_image_dates() -> None:
    assert patient_age_years(_header(PatientAge="010Y", PatientBirthDate="19400305")) == 10.0
    born = _header(PatientBirthDate="20200101", StudyDate="20230101")
    assert patient_age_years(born) == pytest.approx(3.0, abs=0.01)
    fallback = _header(PatientBirthDate="20200101", SeriesDate="20210701")
    assert patient_age_years(fallback) == pytest.approx(1.5, abs=0.01)
    assert patient_age_years(_header(PatientBirthDate="20200101")) is None  # no image date
    assert patient_age_years(_header(PatientBirthDate="20300101", StudyDate="20200101")) is None
    assert patient_age_years(_header()) is None


@pytest.mark.parametrize(
    ("damage", "years"),
    [
        ({b"064Y": b"\xff\xfe\x00\x01"}, 64.5),  # the dates still tell
        ({b"064Y": b"\x00\x00\x00\x00", b"19400305": b"1A\x00\xff\\\\ab"}, None),
        ({b"064Y": b"    ", b"20040826": b"\xc3\x28\xa0\xa1\xe2\x28\xa1\x00"}, None),
    ],
)
def test_hostile_header_bytes_give_unknown_not_an_error(
    tmp_path: Path, damage: dict[bytes, bytes], years: float | None
) -> None:
    """The values are damaged in the file's bytes (pydicom refuses to set them)."""
    ds = dicom_dataset(gradient())
    ds.PatientAge, ds.PatientBirthDate, ds.StudyDate = "064Y", "19400305", "20040826"
    path = write_dicom(tmp_path / "hostile.dcm", ds)
    data = path.read_bytes()
    for value, replacement in damage.items():
        data = data.replace(value, replacement)
    path.write_bytes(data)
    age = load_image(path).patient_age_years
    assert age == (None if years is None else pytest.approx(years, abs=0.1))


def test_the_nema_chest_is_about_64(dicom_dir: Path) -> None:
    assert load_image(dicom_dir / "RG1_UNCR.dcm").patient_age_years == pytest.approx(64.5, abs=0.1)


def test_the_warning_names_the_age_and_the_validated_range() -> None:
    assert age_warning(64.48, CHILDREN) == (
        "The patient is about 64 years old; this model was validated on children aged 1–5 "
        "years: its result may not apply."
    )
    assert "about 6 months old" in str(age_warning(0.5, CHILDREN))
    assert age_in_words(1 / 12) == "about 1 month old" and age_in_words(3 / 365.25) == (
        "about 3 days old"
    )
    assert age_warning(5.9, CHILDREN) is None and age_warning(1.0, CHILDREN) is None
    assert age_warning(None, CHILDREN) is None  # age unknown
    assert age_warning(64, None) is None  # card without validated_on
    assert age_warning(64, ValidatedOn((Site("somewhere"),))) is None  # ages not recorded


def test_a_prediction_warns_only_when_the_card_records_ages(tmp_path: Path) -> None:
    ds = dicom_dataset(gradient())
    ds.PatientAge = "064Y"
    adult = write_dicom(tmp_path / "adult.dcm", ds)
    bundle = make_bundle(tmp_path / "tiny")
    assert not any("years old" in text for text in Predictor.load(bundle).predict(adult).warnings)
    update_card(bundle, replace(read_card(bundle), validated_on=CHILDREN))
    warnings = Predictor.load(bundle).predict(adult).warnings
    assert age_warning(64, CHILDREN) in warnings


@pytest.fixture(scope="module")
def default_predictor() -> Predictor:
    return Predictor.load(DEFAULT_MODEL)


def test_the_shipped_model_warns_on_the_nema_chest_not_on_a_jpeg(
    default_predictor: Predictor, dicom_dir: Path, shared_data: Path
) -> None:
    nema = default_predictor.predict(dicom_dir / "RG1_UNCR.dcm")
    assert (
        "The patient is about 64 years old; this model was validated on children aged 1–5 "
        "years: its result may not apply."
    ) in nema.warnings
    jpeg = sorted((shared_data / "chest_xray" / "external" / "NORMAL").iterdir())[0]
    assert not any("years old" in text for text in default_predictor.predict(jpeg).warnings)
