"""The music bed in a live session: the bed and the cues mixed into one buffer at a time.

simpleaudio plays whole buffers: it cannot mix two of its own, nor change one that plays.
So while a bed sounds, cues are not sent to the device one by one. For each course the
schedule lays out (the start, a skip, a pace change, a resume, the end of a wait), the bed
and the cues are mixed into segments of at most SEGMENT seconds, each sent when its first
sample is due. A cue sits in its segment on the sample the schedule gives it, so the
device's own clock plays it on time; the bed is ducked under the cues by the envelope a
render uses (`sound.ducking`), from the same events, and goes on where it stopped after a
pause or a skip. Nothing here computes a time: the events' times are the schedule's.

A segment followed by another of the same course ends with an OVERLAP-long fade, and the
next begins with the complementary fade over the same samples, sent OVERLAP early: an
output that mixes streams (PulseAudio, PipeWire, ALSA's dmix: what `default` is on a
desktop) joins the two without a seam. An output that cannot open a second stream gets the
next segment once the first has finished.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from voiceguide.clock import Clock
from voiceguide.cue import Cue
from voiceguide.errors import DeviceError
from voiceguide.sound.clip import to_int16
from voiceguide.sound.device import Device, Playback
from voiceguide.sound.ducking import DuckEnvelope, duck_spans
from voiceguide.sound.music import Bed, MusicSettings, fade_gains, in_fade, load_bed
from voiceguide.timeline import Event

SEGMENT = 60.0  # seconds of sound mixed at a time: ~2.6 MB at 22050 Hz, ~20 ms to mix
OVERLAP = 0.05  # seconds two segments of one course cross-fade over
RESTART_FADE = 0.03  # a new course's bed fades in over this (no click where it cut in)
LEAD = 0.05  # a course that starts a cue is laid out this far ahead: mixing it takes time
MIX_AHEAD = 1.0  # seconds before it is due that the next segment of a course is mixed
BUSY_LIMIT = 1.0  # seconds to wait for the device to let go of the previous segment

Samples = Callable[[Cue], tuple[bytes, int]]  # a cue's int16 PCM and its rate


@dataclass(frozen=True)
class MixCourse:
    """What a course gives the mix: its events (session seconds), where it ends, and from
    when it holds (a wait the person ends: the bed goes on alone, unducked, until then)."""

    events: Sequence[Event]
    end: float
    hold_from: float = math.inf


@dataclass(frozen=True, eq=False)
class Segment:
    """A mixed buffer: it covers session seconds [at, until); `bed_frame` is the bed's
    frame at its first sample; `follows` says a segment of the same course comes after it
    (its last OVERLAP seconds fade out under that one's first)."""

    at: float
    until: float
    bed_frame: int
    pcm: np.ndarray  # int16
    follows: bool
    restart: bool  # the first of a course: it replaces what plays
    data: bytes = field(init=False, repr=False)  # `pcm` as the device takes it

    def __post_init__(self) -> None:
        # Made now, when it is mixed, not in the moment it is sent.
        object.__setattr__(self, "data", self.pcm.tobytes())


@dataclass(frozen=True)
class Sent:
    """A segment as it reached the device: the session seconds it covers from the sample it
    was sent with (a late one is sent from where it should be by then), and the clock time."""

    at: float
    until: float
    clock: float


def mix_segment(
    bed: Bed,
    duck_db: float,
    fade: float,
    course: MixCourse,
    samples: Samples,
    *,
    at: float,
    bed_frame: int,
    restart: bool,
) -> Segment:
    """The bed and the course's cues from session time `at`, up to SEGMENT seconds, the end
    of the course, or (when the course holds) only the bed after its hold begins."""
    rate = bed.rate
    sounding = [e for e in course.events if e.start < course.hold_from]
    holds = course.hold_from < math.inf  # the bed goes on alone until the person goes on
    until = at + SEGMENT if holds else min(at + SEGMENT, max(course.end, at))
    follows = holds or until < course.end
    # Every time becomes a frame of the session the same way (`_frame`), so two segments
    # that overlap hold each cue on the same samples.
    first = _frame(at, rate)
    frames = max(1, _frame(until, rate) - first)
    start = first / rate
    envelope = DuckEnvelope(duck_spans(sounding), duck_db)
    mix = bed.read(bed_frame, frames) * envelope.gain(start, frames, rate)
    faded_to = math.inf if holds else course.end  # no fade-out while the end is not known
    if in_fade(first, frames, rate, fade, faded_to):
        mix *= fade_gains(first, frames, rate, fade, faded_to)
    if restart and at > 0:  # the bed cuts in where a course begins: no click
        head = min(frames, int(RESTART_FADE * rate))
        mix[:head] *= np.linspace(0.0, 1.0, head, endpoint=False, dtype=np.float32)
    for event in sounding:
        if not event.sounds or event.cue is None or event.end <= at or event.start >= until:
            continue
        pcm, pcm_rate = samples(event.cue)
        if pcm_rate != rate:
            raise ValueError(f"clip at {pcm_rate} Hz in a mix at {rate} Hz")
        clip = np.frombuffer(pcm, dtype="<i2")
        offset = _frame(event.start, rate) - first
        lo, hi = max(0, -offset), min(clip.shape[0], frames - offset)
        if lo < hi:
            mix[offset + lo : offset + hi] += clip[lo:hi] * np.float32(1 / 32767)
    # Two segments of one course overlap by OVERLAP: this one's head and the previous one's
    # tail are complementary ramps over the same samples, which add up to the mix itself.
    overlap = min(frames, _frame(OVERLAP, rate))
    ramp = (np.arange(overlap, dtype=np.float32) + np.float32(0.5)) / np.float32(overlap)
    if not restart:
        mix[:overlap] *= ramp
    if follows:
        mix[frames - overlap :] *= ramp[::-1]
    return Segment(at, until, bed_frame, to_int16(mix), follows, restart)


def _frame(t: float, rate: int) -> int:
    """The session's frame at time `t`."""
    return int(round(t * rate))


class LiveMix:
    """The bed under a live session: segments mixed from the player's courses and sent to
    the device when due. The player says when a course begins (`restart`), when the sound
    stops (`stop`: a pause, a skip, quitting), and sends what is due (`send`)."""

    def __init__(
        self,
        music: MusicSettings,
        rate: int,
        device: Device,
        clock: Clock,
        *,
        length: float,
    ) -> None:
        # A file longer than the session is read up to twice its planned length (a session
        # runs long with waits and a slower pace); a shorter one loops, as in a render.
        self.bed = load_bed(music, rate, int((2 * length + 60) * rate))
        self.duck, self.fade = music.duck, music.fade
        self.rate, self.device, self.clock = rate, device, clock
        self.bed_frame = 0  # where the bed goes on when nothing plays
        self.pending: Segment | None = None  # mixed, not sent yet
        self.playing: tuple[Segment, Sent, Playback] | None = None
        self.restart_at: float | None = 0.0  # a new course begins here (session seconds)
        self.sent: list[Sent] = []

    def wants(self, origin: float) -> bool:
        """Whether a segment should be mixed now: a new course's first, or the next of the
        one that plays once it is MIX_AHEAD from due (not at once: mixing holds the
        interpreter for milliseconds, better spent away from the moment a segment is sent)."""
        if self.pending is not None:
            return False
        if self.restart_at is not None:
            return True
        return self.clock.now() >= self._next_mix(origin)

    def _next_mix(self, origin: float) -> float:
        """Clock time to mix the segment after the one that plays (infinite: none follows)."""
        if self.playing is None or not self.playing[0].follows:
            return math.inf
        return origin + self.playing[0].until - OVERLAP - MIX_AHEAD

    def mix(self, course: MixCourse, samples: Samples) -> None:
        """Mix the segment `wants` asked for."""
        restart = self.restart_at is not None
        if self.restart_at is not None:
            at = self.restart_at
        else:
            assert self.playing is not None
            # The overlap counted in frames, as the segments' ramps are.
            end = _frame(self.playing[0].until, self.rate)
            at = (end - _frame(OVERLAP, self.rate)) / self.rate
        self.pending = mix_segment(
            self.bed, self.duck, self.fade, course, samples,
            at=at, bed_frame=self._bed_frame_at(at), restart=restart,
        )  # fmt: skip
        self.restart_at = None

    def _bed_frame_at(self, at: float) -> int:
        """The bed's frame at session time `at`: it goes on from the segment that plays."""
        if self.playing is None:
            return self.bed_frame
        segment = self.playing[0]
        elapsed = _frame(at, self.rate) - _frame(segment.at, self.rate)
        return segment.bed_frame + max(0, elapsed)

    def due(self, origin: float) -> float:
        """Clock time of the next thing to do: send the pending segment, or mix the next."""
        if self.pending is not None:
            return origin + self.pending.at
        return self._next_mix(origin)

    def ready(self) -> bool:
        """Whether a segment is mixed and waits to be sent."""
        return self.pending is not None

    def send(self, origin: float) -> None:
        """Send the pending segment, from the sample due now if it is late. A new course's
        first segment replaces what plays; the next of the same course overlaps it."""
        segment = self.pending
        assert segment is not None
        self.pending = None
        late = self.clock.now() - origin - segment.at
        skip = min(segment.pcm.shape[0] - 1, max(0, int(late * self.rate)))
        pcm = segment.data[2 * skip :] if skip else segment.data
        previous = self.playing[2] if self.playing is not None else None
        if previous is not None and segment.restart:
            previous.stop()
            previous = None
        playback = self._play(pcm, previous)
        sent = Sent(segment.at + skip / self.rate, segment.until, self.clock.now())
        self.sent.append(sent)
        self.playing = (segment, sent, playback)

    def restart(self, at: float) -> None:
        """A new course begins at session time `at`: its first segment is mixed next, and
        what plays goes on until that is sent (a pace change does not stop the bed)."""
        self.pending = None
        self.restart_at = at

    def stop(self) -> None:
        """Silence now (a pause, a skip, quitting): the bed goes on from here next time."""
        self.pending = None
        if self.playing is None:
            return
        segment, sent, playback = self.playing
        playback.stop()
        played = int((self.clock.now() - sent.clock) * self.rate)
        start = segment.bed_frame + _frame(sent.at, self.rate) - _frame(segment.at, self.rate)
        self.bed_frame = start + max(0, min(played, segment.pcm.shape[0]))
        self.playing = None

    def is_playing(self) -> bool:
        """Whether the device still plays the last segment sent."""
        return self.playing is not None and self.playing[2].is_playing()

    def clock_of(self, at: float) -> float | None:
        """Clock time the sample of session time `at` was sent to play (None: not sent)."""
        if self.playing is None:
            return None
        sent = self.playing[1]
        if not sent.at <= at < sent.until:
            return None
        return sent.clock + (at - sent.at)

    def _play(self, pcm: bytes, previous: Playback | None) -> Playback:
        try:
            return self.device.play(pcm, self.rate)
        except DeviceError:
            if previous is None:
                raise
        # An output that cannot mix: busy until the previous segment has played out.
        deadline = self.clock.now() + BUSY_LIMIT
        while previous.is_playing() and self.clock.now() < deadline:
            self.clock.sleep(0.002)
        return self.device.play(pcm, self.rate)
