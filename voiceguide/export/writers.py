"""Streaming audio writers: mono 16-bit PCM blocks in, a tagged WAV/FLAC/Ogg Vorbis/MP3 out."""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np
import soundfile as sf
from mutagen import MutagenError

from voiceguide.errors import OutputError
from voiceguide.export.tags import Tags, tag_mp3, tag_vorbis, wav_cue_chunks, wav_info_chunk

FORMATS = {".wav": "wav", ".flac": "flac", ".ogg": "ogg", ".mp3": "mp3"}

# MPEG-1/2/2.5 layer III sample rates; libsndfile's LAME encoder accepts no others.
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)

# One sf.write of ~4 M frames to Ogg Vorbis segfaulted libsndfile 1.2.2; 64 k-frame blocks
# were fine. Every writer gets blocks no larger than this.
BLOCK_FRAMES = 65536

# What a failing write raises: disk full, permissions, libsndfile and mutagen errors.
WRITE_ERRORS: tuple[type[BaseException], ...] = (OSError, sf.SoundFileError, MutagenError)


def output_format(path: Path) -> str:
    """The format named by `path`'s extension, or OutputError listing the supported ones."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None and path.is_dir():
        raise OutputError(
            f"{path} is a folder; name a file in it, whose extension picks the format: "
            f"use .wav, .flac, .ogg or .mp3 (e.g. {path / 'routine.wav'})"
        )
    if fmt is None and not path.suffix:
        raise OutputError(
            f"{path} has no extension, and the extension picks the format: "
            f"use .wav, .flac, .ogg or .mp3 (e.g. {path}.wav)"
        )
    if fmt is None:
        raise OutputError(
            f"unsupported output format '{path.suffix}' (use .wav, .flac, .ogg or .mp3)"
        )
    return fmt


def check_rate(fmt: str, rate: int) -> None:
    """OutputError if `fmt` cannot hold audio at `rate` Hz."""
    if rate <= 0:
        raise OutputError(f"invalid sample rate {rate}")
    if fmt == "mp3" and rate not in MP3_RATES:
        rates = ", ".join(str(r) for r in MP3_RATES)
        raise OutputError(f"MP3 cannot use a sample rate of {rate} Hz (use one of {rates})")


class AudioWriter(Protocol):
    """Takes int16 mono blocks of any size; `close` finishes the file and writes its tags."""

    frames: int

    def write(self, block: np.ndarray) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


def open_writer(path: Path, fmt: str, rate: int, tags: Tags) -> AudioWriter:
    """A writer for `fmt` creating `path` (the caller makes it atomic)."""
    check_rate(fmt, rate)
    if fmt == "wav":
        return WavWriter(path, rate, tags)
    return SoundfileWriter(path, fmt, rate, tags)


class WavWriter:
    """RIFF/WAVE PCM_16 written directly: INFO tags first, then data, then cue + labels.

    Written by hand (not libsndfile) so the header, the cue chunk and the labels are in one
    pass and a full disk surfaces as an ordinary OSError."""

    def __init__(self, path: Path, rate: int, tags: Tags):
        self.frames = 0
        self._rate = rate
        self._tags = tags
        self._file: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in close()/abort()
        fmt_body = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
        header = b"RIFF\0\0\0\0WAVE" + b"fmt " + struct.pack("<I", len(fmt_body)) + fmt_body
        header += wav_info_chunk(tags)
        self._data_size_at = len(header) + 4
        self._file.write(header + b"data\0\0\0\0")

    def write(self, block: np.ndarray) -> None:
        self._file.write(np.ascontiguousarray(block, dtype="<i2").tobytes())
        self.frames += int(block.shape[0])

    def close(self) -> None:
        data_bytes = self.frames * 2
        if self._data_size_at + 4 + data_bytes > 0xFFFFFFF0:
            self.abort()
            raise OutputError("WAV output would exceed 4 GiB; use .flac, .ogg or .mp3")
        self._file.write(wav_cue_chunks(self._tags.chapters, self._rate))
        riff_size = self._file.tell() - 8
        self._file.seek(4)
        self._file.write(struct.pack("<I", riff_size))
        self._file.seek(self._data_size_at)
        self._file.write(struct.pack("<I", data_bytes))
        self._file.close()

    def abort(self) -> None:
        self._file.close()


class SoundfileWriter:
    """FLAC, Ogg Vorbis and MP3 through libsndfile, tagged with mutagen after closing.

    libsndfile's MP3 encoder (LAME) writes a Xing/LAME info frame holding the encoder delay
    and padding, so gapless decoders (mpg123, ffmpeg, mutagen) report the exact length."""

    _SUBTYPES = {"flac": "PCM_16", "ogg": "VORBIS", "mp3": "MPEG_LAYER_III"}
    _FORMATS = {"flac": "FLAC", "ogg": "OGG", "mp3": "MP3"}

    def __init__(self, path: Path, fmt: str, rate: int, tags: Tags):
        self.frames = 0
        self._path = path
        self._fmt = fmt
        self._tags = tags
        self._file = sf.SoundFile(
            str(path),
            "w",
            samplerate=rate,
            channels=1,
            subtype=self._SUBTYPES[fmt],
            format=self._FORMATS[fmt],
        )

    def write(self, block: np.ndarray) -> None:
        for at in range(0, block.shape[0], BLOCK_FRAMES):
            try:
                self._file.write(block[at : at + BLOCK_FRAMES])
            except sf.SoundFileError as exc:
                raise _system_error(exc, self._path) from None
            except AssertionError:
                # soundfile asserts on a short write (seen when the disk fills up); name
                # the likely cause rather than the assertion.
                raise OSError(
                    errno.ENOSPC, "short write (no space left on device?)", str(self._path)
                ) from None
        self.frames += int(block.shape[0])

    def close(self) -> None:
        try:
            self._file.close()
        except sf.SoundFileError as exc:
            raise _system_error(exc, self._path) from None
        if self._fmt == "mp3":
            tag_mp3(self._path, self._tags)
        else:
            tag_vorbis(self._path, self._tags, self._fmt)

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()


def _system_error(exc: Exception, path: Path) -> Exception:
    """libsndfile says only "System error." when a write fails: name the likely cause (a
    full disk, measured on the file's disk; else a file size limit) instead."""
    if "system error" not in str(exc).lower():
        return exc
    try:
        stats = os.statvfs(path.parent)
        full = stats.f_bavail * stats.f_frsize < 1 << 20
    except OSError:
        full = False
    if full:
        return OSError(errno.ENOSPC, "No space left on device", str(path))
    return OSError(errno.EIO, "the system refused the write (disk full or a file size limit?)")
