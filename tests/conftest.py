"""Shared fixtures. Each test gets its own cache and config folders, so no state leaks."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# Property tests explore new examples on every developer run; under CI they replay a fixed
# sequence, so a landing never depends on the luck of the draw. Anything a random run finds
# is pinned with @example.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.delenv("VOICEGUIDE_CONFIG", raising=False)
    monkeypatch.delenv("VOICEGUIDE_VOICES", raising=False)
    # The default engine (auto) speaks with Piper where a Piper voice is installed, as it
    # is here; most tests measure eSpeak NG's output, so they pin it (a routine, the config
    # file or --engine still choose). Tests of the default itself remove this.
    monkeypatch.setenv("VOICEGUIDE_ENGINE", "pyttsx3")
