"""Built-in routines, shipped as YAML files inside the package."""

from __future__ import annotations

import difflib
import os
from importlib import resources
from pathlib import Path

from voiceguide.errors import Problem, RoutineError
from voiceguide.routine.loader import load_routine
from voiceguide.routine.models import Routine


def builtin_dir() -> Path:
    return Path(str(resources.files("voiceguide.routine") / "builtin"))


def builtin_names() -> list[str]:
    """Names of the built-in routines (file names without .yaml)."""
    return sorted(p.stem for p in builtin_dir().glob("*.yaml"))


def builtin_path(name: str) -> Path | None:
    path = builtin_dir() / f"{name}.yaml"
    return path if path.is_file() else None


def resolve_routine(ref: str | Routine) -> Routine:
    """Load ROUTINE given on the command line: a path, or a built-in routine's name (a
    Routine already loaded is returned as it is)."""
    if isinstance(ref, Routine):
        return ref
    path = Path(ref)
    try:
        os.lstat(path)  # a broken link or a link loop is a file, not a built-in's name
        exists = True
    except FileNotFoundError:
        exists = False
    except OSError as exc:  # e.g. a name too long for the file system
        raise RoutineError([Problem(ref, 0, 0, f"cannot open: {exc.strerror or exc}")]) from None
    if exists:
        return load_routine(path)
    builtin = builtin_path(ref)
    if builtin is not None and "/" not in ref:
        return load_routine(builtin, display=ref)
    raise RoutineError([Problem(ref, 0, 0, not_found(ref))])


def not_found(ref: str) -> str:
    """Why `ref` names nothing: a path is a missing file; a name may be a misspelled built-in."""
    names = builtin_names()
    if "/" in ref or os.sep in ref or Path(ref).suffix.lower() in (".yaml", ".yml"):
        return "no such file"
    close = difflib.get_close_matches(ref.casefold(), names, n=1, cutoff=0.6)
    if close:
        return f"no such file or built-in routine; did you mean '{close[0]}'?"
    return f"no such file or built-in routine (built-ins: {', '.join(names)})"
