"""The exception family. The CLI turns each into one line on stderr and an exit status."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_CONTROL = re.compile(r"[\x00-\x1f\x7f\x80-\x9f\u2028\u2029]")


def one_line(message: str) -> str:
    """Escape line breaks and other control characters: every error is one line of
    stderr, even when it quotes a user's multi-line value."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], message)


class VoiceguideError(Exception):
    """Base of every expected failure; never shown with a traceback."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One located problem in a file: line and column are 1-based, or both 0 when the
    problem is the whole file's (missing, not UTF-8), printed then as `PATH: error: ...`."""

    path: str
    line: int
    column: int
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", one_line(self.path))
        object.__setattr__(self, "message", one_line(self.message))

    def __str__(self) -> str:
        if not self.line:
            return f"{self.path}: error: {self.message}"
        return f"{self.path}:{self.line}:{self.column}: error: {self.message}"


class LocatedError(VoiceguideError):
    """A file is invalid; `problems` holds every problem found, each located in the file."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class RoutineError(LocatedError):
    """A routine file is invalid; carries every problem found in it."""


class ConfigError(LocatedError):
    """The user configuration file is malformed or holds a wrong value."""


class OptionError(VoiceguideError, ValueError):
    """An option value that cannot be used (pace 0, reps 'lots', fit given with pace).

    `option` is the keyword at fault and `reason` what is wrong with it; a reason naming
    other options has a `{}` for each, filled from `others` as the caller spells them."""

    exit_code = 2

    def __init__(self, option: str, reason: str, others: tuple[str, ...] = ()):
        self.option = option
        self.reason = reason
        self.others = others
        super().__init__(f"{option}: {self.explain(str)}")

    def explain(self, spell: Callable[[str], str]) -> str:
        """The reason, each option it names spelled by `spell` (the CLI: as `--flag`)."""
        return self.reason.format(*map(spell, self.others)) if self.others else self.reason


class PlanError(VoiceguideError):
    """A valid routine cannot be planned with the given options (e.g. --fit too short)."""


class LocatedPlanError(RoutineError, PlanError):
    """A valid routine cannot be planned with these options because of something at a place
    in its file (a step's speech outgrowing its `duration`, a silent routine); located data."""


class LimitError(LocatedPlanError):
    """A valid routine exceeds a size limit (events, total length) under the given options;
    carries every limit it exceeds, each located at the step responsible."""


class SynthesisError(VoiceguideError):
    """Speech could not be synthesized (engine missing, unknown voice, repeated failure)."""


class UnknownVoice(SynthesisError):
    """A voice id its engine does not have; the session locates it in the routine file."""

    def __init__(self, voice_id: str, message: str):
        super().__init__(message)
        self.voice_id = voice_id


class OutputError(VoiceguideError):
    """An output file cannot be written (bad extension, unwritable folder, disk full)."""


class DeviceError(VoiceguideError):
    """No audio device could be opened for live playback."""


class Interrupted(VoiceguideError):
    """The user stopped the run (Ctrl-C, SIGTERM, or `q`)."""

    exit_code = 130


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every cleanup path (temporary files, the
    terminal, the sound device) runs the same way; the CLI exits 143 for it."""


class OutputConflict(OutputError):
    """Two outputs are one file, or an output is a file the render reads: a usage error,
    found before any work."""

    exit_code = 2
