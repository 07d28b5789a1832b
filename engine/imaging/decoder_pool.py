"""Compressed DICOM pixel data is decoded in worker processes, so a decoder crash is a file error.

The native decoders (GDCM, OpenJPEG, CharLS through pyjpegls, pylibjpeg-rle) are C, C++ and Rust
code fed with bytes from outside. On a corrupt stream GDCM throws a C++ exception that terminates
the process, pylibjpeg-rle panics (``pyo3_runtime.PanicException``, a ``BaseException``), and other
inputs can make a decoder loop or allocate without bound. So Hilum decodes compressed pixel data
in a small pool of worker processes:

* **a fresh interpreter, not a fork, nor a multiprocessing spawn**: a worker runs
  ``python -m engine.imaging.decoder_worker`` and imports numpy and pydicom only, never
  TensorFlow, Qt state or the caller's main module (multiprocessing's spawn re-imports
  ``__main__``, which fails for a script read from stdin and re-runs a script without an
  ``if __name__ == "__main__":`` guard once per worker). A frozen app has no ``-m``: it runs its
  own executable with :data:`~engine.imaging.decoder_worker.WORKER_FLAG`, which
  ``packaging/launcher.py`` hands to :func:`engine.imaging.decoder_worker.main`;
* **a time limit** per frame (:data:`DECODE_SECONDS`): a worker that overruns is killed;
* **a memory cap** (Linux, ``RLIMIT_AS``): a runaway allocation fails inside the worker;
* **restarted on death**: a worker that crashed or was killed is replaced at the next request;
  the file's read fails with an :class:`~engine.errors.ImageReadError` naming the decoder;
* **warm and cheap**: workers stay alive between files; the compressed bytes and the decoded
  frame travel through one shared-memory segment per worker (reused, grown when needed; the pipe
  when ``/dev/shm`` is too small), the pipe carries only small messages. Answers are JSON, never
  pickle, so even a decoder exploited by a crafted file cannot run code in the application
  through them. ``benchmarks/decoder_isolation.py`` measures the cost.

Uncompressed pixel data needs no native code and is decoded in-process
(:mod:`engine.imaging.dicom_reading`). Any script can read compressed DICOM through the engine,
from stdin, ``python -c``, a notebook or a file without a main guard.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
from multiprocessing import BufferTooShort
from multiprocessing.connection import Connection, wait
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import ImageReadError
from engine.imaging.decoder_worker import WORKER_FLAG, frame_view, segment_view
from engine.imaging.pixel_frames import REMEDY_DAMAGED, PixelDescription, codec_name, decoding_error

#: Longest a worker may take to decode one frame (a 2k x 2k JPEG 2000 frame takes ~0.3 s).
DECODE_SECONDS = 30.0
#: Longest a new worker may take to start (import numpy, pydicom and the decoder plugins).
START_SECONDS = 120.0
#: Address space a worker may use on top of what it has once its imports are done (Linux).
MEMORY_LIMIT_BYTES = 3 * 2**30
#: Workers at most: as many decodes as this run at once, the others wait for a free worker.
POOL_SIZE = 2

_SEGMENT_STEP = 4 * 2**20  # shared memory grows in steps of 4 MiB
_KEEP_BYTES = 32 * 2**20  # a larger segment is freed after its file
_SHM_MARGIN = 64 * 2**20  # leave this much of /dev/shm free
_ALIGN = 64
_MAX_ANSWER_BYTES = 2**20

_REMEDY_RESTART = "Try again; if it keeps failing, restart Hilum or reinstall it."


class DecoderPool:
    """Up to ``size`` decoder processes, shared by the threads that read images."""

    def __init__(self, size: int = POOL_SIZE) -> None:
        self._size = max(1, size)
        self._idle: list[_Worker] = []
        self._count = 0
        self._closed = False
        self._condition = threading.Condition()

    def start(self) -> None:
        """Start one worker now, without waiting for it, so that the first file is fast."""
        with self._condition:
            if self._count or self._closed:
                return
            self._count += 1
        try:
            worker = _Worker()
        except (OSError, RuntimeError):
            self._release_slot()
            return  # the first decode will try again and report why it cannot
        self._checkin(worker)

    def decode(
        self,
        file: Path,
        transfer_syntax: str,
        description: PixelDescription,
        payload: bytes,
        index: int = 0,
    ) -> tuple[np.ndarray[Any, Any], list[str]]:
        """Decode frame ``index`` of ``payload`` in a worker; return it and the decoder's warnings.

        Raises:
            ImageReadError: the decoder refused the data, crashed, overran
                :data:`DECODE_SECONDS`, or no worker could be started.
        """
        worker = self._checkout(file)
        try:
            return worker.decode(file, transfer_syntax, description, payload, index)
        finally:
            self._checkin(worker)

    def worker_pids(self) -> list[int]:
        """Process ids of the idle workers still alive (for diagnostics and tests)."""
        with self._condition:
            return [worker.process.pid for worker in self._idle if worker.process.poll() is None]

    def close(self) -> None:
        """Stop every worker and free their shared memory (at exit; the pool is then unusable)."""
        with self._condition:
            self._closed = True
            idle, self._idle = self._idle, []
            self._condition.notify_all()
        for worker in idle:
            worker.stop()

    def _checkout(self, file: Path) -> _Worker:
        with self._condition:
            while True:
                if self._closed:
                    raise ImageReadError(file, "Hilum is closing.", "Open the file again.")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.process.poll() is None:
                        return worker
                    worker.usable = False  # ended while idle (e.g. killed by the system)
                    worker.stop()
                    self._count -= 1
                if self._count < self._size:
                    self._count += 1
                    break
                self._condition.wait()
        try:
            return _Worker()
        except (OSError, RuntimeError) as error:  # no resources (processes, file handles)
            self._release_slot()
            raise ImageReadError(
                file, f"Hilum could not start an image decoder process ({error}).", _REMEDY_RESTART
            ) from None

    def _checkin(self, worker: _Worker) -> None:
        if worker.usable and not self._closed:
            with self._condition:
                self._idle.append(worker)
                self._condition.notify()
            return
        worker.stop()
        self._release_slot()

    def _release_slot(self) -> None:
        with self._condition:
            self._count -= 1
            self._condition.notify()


class _Worker:
    """One decoder process, its pipe and its shared-memory segment (parent side)."""

    def __init__(self) -> None:
        connection, child_end = multiprocessing.Pipe()
        try:
            handle = child_end.fileno()
            startupinfo: Any = None
            if sys.platform == "win32":  # the handle is inherited, and only this one
                os.set_handle_inheritable(handle, True)
                startupinfo = subprocess.STARTUPINFO(lpAttributeList={"handle_list": [handle]})
            command, folder = _worker_command()
            self.process = subprocess.Popen(
                [*command, str(handle), str(MEMORY_LIMIT_BYTES)],
                cwd=folder,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                pass_fds=() if sys.platform == "win32" else (handle,),
                startupinfo=startupinfo,
            )
        except BaseException:
            connection.close()
            raise
        finally:
            child_end.close()  # the child's copy is the only one: its death is EOF here
        self.connection: Connection = connection
        self.memory: SharedMemory | None = None
        self.started = False
        self.usable = True

    def decode(
        self, file: Path, syntax: str, description: PixelDescription, payload: bytes, index: int
    ) -> tuple[np.ndarray[Any, Any], list[str]]:
        if not self.started:
            answer = self._answer(file, syntax, START_SECONDS, starting=True)
            if answer.get("status") != "ready":
                self.usable = False
                raise ImageReadError(
                    file,
                    f"Hilum's image decoder process could not start ({answer.get('message')}).",
                    _REMEDY_RESTART,
                )
            self.started = True
        offset = -(-len(payload) // _ALIGN) * _ALIGN
        memory = self._memory_for(offset + description.frame_bytes())
        decoded = False
        self.usable = False  # until the exchange completes: a worker left mid-way is never reused
        try:
            if memory is not None:
                segment_view(memory)[: len(payload)] = payload
                request = (syntax, description, memory.name, len(payload), offset, index)
                self.connection.send(request)
            else:
                self.connection.send((syntax, description, None, len(payload), 0, index))
                self.connection.send_bytes(payload)
            answer = self._answer(file, syntax, DECODE_SECONDS)
            if answer.get("status") != "ok":
                self.usable = True  # it refused the data and is ready for the next file
                kind, message = str(answer.get("kind")), str(answer.get("message"))
                raise decoding_error(file, syntax, kind, message)
            array = _empty_frame(file, answer, description)
            if memory is not None:
                array[...] = frame_view(memory, array.shape, array.dtype, offset)
            else:
                self.connection.recv_bytes_into(array.reshape(-1).view(np.uint8))
            decoded = self.usable = True
        except (EOFError, OSError, BufferTooShort) as error:  # the process ended mid-exchange
            problem = f"Hilum's image decoder process ended unexpectedly ({error})."
            raise ImageReadError(file, problem, _REMEDY_RESTART) from None
        finally:
            # A new segment after a failure (a worker that fails to map one unlinks it), and none
            # kept for a very large image.
            if not decoded or (self.memory is not None and self.memory.size > _KEEP_BYTES):
                self._free_memory()
        return array, [str(message) for message in answer.get("warnings", [])]

    def _answer(
        self, file: Path, syntax: str, seconds: float, starting: bool = False
    ) -> dict[str, Any]:
        """The worker's next JSON answer; the worker is killed when it overruns or dies."""
        ready = wait([self.connection], seconds)  # a process that ends closes its end
        if self.connection in ready:
            try:
                answer = json.loads(self.connection.recv_bytes(_MAX_ANSWER_BYTES))
                if isinstance(answer, dict):
                    return answer
            except (EOFError, OSError, ValueError):
                pass  # it died while answering, or answered nonsense
        self.usable = False
        self.stop()
        codec = codec_name(syntax)
        if starting:
            problem = f"Hilum's image decoder process did not start ({_ending(self.process)})."
            raise ImageReadError(file, problem, _REMEDY_RESTART)
        if not ready:
            problem = (
                f"The {codec} decoder did not finish within {seconds:g} s on this file's pixel "
                "data and was stopped: the compressed data is probably damaged."
            )
        else:
            problem = (
                f"The {codec} decoder crashed on this file's pixel data ({_ending(self.process)}): "
                "the compressed data is probably damaged."
            )
        raise ImageReadError(file, problem, REMEDY_DAMAGED)

    def _memory_for(self, size: int) -> SharedMemory | None:
        """This worker's segment, grown to ``size`` bytes; ``None`` to use the pipe instead."""
        if self.memory is not None and self.memory.size >= size:
            return self.memory
        self._free_memory()
        size = -(-size // _SEGMENT_STEP) * _SEGMENT_STEP
        if shared_memory_room() < size + _SHM_MARGIN:
            return None  # a full tmpfs would kill the worker with SIGBUS mid-copy
        try:
            self.memory = SharedMemory(create=True, size=size)
        except OSError:
            return None
        return self.memory

    def _free_memory(self) -> None:
        if self.memory is not None:
            self.memory.close()
            with contextlib.suppress(FileNotFoundError):  # already unlinked by a failed attach
                self.memory.unlink()
            self.memory = None

    def stop(self) -> None:
        """End the process (politely when idle, by force otherwise) and free the memory."""
        if self.process.poll() is None and self.usable:
            with contextlib.suppress(OSError):
                self.connection.send(None)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(1.0)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.connection.close()
        self._free_memory()


def shared_memory_room() -> float:
    """Free bytes for shared memory: the free space of ``/dev/shm`` on Linux (often only 64 MiB in
    containers); unlimited elsewhere (macOS and Windows back it with ordinary memory)."""
    if os.path.isdir("/dev/shm"):
        return float(shutil.disk_usage("/dev/shm").free)
    return float("inf")


def _empty_frame(
    file: Path, answer: dict[str, Any], description: PixelDescription
) -> np.ndarray[Any, Any]:
    """An array for the frame the worker decoded, after checking its shape and type are sane."""
    try:
        dtype = np.dtype(str(answer["dtype"]))
        shape = tuple(int(n) for n in answer["shape"])
        if dtype.kind not in "biuf" or len(shape) not in (2, 3) or min(shape) < 0:
            raise ValueError(f"{dtype} {shape}")
        if int(np.prod(shape)) * dtype.itemsize > description.frame_bytes():
            raise ValueError(f"{shape} is larger than the header says")
        return np.empty(shape, dtype)
    except (KeyError, TypeError, ValueError) as error:
        raise ImageReadError(
            file, f"The decoder returned an unusable image ({error}).", REMEDY_DAMAGED
        ) from None


def _worker_command() -> tuple[list[str], str | None]:
    """How to start a decoder process, and in which working directory.

    From source or an installed package: this interpreter with ``-m``, in the folder that holds
    the ``engine`` package this process imported (``-m`` puts the working directory first on
    ``sys.path``, so the worker finds that same engine whatever the caller's directory holds).
    In the frozen app: its own executable with the worker flag.
    """
    if getattr(sys, "frozen", False):
        return [sys.executable, WORKER_FLAG], None
    return [sys.executable, "-m", "engine.imaging.decoder_worker"], str(Path(__file__).parents[2])


def _ending(process: subprocess.Popen[bytes]) -> str:
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(1.0)
    code = process.returncode
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


_shared: DecoderPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> DecoderPool:
    """The process's decoder pool, created on first use and closed at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = DecoderPool()
            atexit.register(_shared.close)
        return _shared


def start_decoders() -> None:
    """Start a decoder process in the background (the viewer calls this once it is shown)."""
    shared_pool().start()
