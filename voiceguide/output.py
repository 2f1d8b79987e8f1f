"""Where `render` writes, checked before any work.

The rule: `-o FILE` writes FILE, into a folder that must already exist (a typo in a path
never creates folders). Without it, the file is `<routine>.wav` in the configured
`output_dir`, else in `audio/` under the current folder; that folder, the tool's own
choice, is made when missing, and so is a `--split` folder (its parent must exist).

Every output must differ from every other output and from every file the render reads
(the routine, a chime, a voice model), compared as resolved paths: a collision is an
`OutputConflict` (exit 2) before any synthesis. Each destination is then probed with a
real temporary file, so an unwritable one fails at once instead of after synthesis.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from voiceguide.errors import OutputConflict, OutputError

DEFAULT_FOLDER = Path("audio")
PLAYLIST = "playlist.m3u8"
_NAME_MAX = 255  # bytes in one file name on every common file system


def default_output_rule() -> str:
    """The default output folder as `voiceguide config` prints it."""
    return f"{Path.cwd() / DEFAULT_FOLDER} (audio/ in the current folder)"


def default_output(name: str, output_dir: Path | None) -> Path:
    """`<output_dir or audio>/<name>.wav`."""
    return (output_dir or DEFAULT_FOLDER) / f"{name}.wav"


def _same(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)  # a hard link, or another spelling of one file
    except OSError:
        return False


def check_distinct(
    outputs: Iterable[tuple[str, Path | None]],
    inputs: Iterable[tuple[str, Path]],
    split_dir: Path | None = None,
    audio_suffix: str = "",
) -> None:
    """OutputConflict when two outputs are one file, an output is an input, or an output
    lies in the split folder under a name the tracks or the playlist take."""
    named = [(what, Path(path)) for what, path in outputs if path is not None]
    sources = [(what, Path(path)) for what, path in inputs]
    for i, (what, path) in enumerate(named):
        for other, earlier in named[:i]:
            if _same(path, earlier):
                raise OutputConflict(f"{path} is given as both {other} and {what}")
        for source, read in sources:
            if _same(path, read):
                raise OutputConflict(f"{path} is {source}: writing {what} there would replace it")
        if split_dir is not None and _same(path.parent, split_dir):
            track = re.fullmatch(r"\d+-.*" + re.escape(audio_suffix), path.name)
            if path.name == PLAYLIST or track:
                raise OutputConflict(
                    f"{path} is {what}, and the --split folder {split_dir} writes its tracks"
                    " and playlist under such names: choose another name or folder"
                )
    if split_dir is not None:
        for source, read in sources:
            if _same(read.parent, split_dir) and (
                read.name == PLAYLIST or read.suffix == audio_suffix
            ):
                raise OutputConflict(
                    f"the --split folder {split_dir} holds {source} ({read.name}):"
                    " its tracks could replace it"
                )


def check_writable(dest: Path, *, create_folder: bool = False) -> None:
    """OutputError unless a file can be created beside `dest` now: its folder exists (or,
    with `create_folder`, can be made), is a folder, and takes a new file."""
    if dest.is_dir():
        raise OutputError(f"cannot write {dest}: it is a folder")
    folder = dest.parent
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise OutputError(f"cannot write {dest}: {candidate} is a file, not a folder")
            break
    if not folder.exists():
        if not create_folder:
            raise OutputError(
                f"cannot write {dest}: the folder {folder} does not exist (create it first)"
            )
        check_folder(folder)
        return
    probe = folder / temporary_name(dest.name, "probe")
    try:
        with open(probe, "xb"):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write {dest}: {exc.strerror or exc}") from None
    with contextlib.suppress(OSError):
        probe.unlink()


def check_folder(folder: Path) -> None:
    """OutputError unless `folder` exists as a writable folder or can be made: the nearest
    existing ancestor is a folder that takes new entries."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise OutputError(
                    f"cannot write into {folder}: {candidate} is a file, not a folder"
                )
            if not os.access(candidate, os.W_OK | os.X_OK):
                raise OutputError(f"cannot write into {folder}: Permission denied")
            return


def temporary_name(name: str, tag: str) -> str:
    """`.NAME.TAG.part`, shortened so it fits one file name even when NAME nearly does."""
    suffix = f".{tag}.part"
    room = _NAME_MAX - len(suffix.encode()) - 1
    encoded = name.encode()
    if len(encoded) > room:
        name = encoded[:room].decode("utf-8", "ignore")
    return f".{name}{suffix}"
