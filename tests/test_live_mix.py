"""The music bed in `play`: what reaches the device is read back and measured.

A fake clock and a recording device (fakes for the clock, not the mixing): every buffer the
session sends is placed at the clock time it was sent and cut where it was stopped, which is
what a mixing output plays. The bed alone is what is left when the cues' own samples are
taken out again. Playback through real simpleaudio into the test ALSA device is in
test_player_device.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.player_fixtures import (
    RATE,
    SAMPLE_AUDIBLE,
    SAMPLE_LENGTHS,
    FakeClock,
    FakeDevice,
    FakeKeys,
    FakePlayback,
    FakeSpeech,
    RecordingStatus,
    routine,
    tone_clip,
)
from voiceguide import live_mix
from voiceguide.cue import Cue
from voiceguide.live_mix import MixCourse, mix_segment
from voiceguide.player import PlayResult, play_routine
from voiceguide.routine.loader import parse_routine
from voiceguide.routine.models import Music
from voiceguide.sound.music import load_bed
from voiceguide.timeline import Event, PlanOptions

# The session's clock starts at 0, so a buffer sent at clock time t lands on the frame the
# mix computed for session time t (a float offset would move some by one sample).
START = 0.0
BED = Music("brown-noise", level=-20.0, duck=10.0, fade=0.0)


def db(x: np.ndarray) -> float:
    return 20 * np.log10(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) + 1e-12)


def heard(device: StoppingDevice, seconds: float) -> np.ndarray:
    """What a mixing output plays: every buffer from the time it was sent, until it was
    stopped or ended, added up (float, full scale 1)."""
    out = np.zeros(int(seconds * RATE) + RATE, np.float64)
    stops = [playback.stopped_at for playback in device.playbacks]
    for (sent, pcm, rate), playback_stop in zip(device.plays, stops, strict=True):
        assert rate == RATE
        samples = np.frombuffer(pcm, "<i2").astype(np.float64) / 32767
        first = int(round((sent - START) * RATE))
        if playback_stop is not None:
            samples = samples[: max(0, int(round((playback_stop - sent) * RATE)))]
        out[first : first + samples.shape[0]] += samples
    return out


class StoppingDevice(FakeDevice):
    """A FakeDevice that remembers each playback, to know where each was stopped."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.playbacks: list[FakePlayback] = []

    def play(self, pcm: bytes, rate: int) -> FakePlayback:
        playback = super().play(pcm, rate)
        self.playbacks.append(playback)
        return playback


def cue_track(result: PlayResult, seconds: float) -> np.ndarray:
    """The cues alone, each at the clock time the player says it started."""
    out = np.zeros(int(seconds * RATE) + RATE, np.float64)
    for onset in result.onsets:
        assert onset.event.cue is not None
        clip = tone_clip(onset.event.cue, SAMPLE_LENGTHS[onset.event.cue.text]).to_int16()
        first = int(round((onset.at - START) * RATE))
        out[first : first + clip.shape[0]] += clip / 32767
    return out


def play(keys: list[tuple[float, str]] | None = None, music: Music | None = BED):  # type: ignore[no-untyped-def]
    clock = FakeClock(START)
    device = StoppingDevice(clock)
    commands = FakeKeys(clock, [(START + t, k) for t, k in keys]) if keys is not None else None
    result = play_routine(
        routine(),
        PlanOptions(),
        speech=FakeSpeech(SAMPLE_LENGTHS),
        device=device,
        clock=clock,
        status=RecordingStatus(),
        commands=commands,
        music=music,
    )
    return result, device


def test_cues_are_on_their_samples_and_the_bed_under_them_is_ducked() -> None:
    result, device = play()
    assert [(o.event.text, round(o.at - START, 6)) for o in result.onsets] == SAMPLE_AUDIBLE
    total = 31.5
    sound = heard(device, total)
    cues = cue_track(result, total)
    bed = sound - cues
    # Taking each cue out at its onset leaves only the bed: the cue was on that very sample.
    for text, at in SAMPLE_AUDIBLE:
        first = int(at * RATE)
        inside = slice(first + 200, first + int(SAMPLE_LENGTHS[text] * RATE) - 200)
        assert db(bed[inside]) < db(sound[inside]) - 6, text
    # Bed under "Roll left" (14.5-15.5) against the bed in the middle of its hold (17-20).
    under = bed[int(14.6 * RATE) : int(15.4 * RATE)]
    clear = bed[int(17.0 * RATE) : int(20.0 * RATE)]
    assert db(clear) - db(under) == pytest.approx(10.0, abs=1.0)
    # Continuous from the first sample to the last: no 10 ms without the bed.
    block = int(0.01 * RATE)
    blocks = bed[: int(total * RATE) // block * block].reshape(-1, block)
    assert np.sqrt(np.mean(blocks**2, axis=1)).min() > 10 ** (-60 / 20)


def test_segments_of_one_course_join_without_a_seam(monkeypatch: pytest.MonkeyPatch) -> None:
    whole, whole_device = play()
    monkeypatch.setattr(live_mix, "SEGMENT", 4.0)
    chained, chained_device = play()
    assert len(whole.mixed) == 1 and len(chained.mixed) == 8
    one = heard(whole_device, 31.5)
    joined = heard(chained_device, 31.5)
    # Cross-faded over the same samples: the same sound, to int16 rounding.
    assert np.max(np.abs(one - joined)) < 3 / 32767
    assert [o.at for o in chained.onsets] == [o.at for o in whole.onsets]


def test_a_paused_session_is_silent_and_the_bed_goes_on_where_it_stopped() -> None:
    result, device = play(keys=[(12.0, " "), (14.0, " ")])
    stopped = [p.stopped_at for p in device.playbacks]
    sent = [t for t, _, _ in device.plays]
    # Everything sent before the pause was stopped at it; nothing was sent while paused.
    assert sent[0] == START
    assert stopped[0] == pytest.approx(START + 12.0)
    assert not [t for t in sent if START + 12.0 < t < START + 14.0]
    sound = heard(device, 40.0)
    assert np.max(np.abs(sound[int(12.0 * RATE) + 1 : int(14.0 * RATE) - 1])) == 0.0
    # After the pause the bed goes on from the frame it had reached, not from the start.
    bed = load_bed(BED, RATE, 60 * RATE)
    resumed = sound[int(14.0 * RATE) + 2000 : int(14.0 * RATE) + 4000]  # past the fade-in
    expected = bed.read(12 * RATE + 2000, 2000).astype(np.float64)
    assert np.max(np.abs(resumed - expected)) < 2 / 32767
    # The cue after the pause comes as long after it as it was due before.
    assert dict((o.event.text, o.at - START) for o in result.onsets)["Roll left"] == 16.5


def test_a_skip_starts_a_new_course_and_its_cue_is_on_time() -> None:
    result, device = play(keys=[(5.0, "n")])
    # `n` in Cleanse goes to Roll left, laid out a moment ahead so its segment is mixed first.
    onsets = {o.event.text: o.at - START for o in result.onsets}
    assert onsets["Roll left"] == pytest.approx(5.0 + live_mix.LEAD)
    sound = heard(device, 40.0)
    cues = cue_track(result, 40.0)
    first = int(round(onsets["Roll left"] * RATE))
    inside = slice(first + 200, first + RATE - 200)
    assert db((sound - cues)[inside]) < db(sound[inside]) - 6
    assert result.mixed[-1].at == pytest.approx(onsets["Roll left"])


def test_during_a_wait_the_bed_goes_on_unducked_until_the_person_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(live_mix, "SEGMENT", 5.0)
    text = "title: W\ngap: 0\nbreath: 0\nsteps:\n  - name: A\n    say: Ready?\n    wait: true\n  - name: B\n    say: Go\n"
    clock = FakeClock(START)
    device = StoppingDevice(clock)
    result = play_routine(
        parse_routine(text, "w.yaml"),
        PlanOptions(),
        speech=FakeSpeech({"Ready?": 1.0, "Go": 1.0}),
        device=device,
        clock=clock,
        status=RecordingStatus(),
        commands=FakeKeys(clock, [(START + 17.0, "n")]),
        music=BED,
    )
    onsets = {o.event.text: o.at - START for o in result.onsets}
    assert onsets["Go"] == pytest.approx(17.0 + live_mix.LEAD)
    sound = heard(device, 20.0)
    # From the end of the duck after "Ready?" (1.0 s + release) to 17 s: the bed itself,
    # unducked, sample for sample, across the segments chained while it waited.
    assert len(result.mixed) >= 4
    bed = load_bed(BED, RATE, 60 * RATE).read(int(1.6 * RATE), int(15.3 * RATE))
    waited = sound[int(1.6 * RATE) : int(1.6 * RATE) + bed.shape[0]]
    assert np.max(np.abs(waited - bed)) < 3 / 32767  # int16 rounding


def test_mix_segment_places_a_cue_that_began_before_it() -> None:
    """A pace change re-mixes from the middle of a cue: its rest is on the same samples."""
    bed = load_bed(BED, RATE, 20 * RATE)
    cue = Cue("speech", "Roll left")
    clip = tone_clip(cue, 1.0).to_int16()
    event = Event(2.0, 3.0, "speech", cue=cue)
    course = MixCourse([event], end=10.0)

    def samples(c: Cue) -> tuple[bytes, int]:
        return clip.tobytes(), RATE

    whole = mix_segment(bed, 10.0, 0.0, course, samples, at=0.0, bed_frame=0, restart=False)
    later = mix_segment(
        bed, 10.0, 0.0, course, samples, at=2.5, bed_frame=int(2.5 * RATE), restart=False
    )
    from_half = whole.pcm[int(2.5 * RATE) : int(2.5 * RATE) + later.pcm.shape[0]]
    after_ramp = int(live_mix.OVERLAP * RATE)  # `later` fades in as a following segment
    difference = from_half[after_ramp:].astype(int) - later.pcm[after_ramp:].astype(int)
    assert np.max(np.abs(difference)) <= 1


def test_api_play_mixes_the_routines_bed_and_none_turns_it_off(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from voiceguide import api

    text = "title: Short\nmusic: rain\nsteps:\n  - name: A\n    say: Hello.\n"
    for music, expected in ((None, 1), ("none", 0)):
        clock = FakeClock(START)
        device = FakeDevice(clock)
        result = api.play(
            parse_routine(text, "s.yaml"),
            keys=False,
            device=device,
            clock=clock,
            status=RecordingStatus(),
            cache_dir=tmp_path,
            music=music,
        )
        assert result.status == "finished"
        assert len(result.mixed) == expected
        # With the bed: one buffer, bed and speech; without: the speech clip alone.
        assert len(device.plays) == 1


def test_the_play_screen_names_the_bed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from voiceguide import api

    routine = tmp_path / "r.yaml"
    routine.write_text(
        "title: R\nmusic:\n  source: calm.flac\n  level: -24dB\n  duck: 6dB\n"
        "steps:\n  - name: A\n    say: Hello.\n"
    )
    import soundfile

    soundfile.write(tmp_path / "calm.flac", np.zeros(RATE, np.float32), RATE)
    assert api.plan_options().describe_music(routine) == (
        "calm.flac, 24 dB under the voice, 6 dB lower while it speaks"
    )
    assert api.plan_options(music="rain").describe_music(routine) == (
        "rain, 24 dB under the voice, 6 dB lower while it speaks"
    )
    assert api.plan_options(music="none").describe_music(routine) is None
