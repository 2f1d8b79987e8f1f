"""The routine format v1 as data: every key, its kind, limits and help.

Both the validator (loader.py) and the JSON Schema (schema.py) are generated from these
tables, so the two cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal[
    "title",  # non-empty string
    "string",
    "text",  # a cue template (string or number)
    "texts",  # a text or a list of texts
    "duration",
    "number",
    "integer",
    "boolean",
    "repeat",  # integer or "low-high"
    "wait",  # true/false, or a duration (the longest the guide waits)
    "sides",  # list of strings
    "vars",  # mapping of names to scalars
    "chime",  # none | bell | beep | path to a WAV file
    "music",  # a source (shorthand) or a mapping of MUSIC_FIELDS
    "music_source",  # brown-noise | pink-noise | rain | path to an audio file
    "decibels",  # a number or a string such as -20dB
    "voice",
    "steps",
]

# Defaults and limits, each written only here: the loader, the models, the config file, the
# command line's and the Python API's checks all read them.
# `auto`: Piper with the best installed Piper voice when there is one, else pyttsx3 (eSpeak
# NG), the engine that works everywhere with nothing extra (see speech/auto.py).
AUTO_ENGINE = "auto"
FALLBACK_ENGINE = "pyttsx3"
DEFAULT_ENGINE = AUTO_ENGINE
ENGINES = (AUTO_ENGINE, "pyttsx3", "piper")
DEFAULT_RATE = 150  # words per minute
MIN_RATE, MAX_RATE = 40, 600
DEFAULT_VOLUME = 1.0
MIN_VOLUME, MAX_VOLUME = 0.0, 1.0
DEFAULT_PACE = 1.0
MAX_PACE = 100  # a routine's pace, and the command line's --pace that multiplies it
DEFAULT_GAP = 1.0  # seconds
DEFAULT_BREATH = 0.5  # seconds
DEFAULT_EVERY = 3.0  # seconds
DEFAULT_HOLD = 0.0  # seconds
DEFAULT_CHIME = "none"
MAX_COUNTDOWN = 3600
# The music bed: generated sources, and its level, ducking and fades.
MUSIC_GENERATED = ("brown-noise", "pink-noise", "rain")
MUSIC_FILE_TYPES = (".wav", ".flac", ".ogg", ".mp3")
DEFAULT_MUSIC_LEVEL = -20.0  # dB, the bed's loudness under the voice's
MIN_MUSIC_LEVEL, MAX_MUSIC_LEVEL = -60.0, 0.0
DEFAULT_MUSIC_DUCK = 10.0  # dB further down while the guide speaks
MIN_MUSIC_DUCK, MAX_MUSIC_DUCK = 0.0, 60.0
DEFAULT_MUSIC_FADE = 3.0  # seconds, in at the start and out at the end
MAX_MUSIC_FADE = 600.0
# Integrated loudness (ITU-R BS.1770) of every render, and its true-peak ceiling.
DEFAULT_LOUDNESS = -16.0  # LUFS
MIN_LOUDNESS, MAX_LOUDNESS = -40.0, -5.0
TRUE_PEAK_CEILING = -1.0  # dBTP

MAX_TOTAL_SECONDS = 24 * 3600
MAX_REPEAT = 10_000  # repetitions of a step, as written or as --reps
MAX_EVENTS = 100_000
# How long a `wait: true` lasts where nothing can end it: in a file (a track cannot wait) and
# in a live session with no keys; `--wait` changes it.
WAIT_DEFAULT_SECONDS = 10.0
MAX_FILE_BYTES = 1024 * 1024
# Characters one cue may say (after its placeholders are filled): about a minute of speech.
# Engines fail on far longer texts (eSpeak NG through pyttsx3 crashed near 16,000; Piper took
# 7 GB for 5,000), so `check` refuses them where they are written.
MAX_CUE_CHARS = 1000
MAX_NODES = 200_000  # YAML nodes after alias expansion (alias bombs stop here)


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    help: str
    required: bool = False
    default: object = None
    minimum: float | None = None  # inclusive
    above: float | None = None  # exclusive minimum
    maximum: float | None = None
    choices: tuple[str, ...] = ()  # for strings: the only values allowed


VOICE_FIELDS: tuple[Field, ...] = (
    Field(
        "engine",
        "string",
        "Speech engine: auto (default: Piper with the best installed Piper voice, else "
        "pyttsx3), pyttsx3 (eSpeak NG) or piper.",
        default=DEFAULT_ENGINE,
        choices=ENGINES,
    ),
    Field(
        "id",
        "string",
        "Voice id of the engine (see `voiceguide voices`); a relative Piper model path is "
        "taken from the routine's folder.",
    ),
    Field(
        "rate",
        "integer",
        "Speech rate in words per minute.",
        default=DEFAULT_RATE,
        minimum=MIN_RATE,
        maximum=MAX_RATE,
    ),
    Field(
        "volume",
        "number",
        "Loudness from 0 to 1.",
        default=DEFAULT_VOLUME,
        minimum=MIN_VOLUME,
        maximum=MAX_VOLUME,
    ),
)

STEP_FIELDS: tuple[Field, ...] = (
    Field("name", "title", "Step name, unique in the routine.", required=True),
    Field("say", "texts", "Text (or list of texts) spoken at the start of each pass."),
    Field(
        "repeat",
        "repeat",
        "Repetitions: an integer, or a range like 5-10 (the low end unless --reps says otherwise).",
        default=1,
    ),
    Field(
        "every",
        "duration",
        "Length of one repetition slot, from that repetition's onset.",
        default=f"{DEFAULT_EVERY:g}s",
        above=0,
        maximum=MAX_TOTAL_SECONDS,
    ),
    Field(
        "each", "text", "Text spoken at the onset of every repetition; may use {rep} and {reps}."
    ),
    Field("count", "boolean", 'Shorthand for each: "{rep}" (count the repetitions aloud).'),
    Field("sides", "sides", "Do the step once per side, in order; {side} names the current one."),
    Field(
        "hold",
        "duration",
        "Silence after the say text and the repetitions.",
        default=DEFAULT_HOLD,
        minimum=0,
        maximum=MAX_TOTAL_SECONDS,
    ),
    Field(
        "countdown",
        "integer",
        "Count N ... 1 aloud, one second apart, ending one second before the hold ends.",
        minimum=1,
        maximum=MAX_COUNTDOWN,
    ),
    Field(
        "duration",
        "duration",
        "Instead of hold: the pass lasts exactly this long from its first sound.",
        above=0,
        maximum=MAX_TOTAL_SECONDS,
    ),
    Field(
        "wait",
        "wait",
        "At the end of each pass, wait for the person: true (until they go on) or a duration "
        "(at most that long). A rendered file holds the duration, or --wait for true.",
        above=0,
        maximum=MAX_TOTAL_SECONDS,
    ),
    Field("voice", "voice", "Voice settings for this step, over the routine's."),
)

MUSIC_FIELDS: tuple[Field, ...] = (
    Field(
        "source",
        "music_source",
        "brown-noise, pink-noise, rain (generated, no file), or an audio file (WAV, FLAC, OGG, "
        "MP3) relative to the routine file.",
        required=True,
    ),
    Field(
        "level",
        "decibels",
        "The bed's loudness relative to the voice's, e.g. -20dB.",
        default=f"{DEFAULT_MUSIC_LEVEL:g}dB",
        minimum=MIN_MUSIC_LEVEL,
        maximum=MAX_MUSIC_LEVEL,
    ),
    Field(
        "duck",
        "decibels",
        "How much further down the bed goes while the guide speaks or a chime sounds, e.g. 10dB.",
        default=f"{DEFAULT_MUSIC_DUCK:g}dB",
        minimum=MIN_MUSIC_DUCK,
        maximum=MAX_MUSIC_DUCK,
    ),
    Field(
        "fade",
        "duration",
        "Fade in at the start and out at the end.",
        default=f"{DEFAULT_MUSIC_FADE:g}s",
        minimum=0,
        maximum=MAX_MUSIC_FADE,
    ),
)

ROUTINE_FIELDS: tuple[Field, ...] = (
    Field(
        "title", "title", "Title of the routine (also the audio files' title tag).", required=True
    ),
    Field("description", "string", "What the routine is for."),
    Field("voice", "voice", "Voice settings for the whole routine."),
    Field(
        "pace",
        "number",
        "Divides every silence and slot; 2 is twice as fast.",
        default=DEFAULT_PACE,
        above=0,
        maximum=MAX_PACE,
    ),
    Field(
        "gap",
        "duration",
        "Silence between consecutive parts (intro, step passes, outro).",
        default=f"{DEFAULT_GAP:g}s",
        minimum=0,
        maximum=MAX_TOTAL_SECONDS,
    ),
    Field(
        "breath",
        "duration",
        "Silence between consecutive utterances inside a part.",
        default=f"{DEFAULT_BREATH:g}s",
        minimum=0,
        maximum=MAX_TOTAL_SECONDS,
    ),
    Field(
        "chime",
        "chime",
        "Sound at the start of every step pass: none, bell, beep, or a WAV file.",
        default=DEFAULT_CHIME,
    ),
    Field(
        "music",
        "music",
        "A music bed under the voice, ducked while the guide speaks: a source (brown-noise, "
        "pink-noise, rain, or an audio file), or a mapping of source, level, duck and fade.",
    ),
    Field("vars", "vars", "Template variables usable as {name} in every text."),
    Field("intro", "texts", "Text spoken before the first step."),
    Field("outro", "texts", "Text spoken after the last step."),
    Field("steps", "steps", "The steps, in order (at least one).", required=True),
)

CHIME_NAMES = ("none", "bell", "beep")


def either(choices: tuple[str, ...] | list[str]) -> str:
    """`a`, `a or b`, `a, b or c`: the choices for a message."""
    if len(choices) < 2:
        return "".join(choices)
    return f"{', '.join(choices[:-1])} or {choices[-1]}"
