"""Hilum's typed errors.

Every error the engine raises on purpose is a :class:`HilumError`. Its message is written for the
person at the workstation: it names the file (or setting) involved, says what was wrong and what
they can do about it. The viewer shows ``str(error)`` as is; the CLI prints it and carries on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


class HilumError(Exception):
    """Base class of every error Hilum raises deliberately.

    Catch this (not ``Exception``) where a user-facing message is wanted: anything else is a bug.
    """


class ImageReadError(HilumError):
    """A file could not be read as a radiograph.

    Raised by :func:`engine.load_image` for zero-byte, truncated, corrupt or non-image files,
    DICOM files without pixel data, transfer syntaxes no installed decoder handles, images over the
    pixel limit and files that cannot be opened. The user can pick another file, re-export the
    image from the modality/PACS, or convert it to an uncompressed DICOM or a PNG.

    Attributes:
        path: the file that failed.
        problem: what was wrong, in one sentence.
        remedy: what the user can do.
    """

    def __init__(self, path: str | Path, problem: str, remedy: str) -> None:
        self.path = Path(path)
        self.problem = problem
        self.remedy = remedy
        super().__init__(f"{self.path}: {problem} {remedy}")


class ModelFileError(HilumError):
    """A model bundle is missing, incomplete, tampered with or incompatible.

    The user can choose another model bundle, or retrain / re-copy this one.
    """


class DatasetError(HilumError):
    """A training or evaluation folder is not usable (missing class folders, too few images).

    The message says which folder layout Hilum expects.
    """


class ConfigError(HilumError, ValueError):
    """A setting (training configuration, threshold, CLI option) has an invalid value.

    The message names the setting, the value received and the values accepted.
    """


@contextmanager
def reading_card_section(section: str, value: object) -> Iterator[None]:
    """Turn a missing field or a bad value met while reading a model card's ``section`` (a
    ``KeyError``, ``TypeError`` or ``ValueError`` in the ``with`` block) into a
    :class:`ConfigError` that names the section and shows what the card holds."""
    try:
        yield
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"The model card's {section} is invalid ({error!r}): {value}") from None


class PacsError(HilumError):
    """A DICOM network operation failed: a PACS or modality could not be reached, refused the
    association, or answered a query, retrieve or store with a failure.

    The message names the node (AE title, host, port), what happened and what to check (the
    node's address and AE title in Hilum's settings, Hilum's AE title in the PACS's list of
    known modalities, a firewall).
    """


class TrainingUnavailableError(HilumError, ModuleNotFoundError):
    """Something only the full workstation does (training, ensembles, commissioning, fitting a
    domain check, exporting a network) was asked of the reading room, which has no TensorFlow.

    Raised by :func:`engine.runtime.require_training`; also a ``ModuleNotFoundError``, so code
    that falls back when TensorFlow is absent keeps working. The message names what is missing
    and how to install the full workstation.
    """

    def __init__(self, what: str, missing: Sequence[str]) -> None:
        self.what = what
        self.missing = tuple(missing)
        *others, last = self.missing
        names = f"{', '.join(others)} and {last}" if others else last
        are = "are" if others else "is"
        super().__init__(
            f"{what} needs the full Hilum workstation ({names} {are} not installed): "
            "pip install 'hilum[train]', or install the workstation edition of Hilum."
        )
