"""`voiceguide new`: a commented starter routine that passes `check`."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from voiceguide.errors import OutputError
from voiceguide.output import temporary_name

# The JSON Schema installed with voiceguide: the starter's editor comment names it by its
# absolute location, so it works wherever the starter is written.
SCHEMA_FILE = Path(__file__).resolve().parent / "routine.schema.json"

STARTER = """\
# yaml-language-server: $schema={schema}
# A voiceguide routine. Check it with `voiceguide check FILE`, see its timing with
# `voiceguide plan FILE`, hear it with `voiceguide play FILE`, export it with
# `voiceguide render FILE -o FILE.mp3`. The first line lets editors validate and complete
# this file; to keep the schema beside it: `voiceguide schema > routine.schema.json`.
title: My routine
description: What this routine is for.

voice:
  engine: auto         # Piper's best installed voice, else pyttsx3; or: pyttsx3, piper
  rate: 150            # words per minute
  volume: 1.0          # 0 to 1

pace: 1                # 2 halves every silence, 0.5 doubles it
gap: 1s                # silence between steps
breath: 0.5s           # silence between sentences inside a step
chime: none            # none, bell, beep, or a WAV file next to this one
music:                 # a bed under the voice; remove these lines for none
  source: brown-noise  # brown-noise, pink-noise, rain, or an audio file next to this one
  level: -20dB         # under the voice's loudness
  duck: 10dB           # further down while the guide speaks
  fade: 3s             # in at the start, out at the end

vars:
  tool: roller         # use as {tool} in any text

intro: Get comfortable and keep your {tool} close.

steps:
  - name: Warm up
    say: Warm a drop of oil between your hands. Say next when you are ready.
    wait: true         # wait for n, space or Enter (in a file: 10s, or --wait)

  - name: Circles
    say: "Make small circles on your {side} temple, {reps} times."
    sides: [left, right]
    repeat: 5-10       # a range: --reps min/max/N chooses
    every: 3s          # one repetition slot
    count: true        # say each number aloud

  - name: Stretch
    say: Stretch gently and hold it.
    hold: 15s
    countdown: 3       # "3, 2, 1" at the end of the hold

  - name: Rest
    say: Relax your hands. Next is {next}.
    duration: 10s      # the whole step lasts exactly 10 seconds

  - name: Finish
    say: Shake out your hands.

outro: Well done.
"""


def write_starter(path: Path, *, force: bool = False) -> None:
    """Write the starter routine to `path` (never over an existing file unless forced).

    Atomic: the text goes to a temporary file beside `path`, then takes its name, so a full
    disk or a failed write leaves the existing file (or no file) as it was."""
    path = Path(path)
    if not force and os.path.lexists(path):
        raise OutputError(f"{path} already exists (use --force to overwrite it)")
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder")
    temp = path.parent / temporary_name(path.name, f"{os.getpid()}-{secrets.token_hex(4)}")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(starter_text())
            handle.flush()
            os.fsync(handle.fileno())
        if force:
            os.replace(temp, path)
        else:
            # A hard link creates the name only if it is still free (another `new` may
            # have taken it meanwhile); a file system without links gets a plain rename.
            try:
                os.link(temp, path)
            except FileExistsError:
                raise OutputError(f"{path} already exists (use --force to overwrite it)") from None
            except OSError:
                os.replace(temp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


def starter_text() -> str:
    """The starter routine, its schema comment pointing at the installed schema file."""
    return STARTER.replace("{schema}", SCHEMA_FILE.as_uri(), 1)
