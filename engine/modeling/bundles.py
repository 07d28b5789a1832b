"""Model bundles on disk: a folder with ``model.keras`` and its ``card.json``.

The card says how to feed the model (preprocessing, input shape), how to read its output
(threshold, operating point, calibration, class names), where its Grad-CAM layer is, how it was
trained and validated, and the sha256 of ``model.keras``. A bundle is written atomically:

1. everything is written into a hidden temporary folder beside the destination
   (``.NAME.partial-<pid>``), flushed to disk, the card last;
2. the folder is renamed into place (one atomic rename). Replacing an existing bundle swaps the
   two folders atomically where the OS can (Linux ``renameat2(RENAME_EXCHANGE)``); elsewhere the
   old one is moved aside first, leaving a short window in which the old bundle sits at
   ``.NAME.replaced-<pid>`` rather than at NAME.

A crash at any point therefore leaves the old bundle or the new one, never a half one; a
leftover temporary folder is hidden and ignored by :func:`find_bundles`. Loading uses Keras's
``safe_mode`` (no arbitrary code from a file) and refuses a bundle whose ``model.keras`` does not
match the card's checksum.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.atomic_files import fsync_path, is_partial, partial_name, write_text
from engine.errors import ConfigError, ModelFileError
from engine.evaluation.calibration import Calibration
from engine.evaluation.operating_point import OperatingPoint
from engine.modeling.labelled_folders import CLASS_NAMES
from engine.modeling.preprocessing import Preprocessing
from engine.modeling.tta import TtaRecipe

MODEL_FILE = "model.keras"
CARD_FILE = "card.json"
FORMAT_VERSION = 1
#: Keys every card must have, with the type each must be.
REQUIRED = {
    "format_version": int,
    "model_id": str,
    "variant": str,
    "preprocessing": dict,
    "class_names": list,
    "gradcam_layer": str,
    "threshold": float,
    "calibration": dict,
    "model_sha256": str,
}
_REMEDY = "Choose another model bundle, or retrain or re-copy this one."


@dataclass(frozen=True)
class Member:
    """One network of a bundle: the Keras model, how to feed it, and its Grad-CAM layer."""

    model: Any
    preprocessing: Preprocessing
    gradcam_layer: str


@dataclass(frozen=True)
class Bundle:
    """A loaded model with its card.

    Attributes:
        model: the Keras model (uncompiled).
        card: the validated card (see the module docstring).
        path: the bundle folder.
    """

    model: Any
    card: dict[str, Any]
    path: Path
    extra_models: tuple[Any, ...] = ()

    @property
    def members(self) -> tuple[Member, ...]:
        """Every network: ``model.keras`` first, then the card's ``members`` (an ensemble)."""
        first = Member(self.model, self.preprocessing, self.gradcam_layer)
        others = [
            Member(model, Preprocessing.from_card(spec["preprocessing"]), spec["gradcam_layer"])
            for model, spec in zip(self.extra_models, self.card.get("members") or [], strict=True)
        ]
        return (first, *others)

    @property
    def tta(self) -> TtaRecipe:
        """The test-time augmentation recipe (identity alone when the card has none)."""
        return TtaRecipe.from_card(self.card.get("tta"))

    @property
    def preprocessing(self) -> Preprocessing:
        """How to turn a radiograph into this model's input."""
        return Preprocessing.from_card(self.card["preprocessing"])

    @property
    def threshold(self) -> float:
        """Call PNEUMONIA when the (calibrated) probability is >= this."""
        return float(self.card["threshold"])

    @property
    def calibration(self) -> Calibration:
        """The probability calibration fit on validation."""
        return Calibration.from_card(self.card["calibration"])

    @property
    def operating_point(self) -> OperatingPoint | None:
        """How the threshold was chosen, when the card says."""
        point = self.card.get("operating_point")
        return OperatingPoint.from_card(point) if point else None

    @property
    def model_id(self) -> str:
        """The model's unique id."""
        return str(self.card["model_id"])

    @property
    def gradcam_layer(self) -> str:
        """Name of the convolution layer Grad-CAM reads."""
        return str(self.card["gradcam_layer"])

    @property
    def variant(self) -> str:
        """The variant name (``cnn``, ``mobilenet``, ...)."""
        return str(self.card["variant"])


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _error(folder: Path, problem: str, remedy: str = _REMEDY) -> ModelFileError:
    return ModelFileError(f"Model bundle {folder}: {problem} {remedy}")


def validate_card(card: Any, folder: Path) -> dict[str, Any]:
    """Check a card's required keys, types and values (not the checksum).

    Raises:
        ModelFileError: naming the folder and the first problem found.
    """
    if not isinstance(card, dict):
        raise _error(folder, f"{CARD_FILE} holds a {type(card).__name__}, expected a JSON object.")
    missing = [key for key in REQUIRED if key not in card]
    if missing:
        raise _error(folder, f"{CARD_FILE} lacks {', '.join(missing)}.")
    for key, kind in REQUIRED.items():
        value = card[key]
        numeric = kind is float and isinstance(value, int | float)
        if isinstance(value, bool) or not (isinstance(value, kind) or numeric):
            raise _error(folder, f"{CARD_FILE}: '{key}' is {value!r}, expected a {kind.__name__}.")
    if card["format_version"] > FORMAT_VERSION:
        raise _error(
            folder,
            f"card format {card['format_version']} is newer than this Hilum "
            f"reads ({FORMAT_VERSION}).",
            "Update Hilum, or choose another bundle.",
        )
    if list(card["class_names"]) != list(CLASS_NAMES):
        raise _error(
            folder, f"class_names are {card['class_names']}, expected {list(CLASS_NAMES)}."
        )
    if not (math.isfinite(card["threshold"]) and 0.0 <= card["threshold"] <= 1.0):
        raise _error(folder, f"threshold is {card['threshold']}, expected a number in [0, 1].")
    try:
        Preprocessing.from_card(card["preprocessing"])
        Calibration.from_card(card["calibration"])
        if card.get("operating_point"):
            OperatingPoint.from_card(card["operating_point"])
        TtaRecipe.from_card(card.get("tta"))
        for spec in _member_specs(card):
            Preprocessing.from_card(spec["preprocessing"])
    except ConfigError as error:
        raise _error(folder, str(error)) from None
    return card


def member_file(index: int) -> str:
    """File name of an ensemble's ``index``-th network (``model.keras`` is number 0)."""
    return f"member_{index}.keras"


def _member_specs(card: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The card's extra members, checked for shape (raises ConfigError)."""
    members = card.get("members") or []
    needed = ("preprocessing", "gradcam_layer")
    if not isinstance(members, list) or not all(
        isinstance(spec, dict) and all(key in spec for key in needed) for spec in members
    ):
        raise ConfigError(
            f"'members' must be a list of objects with {', '.join(needed)}, file and sha256."
        )
    return members


def read_card(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a bundle's card, and check ``model.keras`` against its checksum.

    Does not load the model (fast enough for listing, apart from hashing the file).

    Raises:
        ModelFileError: missing folder, model file or card, invalid JSON or card, or checksum
            mismatch; the message names the folder and what to do.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise _error(
            folder,
            "the folder does not exist.",
            f"Choose a model bundle folder (one holding {MODEL_FILE} and {CARD_FILE}).",
        )
    card_file = folder / CARD_FILE
    try:
        text = card_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _error(folder, f"there is no {CARD_FILE}.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise _error(folder, f"{CARD_FILE} cannot be read ({error}).") from None
    try:
        card = validate_card(json.loads(text), folder)
    except json.JSONDecodeError as error:
        raise _error(folder, f"{CARD_FILE} is not valid JSON ({error}).") from None
    files = [(MODEL_FILE, card["model_sha256"])]
    files += [(spec["file"], spec["sha256"]) for spec in card.get("members") or []]
    for name, expected in files:
        path = folder / name
        if not path.is_file():
            raise _error(folder, f"there is no {name}.")
        actual = sha256_of(path)
        if actual != expected:
            raise _error(
                folder,
                f"{name} does not match the checksum in {CARD_FILE} "
                f"(sha256 {actual[:12]}..., card says {expected[:12]}...): "
                "the file was changed or damaged after training.",
            )
    return card


def load_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Validate a bundle and load its networks with Keras ``safe_mode`` (uncompiled).

    Raises:
        ModelFileError: as :func:`read_card`; also when Keras cannot load a network, or a
            network's input shape or Grad-CAM layer disagree with the card.
    """
    folder = Path(path)
    card = read_card(folder)
    from engine.runtime import tensorflow

    tensorflow()
    model = _load_model(folder, MODEL_FILE, card["preprocessing"], card["gradcam_layer"])
    extra = tuple(
        _load_model(folder, spec["file"], spec["preprocessing"], spec["gradcam_layer"])
        for spec in card.get("members") or []
    )
    return Bundle(model, card, folder, extra)


def _load_model(folder: Path, name: str, preprocessing: dict[str, Any], gradcam_layer: str) -> Any:
    """Load one network with ``safe_mode`` and check it against its card entry."""
    import keras

    try:
        model = keras.saving.load_model(folder / name, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many kinds (ValueError, OSError, TypeError, ...)
        raise _error(
            folder, f"Keras cannot load {name} ({type(error).__name__}: {str(error)[:300]})."
        ) from None
    expected = list(Preprocessing.from_card(preprocessing).input_shape)
    if list(model.input_shape[1:]) != expected:
        raise _error(
            folder,
            f"{name} takes input {list(model.input_shape[1:])} but the card's "
            f"preprocessing gives {expected}.",
        )
    try:
        model.get_layer(gradcam_layer)
    except ValueError:
        raise _error(
            folder, f"the card's Grad-CAM layer '{gradcam_layer}' is not in the model ({name})."
        ) from None
    return model


def _json_ready(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays to Python, paths to str, NaN/inf to None."""
    if isinstance(value, Mapping):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist"):  # numpy scalar or array
        return _json_ready(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _card_text(card: Mapping[str, Any]) -> str:
    return json.dumps(_json_ready(card), indent=2, allow_nan=False) + "\n"


def _write_fsynced(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())


def _exchange(first: Path, second: Path) -> bool:
    """Swap two existing folders in one atomic step (Linux renameat2); False if unsupported."""
    libc_name = ctypes.util.find_library("c")
    renameat2 = (
        getattr(ctypes.CDLL(libc_name, use_errno=True), "renameat2", None) if libc_name else None
    )
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange)
    return bool(result == 0)


def _install(temporary: Path, destination: Path) -> None:
    """Put the finished ``temporary`` folder at ``destination``, replacing it if it exists."""
    if not destination.exists():
        os.rename(temporary, destination)
        return
    if _exchange(temporary, destination):
        shutil.rmtree(temporary)  # now holds the old bundle
        return
    aside = destination.with_name(f".{destination.name}.replaced-{os.getpid()}")
    os.rename(destination, aside)
    os.rename(temporary, destination)
    shutil.rmtree(aside)


def write_bundle(
    model: Any,
    card: dict[str, Any],
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    extra_files: Mapping[str, str] | None = None,
    extra_models: Sequence[Any] = (),
) -> Path:
    """Save a model and its card as a bundle folder, atomically.

    The card is validated before anything is written, so a bundle that could not be loaded is
    never created. ``card["model_sha256"]`` is set (in the dict passed in) to the checksum of
    the saved ``model.keras``; numpy values are converted and NaN/inf become null.

    Args:
        model: a Keras model.
        card: the model card (see the module docstring for the required keys).
        out_dir: the bundle folder to create.
        overwrite: replace an existing bundle at ``out_dir`` (atomically) instead of refusing.
        extra_files: more text files (name -> content) that belong to the bundle, such as the
            out-of-distribution reference; written inside the same atomic step.
        extra_models: an ensemble's other networks, described in the same order by
            ``card["members"]`` (each entry's ``file`` and ``sha256`` are set here).

    Returns:
        ``out_dir`` as a :class:`Path`.

    Raises:
        ModelFileError: ``out_dir`` exists and ``overwrite`` is False, the card is invalid, or
            saving failed (nothing is left behind).
    """
    destination = Path(out_dir).absolute()
    if len(extra_models) != len(card.get("members") or []):
        raise _error(
            destination,
            f"{len(extra_models)} extra member networks were given for "
            f"{len(card.get('members') or [])} entries of the card's members.",
            "Describe every extra network in card['members'].",
        )
    validate_card({**card, "model_sha256": card.get("model_sha256", "")}, destination)
    if destination.exists() and not overwrite:
        raise _error(
            destination, "already exists.", "Choose another output folder, or allow overwriting it."
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(partial_name(destination.name))
    shutil.rmtree(temporary, ignore_errors=True)  # a leftover of this very process id
    try:
        temporary.mkdir()
        model.save(temporary / MODEL_FILE)
        fsync_path(temporary / MODEL_FILE)
        card["model_sha256"] = sha256_of(temporary / MODEL_FILE)
        specs = card.get("members") or []
        for index, (member, spec) in enumerate(zip(extra_models, specs, strict=True)):
            spec["file"] = member_file(index + 1)
            member.save(temporary / spec["file"])
            fsync_path(temporary / spec["file"])
            spec["sha256"] = sha256_of(temporary / spec["file"])
        _write_fsynced(temporary / CARD_FILE, _card_text(card))
        for name, text in (extra_files or {}).items():
            _write_fsynced(temporary / name, text)
        fsync_path(temporary)
        _install(temporary, destination)
        fsync_path(destination.parent)
    except OSError as error:
        raise _error(
            destination,
            f"could not be written ({error}).",
            "Check the free disk space and that the folder is writable.",
        ) from None
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return destination


def update_card(path: str | os.PathLike[str], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change some card fields (e.g. a new operating point) atomically.

    The bundle is validated first (card and checksum), the merged card again before writing;
    ``card.json`` is then replaced in one step, so a crash leaves the old card or the new one.

    Args:
        path: the bundle folder.
        changes: top-level keys to set; ``model_sha256`` cannot be changed.

    Returns:
        The new card.

    Raises:
        ModelFileError: the bundle is invalid, or the changes would make the card invalid.
        ConfigError: ``changes`` touches ``model_sha256``.
    """
    folder = Path(path)
    if "model_sha256" in changes:
        raise ConfigError(
            "update_card cannot change model_sha256: it is the checksum of "
            f"{MODEL_FILE}; write a new bundle instead."
        )
    card = validate_card(json.loads(_card_text({**read_card(folder), **changes})), folder)
    write_text(folder / CARD_FILE, _card_text(card))
    return card


def find_bundles(folder: str | os.PathLike[str]) -> list[Path]:
    """Bundle folders directly inside ``folder`` (and ``folder`` itself if it is one), sorted.

    A bundle is a folder holding ``card.json``; hidden temporary folders of interrupted writes
    are ignored. The cards are not validated here (use :func:`read_card`).
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    children = sorted(
        child for child in root.iterdir() if child.is_dir() and not child.name.startswith(".")
    )
    return [
        path for path in [root, *children] if not is_partial(path) and (path / CARD_FILE).is_file()
    ]
