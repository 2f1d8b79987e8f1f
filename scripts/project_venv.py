"""Scripts started by a system python re-run themselves in the project's virtualenv, where
the dependencies are; on a fresh clone they set it up first (`scripts/setup`), as
`scripts/run` does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"


def use_project_venv() -> None:
    """Exec the calling script under .venv's python unless it already runs there."""
    # The benchmarks measure eSpeak NG against anchors of its own (bench_piper names Piper):
    # the default engine, auto, would take Piper wherever its voice is installed.
    os.environ.setdefault("VOICEGUIDE_ENGINE", "pyttsx3")
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    # Set up first, as scripts/run does: on a fresh clone it makes .venv; afterwards it only
    # checks (silently, in a fraction of a second) that nothing changed.
    setup = subprocess.run([str(ROOT / "scripts" / "setup")], check=False)
    if setup.returncode != 0:
        sys.exit(setup.returncode)
    os.execv(python, [str(python), *sys.argv])
