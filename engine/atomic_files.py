"""Write files so that a crash leaves either the old content or the new one, never half of each.

Anything the user made (a model card, a comparison CSV, plots) is written to a temporary file
beside its destination, flushed to disk, then moved over the destination with :func:`os.replace`,
which is atomic on one file system (POSIX and Windows alike). Temporary names start with a dot and
carry ``.partial-<pid>`` so that a leftover from a killed process is recognisable.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path


def partial_name(name: str) -> str:
    """The hidden, recognisable name of a temporary file or folder being written for ``name``."""
    return f".{name}.partial-{os.getpid()}"


def is_partial(path: Path) -> bool:
    """Whether ``path`` is a leftover temporary of :func:`partial_name` (a killed write)."""
    return path.name.startswith(".") and ".partial-" in path.name


def fsync_path(path: Path) -> None:
    """Flush a file or a folder's entries to disk (folders: POSIX only; a no-op on Windows)."""
    if path.is_dir() and os.name == "nt":
        return
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_synced(path: Path, content: str | bytes) -> None:
    """Write ``content`` (text as UTF-8) to ``path`` in place and flush it to disk.

    Only for files inside a temporary folder that is itself moved into place atomically (a model
    bundle, :func:`partial_name`): the folder's move is the atomic step, and every file in it
    must be on disk before it. A lone file is written with :func:`write_text` or
    :func:`write_bytes` instead.
    """
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    fsync_path(path)


@contextlib.contextmanager
def replacing(destination: str | os.PathLike[str]) -> Iterator[Path]:
    """Give a temporary path to write; on success move it over ``destination`` atomically.

    The caller writes the whole file at the yielded path (e.g. ``figure.savefig(temp)``). When the
    block ends without an exception, the file is flushed and replaces ``destination``; otherwise
    the temporary is removed and ``destination`` is untouched.

    Args:
        destination: the file to create or replace; its folder must exist.

    Yields:
        The temporary path, in the destination's folder (same file system).
    """
    target = Path(destination)
    # The thread id keeps two threads writing the same file (a DICOM instance sent twice at
    # once) from sharing a temporary.
    temporary = target.with_name(f"{partial_name(target.name)}-{threading.get_ident()}")
    try:
        yield temporary
        fsync_path(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        fsync_path(target.parent)


def write_text(destination: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``destination`` atomically, through :func:`replacing`."""
    with replacing(destination) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_bytes(destination: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``destination`` atomically, through :func:`replacing`."""
    with replacing(destination) as temporary:
        temporary.write_bytes(data)
