"""Model bundles on disk: a folder with ``model.keras`` and its ``card.json``.

The card (:class:`engine.modeling.card.ModelCard`) says how to feed and read the model and holds
the sha256 of ``model.keras`` (and of the LiteRT exports beside it, ``member_N.tflite``:
:mod:`engine.modeling.runtime_export`). A bundle is written atomically:

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
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from engine.atomic_files import fsync_path, is_partial, partial_name, write_synced, write_text
from engine.errors import ConfigError
from engine.modeling.card import CARD_FILE, ModelCard, card_error
from engine.modeling.preprocessing import Preprocessing

MODEL_FILE = "model.keras"

#: Writes a bundle's networks for the light runtime into a folder and returns the card that
#: describes them: ``export(folder, card, networks)`` (:mod:`engine.inference.network_export`).
Exporter = Callable[[Path, ModelCard, Sequence[Any]], ModelCard]


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
        extra_models: an ensemble's other networks, in the order of ``card.members``.
    """

    model: Any
    card: ModelCard
    path: Path
    extra_models: tuple[Any, ...] = ()

    @property
    def members(self) -> tuple[Member, ...]:
        """Every network: ``model.keras`` first, then the card's ``members`` (an ensemble)."""
        first = Member(self.model, self.card.preprocessing, self.card.gradcam_layer)
        others = [
            Member(model, spec.preprocessing, spec.gradcam_layer)
            for model, spec in zip(self.extra_models, self.card.members, strict=True)
        ]
        return (first, *others)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def member_file(index: int) -> str:
    """File name of an ensemble's ``index``-th network (``model.keras`` is number 0)."""
    return f"member_{index}.keras"


def read_card(path: str | os.PathLike[str]) -> ModelCard:
    """Read and validate a bundle's card, and check ``model.keras`` against its checksum.

    Does not load the model (fast enough for listing, apart from hashing the file).

    Raises:
        ModelFileError: missing folder, model file or card, invalid JSON or card, or checksum
            mismatch; the message names the folder and what to do.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise card_error(
            folder,
            "the folder does not exist.",
            f"Choose a model bundle folder (one holding {MODEL_FILE} and {CARD_FILE}).",
        )
    card_file = folder / CARD_FILE
    try:
        text = card_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise card_error(folder, f"there is no {CARD_FILE}.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise card_error(folder, f"{CARD_FILE} cannot be read ({error}).") from None
    card = ModelCard.from_json(text, folder)
    files = [(MODEL_FILE, card.model_sha256)] + [(m.file, m.sha256) for m in card.members]
    for name, expected in files:
        path = folder / name
        if not name or not path.is_file():
            raise card_error(folder, f"there is no {name or 'file named for an ensemble member'}.")
        actual = sha256_of(path)
        if actual != expected:
            raise card_error(
                folder,
                f"{name} does not match the checksum in {CARD_FILE} "
                f"(sha256 {actual[:12]}..., card says {expected[:12]}...): "
                "the file was changed or damaged after training.",
            )
    return card


def load_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Validate a bundle and load its model with Keras ``safe_mode`` (uncompiled).

    Raises:
        ModelFileError: as :func:`read_card`; also when Keras cannot load the model, or the
            model's input shape or Grad-CAM layer disagree with the card.
    """
    folder = Path(path)
    card = read_card(folder)
    from engine.runtime import tensorflow

    tensorflow()
    model = _load_model(folder, MODEL_FILE, card.preprocessing, card.gradcam_layer)
    extra = tuple(
        _load_model(folder, m.file, m.preprocessing, m.gradcam_layer) for m in card.members
    )
    return Bundle(model, card, folder, extra)


def without_networks(folder: Path, card: ModelCard) -> Bundle:
    """A bundle described by its (already read) card with no Keras network loaded
    (``model`` and ``extra_models`` are ``None``): for a runtime that runs the networks exported
    beside them (:mod:`engine.modeling.runtime_export`), so that Keras is never imported."""
    return Bundle(None, card, folder, (None,) * len(card.members))


def _load_model(folder: Path, name: str, preprocessing: Preprocessing, gradcam_layer: str) -> Any:
    """Load one network with ``safe_mode`` and check it against its card entry."""
    import keras

    try:
        model = keras.saving.load_model(folder / name, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many kinds (ValueError, OSError, TypeError, ...)
        raise card_error(
            folder, f"Keras cannot load {name} ({type(error).__name__}: {str(error)[:300]})."
        ) from None
    expected = list(preprocessing.input_shape)
    if list(model.input_shape[1:]) != expected:
        raise card_error(
            folder,
            f"{name} takes input {list(model.input_shape[1:])} but the card's "
            f"preprocessing gives {expected}.",
        )
    try:
        model.get_layer(gradcam_layer)
    except ValueError:
        raise card_error(
            folder, f"the card's Grad-CAM layer '{gradcam_layer}' is not in the model ({name})."
        ) from None
    return model


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
    card: ModelCard,
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    extra_files: Mapping[str, str | bytes] | None = None,
    extra_models: Sequence[Any] = (),
    export: Exporter | None = None,
) -> Path:
    """Save a model and its card as a bundle folder, atomically.

    The card is validated before anything is written, so a bundle that could not be loaded is
    never created. Its ``model_sha256`` is set to the checksum of the saved ``model.keras``;
    numpy values are converted and NaN/inf become null. Read the written card back with
    :func:`read_card`.

    Args:
        model: a Keras model.
        card: the model card.
        out_dir: the bundle folder to create.
        overwrite: replace an existing bundle at ``out_dir`` (atomically) instead of refusing.
        extra_files: more files (name -> text or bytes) that belong to the bundle, such as the
            out-of-distribution and domain references; written inside the same atomic step.
        extra_models: an ensemble's other networks, in the order of ``card.members`` (their
            ``file`` and ``sha256`` are set here).
        export: also writes the networks for the light runtime, inside the same atomic step
            (the card's ``runtime_export`` describes what it wrote; without it the section is
            dropped, since it described other files).

    Returns:
        ``out_dir`` as a :class:`Path`.

    Raises:
        ModelFileError: ``out_dir`` exists and ``overwrite`` is False, the card is invalid, or
            saving failed (nothing is left behind).
    """
    destination = Path(out_dir).absolute()
    if len(extra_models) != len(card.members):
        raise card_error(
            destination,
            f"{len(extra_models)} extra networks were given for {len(card.members)} members.",
            "Describe every extra network in the card's members.",
        )
    card.validated(destination)
    if destination.exists() and not overwrite:
        raise card_error(
            destination, "already exists.", "Choose another output folder, or allow overwriting it."
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(partial_name(destination.name))
    shutil.rmtree(temporary, ignore_errors=True)  # a leftover of this very process id
    try:
        temporary.mkdir()
        model.save(temporary / MODEL_FILE)
        fsync_path(temporary / MODEL_FILE)
        members = []
        for index, (network, spec) in enumerate(zip(extra_models, card.members, strict=True)):
            name = member_file(index + 1)
            network.save(temporary / name)
            fsync_path(temporary / name)
            members.append(replace(spec, file=name, sha256=sha256_of(temporary / name)))
        checked = replace(
            card,
            model_sha256=sha256_of(temporary / MODEL_FILE),
            members=tuple(members),
            runtime_export=None,
        )
        if export is not None:
            checked = export(temporary, checked, [model, *extra_models])
        write_synced(temporary / CARD_FILE, checked.to_json())
        for name, text in (extra_files or {}).items():
            write_synced(temporary / name, text)
        fsync_path(temporary)
        _install(temporary, destination)
        fsync_path(destination.parent)
    except OSError as error:
        raise card_error(
            destination,
            f"could not be written ({error}).",
            "Check the free disk space and that the folder is writable.",
        ) from None
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return destination


def update_card(path: str | os.PathLike[str], card: ModelCard) -> ModelCard:
    """Replace a bundle's card (e.g. with a new operating point) atomically.

    The bundle is validated first (card and checksum), the new card again before writing;
    ``card.json`` is then replaced in one step, so a crash leaves the old card or the new one.

    Args:
        path: the bundle folder.
        card: the new card, usually the bundle's own with a few fields replaced
            (``dataclasses.replace`` or :meth:`ModelCard.with_operating_point`).

    Returns:
        The new card, as read back.

    Raises:
        ModelFileError: the bundle is invalid, or the new card is.
        ConfigError: the new card changes ``model_sha256``.
    """
    folder = Path(path)
    if card.model_sha256 != read_card(folder).model_sha256:
        raise ConfigError(
            "update_card cannot change model_sha256: it is the checksum of "
            f"{MODEL_FILE}; write a new bundle instead."
        )
    checked = card.validated(folder)
    write_text(folder / CARD_FILE, checked.to_json())
    return checked


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
