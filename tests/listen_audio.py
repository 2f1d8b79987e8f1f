"""Spoken commands synthesized here (eSpeak NG through pyttsx3, Piper) for the listening
tests and the bench: clips at 16 kHz, silence around them, noise at a chosen SNR."""

from __future__ import annotations

import numpy as np

from voiceguide.control.recognize import RATE
from voiceguide.cue import Cue
from voiceguide.routine.models import Voice
from voiceguide.sound.resample import resample
from voiceguide.speech.synth import Synthesizer

ESPEAK_RATES = (140, 175, 230)
VOICES = [Voice("pyttsx3", None, rate) for rate in ESPEAK_RATES] + [
    Voice("piper", "en_US-joe-medium", 175)
]
# What a guide says: sentences with command words in them, never a command.
GUIDE_SENTENCES = [
    "Repeat ten times, then pause.",
    "Next, roll gently under the eye.",
    "Now stop and rest. Again, repeat on the other side.",
    "Pause here. Take a deep breath.",
    "Slower now, breathe in, and continue.",
    "Press the cheeks, then go on to the jaw, slower each time.",
]


def spoken(speech: Synthesizer, text: str, voice: Voice) -> np.ndarray:
    """`text` in `voice` as 16 kHz float samples."""
    clip = speech.clip(Cue("speech", text, voice))
    return resample(clip.samples, clip.rate, RATE)


def padded(samples: np.ndarray, before: float = 0.5, after: float = 0.5) -> np.ndarray:
    return np.concatenate(
        [np.zeros(int(before * RATE), np.float32), samples, np.zeros(int(after * RATE), np.float32)]
    )


def with_noise(samples: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """White noise at `snr_db` below the speech's power (measured where it speaks)."""
    voiced = samples[np.abs(samples) > 1e-3]
    power = float(np.mean(voiced**2)) if voiced.size else 1e-6
    noise = np.random.default_rng(seed).standard_normal(samples.shape[0]).astype(np.float32)
    return samples + noise * np.float32(np.sqrt(power / 10 ** (snr_db / 10)))


def int16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)
