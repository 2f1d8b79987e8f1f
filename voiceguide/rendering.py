"""Timeline -> audio files, streamed event by event and written atomically.

The timeline is the only source of times: every event starts at sample
round(start * rate) and spans round(end * rate) - round(start * rate) samples.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import numpy as np

from voiceguide.errors import OutputError
from voiceguide.export.captions import Caption, caption_format, captions_text
from voiceguide.export.playlist import Track, playlist_text, slug
from voiceguide.export.staging import Staging, describe
from voiceguide.export.tags import Chapter, Tags
from voiceguide.export.writers import (
    BLOCK_FRAMES,
    WRITE_ERRORS,
    AudioWriter,
    check_rate,
    open_writer,
    output_format,
)
from voiceguide.output import check_distinct, check_writable, default_output
from voiceguide.routine.builtins import resolve_routine
from voiceguide.routine.models import Music, Routine
from voiceguide.routine.spec import DEFAULT_LOUDNESS, TRUE_PEAK_CEILING
from voiceguide.session import SpeechSource, prepare_session
from voiceguide.sound.clip import Clip
from voiceguide.sound.resample import resample
from voiceguide.timeline import Cue, Part, PlanOptions, Timeline

if TYPE_CHECKING:
    from voiceguide.sound.mastering import Master, Measure

ClipSource = Callable[[Cue], Clip]
Progress = Callable[[int, int], None]  # (frames written, total frames)

_T = TypeVar("_T")

_ZEROS = np.zeros(BLOCK_FRAMES, dtype=np.int16)
_ZEROS.flags.writeable = False


@dataclass(frozen=True)
class RenderResult:
    path: Path
    duration: float  # seconds
    bytes: int
    files: tuple[Path, ...] = field(default_factory=tuple)  # split tracks, playlist, sidecars
    warnings: tuple[str, ...] = ()  # the plan's warnings, for the command to print


def render(
    timeline: Timeline,
    clip_for: ClipSource,
    out: Path,
    *,
    rate: int,
    title: str,
    album: str | None = None,
    captions: Path | None = None,
    timeline_json: Path | None = None,
    split_dir: Path | None = None,
    progress: Progress | None = None,
    music: Music | None = None,
    loudness: float | None = None,
    measure_progress: Progress | None = None,
) -> RenderResult:
    """Write `timeline` to `out` (format from its extension), with optional captions, plan
    JSON and per-part tracks. Nothing appears at any destination unless everything succeeds.

    `music`: a bed mixed under the voice, ducked under every sound. `loudness` (LUFS): the
    mix is measured in a first pass and brought to it, true peaks limited under
    TRUE_PEAK_CEILING; None writes the clips as they are (and then a bed needs no pass)."""
    out = Path(out)
    captions = Path(captions) if captions is not None else None
    timeline_json = Path(timeline_json) if timeline_json is not None else None
    split_dir = Path(split_dir) if split_dir is not None else None
    fmt = output_format(out)
    check_rate(fmt, rate)
    caption_fmt = caption_format(captions.suffix) if captions is not None else None
    total = round(timeline.total * rate)
    tags = Tags(title=title, album=album or title, chapters=chapters(timeline))
    staging = Staging()
    writers: list[_Staged] = []
    try:
        # Every destination is staged before any audio is made, so an unwritable one
        # fails at once instead of after synthesis.
        main = _Staged(out, staging.temp_for(out), fmt, rate, tags)
        writers.append(main)
        sidecars = {p: staging.temp_for(p) for p in (captions, timeline_json) if p is not None}
        if split_dir is not None:
            playlist = split_dir / "playlist.m3u8"
            sidecars[playlist] = staging.temp_for(playlist)
        sinks: list[_Sink] = [main]
        tracks: _Tracks | None = None
        if split_dir is not None:
            tracks = _Tracks(
                split_dir, fmt, rate, title, _track_spans(timeline, rate, total), staging, writers
            )
            sinks.append(tracks)
        _stream_mastered(
            timeline, clip_for, rate, total, sinks, progress, music, loudness, measure_progress
        )
        for writer in writers:
            writer.close()
        extra: list[Path] = []
        texts: dict[Path, str] = {}
        if tracks is not None and split_dir is not None:
            extra += [split_dir / t.file_name for t in tracks.listing]
            texts[split_dir / "playlist.m3u8"] = playlist_text(tracks.listing, title)
        if captions is not None and caption_fmt is not None:
            texts[captions] = captions_text(speech_captions(timeline), caption_fmt)
        if timeline_json is not None:
            texts[timeline_json] = json.dumps(timeline.to_json(), indent=2) + "\n"
        for dest, text in texts.items():
            staging.fill(sidecars[dest], dest, text)
            extra.append(dest)
        staging.commit()
    except BaseException:
        # Ctrl-C included: close what is open, remove every temporary file, re-raise.
        for writer in writers:
            writer.abort()
        staging.discard()
        raise
    return RenderResult(out, total / rate, out.stat().st_size, tuple(extra), timeline.warnings)


PhaseProgress = Callable[[str, int, int], None]  # ("synthesis" | "writing", done, total)


def render_routine(
    ref: str | Routine,
    options: PlanOptions,
    out: Path | None = None,
    *,
    sample_rate: int | None = None,
    captions: Path | None = None,
    timeline_json: Path | None = None,
    split_dir: Path | None = None,
    speech: SpeechSource | None = None,
    progress: PhaseProgress | None = None,
    output_dir: Path | None = None,
    music: Music | None | Literal["routine"] = "routine",
    loudness: float | None = DEFAULT_LOUDNESS,
) -> RenderResult:
    """Load ROUTINE (path or built-in name), synthesize its cues, plan it with the real clip
    lengths and render it. Default output: <output_dir or audio>/<routine-name>.wav.
    `music`: the routine's bed ("routine"), another, or None; `loudness`: the target in LUFS."""
    routine = resolve_routine(ref)
    chosen = out is not None
    if out is None:
        out = default_output(routine.name or slug(routine.title), output_dir)
    # Options that can only fail are checked before the slow part (synthesis).
    page = out.suffix.lower() == ".html"  # the player page, with an MP3 track inside
    fmt = "mp3" if page else output_format(out)
    if sample_rate is not None:
        check_rate(fmt, sample_rate)
    if captions is not None:
        caption_format(captions.suffix)
    check_distinct(
        [("the audio file", out), ("the captions", captions), ("the timeline", timeline_json)],
        routine.input_files(),
        split_dir,
        out.suffix,
    )
    check_writable(out, create_folder=not chosen)
    for sidecar in (captions, timeline_json):
        if sidecar is not None:
            check_writable(sidecar)
    if split_dir is not None:
        check_writable(split_dir / "playlist.m3u8", create_folder=True)
        if not split_dir.parent.exists():
            raise OutputError(
                f"cannot write {split_dir / 'playlist.m3u8'}: the folder {split_dir.parent}"
                " does not exist (create it first)"
            )
    owned = speech is None
    if speech is None:
        from voiceguide.speech.synth import Synthesizer

        speech = Synthesizer()
    try:
        session = prepare_session(
            routine,
            options,
            speech,
            sample_rate=sample_rate,
            progress=partial(progress, "synthesis") if progress else None,
        )
        write = partial(
            render,
            session.timeline,
            session.clips,
            rate=session.rate,
            title=routine.title,
            captions=captions,
            timeline_json=timeline_json,
            split_dir=split_dir,
            progress=partial(progress, "writing") if progress else None,
            music=routine.music if music == "routine" else music,
            loudness=loudness,
            measure_progress=partial(progress, "measuring") if progress else None,
        )
        if page:
            return _render_page(out, session.timeline, options, write)
        return write(out)
    finally:
        if owned:
            speech.close()


def _render_page(
    out: Path, timeline: Timeline, options: PlanOptions, write: Callable[[Path], RenderResult]
) -> RenderResult:
    """The self-contained player page at `out`: the track `write` renders (a WAV, with any
    captions, plan JSON and split tracks) goes inside it as an MP3, with the plan."""
    from voiceguide.export.page import write_page
    from voiceguide.routine.durations import format_duration

    written: list[RenderResult] = []

    def make_audio(wav: Path) -> dict[str, object]:
        written.append(write(wav))
        return timeline.to_json()

    fit = format_duration(options.fit) if options.fit is not None else None
    shown = {"reps": options.reps, "rate": options.overrides.rate, "fit": fit}
    size = write_page(out, {k: v for k, v in shown.items() if v is not None}, make_audio)
    result = written[0]
    return RenderResult(out, result.duration, size, result.files, result.warnings)


def chapters(timeline: Timeline) -> list[Chapter]:
    """One chapter per step pass: from its start to the next part's start (or the end)."""
    parts = timeline.parts
    marks = []
    for i, part in enumerate(parts):
        if part.kind == "step":
            end = parts[i + 1].start if i + 1 < len(parts) else timeline.total
            marks.append(Chapter(part.title, part.start, end))
    return marks


def speech_captions(timeline: Timeline) -> list[Caption]:
    """One caption per speech event, with the event's exact times and text."""
    return [
        Caption(e.start, e.end, e.text if e.text is not None else (e.cue.text if e.cue else ""))
        for e in timeline.events
        if e.kind == "speech"
    ]


class _Sink:
    def write(self, block: np.ndarray) -> None:
        raise NotImplementedError


def _stream_mastered(
    timeline: Timeline,
    clip_for: ClipSource,
    rate: int,
    total: int,
    sinks: Sequence[_Sink],
    progress: Progress | None,
    music: Music | None,
    loudness: float | None,
    measure_progress: Progress | None,
) -> None:
    """`_stream`, with the bed under it and brought to `loudness`: a first pass measures the
    mix, a second mixes it again into the sinks, gained and limited (sample for sample in
    place: the limiter's look-ahead is taken back at the end)."""
    if music is None and loudness is None:
        _stream(timeline, clip_for, rate, total, sinks, progress)
        return
    from voiceguide.sound.mastering import Master, Measure
    from voiceguide.sound.music import BedMix

    bed = BedMix.for_events(music, timeline.events, timeline.total, rate) if music else None
    gain = 1.0
    if loudness is not None:
        measure = Measure(rate, bed, loudness, TRUE_PEAK_CEILING)
        _stream(timeline, clip_for, rate, total, [_Measured(measure)], measure_progress)
        gain = measure.gain()
    master = Master(rate, bed, gain, TRUE_PEAK_CEILING)
    _stream(timeline, clip_for, rate, total, [_Mastered(master, sinks)], progress)
    tail = master.flush()
    for sink in sinks:
        sink.write(tail)


class _Measured(_Sink):
    def __init__(self, measure: Measure):
        self._measure = measure

    def write(self, block: np.ndarray) -> None:
        self._measure.write(block)


class _Mastered(_Sink):
    def __init__(self, master: Master, sinks: Sequence[_Sink]):
        self._master = master
        self._sinks = sinks

    def write(self, block: np.ndarray) -> None:
        out = self._master.process(block)
        if out.shape[0]:
            for sink in self._sinks:
                sink.write(out)


def _stream(
    timeline: Timeline,
    clip_for: ClipSource,
    rate: int,
    total: int,
    sinks: Sequence[_Sink],
    progress: Progress | None,
) -> None:
    """Feed every event's samples, in order, to every sink: exactly `total` frames."""
    pos = 0

    def emit(block: np.ndarray) -> None:
        nonlocal pos
        for sink in sinks:
            sink.write(block)
        pos += int(block.shape[0])
        if progress is not None:
            progress(pos, total)

    def silence(frames: int) -> None:
        while frames > 0:
            n = min(frames, BLOCK_FRAMES)
            emit(_ZEROS[:n])
            frames -= n

    for event in timeline.events:
        start = min(round(event.start * rate), total)
        end = min(round(event.end * rate), total)
        silence(start - pos)  # a gap between events (none in a well-formed timeline)
        skip = max(0, pos - start)  # overlap with the previous event: drop its head
        span = end - start
        if skip >= span:
            continue
        if not event.sounds:
            silence(span - skip)  # digital zeros: a silence, or a wait (a file cannot wait)
            continue
        if event.cue is None:
            raise ValueError(f"{event.kind} event at {event.start:.3f}s has no cue")
        samples = _pcm(clip_for(event.cue), rate)[:span]  # a sample or two too long: cut
        if samples.shape[0] > skip:
            for at in range(skip, samples.shape[0], BLOCK_FRAMES):
                emit(samples[at : at + BLOCK_FRAMES])
        silence(end - pos)  # clip shorter than its span: pad with zeros
    silence(total - pos)


def _pcm(clip: Clip, rate: int) -> np.ndarray:
    """The clip as int16 at `rate` (clip sources should already deliver `rate`)."""
    if clip.rate != rate:
        clip = Clip(resample(clip.samples, clip.rate, rate), rate)
    return clip.to_int16()


class _Staged(_Sink):
    """An audio writer on a temporary file, reporting failures against the destination."""

    def __init__(self, dest: Path, temp: Path, fmt: str, rate: int, tags: Tags):
        self.dest = dest
        self._open = False
        self._writer: AudioWriter = self._guard(lambda: open_writer(temp, fmt, rate, tags))
        self._open = True

    def write(self, block: np.ndarray) -> None:
        self._guard(lambda: self._writer.write(block))

    def close(self) -> None:
        if self._open:
            self._open = False
            self._guard(self._writer.close)

    def abort(self) -> None:
        if self._open:
            self._open = False
            # The temporary file is removed next; the first error is the one that matters.
            with contextlib.suppress(*WRITE_ERRORS):
                self._writer.abort()

    def _guard(self, action: Callable[[], _T]) -> _T:
        try:
            return action()
        except WRITE_ERRORS as exc:
            raise OutputError(f"cannot write {self.dest}: {describe(exc)}") from None


@dataclass(frozen=True)
class _Span:
    part: Part | None
    file_stem: str
    title: str
    start: int  # frames
    end: int


def _track_spans(timeline: Timeline, rate: int, total: int) -> list[_Span]:
    """One track per step pass, numbered 01.. in order. Each spans its pass's start to the
    next pass's start, so the intro opens the first track and the outro closes the last:
    the files are the step passes alone, and played in order they are the whole render."""
    passes = [p for p in timeline.parts if p.kind == "step"]
    if not passes:
        return [_Span(None, f"01-{slug(timeline.title)}", timeline.title, 0, total)]
    width = max(2, len(str(len(passes))))
    spans = []
    for n, part in enumerate(passes, start=1):
        start = 0 if n == 1 else min(round(part.start * rate), total)
        end = total if n == len(passes) else min(round(passes[n].start * rate), total)
        spans.append(_Span(part, f"{n:0{width}d}-{slug(part.title)}", part.title, start, end))
    return spans


class _Tracks(_Sink):
    """Routes the stream into one file per part, opening each only when it is reached so
    a single encoder is alive at a time."""

    def __init__(
        self,
        folder: Path,
        fmt: str,
        rate: int,
        album: str,
        spans: list[_Span],
        staging: Staging,
        writers: list[_Staged],
    ):
        self._folder = folder
        self._fmt = fmt
        self._rate = rate
        self._album = album
        self._spans = [s for s in spans if s.end > s.start]
        self._staging = staging
        self._writers = writers
        self._pos = 0
        self._index = -1
        self._current: _Staged | None = None
        self.listing: list[Track] = []

    def write(self, block: np.ndarray) -> None:
        at = 0
        while at < block.shape[0]:
            if self._current is None or self._pos >= self._spans[self._index].end:
                self._next()
            assert self._current is not None
            n = min(block.shape[0] - at, self._spans[self._index].end - self._pos)
            self._current.write(block[at : at + n])
            at += n
            self._pos += n

    def _next(self) -> None:
        if self._current is not None:
            self._current.close()
        self._index += 1
        span = self._spans[self._index]
        ext = "." + self._fmt
        dest = self._folder / (span.file_stem + ext)
        tags = Tags(title=span.title, album=self._album, track=(self._index + 1, len(self._spans)))
        self._current = _Staged(dest, self._staging.temp_for(dest), self._fmt, self._rate, tags)
        self._writers.append(self._current)
        self.listing.append(Track(dest.name, span.title, (span.end - span.start) / self._rate))
