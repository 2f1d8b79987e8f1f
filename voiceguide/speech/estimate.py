"""Speech lengths without synthesis: a cached clip's real length, else a calibrated model.

`SpeechLengths` answers how long a speech cue's processed (trimmed) clip lasts. A clip in
the cache answers exactly, from its entry's header; any other cue is estimated from its text
by `SpeechModel`, a linear model fitted per engine on real clips by `scripts/calibrate_estimates`.
Nothing here starts an engine's workers, loads a voice model or synthesizes anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from voiceguide.cue import Cue
from voiceguide.errors import SynthesisError
from voiceguide.routine.models import DEFAULT_RATE, Voice
from voiceguide.sound.resample import resample
from voiceguide.speech.base import Engine, create_engine
from voiceguide.speech.cache import ClipCache
from voiceguide.speech.piper_engine import length_scale
from voiceguide.speech.synth import clip_key

# What the model counts in a text, in this order (see `text_features`).
FEATURES = ("syllables", "words", "consonants", "pauses", "breaks", "clip")

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+")
_VOWELS = re.compile(r"[aeiouyàáâãäåèéêëìíîïòóôõöùúûüæøœ]+")
_CONSONANT = re.compile(r"[bcdfghjklmnpqrstvwxzçñß]")
# A pause inside a clip: trailing punctuation is trimmed away with the clip's silence.
_PAUSE = re.compile(r"[,;:\u2013\u2014()]+(?=.*\w)")
_BREAK = re.compile(r"(?:[.!?\u2026]+)(?=\s+\S*\w)")
_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def text_features(text: str) -> tuple[float, ...]:
    """The counts `FEATURES` names: syllables, words and consonant letters (digits read out
    as English words; consonant clusters take longer than their syllables suggest), pauses
    (commas, colons, dashes inside the text), sentence breaks inside it, and 1."""
    syllables = 0
    words = 0
    consonants = 0
    for token in _WORD.findall(text):
        spoken = _number_words(int(token)) if token.isdigit() else [token]
        words += len(spoken)
        syllables += sum(_syllables(word) for word in spoken)
        consonants += sum(len(_CONSONANT.findall(word.lower())) for word in spoken)
    pauses = len(_PAUSE.findall(text))
    breaks = len(_BREAK.findall(text))
    return (float(syllables), float(words), float(consonants), float(pauses), float(breaks), 1.0)


def _syllables(word: str) -> int:
    """Vowel groups, less a silent final e; a word without vowels is spelled or mumbled."""
    lower = word.lower()
    groups = len(_VOWELS.findall(lower))
    if groups > 1 and lower.endswith("e") and not lower.endswith(("le", "ee", "ye")):
        groups -= 1
    return groups if groups else max(1, len(lower) // 2)


def _number_words(n: int) -> list[str]:
    """English words for a whole number below a million (longer numbers digit by digit),
    as both engines read digits in an English voice."""
    if n >= 1_000_000:
        return [_ONES[int(d)] for d in str(n)]
    if n >= 1000:
        rest = _number_words(n % 1000) if n % 1000 else []
        return [*_number_words(n // 1000), "thousand", *rest]
    if n >= 100:
        rest = ["and", *_number_words(n % 100)] if n % 100 else []
        return [_ONES[n // 100], "hundred", *rest]
    if n >= 20:
        return [_TENS[n // 10], *([_ONES[n % 10]] if n % 10 else [])]
    return [_ONES[n]]


@dataclass(frozen=True)
class SpeechModel:
    """seconds = sum over features of (base + stretched * stretch(rate)) * count.

    `stretch` is how the engine's speaking time grows as the rate falls: for eSpeak NG the
    default rate over the rate; for Piper its length scale at that rate."""

    base: tuple[float, ...]
    stretched: tuple[float, ...]
    stretch: Callable[[int], float]

    def seconds(self, text: str, rate: int) -> float:
        factor = self.stretch(rate)
        total = sum(
            (b + s * factor) * x
            for b, s, x in zip(self.base, self.stretched, text_features(text), strict=True)
        )
        # A text with nothing to say still makes a short clip (or none): never below 50 ms.
        return max(0.05, total)


def espeak_stretch(rate: int) -> float:
    """eSpeak NG speaks in time inversely proportional to its words per minute."""
    return DEFAULT_RATE / rate


# Fitted by `scripts/calibrate_estimates --fit-on all` (least squares on the lengths of
# processed clips; 62 varied sentences plus the built-in routines' 58 distinct texts, each at
# 100, 150, 220 and 300 wpm; eSpeak NG 1.51 through pyttsx3 2.99 with its default voice,
# Piper 1.8.0 with en_US-joe-medium; Debian 12, November 2026). Mean error per clip 6.5 %
# (eSpeak) and 8.1 % (Piper, whose phoneme lengths are random); fitted on the varied sentences
# alone, the built-ins' summed speech came out within 3 % (eSpeak) and 8 % (Piper, hand
# massage at 150 wpm). Order: FEATURES.
MODELS: dict[str, SpeechModel] = {
    "pyttsx3": SpeechModel(
        base=(0.0058, -0.0217, 0.0104, -0.1020, -0.2187, -0.0258),
        stretched=(0.0867, 0.0806, 0.0370, 0.3836, 0.6976, 0.1720),
        stretch=espeak_stretch,
    ),
    "piper": SpeechModel(
        base=(0.0144, 0.0329, 0.0100, -0.0020, 0.0216, 0.0011),
        stretched=(0.0601, 0.0029, 0.0323, 0.2984, 0.4112, 0.1527),
        stretch=length_scale,
    ),
}


def model_seconds(text: str, voice: Voice) -> float:
    """The model's length of `text` spoken by `voice` (an unknown engine gets eSpeak's)."""
    model = MODELS.get(voice.engine, MODELS["pyttsx3"])
    return model.seconds(text, voice.rate)


class SpeechLengths:
    """Seconds of a speech cue's processed clip at a given sample rate: exact for a clip in
    the cache (its header's frame count), else the engine's model. Engines are created only
    to compute cache keys (their version), never to synthesize."""

    def __init__(
        self,
        cache: ClipCache | None,
        engine_factory: Callable[[str], Engine] = create_engine,
    ):
        self.cache = cache
        self.estimated = 0  # cues whose length came from the model, not the cache
        self._factory = engine_factory
        self._engines: dict[str, Engine | None] = {}
        self._keys: dict[tuple[str, Voice], str | None] = {}

    def _engine(self, name: str) -> Engine | None:
        if name not in self._engines:
            try:
                engine: Engine | None = self._factory(name)
            except SynthesisError:
                engine = None  # unknown or uninstalled engine: no key, so only the model
            self._engines[name] = engine
        return self._engines[name]

    def _key(self, cue: Cue) -> str | None:
        voice = cue.voice or Voice()
        identity = (cue.text, voice)
        if identity not in self._keys:
            key = None
            engine = self._engine(voice.engine) if self.cache is not None else None
            if engine is not None:
                try:
                    key = clip_key(engine, cue.text, voice)
                except SynthesisError:
                    key = None  # e.g. eSpeak NG's library missing: nothing can be cached
            self._keys[identity] = key
        return self._keys[identity]

    def stored(self, cue: Cue) -> tuple[int, int] | None:
        """(frames, rate) of the cue's clip in the cache, or None."""
        key = self._key(cue)
        if key is None or self.cache is None:
            return None
        return self.cache.frames(key)

    def native_rate(self, cue: Cue) -> int | None:
        """The sample rate the cue's clip has (or will have), or None if not known."""
        stored = self.stored(cue)
        if stored is not None:
            return stored[1]
        voice = cue.voice or Voice()
        engine = self._engine(voice.engine)
        if engine is None:
            return None
        try:
            return engine.native_rate(voice)
        except SynthesisError:
            return None  # an unknown voice: the exact run reports it, the estimate need not

    def seconds(self, cue: Cue, rate: int) -> float:
        """Seconds of the cue's clip once at `rate` (resampled as the session would)."""
        stored = self.stored(cue)
        if stored is not None:
            frames, clip_rate = stored
            if clip_rate == rate:
                return frames / rate
            key = self._key(cue)
            clip = self.cache.get(key) if self.cache is not None and key else None
            if clip is not None:
                # soxr decides the resampled length: ask it rather than predict it.
                return resample(clip.samples, clip.rate, rate).shape[0] / rate
        self.estimated += 1
        return model_seconds(cue.text, cue.voice or Voice())

    def close(self) -> None:
        """Release the engines created for keys (they started no workers)."""
        engines, self._engines = [e for e in self._engines.values() if e], {}
        for engine in engines:
            engine.close()
