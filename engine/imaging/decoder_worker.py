"""The decoder process of :mod:`engine.imaging.decoder_pool`: its loop, limits and answers.

Runs as ``python -m engine.imaging.decoder_worker HANDLE MEMORY_LIMIT`` (the frozen app: ``hilum
--hilum-decoder-worker HANDLE MEMORY_LIMIT``, see :func:`main`), a fresh interpreter that imports
only numpy, pydicom and the decoder plugins, never the application's main module. It decodes with
the same :func:`engine.imaging.pixel_frames.decode_frame` the application uses for
uncompressed data; whatever a decoder raises, including a Rust panic (a ``BaseException``), is
answered as a failure, and whatever kills the process is seen by the pool as the process ending.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import warnings
from collections.abc import Sequence
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np

from engine.imaging.pixel_frames import PixelDescription, decode_frame

#: The flag that makes the frozen app's launcher run :func:`main` instead of the application.
WORKER_FLAG = "--hilum-decoder-worker"


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the pool over the inherited pipe end ``argv[0]`` with address-space cap ``argv[1]``.

    Returns:
        The exit status (2 when the arguments are not a handle and a byte count).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        handle, memory_limit = int(args[0]), int(args[1])
    except (IndexError, ValueError):
        print(f"usage: {WORKER_FLAG} HANDLE MEMORY_LIMIT (got {args})", file=sys.stderr)
        return 2
    serve(_connection(handle), memory_limit)
    return 0


def _connection(handle: int) -> Connection:
    """The child's end of a :func:`multiprocessing.Pipe`, inherited from the pool as ``handle``."""
    if sys.platform == "win32":
        from multiprocessing.connection import PipeConnection

        return PipeConnection(handle)  # type: ignore[return-value]
    return Connection(handle)


def serve(connection: Connection, memory_limit: int) -> None:
    """A decoder process: decode requests until the pipe closes or a ``None`` request arrives.

    A request is ``(transfer syntax, description, segment name or None, payload size, frame
    offset, frame index)``; the payload is in the segment or follows on the pipe. The answer is
    one JSON object: ``{"status": "ok", "shape", "dtype", "warnings"}`` (the frame at ``offset``
    in the segment, or following on the pipe) or ``{"status": "failed", "kind", "message"}``.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is for the application, not its workers
    try:
        load_decoders()
        _limit_memory(memory_limit)
    except BaseException as error:
        _send(connection, {"status": "broken", "message": f"{type(error).__name__}: {error}"})
        return
    _silence_native_output()
    _send(connection, {"status": "ready"})
    memory: SharedMemory | None = None
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return  # the application is gone
        if request is None:
            break
        syntax, description, name, size, offset, index = request
        payload = connection.recv_bytes() if name is None else b""
        try:
            if name is not None:
                memory = _attached(memory, name)
                payload = bytes(segment_view(memory)[:size])
            frame, messages = _decode(syntax, description, payload, index)
            if memory is not None and name is not None:  # raises if the frame does not fit
                frame_view(memory, frame.shape, frame.dtype, offset)[...] = frame
        except BaseException as error:  # a Rust panic (PanicException) is a BaseException
            failure = {"status": "failed", "kind": type(error).__name__, "message": str(error)}
            _send(connection, failure)
            continue
        _send(
            connection,
            {"status": "ok", "shape": frame.shape, "dtype": frame.dtype.str, "warnings": messages},
        )
        if name is None:
            connection.send_bytes(frame.data)
    if memory is not None:
        memory.close()


def _decode(
    syntax: str, description: PixelDescription, payload: bytes, index: int
) -> tuple[np.ndarray[Any, Any], list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = np.ascontiguousarray(decode_frame(syntax, description, payload, index))
    return frame, [str(w.message) for w in caught]


def _send(connection: Connection, answer: dict[str, Any]) -> None:
    connection.send_bytes(json.dumps(answer).encode())


def _attached(memory: SharedMemory | None, name: str) -> SharedMemory:
    """The pool's segment ``name``, attached (the one already attached when it is the same).

    Why the unregister: on POSIX, Python 3.11 and 3.12 register a segment with the process's
    resource tracker even when they merely attach to it, and the tracker of this process (not a
    multiprocessing child, so it has a tracker of its own) would unlink the pool's segment when
    this process ends. The pool owns the segment and unlinks it.
    """
    if memory is not None and memory.name == name:
        return memory
    if memory is not None:
        memory.close()
    attached = SharedMemory(name=name)
    if os.name == "posix":
        resource_tracker.unregister(attached._name, "shared_memory")  # type: ignore[attr-defined]
    return attached


def load_decoders() -> None:
    """Import pydicom's decoders and their plugins now, so that the first file is not slower."""
    from pydicom.pixels.decoders.base import get_decoder
    from pydicom.uid import JPEG2000Lossless, JPEGBaseline8Bit, JPEGLSLossless, RLELossless

    for syntax in (JPEGBaseline8Bit, JPEGLSLossless, JPEG2000Lossless, RLELossless):
        get_decoder(syntax).is_available  # noqa: B018 - loads the plugins


def _silence_native_output() -> None:
    """Discard this process's stderr.

    Decoder libraries print to stderr on damaged data (GDCM and OpenJPEG messages, a Rust panic's
    backtrace); the ImageReadError already says what happened, and a batch over a damaged folder
    should not fill the user's terminal.
    """
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)


def _limit_memory(extra: int) -> None:
    """Cap the address space at its current size plus ``extra`` bytes (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    import resource

    with open("/proc/self/statm") as stream:
        current = int(stream.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = current + extra if hard == resource.RLIM_INFINITY else min(current + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def segment_view(memory: SharedMemory) -> memoryview:
    """The bytes of an open shared-memory segment."""
    view = memory.buf
    if view is None:
        raise ValueError(f"the shared memory segment {memory.name} is closed")
    return view


def frame_view(
    memory: SharedMemory, shape: tuple[int, ...], dtype: np.dtype[Any], offset: int
) -> np.ndarray[Any, Any]:
    """An array over the segment's bytes from ``offset`` (where a decoded frame travels)."""
    return np.ndarray(shape, dtype, buffer=segment_view(memory), offset=offset)


if __name__ == "__main__":
    sys.exit(main())
