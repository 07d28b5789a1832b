"""C-FIND: ask a PACS which patients or studies match (PS3.4 C.4.1).

Studies are queried with the Study Root model at STUDY level, patients with the Patient Root
model at PATIENT level. Matching follows PS3.4 C.2.2.2: ``*`` and ``?`` wildcards in names and
IDs, a ``YYYYMMDD-YYYYMMDD`` range for dates (either end may be open). The modality is matched
against Modalities in Study. Cancelling sends a C-CANCEL and returns the matches received so far.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydicom.dataset import Dataset
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
)

from engine.errors import ConfigError, PacsError
from engine.pacs.network import IDENTIFIER_SYNTAXES, associate, no_response
from engine.pacs.nodes import DEFAULT_AE_TITLE, PacsNode
from engine.progress import OnProgress, Progress, ShouldStop, ignore_progress, never_stop

Level = Literal["STUDY", "PATIENT"]

_DATE_RANGE = re.compile(r"^(\d{8})?(-(\d{8})?)?$")
#: Stop collecting matches past this many (a query without criteria on a big PACS).
MAX_MATCHES = 1000
_PENDING = (0xFF00, 0xFF01)


@dataclass(frozen=True)
class StudyQuery:
    """What to look for; empty fields match everything.

    Attributes:
        level: ``STUDY`` (one match per study) or ``PATIENT`` (one per patient).
        patient_name: e.g. ``DOE^JOHN`` or ``DOE*``.
        patient_id: the patient ID (wildcards allowed).
        dates: study date or range, ``YYYYMMDD``, ``YYYYMMDD-YYYYMMDD``, ``YYYYMMDD-`` or
            ``-YYYYMMDD`` (studies only).
        modality: e.g. ``CR`` or ``DX`` (studies only).
        accession: the accession number (studies only).
    """

    level: Level = "STUDY"
    patient_name: str = ""
    patient_id: str = ""
    dates: str = ""
    modality: str = ""
    accession: str = ""

    def __post_init__(self) -> None:
        if self.level not in ("STUDY", "PATIENT"):
            raise ConfigError(f"Query level {self.level!r} is not STUDY or PATIENT.")
        if not _DATE_RANGE.match(self.dates.strip()):
            raise ConfigError(
                f"Study date {self.dates!r} is not a date or a range: use YYYYMMDD, "
                "YYYYMMDD-YYYYMMDD, YYYYMMDD- or -YYYYMMDD (e.g. 20240101-20240131)."
            )

    def identifier(self) -> Dataset:
        """The C-FIND request identifier: the criteria plus the keys to return."""
        ds = Dataset()
        text = "".join((self.patient_name, self.patient_id, self.accession))
        if not text.isascii():
            ds.SpecificCharacterSet = "ISO_IR 192"
        ds.QueryRetrieveLevel = self.level
        ds.PatientName = self.patient_name.strip()
        ds.PatientID = self.patient_id.strip()
        ds.PatientBirthDate = ""
        ds.PatientSex = ""
        if self.level == "PATIENT":
            ds.NumberOfPatientRelatedStudies = None
            return ds
        ds.StudyInstanceUID = ""
        ds.StudyDate = self.dates.strip()
        ds.StudyTime = ""
        ds.StudyDescription = ""
        ds.AccessionNumber = self.accession.strip()
        ds.ModalitiesInStudy = self.modality.strip().upper()
        ds.NumberOfStudyRelatedSeries = None
        ds.NumberOfStudyRelatedInstances = None
        return ds


@dataclass(frozen=True)
class QueryMatch:
    """One patient or study a PACS returned ("" or ``None`` where it did not say).

    Attributes:
        patient_name, patient_id, birth_date, sex: the patient.
        study_uid, study_date, study_time, description, accession, modalities: the study
            (empty for a patient-level match).
        series, instances: counts in the study; studies: counts for the patient.
    """

    patient_name: str
    patient_id: str
    birth_date: str = ""
    sex: str = ""
    study_uid: str = ""
    study_date: str = ""
    study_time: str = ""
    description: str = ""
    accession: str = ""
    modalities: str = ""
    series: int | None = None
    instances: int | None = None
    studies: int | None = None

    @classmethod
    def from_identifier(cls, ds: Dataset) -> QueryMatch:
        """Read a C-FIND response identifier."""

        def text(keyword: str) -> str:
            value = ds.get(keyword, "")
            if keyword == "ModalitiesInStudy" and not isinstance(value, str | bytes):
                return "\\".join(str(v) for v in value)
            return "" if value is None else str(value).strip()

        def count(keyword: str) -> int | None:
            try:
                return int(ds.get(keyword))
            except (TypeError, ValueError):
                return None

        return cls(
            patient_name=text("PatientName"),
            patient_id=text("PatientID"),
            birth_date=text("PatientBirthDate"),
            sex=text("PatientSex"),
            study_uid=text("StudyInstanceUID"),
            study_date=text("StudyDate"),
            study_time=text("StudyTime"),
            description=text("StudyDescription"),
            accession=text("AccessionNumber"),
            modalities=text("ModalitiesInStudy"),
            series=count("NumberOfStudyRelatedSeries"),
            instances=count("NumberOfStudyRelatedInstances"),
            studies=count("NumberOfPatientRelatedStudies"),
        )


def find(
    node: PacsNode,
    query: StudyQuery,
    *,
    local_ae_title: str = DEFAULT_AE_TITLE,
    on_progress: OnProgress = ignore_progress,
    should_stop: ShouldStop = never_stop,
    limit: int = MAX_MATCHES,
) -> list[QueryMatch]:
    """Send one C-FIND to ``node`` and collect the matches.

    Args:
        node: the PACS.
        query: the criteria.
        local_ae_title: Hilum's AE title.
        on_progress: called after each match (stage ``"find"``, total unknown).
        should_stop: checked after each match; when True a C-CANCEL is sent and the matches so
            far are returned.
        limit: at most this many matches are kept; the query is cancelled past it.

    Returns:
        The matches, in the order the PACS sent them.

    Raises:
        PacsError: the association fails, or the PACS answers with a failure status.
    """
    model = (
        PatientRootQueryRetrieveInformationModelFind
        if query.level == "PATIENT"
        else StudyRootQueryRetrieveInformationModelFind
    )
    matches: list[QueryMatch] = []
    with associate(node, local_ae_title, [(model, IDENTIFIER_SYNTAXES)]) as assoc:
        responses = assoc.send_c_find(query.identifier(), model, msg_id=1)
        cancelled = False
        for status, identifier in responses:
            code = _status_code(status, node)
            if code in _PENDING and identifier is not None:
                if not cancelled:
                    matches.append(QueryMatch.from_identifier(identifier))
                    on_progress(Progress("find", len(matches), None, f"{len(matches)} found"))
                if not cancelled and (should_stop() or len(matches) >= limit):
                    assoc.send_c_cancel(1, query_model=model)
                    cancelled = True
            elif code not in _PENDING and code not in (0x0000, 0xFE00):
                raise PacsError(
                    f"{node} answered the query with failure status 0x{code:04X}. Check the "
                    "criteria (a PACS may refuse some keys), or the PACS's logs."
                )
    return matches


def _status_code(status: Any, node: PacsNode) -> int:
    if status is None or "Status" not in status:
        raise no_response(node, "C-FIND")
    return int(status.Status)
