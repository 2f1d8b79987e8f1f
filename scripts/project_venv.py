"""Scripts started by a system python re-run themselves in the project's virtualenv, where
the dependencies are (`scripts/setup` makes it)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"


def use_project_venv() -> None:
    """Exec the calling script under .venv's python unless it already runs there."""
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve() or not python.exists():
        return
    os.execv(python, [str(python), *sys.argv])
