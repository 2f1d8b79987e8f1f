"""voiceguide: YAML routines turned into spoken, timed guidance — live or rendered to audio.

import voiceguide
routine = voiceguide.load("facial-massage")
plan = voiceguide.plan(routine, pace=1.2, reps="max")
voiceguide.render(routine, "massage.mp3", pace=1.2)
"""

__version__ = "0.1.0"

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
