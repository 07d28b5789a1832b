"""Compressed pixel data is decoded in worker processes: a native decoder's crash, panic, overrun
or runaway allocation is an ImageReadError for that one file, and the next file decodes.

The corrupt streams below are single, documented edits that make today's decoders abort (GDCM
throws a C++ exception nothing catches) or panic (pylibjpeg-rle); decoded in-process they end the
test process. Should a decoder release fix one, its test fails on the message: find a new
corruption rather than drop the test.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import UID, JPEG2000Lossless, JPEGBaseline8Bit, JPEGLSLossless, RLELossless

from engine import ImageReadError, load_image
from engine.imaging import decoder_pool as pool_module
from engine.imaging.decoder_pool import DecoderPool
from engine.imaging.dicom_samples import write_sample
from engine.imaging.pixel_frames import PixelDescription, describe_pixels

Edit = Callable[[bytearray], None]


def _ramp(dtype: type[np.unsignedinteger] = np.uint8, side: int = 64) -> np.ndarray:
    scale = 2 if dtype is np.uint8 else 300
    return (np.add.outer(np.arange(side), np.arange(side)) * scale % 250).astype(dtype)


def _with_stream_edit(path: Path, edit: Edit) -> Path:
    """Rewrite ``path`` with its (single-frame) compressed stream changed by ``edit``."""
    ds = pydicom.dcmread(path)
    stream = bytearray(next(generate_frames(ds.PixelData, number_of_frames=1)))
    edit(stream)
    ds.PixelData = encapsulate([bytes(stream) + b"\0" * (len(stream) % 2)])
    ds.save_as(path)
    return path


def _huffman_marker_zeroed(stream: bytearray) -> None:
    """JPEG: the Define Huffman Table marker FF C4 becomes FF 00 (a stuffed zero byte)."""
    stream[stream.index(b"\xff\xc4") + 1] = 0x00


def _jpeg_ls_precision_255(stream: bytearray) -> None:
    """JPEG-LS: the frame header (SOF55, FF F7) claims 255-bit samples."""
    stream[stream.index(b"\xff\xf7") + 4] = 0xFF


def _j2k_precision_256(stream: bytearray) -> None:
    """JPEG 2000: the SIZ marker (FF 51) gives the component a precision of 256 bits."""
    stream[stream.index(b"\xff\x51") + 40] = 0xFF


@pytest.mark.parametrize(
    ("syntax", "edit", "codec"),
    [
        (JPEGBaseline8Bit, _huffman_marker_zeroed, "JPEG"),
        (JPEGLSLossless, _jpeg_ls_precision_255, "JPEG-LS"),
        (JPEG2000Lossless, _j2k_precision_256, "JPEG 2000"),
    ],
)
def test_a_decoder_that_aborts_the_process_is_an_image_read_error(
    tmp_path: Path, syntax: UID, edit: Edit, codec: str
) -> None:
    path = _with_stream_edit(write_sample(_ramp(), tmp_path, syntax), edit)
    with pytest.raises(ImageReadError, match=f"The {codec} decoder crashed") as info:
        load_image(path)
    assert str(path) in str(info.value) and "SIGABRT" in info.value.problem
    assert "export the file again" in info.value.remedy
    intact = tmp_path / "intact"
    intact.mkdir()
    assert load_image(write_sample(_ramp(), intact, syntax)).width == 64  # a new worker


def test_a_decoder_panic_is_an_image_read_error(tmp_path: Path) -> None:
    # pylibjpeg-rle indexes past its buffer when the header says less than the stream holds.
    path = write_sample(_ramp(np.uint16), tmp_path, RLELossless)
    ds = pydicom.dcmread(path)
    ds.Rows = ds.Columns = 32
    ds.save_as(path)
    with pytest.raises(ImageReadError, match="The RLE decoder failed on this file's pixel data"):
        load_image(path)


def _request(path: Path) -> tuple[Path, str, PixelDescription, bytes]:
    ds = pydicom.dcmread(path)
    return path, str(ds.file_meta.TransferSyntaxUID), describe_pixels(path, ds, []), ds.PixelData


def test_a_decode_over_the_time_limit_stops_the_worker_and_the_next_file_decodes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Large enough that the worker cannot answer between the request and the zero-second wait.
    request = _request(write_sample(_ramp(side=1024), tmp_path, JPEG2000Lossless))
    pool = DecoderPool(size=1)
    try:
        expected, _ = pool.decode(*request)
        monkeypatch.setattr(pool_module, "DECODE_SECONDS", 0.0)
        with pytest.raises(ImageReadError, match="did not finish within 0 s"):
            pool.decode(*request)
        monkeypatch.undo()
        again, _ = pool.decode(*request)
    finally:
        pool.close()
    np.testing.assert_array_equal(again, expected)


def test_a_worker_that_died_while_idle_is_replaced(tmp_path: Path) -> None:
    request = _request(write_sample(_ramp(), tmp_path, JPEGLSLossless))
    pool = DecoderPool(size=1)
    try:
        expected, _ = pool.decode(*request)
        (worker,) = pool.worker_pids()
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while worker in pool.worker_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        again, _ = pool.decode(*request)
        assert worker not in pool.worker_pids()
    finally:
        pool.close()
    np.testing.assert_array_equal(again, expected)


def test_threads_share_the_pool_and_get_their_own_frames(tmp_path: Path) -> None:
    images = [np.roll(_ramp(), shift, axis=1) for shift in range(6)]
    requests = []
    for number, image in enumerate(images):
        folder = tmp_path / str(number)
        folder.mkdir()
        requests.append(_request(write_sample(image, folder, JPEG2000Lossless)))
    pool = DecoderPool(size=2)
    try:
        with ThreadPoolExecutor(4) as threads:
            frames = list(threads.map(lambda request: pool.decode(*request)[0], requests))
    finally:
        pool.close()
    for frame, image in zip(frames, images, strict=True):
        np.testing.assert_array_equal(frame, image)


def test_without_room_in_shared_memory_the_frame_travels_through_the_pipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = _ramp(np.uint16)
    request = _request(write_sample(image, tmp_path, JPEG2000Lossless))
    monkeypatch.setattr(pool_module, "shared_memory_room", lambda: 0.0)
    pool = DecoderPool(size=1)
    try:
        frame, _ = pool.decode(*request)
    finally:
        pool.close()
    np.testing.assert_array_equal(frame, image)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the memory cap is Linux-only")
def test_a_decode_needing_more_memory_than_the_cap_fails_inside_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A constant 4096 x 4096 16-bit image: RLE squeezes its 32 MiB into a few hundred KiB.
    image = np.full((4096, 4096), 1000, np.uint16)
    request = _request(write_sample(image, tmp_path, RLELossless))
    monkeypatch.setattr(pool_module, "MEMORY_LIMIT_BYTES", 16 * 2**20)
    capped = DecoderPool(size=1)
    try:
        with pytest.raises(ImageReadError, match="needed more memory than Hilum allows"):
            capped.decode(*request)
    finally:
        capped.close()
    monkeypatch.undo()
    uncapped = DecoderPool(size=1)
    try:
        frame, _ = uncapped.decode(*request)
    finally:
        uncapped.close()
    assert frame.shape == image.shape and int(frame[0, 0]) == 1000
