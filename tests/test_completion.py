"""Shell completion, as the README documents it: `_VOICEGUIDE_COMPLETE=bash_source voiceguide`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

VOICEGUIDE = Path(sys.executable).with_name("voiceguide")
pytestmark = pytest.mark.skipif(not VOICEGUIDE.exists(), reason="needs the installed command")


def complete(words: str, shell: str = "bash") -> list[str]:
    """What the installed command answers bash's completion function for `words`."""
    env = {
        **os.environ,
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        "_VOICEGUIDE_COMPLETE": f"{shell}_complete",
    }
    result = subprocess.run([str(VOICEGUIDE)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_commands_complete():
    assert complete("voiceguide pl") == ["plain,plan", "plain,play"]


def test_routine_names_complete_to_built_ins():
    assert complete("voiceguide render fac") == ["plain,facial-massage"]
    assert complete("voiceguide play ./") == ["file,./"]


def test_options_complete():
    assert "plain,--engine" in complete("voiceguide plan facial-massage --en")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_source_registers_the_completion_in_bash():
    script = 'eval "$(_VOICEGUIDE_COMPLETE=bash_source voiceguide)" && complete -p voiceguide'
    env = {**os.environ, "PATH": f"{VOICEGUIDE.parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "complete -o nosort -F _voiceguide_completion voiceguide"
