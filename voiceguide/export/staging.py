"""Atomic output: every file is written under a temporary name beside its destination and
renamed into place only when the whole render succeeded."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

from voiceguide.errors import OutputError
from voiceguide.output import temporary_name

_OURS = re.compile(r"\.(\d+)-[0-9a-f]{8}\.part$")


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


def remove_stale_parts(dest: Path) -> None:
    """Delete temporary files of `dest` left by a writer that no longer runs."""
    try:
        names = os.listdir(dest.parent)
    except OSError:
        return
    for name in names:
        match = _OURS.search(name)
        if match is None or not name.startswith("."):
            continue
        written = name[1 : match.start()]  # the destination's name, maybe shortened
        exact = written == dest.name
        shortened = len(written.encode()) >= 200 and dest.name.startswith(written)
        if (exact or shortened) and not _alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                (dest.parent / name).unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process: alive
    return True


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
            remove_stale_parts(dest)
            # The writer's process id in the name: a later run can tell a killed
            # writer's leftover (SIGKILL, a crash) from a live one's work in progress.
            tag = f"{os.getpid()}-{secrets.token_hex(4)}"
            temp = dest.parent / temporary_name(dest.name, tag)
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
