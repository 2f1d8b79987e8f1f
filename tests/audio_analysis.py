"""Test helpers: real speech clips, hand-built timelines, and reading rendered files back."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import soundfile as sf

from voiceguide.routine.models import Voice
from voiceguide.sound.clip import Clip
from voiceguide.sound.tones import tone_clip
from voiceguide.timeline import Cue, Event, Part, Timeline

RATE = 22050  # eSpeak NG's native rate

# ---------------------------------------------------------------- speech clips


@cache
def speech_clip(text: str, rate: int = RATE, wpm: int = 175) -> Clip:
    """`text` spoken by the espeak-ng command (deterministic, unlike pyttsx3),
    with leading and trailing near-silence trimmed as the speech layer does."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "clip.wav"
        cmd = ["espeak-ng", "-s", str(wpm), "-w", str(wav), text]
        subprocess.run(cmd, check=True, capture_output=True)
        data, file_rate = sf.read(str(wav), dtype="float32")
    loud = np.flatnonzero(np.abs(data) > 0.01)
    data = data[loud[0] : loud[-1] + 1] if loud.size else data[:0]
    if file_rate != rate:
        from voiceguide.sound.resample import resample

        data = resample(data, file_rate, rate)
    return Clip(np.ascontiguousarray(data, dtype=np.float32), rate)


def clip_source(rate: int = RATE):
    """A clip_for(cue): espeak-ng speech or a synthesized tone, at `rate`."""

    def clip_for(cue: Cue) -> Clip:
        return speech_clip(cue.text, rate) if cue.kind == "speech" else tone_clip(cue.text, rate)

    return clip_for


class EspeakSpeech:
    """A speech source for render_routine: real eSpeak NG speech at the voice's rate."""

    def __init__(self) -> None:
        self.closed = False

    def prepare(self, cues, progress=None) -> None:
        spoken = [c for c in cues if c.kind == "speech"]
        for done, cue in enumerate(spoken, start=1):
            self.clip(cue)
            if progress is not None:
                progress(done, len(spoken))

    def clip(self, cue: Cue) -> Clip:
        return speech_clip(cue.text, RATE, cue.voice.rate if cue.voice else 175)

    def check_voices(self, cues: object) -> None:
        pass  # every voice is known here

    def close(self) -> None:
        self.closed = True


# ---------------------------------------------------------------- hand-built timelines

Item = tuple[str, object]  # ("say", text) | ("pause", seconds) | ("tone", name)


@dataclass(frozen=True)
class PartSpec:
    kind: str
    title: str
    items: list[Item]
    step: str | None = None
    side: str | None = None
    step_number: int | None = None


def build_timeline(title: str, specs: list[PartSpec], rate: int = RATE) -> Timeline:
    """Events laid end to end as the timeline builder does: speech and tones last exactly
    their clip's length; pauses last what they say (any float, not sample-aligned)."""
    clip_for = clip_source(rate)
    events: list[Event] = []
    parts: list[Part] = []
    t = 0.0
    for index, spec in enumerate(specs):
        start = t
        for kind, value in spec.items:
            if kind == "pause":
                ev = Event(
                    t, t + float(value), "silence", step=spec.step, side=spec.side, part=index
                )
            else:
                speech = kind == "say"
                cue = Cue("speech", str(value), Voice()) if speech else Cue("tone", str(value))
                length = clip_for(cue).duration
                ev = Event(
                    t,
                    t + length,
                    "speech" if kind == "say" else "tone",
                    text=str(value) if kind == "say" else None,
                    step=spec.step,
                    side=spec.side,
                    part=index,
                    cue=cue,
                )
            events.append(ev)
            t = ev.end
        parts.append(
            Part(
                index,
                spec.kind,
                spec.title,
                start,
                t,
                step=spec.step,  # type: ignore[arg-type]
                step_number=spec.step_number,
                side=spec.side,
            )
        )
    return Timeline(title, tuple(events), tuple(parts), pace=1.0, total=t)


def sample_routine(rate: int = RATE) -> Timeline:
    """Intro, three step passes (one with sides), a chime, odd pauses, and an outro."""
    return build_timeline(
        "Evening face massage",
        [
            PartSpec("intro", "Intro", [("say", "Welcome, sit comfortably."), ("pause", 0.75)]),
            PartSpec(
                "step",
                "Cleanse",
                [
                    ("tone", "bell"),
                    ("pause", 0.5),
                    ("say", "Cleanse your face."),
                    ("pause", 1.2345),
                ],
                step="Cleanse",
                step_number=1,
            ),
            PartSpec(
                "step",
                "Under-eye roll (left)",
                [
                    ("say", "Roll under the left eye."),
                    ("pause", 0.6667),
                    ("tone", "beep"),
                    ("pause", 0.4),
                ],
                step="Under-eye roll",
                side="left",
                step_number=2,
            ),
            PartSpec(
                "step",
                "Under-eye roll (right)",
                [("say", "Now the right eye."), ("pause", 0.91)],
                step="Under-eye roll",
                side="right",
                step_number=2,
            ),
            PartSpec("outro", "Outro", [("say", "Well done."), ("pause", 0.5)]),
        ],
        rate,
    )


# ---------------------------------------------------------------- reading files back


def read_pcm(path: Path) -> tuple[np.ndarray, int]:
    """Decoded int16 samples and rate via libsndfile (mpg123 for MP3: gapless)."""
    data, rate = sf.read(str(path), dtype="int16")
    return data, int(rate)


def ffmpeg_pcm(path: Path, rate: int) -> np.ndarray:
    """Decoded int16 samples via ffmpeg (which trims MP3 delay/padding from the LAME tag)."""
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            str(rate),
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.int16)


def ffprobe(path: Path) -> dict:
    """ffprobe's format, streams and chapters as JSON."""
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            "-show_chapters",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def soxi_duration(path: Path) -> float:
    """`soxi -D` duration; the test is skipped, visibly, when sox is not installed."""
    if shutil.which("soxi") is None:
        import pytest

        pytest.skip("sox is not installed (scripts/setup installs it)")
    out = subprocess.run(["soxi", "-D", str(path)], check=True, capture_output=True, text=True)
    return float(out.stdout)


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


def onsets(
    samples: np.ndarray, rate: int, *, threshold: int = 0, window: float = 0.0, min_gap: float = 0.3
) -> list[int]:
    """Sample indices where sound starts after at least `min_gap` s of quiet.

    threshold=0, window=0: exact, for lossless audio (first non-zero sample after digital
    silence). For lossy audio give a level and an RMS window: codec noise and pre-echo stay
    below it."""
    x = np.abs(samples.astype(np.float64))
    if window > 0:
        w = max(1, round(window * rate))
        x = np.sqrt(np.convolve(x * x, np.ones(w) / w, mode="same"))
    loud = np.flatnonzero(x > threshold)
    if loud.size == 0:
        return []
    gap = round(min_gap * rate)
    starts = [int(loud[0])]  # the file's start counts as silence before it
    jumps = np.flatnonzero(np.diff(loud) > gap)
    starts += [int(loud[j + 1]) for j in jumps]
    return starts


def riff_chunks(path: Path) -> dict[bytes, list[bytes]]:
    """Top-level RIFF chunks of a WAV file by id, plus LIST chunks by list type."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8, "RIFF size must match file"
    chunks: dict[bytes, list[bytes]] = {}
    at = 12
    while at + 8 <= len(data):
        cid, size = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        body = data[at + 8 : at + 8 + size]
        key = b"LIST/" + body[:4] if cid == b"LIST" else cid
        chunks.setdefault(key, []).append(body)
        at += 8 + size + (size % 2)
    return chunks


def sub_chunks(body: bytes) -> list[tuple[bytes, bytes]]:
    """Sub-chunks of a LIST body (after its 4-byte list type)."""
    out = []
    at = 4
    while at + 8 <= len(body):
        cid, size = body[at : at + 4], struct.unpack("<I", body[at + 4 : at + 8])[0]
        out.append((cid, body[at + 8 : at + 8 + size]))
        at += 8 + size + (size % 2)
    return out


def chapter_titles(path: Path) -> list[str]:
    """Chapter titles as stored in the file: WAV labels, Vorbis comments or ID3 CHAP."""
    import mutagen

    suffix = path.suffix.lower()
    if suffix == ".wav":
        adtl = riff_chunks(path).get(b"LIST/adtl", [b"adtl"])[0]
        return [b[4:].rstrip(b"\0").decode() for cid, b in sub_chunks(adtl) if cid == b"labl"]
    tags = mutagen.File(str(path)).tags
    if suffix == ".mp3":
        toc = tags.getall("CTOC")[0]
        chaps = {c.element_id: c for c in tags.getall("CHAP")}
        return [str(chaps[cid].sub_frames["TIT2"]) for cid in toc.child_element_ids]
    titles = []
    while f"CHAPTER{len(titles) + 1:03d}NAME" in tags:
        titles.append(tags[f"CHAPTER{len(titles) + 1:03d}NAME"][0])
    return titles
