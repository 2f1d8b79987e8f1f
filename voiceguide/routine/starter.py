"""`voiceguide new`: a commented starter routine that passes `check`."""

from __future__ import annotations

import os
from pathlib import Path

from voiceguide.errors import OutputError

STARTER = """\
# yaml-language-server: $schema=routine.schema.json
# A voiceguide routine. Check it with `voiceguide check FILE`, see its timing with
# `voiceguide plan FILE`, hear it with `voiceguide play FILE`, export it with
# `voiceguide render FILE -o FILE.mp3`. `voiceguide schema > routine.schema.json`
# lets editors validate and complete this file.
title: My routine
description: What this routine is for.

voice:
  engine: pyttsx3      # or piper (pip install 'voiceguide[piper]')
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
    """Write the starter routine to `path` (never over an existing file unless forced)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        raise OutputError(f"{path} already exists (use --force to overwrite it)") from None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(STARTER)
