"""The patient's age at the time of the image, from the DICOM header; ``None`` when unknown.

A model validated on children aged 1 to 5 says little about a 64-year-old; the age lets
inference warn (:mod:`engine.inference.age_check`). It is read where the header is read (the
decoder, :mod:`engine.imaging.dicom_reading`) and travels on the
:class:`~engine.imaging.radiograph.Radiograph` as one number.

Sources, in order:

1. Patient's Age (0010,1010), VR AS (PS3.5 6.2): ``nnnD``, ``nnnW``, ``nnnM`` or ``nnnY`` (days,
   weeks, months or years), e.g. ``064Y``, ``006M``. Read leniently (one to three digits,
   spaces, lower case), since writers differ; a value without a unit is unknown, and so is an
   age of zero (``000Y`` is what anonymisers write, usually beside a birth date of zeros).
2. Patient's Birth Date (0010,0030) and the first valid date of Study Date (0008,0020),
   Acquisition Date (0008,0022), Content Date (0008,0023), Series Date (0008,0021); VR DA
   (PS3.5 6.2): ``YYYYMMDD``, or ACR-NEMA's ``YYYY.MM.DD``, which PS3.5 still lets readers accept.

A header comes from outside and may hold anything: every function here returns ``None`` for a
value it cannot use and never raises.
"""

from __future__ import annotations

import re
from datetime import date

from pydicom.dataset import Dataset

from engine.imaging.dicom_values import text

#: Ages above this many years are taken for errors (unknown).
MAX_YEARS = 130
#: Days per year, for ages given in days or weeks and ages from two dates.
DAYS_PER_YEAR = 365.25
#: Dates the birth date is compared with, in order of preference.
IMAGE_DATES = ("StudyDate", "AcquisitionDate", "ContentDate", "SeriesDate")

_AGE = re.compile(r"(\d{1,3}) ?([DWMY])")
_YEARS_PER_UNIT = {"D": 1 / DAYS_PER_YEAR, "W": 7 / DAYS_PER_YEAR, "M": 1 / 12, "Y": 1.0}
_DATE = re.compile(r"(\d{4})\.?(\d{2})\.?(\d{2})")


def age_string_years(value: str) -> float | None:
    """Years from a DICOM Age String (``"064Y"`` -> 64.0, ``"006M"`` -> 0.5), else ``None``."""
    found = _AGE.fullmatch(value.strip().upper())
    if found is None:
        return None
    years = int(found[1]) * _YEARS_PER_UNIT[found[2]]
    return years if 0 < years <= MAX_YEARS else None


def dicom_date(value: str) -> date | None:
    """The date of a DICOM DA value (``"19400305"`` or ``"1940.03.05"``); ``None`` if invalid."""
    found = _DATE.fullmatch(value.strip())
    if found is None:
        return None
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return None


def years_between(birth: date, on: date) -> float | None:
    """Age in years on ``on`` of someone born on ``birth``; ``None`` when implausible."""
    years = (on - birth).days / DAYS_PER_YEAR
    return years if 0 <= years <= MAX_YEARS else None


def patient_age_years(ds: Dataset) -> float | None:
    """The patient's age in years when the image was taken (see the module docstring).

    Args:
        ds: a DICOM header as pydicom read it.

    Returns:
        The age, or ``None`` when the header does not say or says something unusable.
    """
    stated = age_string_years(text(ds, "PatientAge"))
    if stated is not None:
        return stated
    birth = dicom_date(text(ds, "PatientBirthDate"))
    if birth is None:
        return None
    for keyword in IMAGE_DATES:
        taken = dicom_date(text(ds, keyword))
        if taken is not None:
            return years_between(birth, taken)
    return None
