"""voiceguide: YAML routines turned into spoken, timed guidance — live or rendered to audio.

import voiceguide
routine = voiceguide.load("facial-massage")
plan = voiceguide.plan(routine, pace=1.2, reps="max")
voiceguide.render(routine, "massage.mp3", pace=1.2)
"""

__version__ = "0.1.0"

import sys
import types

from voiceguide.api import load, loads, plan, plan_options, play, render
from voiceguide.errors import (
    ConfigError,
    LocatedError,
    OptionError,
    Problem,
    RoutineError,
    VoiceguideError,
)

__all__ = [
    "ConfigError",
    "LocatedError",
    "OptionError",
    "Problem",
    "RoutineError",
    "VoiceguideError",
    "__version__",
    "load",
    "loads",
    "plan",
    "plan_options",
    "play",
    "render",
]


class _Package(types.ModuleType):
    """The package, keeping the API's functions when a submodule of the same name loads.

    Importing a submodule sets it as an attribute of its package: the first
    `from voiceguide.render import ...` anywhere would replace the function
    `voiceguide.render` with the module voiceguide/render.py. The module stays reachable
    in `sys.modules` (and so by every `from voiceguide.render import ...`)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _FUNCTIONS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


_FUNCTIONS = frozenset({"load", "loads", "plan", "plan_options", "play", "render"})
sys.modules[__name__].__class__ = _Package
