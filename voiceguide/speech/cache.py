"""A content-addressed store of processed speech clips on disk.

Each entry is one file: a fixed header (magic, key digest, rate, frame count, checksum)
followed by float32 samples. Writes go to a temporary file in the same folder and are
renamed into place, so a reader sees either nothing or a whole entry; an entry whose
length or checksum does not match its header is treated as missing (and removed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voiceguide.errors import SynthesisError
from voiceguide.sound.clip import Clip

MAGIC = b"VGCLIP01"
SUFFIX = ".clip"
_HEADER = struct.Struct("<8s32sIQ32s")  # magic, key digest, rate, frames, blake2b of samples
_STALE_TMP_SECONDS = 3600.0


@dataclass(frozen=True)
class CacheInfo:
    """What `voiceguide cache info` shows."""

    location: Path
    entries: int
    bytes: int


def cache_key(*parts: object) -> str:
    """Hex digest identifying a clip: engine, engine version, voice, rate, volume, text..."""
    blob = json.dumps([str(p) if not isinstance(p, (int, float)) else p for p in parts])
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _checksum(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


class ClipCache:
    """Clips stored under `root`, one file per key, in 256 sub-folders."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def open(self) -> None:
        """Create the folder, or say in one line why it cannot be: a cache folder under a
        file, or on a read-only disk, is a setting to fix, not a reason for a traceback."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise SynthesisError(
                f"cannot use the clip cache folder {self.root}: {reason}"
                " (choose another with --cache-dir, or use --no-cache)"
            ) from None

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{SUFFIX}"

    def has(self, key: str) -> bool:
        """Whether an entry is stored (one stat, nothing read: `get` still verifies it)."""
        return self.path(key).is_file()

    def frames(self, key: str) -> tuple[int, int] | None:
        """(frames, rate) of a stored clip from its header alone, or None if absent or its
        size disagrees with the header (estimates read many entries; `get` verifies fully)."""
        path = self.path(key)
        try:
            with path.open("rb") as f:
                header = f.read(_HEADER.size)
                size = os.fstat(f.fileno()).st_size
        except OSError:
            return None
        if len(header) < _HEADER.size:
            return None
        magic, digest, rate, frames, _ = _HEADER.unpack(header)
        if magic != MAGIC or digest != bytes.fromhex(key) or rate <= 0:
            return None
        if size != _HEADER.size + frames * 4:
            return None
        return int(frames), int(rate)

    def get(self, key: str) -> Clip | None:
        """The stored clip, or None if absent, truncated or corrupt (a bad entry is removed)."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError:
            return None
        clip = _decode(data, key)
        if clip is None:
            # A hand-truncated or damaged entry: drop it so it gets re-synthesized.
            with contextlib.suppress(OSError):
                path.unlink()
        return clip

    def put(self, key: str, clip: Clip) -> None:
        """Store atomically: write a temporary file beside the entry, then rename it over."""
        path = self.path(key)
        samples = np.ascontiguousarray(clip.samples, dtype="<f4").tobytes()
        header = _HEADER.pack(MAGIC, bytes.fromhex(key), clip.rate, clip.frames, _checksum(samples))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=SUFFIX + ".part", dir=path.parent)
        except OSError:
            return  # a read-only or full cache keeps nothing new; the run has its clip
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header)
                f.write(samples)
            # os.replace is atomic on one file system: two writers of the same key both
            # produce a complete file, and the last rename wins.
            os.replace(tmp, path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if not isinstance(exc, OSError):  # a full disk only costs this entry
                raise

    def info(self) -> CacheInfo:
        entries = 0
        size = 0
        if self.root.is_dir():
            for file in self.root.rglob("*"):
                if file.is_file():
                    size += file.stat().st_size
                    if file.name.endswith(SUFFIX) and not file.name.startswith(".tmp-"):
                        entries += 1
        return CacheInfo(self.root, entries, size)

    def clear(self) -> int:
        """Remove every entry (and stray temporary files); returns the entries removed."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for file in sorted(self.root.rglob("*"), reverse=True):
            if file.is_file() and (file.name.endswith(SUFFIX) or file.name.startswith(".tmp-")):
                if not file.name.startswith(".tmp-"):
                    removed += 1
                file.unlink(missing_ok=True)
            elif file.is_dir() and len(file.name) == 2:
                with contextlib.suppress(OSError):  # not empty: holds something not ours
                    file.rmdir()
        return removed

    def remove_stale_temporaries(self, older_than: float = _STALE_TMP_SECONDS) -> None:
        """Delete temporary files left by a killed writer (another live writer's are recent)."""
        if not self.root.is_dir():
            return
        limit = time.time() - older_than
        for file in self.root.glob("*/.tmp-*"):
            try:
                if file.stat().st_mtime < limit:
                    file.unlink()
            except OSError:
                pass


def _decode(data: bytes, key: str) -> Clip | None:
    if len(data) < _HEADER.size:
        return None
    magic, digest, rate, frames, checksum = _HEADER.unpack_from(data)
    body = data[_HEADER.size :]
    if (
        magic != MAGIC
        or digest != bytes.fromhex(key)
        or rate <= 0
        or len(body) != frames * 4
        or _checksum(body) != checksum
    ):
        return None
    return Clip(np.frombuffer(body, dtype="<f4").astype(np.float32), int(rate))
