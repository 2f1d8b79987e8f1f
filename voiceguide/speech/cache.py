"""A content-addressed store of processed speech clips on disk.

Each entry is one file: a fixed header (magic, key digest, rate, frame count, checksum)
followed by float32 samples. Writes go to a temporary file in the same folder and are
renamed into place, so a reader sees either nothing or a whole entry; an entry whose
length or checksum does not match its header is treated as missing (and removed).

A cache folder is marked as one when it is made (`CACHEDIR.TAG`, the Cache Directory
Tagging Specification, with a line naming voiceguide): `clear` empties only a marked folder,
and only removes files named like its entries. Entries are read only when they are regular
files, never past the size their header states, so a symlink to /dev/zero, a FIFO or a
sparse giant in a shared cache folder is a missing entry, not a hang.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
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
MARKER = "CACHEDIR.TAG"
_MARKER_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a voiceguide clip cache folder (https://bford.info/cachedir/).\n"
    "# `voiceguide cache clear` removes only the clips it stores here.\n"
)
_MARKER_ID = "voiceguide clip cache"
_SHARD = re.compile(r"[0-9a-f]{2}")
_ENTRY = re.compile(r"[0-9a-f]{64}" + re.escape(SUFFIX))
_TEMPORARY = re.compile(r"\.tmp-.*" + re.escape(SUFFIX) + r"\.part")
# A clip longer than ten minutes at 48 kHz is no cue: a header claiming more is damage.
MAX_ENTRY_FRAMES = 10 * 60 * 48000
DEFAULT_LIMIT = 500 * 10**6  # bytes; `cache_limit` in the config file


@dataclass(frozen=True)
class CacheInfo:
    """What `voiceguide cache info` shows."""

    location: Path
    entries: int
    bytes: int
    limit: int | None = None  # bytes kept at most (the most recently used clips)


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
        self._marked = False

    def open(self) -> None:
        """Create (and mark) the folder, or say in one line why it cannot be: a cache folder
        under a file, on a read-only disk, or full of other files is a setting to fix."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if not self.mark():
                raise OSError(0, "it holds files that are not clips (choose an empty folder)")
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise SynthesisError(
                f"cannot use the clip cache folder {self.root}: {reason}"
                " (choose another with --cache-dir, or use --no-cache)"
            ) from None

    def is_marked(self) -> bool:
        """Whether the folder carries voiceguide's cache marker."""
        text = _read_small(self.root / MARKER, 4096)
        return text is not None and _MARKER_ID in text.decode("utf-8", "replace")

    def mark(self) -> bool:
        """Write the marker into an existing folder that is empty or holds only entries (a
        cache made before markers); False when it holds anything else."""
        if self._marked or self.is_marked():
            self._marked = True
            return True
        if not _only_entries(self.root):
            return False
        with contextlib.suppress(FileExistsError):
            fd = os.open(self.root / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(fd, _MARKER_TEXT.encode())
            finally:
                os.close(fd)
        self._marked = True
        return True

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{SUFFIX}"

    def has(self, key: str) -> bool:
        """Whether an entry is stored (one lstat, nothing read: `get` still verifies it)."""
        try:
            return stat.S_ISREG(os.lstat(self.path(key)).st_mode)
        except OSError:
            return False

    def frames(self, key: str) -> tuple[int, int] | None:
        """(frames, rate) of a stored clip from its header alone, or None if absent or its
        size disagrees with the header (estimates read many entries; `get` verifies fully)."""
        try:
            fd = _open_entry(self.path(key))
        except OSError:
            return None
        try:
            header = _header(fd, key)
        finally:
            os.close(fd)
        return None if header is None else (header[1], header[0])

    def get(self, key: str) -> Clip | None:
        """The stored clip, or None if absent, truncated or corrupt (a bad entry is removed).
        A hit counts as a use: the entry is kept longest when the cache is trimmed."""
        path = self.path(key)
        try:
            fd = _open_entry(path)
        except FileNotFoundError:
            return None
        except OSError:
            self._drop(path)  # a symlink, FIFO or device where an entry should be
            return None
        try:
            data = _read_entry(fd, key)
            if data is not None:
                with contextlib.suppress(OSError):
                    os.utime(fd)  # most recently used: its mtime is now
        finally:
            os.close(fd)
        clip = _decode(data, key) if data is not None else None
        if clip is None:
            # A hand-truncated or damaged entry: drop it so it gets re-synthesized.
            self._drop(path)
        return clip

    def _drop(self, path: Path) -> None:
        """Remove whatever sits at an entry's name (a file, a link, a FIFO, a folder)."""
        with contextlib.suppress(OSError):
            if stat.S_ISDIR(os.lstat(path).st_mode):
                shutil.rmtree(path)
            else:
                path.unlink()

    def put(self, key: str, clip: Clip) -> bool:
        """Store atomically: write a temporary file beside the entry, then rename it over.
        False when nothing could be kept (a read-only or full disk costs only the entry)."""
        path = self.path(key)
        samples = np.ascontiguousarray(clip.samples, dtype="<f4").tobytes()
        header = _HEADER.pack(MAGIC, bytes.fromhex(key), clip.rate, clip.frames, _checksum(samples))
        try:
            if not self._marked:
                self.root.mkdir(parents=True, exist_ok=True)
                if not self.mark():
                    return False  # a folder of other files is no place for clips
            path.parent.mkdir(parents=True, exist_ok=True)
            if os.path.lexists(path) and not stat.S_ISREG(os.lstat(path).st_mode):
                self._drop(path)  # a folder or link in the way would never be replaced
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=SUFFIX + ".part", dir=path.parent)
        except OSError:
            return False  # a read-only or full cache keeps nothing new; the run has its clip
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
            return False
        return True

    def _files(self) -> list[tuple[Path, os.stat_result, bool]]:
        """(path, lstat, is an entry) of every entry and temporary file of the cache: only
        names it writes, in the folders it makes; nothing else is ever touched."""
        found = []
        try:
            shards = [d for d in os.scandir(self.root) if _SHARD.fullmatch(d.name)]
        except OSError:
            return []
        for shard in shards:
            if not shard.is_dir(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError), os.scandir(shard.path) as files:
                for file in files:
                    entry = bool(_ENTRY.fullmatch(file.name))
                    if entry or _TEMPORARY.fullmatch(file.name):
                        with contextlib.suppress(OSError):
                            found.append((Path(file.path), file.stat(follow_symlinks=False), entry))
        return found

    def info(self, limit: int | None = None) -> CacheInfo:
        entries = 0
        size = 0
        for _, status, entry in self._files():
            size += status.st_size
            entries += entry
        return CacheInfo(self.root, entries, size, limit)

    def clear(self) -> int:
        """Remove every entry (and stray temporary files); returns the entries removed.
        SynthesisError for a folder that is not marked as a voiceguide cache."""
        if not self.root.is_dir():
            return 0
        if not self.is_marked() and not _only_entries(self.root):
            raise SynthesisError(
                f"{self.root} is not a voiceguide clip cache (no {MARKER} marker);"
                " nothing was removed"
            )
        removed = 0
        for path, _, entry in self._files():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += entry
        for shard in _shards(self.root):
            with contextlib.suppress(OSError):  # not empty: holds something not ours
                shard.rmdir()
        return removed

    def trim(self, limit: int) -> int:
        """Remove the least recently used entries until the cache holds at most `limit`
        bytes; returns the entries removed."""
        files = [(s.st_mtime, s.st_size, p) for p, s, entry in self._files() if entry]
        total = sum(size for _, size, _ in files)
        removed = 0
        for _, size, path in sorted(files):
            if total <= limit:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
            total -= size
        return removed

    def remove_stale_temporaries(self, older_than: float = _STALE_TMP_SECONDS) -> None:
        """Delete temporary files left by a killed writer (another live writer's are recent)."""
        limit = time.time() - older_than
        for path, status, entry in self._files():
            if not entry and status.st_mtime < limit:
                with contextlib.suppress(OSError):
                    path.unlink()


def _shards(root: Path) -> set[Path]:
    try:
        return {Path(d.path) for d in os.scandir(root) if _SHARD.fullmatch(d.name)}
    except OSError:
        return set()


def _only_entries(root: Path) -> bool:
    """Whether `root` holds nothing but shard folders of entries (an empty folder does)."""
    try:
        for item in os.scandir(root):
            if item.name == MARKER:
                continue
            if not (_SHARD.fullmatch(item.name) and item.is_dir(follow_symlinks=False)):
                return False
            for file in os.scandir(item.path):
                if not (_ENTRY.fullmatch(file.name) or _TEMPORARY.fullmatch(file.name)):
                    return False
    except OSError:
        return False
    return True


def _read_small(path: Path, limit: int) -> bytes | None:
    """Up to `limit` bytes of a regular file (never a FIFO or device), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def _open_entry(path: Path) -> int:
    """A descriptor on the entry at `path`; OSError unless it is a regular file (a link,
    FIFO or device is refused without blocking)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(0, "not a regular file")
    return fd


def _header(fd: int, key: str) -> tuple[int, int] | None:
    """(rate, frames) from an entry's header when it matches `key` and the file's size."""
    try:
        header = os.pread(fd, _HEADER.size, 0)
        size = os.fstat(fd).st_size
    except OSError:
        return None
    if len(header) < _HEADER.size:
        return None
    magic, digest, rate, frames, _ = _HEADER.unpack(header)
    if magic != MAGIC or digest != bytes.fromhex(key) or rate <= 0:
        return None
    if frames > MAX_ENTRY_FRAMES or size != _HEADER.size + frames * 4:
        return None
    return int(rate), int(frames)


def _read_entry(fd: int, key: str) -> bytes | None:
    """The whole entry, read only as far as its header says it reaches."""
    header = _header(fd, key)
    if header is None:
        return None
    want = _HEADER.size + header[1] * 4
    chunks = []
    got = 0
    try:
        while got < want:
            chunk = os.pread(fd, min(want - got, 1 << 20), got)
            if not chunk:
                return None
            chunks.append(chunk)
            got += len(chunk)
    except OSError:
        return None
    return b"".join(chunks)


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
