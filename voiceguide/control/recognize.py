"""Spoken commands in a stream of samples: pocketsphinx's speech detector cuts utterances,
its decoder reads each one against the command grammar. Pure: samples in, `Heard` out
(no device, no clock); the microphone and file readers in `listen.py` feed it.

The en-US model ships inside the pocketsphinx wheel: nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from voiceguide.control.commands import Command
from voiceguide.control.grammar import PRONUNCIATIONS, command_name, jsgf, phrase_command
from voiceguide.errors import DeviceError

RATE = 16000  # the acoustic model's sample rate
MAX_UTTERANCE = 1.5  # seconds: longer speech is talk, not a command
# Seconds of silence (90 % of it) that end an utterance. Shorter windows (0.12-0.18 s) answer
# sooner but split a guide's sentence at its commas into short pieces read as commands.
ENDPOINT_WINDOW = 0.2
# The speech detector starts an utterance when voicing starts: a leading "s", "f", "b" or
# "st" is cut off ("stop" read as "go"). The decoder gets this much audio before it.
PREROLL = 0.1
POSTROLL = 0.1
KEPT = 4.0  # seconds of recent input kept for that
# A room's hiss added to all input, in int16 steps (about -60 dBFS; a real microphone's own
# floor is above it). Synthesized, gated or piped input has runs of digital silence, which
# neither model met in training: the decoder misread eSpeak NG's "pause" and "slower" next
# to it, and after a while the speech detector stopped ending utterances in it (two commands
# a second apart were merged into one, too long to be a command).
ROOM_FLOOR = 30.0


class ListenError(DeviceError):
    """Voice commands cannot be used here (missing extra, no microphone...)."""


@dataclass(frozen=True)
class Heard:
    """One utterance: its start and end in seconds of the input, the words decoded (empty
    when it was too long to be a command) and the command they mean, if any."""

    start: float
    end: float
    text: str
    command: Command | None

    @property
    def name(self) -> str:
        """The command's name (`next`, `back`, ...), or "" for no command."""
        return command_name(self.command) if self.command is not None else ""

    def to_json(self) -> dict[str, object]:
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "command": self.name,
            "heard": self.text,
        }


def _pocketsphinx() -> Any:
    try:
        import pocketsphinx
    except ImportError:
        raise ListenError(
            "voice commands need the listen extra: pip install 'voiceguide[listen]'"
        ) from None
    return pocketsphinx


class Recognizer:
    """Feed 16 kHz mono int16 samples in any block sizes; get each utterance as it ends.

    Utterances longer than `max_length` are not decoded at all (talk, not a command)."""

    def __init__(self, max_length: float = MAX_UTTERANCE) -> None:
        ps = _pocketsphinx()
        ps.set_loglevel("FATAL")  # otherwise every utterance logs to stderr
        self.max_length = max_length
        # dither: synthesized or gated input has runs of exact zeros, whose log energy
        # breaks the features (a clean "stop" was read as "go"; the same word with noise was not).
        # bestpath off: the lattice rescoring picked a worse command than the search found.
        # topn 16 (the default scores 4 Gaussians per state): in noise the best-scoring few
        # are often noise's; at 15 dB SNR 4 -> 16 took a tenth fewer misreadings, for 15 ms
        # more per utterance.
        self.decoder = ps.Decoder(
            lm=None, samprate=RATE, dither=True, bestpath=False, topn=16, loglevel="FATAL"
        )
        _add_pronunciations(self.decoder)
        self.decoder.add_jsgf_string("voiceguide", jsgf())
        self.decoder.activate_search("voiceguide")
        self.endpointer = ps.Endpointer(window=ENDPOINT_WINDOW, sample_rate=RATE)
        self.frame_bytes: int = self.endpointer.frame_bytes
        self._pending = b""
        self._in_utterance = False
        self._too_long = False
        self._recent = bytearray()  # the last KEPT seconds of input
        self._recent_start = 0  # its first sample's index in the input
        self._hiss = np.random.default_rng(0)

    def feed(self, samples: np.ndarray) -> list[Heard]:
        """Process samples (int16, 16 kHz, mono); the utterances that ended in them."""
        data = self._pending + self._with_floor(np.asarray(samples)).tobytes()
        heard: list[Heard] = []
        size = self.frame_bytes
        whole = len(data) - len(data) % size
        for offset in range(0, whole, size):
            frame = data[offset : offset + size]
            self._keep(frame)
            speech = self.endpointer.process(frame)
            item = self._advance(speech)
            if item is not None:
                heard.append(item)
        self._pending = data[whole:]
        return heard

    def finish(self) -> list[Heard]:
        """The end of the input: an utterance still open ends here."""
        if not self._in_utterance:
            return []
        self._keep(self._pending)
        self.endpointer.end_stream(self._pending)
        self._pending = b""
        return [self._close()]

    def _keep(self, frame: bytes) -> None:
        self._recent += frame
        excess = len(self._recent) - int(KEPT * RATE) * 2
        if excess > 0:
            del self._recent[:excess]
            self._recent_start += excess // 2

    def _advance(self, speech: bytes | None) -> Heard | None:
        ep = self.endpointer
        if speech is None:
            return None
        if not self._in_utterance:
            self._in_utterance, self._too_long = True, False
        if not self._too_long and ep.speech_start + self.max_length < self._now():
            self._too_long = True
        if not ep.in_speech:
            return self._close()
        return None

    def _now(self) -> float:
        """Seconds of input read so far."""
        return (self._recent_start + len(self._recent) // 2) / RATE

    def _audio(self, start: float, end: float) -> bytes:
        """The input from `start` to `end` seconds (what is still kept of it)."""
        first = max(0, int(start * RATE) - self._recent_start)
        last = max(first, int(end * RATE) - self._recent_start)
        return bytes(self._recent[first * 2 : last * 2])

    def _close(self) -> Heard:
        ep = self.endpointer
        self._in_utterance = False
        start, end = float(ep.speech_start), float(ep.speech_end)
        if self._too_long or end - start > self.max_length:
            return Heard(start, end, "", None)
        # Decoded whole (full_utt): the cepstral mean is taken over the utterance itself,
        # which a one-word command needs; live CMN starts from a guess and misreads it.
        self.decoder.start_utt()
        self.decoder.process_raw(self._audio(start - PREROLL, end + POSTROLL), False, True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        text = hyp.hypstr if hyp is not None else ""
        return Heard(start, end, text, phrase_command(text))

    def _with_floor(self, audio: np.ndarray) -> np.ndarray:
        """`audio` (int16) with the room's hiss (ROOM_FLOOR) added."""
        hiss = self._hiss.standard_normal(audio.shape[0]) * ROOM_FLOOR
        return np.clip(np.round(audio + hiss), -32768, 32767).astype("<i2")


def _add_pronunciations(decoder: Any) -> None:
    """The command words' other pronunciations, as the dictionary's `word(2)`, `word(3)`..."""
    for word, pronunciations in PRONUNCIATIONS.items():
        for phones in pronunciations:
            n = 2
            while decoder.lookup_word(f"{word}({n})") is not None:
                n += 1
            decoder.add_word(f"{word}({n})", phones, False)


def recognize(samples: np.ndarray, max_length: float = MAX_UTTERANCE) -> list[Heard]:
    """Every utterance in a whole recording (16 kHz mono int16)."""
    recognizer = Recognizer(max_length)
    return recognizer.feed(samples) + recognizer.finish()
