"""The project's scripts on a fresh clone: they set up first, then run in `.venv`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")

# A stand-in for scripts/setup: makes .venv (no packages) and counts its runs.
FAKE_SETUP = """#!/bin/sh
cd "$(dirname "$0")/.."
echo run >> setup-runs
[ -x .venv/bin/python ] || "$SYSTEM_PYTHON" -m venv --without-pip .venv
"""

SCRIPT = """import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scripts.project_venv import use_project_venv
use_project_venv()
print(sys.prefix)
"""


@pytest.mark.skipif(SYSTEM_PYTHON is None, reason="needs a system python3")
def test_a_script_on_a_fresh_clone_sets_up_then_runs_in_the_venv(tmp_path):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    shutil.copy(ROOT / "scripts" / "project_venv.py", scripts)
    (scripts / "__init__.py").write_text("")
    setup = scripts / "setup"
    setup.write_text(FAKE_SETUP)
    setup.chmod(0o755)
    bench = scripts / "bench_x"
    bench.write_text(SCRIPT)
    env = {"PATH": "/usr/bin:/bin", "SYSTEM_PYTHON": str(SYSTEM_PYTHON)}
    result = subprocess.run(
        [str(SYSTEM_PYTHON), str(bench)], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).resolve() == (tmp_path / ".venv").resolve()
    assert (tmp_path / "setup-runs").read_text() == "run\n"
