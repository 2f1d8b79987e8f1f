"""Atomic output: every file is written under a temporary name beside its destination and
renamed into place only when the whole render succeeded."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from voiceguide.errors import OutputError


def describe(exc: BaseException) -> str:
    """A one-line reason for a failed write (libsndfile messages span several lines)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _file_in_the_way(folder: Path) -> Path | None:
    """The nearest existing ancestor of `folder` if it is not a folder: mkdir would only
    say "File exists" or "Not a directory" without naming it."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


class Staging:
    """Temporary files waiting to be renamed onto their destinations, all or none."""

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []

    def temp_for(self, dest: Path) -> Path:
        """Create (empty) and return a hidden temporary file in `dest`'s folder."""
        if dest.is_dir():
            raise OutputError(f"cannot write {dest}: it is a folder")
        blocker = _file_in_the_way(dest.parent)
        if blocker is not None:
            raise OutputError(f"cannot write {dest}: {blocker} is a file, not a folder")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            temp = dest.parent / f".{dest.name}.{secrets.token_hex(4)}.part"
            # Created with open() rather than mkstemp so the final file gets the umask's
            # permissions instead of mkstemp's 0600.
            with open(temp, "xb"):
                pass
        except OSError as exc:
            raise OutputError(f"cannot write {dest}: {describe(exc)}") from None
        self._pending.append((temp, dest))
        return temp

    def fill(self, temp: Path, dest: Path, text: str) -> None:
        """Write a small text file (captions, plan JSON, playlist) to its staged `temp`."""
        try:
            temp.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"cannot write {dest}: {describe(exc)}") from None

    def commit(self) -> None:
        """Rename every temporary file onto its destination."""
        for temp, dest in self._pending:
            try:
                os.replace(temp, dest)
            except OSError as exc:
                raise OutputError(f"cannot write {dest}: {describe(exc)}") from None
        self._pending.clear()

    def discard(self) -> None:
        """Remove every temporary file not yet renamed (after a failure or Ctrl-C)."""
        for temp, _ in self._pending:
            with contextlib.suppress(OSError):
                temp.unlink()
        self._pending.clear()
