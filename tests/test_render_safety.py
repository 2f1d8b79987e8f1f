"""Atomic output, clear errors, progress, and how clips are fitted to their planned spans."""

from __future__ import annotations

import os
import tracemalloc

import numpy as np
import pytest

from tests.audio_analysis import RATE, clip_source, read_pcm, sample_routine
from voiceguide.errors import OutputError, SynthesisError
from voiceguide.rendering import render
from voiceguide.routine.models import Voice
from voiceguide.sound.clip import Clip
from voiceguide.timeline import Cue, Event, Part, Timeline


@pytest.fixture(scope="module")
def timeline():
    return sample_routine()


def failing_after(n: int, exc: BaseException):
    """A clip source that works `n` times, then raises `exc` (a crash or Ctrl-C mid-write)."""
    real = clip_source()
    calls = 0

    def clip_for(cue: Cue) -> Clip:
        nonlocal calls
        calls += 1
        if calls > n:
            raise exc
        return real(cue)

    return clip_for


def all_files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3"])
@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SynthesisError("engine died")])
def test_failure_mid_write_leaves_nothing(tmp_path, timeline, fmt, exc):
    out = tmp_path / "out" / f"routine.{fmt}"
    with pytest.raises(type(exc)):
        render(
            timeline,
            failing_after(3, exc),
            out,
            rate=RATE,
            title="t",
            captions=tmp_path / "out" / "c.srt",
            timeline_json=tmp_path / "out" / "plan.json",
            split_dir=tmp_path / "tracks",
        )
    assert all_files(tmp_path) == []


def test_failure_keeps_the_previous_file(tmp_path, timeline):
    out = tmp_path / "routine.wav"
    out.write_bytes(b"previous render")
    with pytest.raises(KeyboardInterrupt):
        render(timeline, failing_after(2, KeyboardInterrupt()), out, rate=RATE, title="t")
    assert out.read_bytes() == b"previous render"
    assert all_files(tmp_path) == ["routine.wav"]


def test_full_disk_is_one_output_error_and_no_file(tmp_path, timeline, monkeypatch):
    from voiceguide.export import writers

    def no_space(self, block):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writers.WavWriter, "write", no_space)
    with pytest.raises(OutputError) as err:
        render(timeline, clip_source(), tmp_path / "r.wav", rate=RATE, title="t")
    assert str(err.value) == f"cannot write {tmp_path / 'r.wav'}: No space left on device"
    assert all_files(tmp_path) == []


def test_unsupported_extension(tmp_path, timeline):
    with pytest.raises(OutputError) as err:
        render(timeline, clip_source(), tmp_path / "r.aiff", rate=RATE, title="t")
    assert str(err.value) == "unsupported output format '.aiff' (use .wav, .flac, .ogg or .mp3)"


def test_unsupported_captions_extension_fails_before_writing(tmp_path, timeline):
    with pytest.raises(OutputError, match=r"unsupported captions format '\.txt'"):
        render(
            timeline,
            clip_source(),
            tmp_path / "r.wav",
            rate=RATE,
            title="t",
            captions=tmp_path / "c.txt",
        )
    assert all_files(tmp_path) == []


def test_mp3_rejects_a_rate_it_cannot_hold(tmp_path, timeline):
    with pytest.raises(OutputError, match="MP3 cannot use a sample rate of 22000 Hz"):
        render(timeline, clip_source(22000), tmp_path / "r.mp3", rate=22000, title="t")


def test_unwritable_destination_is_one_line_before_any_synthesis(tmp_path, timeline):
    (tmp_path / "file").write_text("not a folder")
    calls = []
    with pytest.raises(OutputError) as err:
        render(timeline, calls.append, tmp_path / "file" / "r.wav", rate=RATE, title="t")
    assert str(err.value).startswith(f"cannot write {tmp_path / 'file' / 'r.wav'}: ")
    assert "\n" not in str(err.value)
    assert calls == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_folder(tmp_path, timeline):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="Permission denied"):
            render(timeline, clip_source(), folder / "r.wav", rate=RATE, title="t")
    finally:
        folder.chmod(0o700)


def test_destination_is_a_folder(tmp_path, timeline):
    (tmp_path / "r.wav").mkdir()
    with pytest.raises(OutputError, match="it is a folder"):
        render(timeline, clip_source(), tmp_path / "r.wav", rate=RATE, title="t")


def test_progress_reaches_total_monotonically(tmp_path, timeline):
    seen: list[tuple[int, int]] = []
    render(
        timeline,
        clip_source(),
        tmp_path / "r.wav",
        rate=RATE,
        title="t",
        progress=lambda done, total: seen.append((done, total)),
    )
    total = round(timeline.total * RATE)
    assert seen[-1] == (total, total)
    assert all(t == total for _, t in seen)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:], strict=False))


def test_clips_are_padded_cut_and_resampled_to_their_span(tmp_path):
    """A clip shorter than its span is padded with zeros, a longer one cut, and a clip at
    another rate is resampled; every event still starts at round(start * rate)."""
    ones = Cue("speech", "ones", Voice())
    other_rate = Cue("speech", "other", Voice())
    clips = {
        "ones": Clip(np.full(1000, 0.5, dtype=np.float32), RATE),
        "other": Clip(np.full(2205, 0.5, dtype=np.float32), 11025),  # 0.2 s at 11025 Hz
    }
    events = (
        Event(0.0, 0.1, "silence"),
        Event(0.1, 0.1 + 500 / RATE, "speech", text="cut", cue=ones),  # 500 of 1000 frames
        Event(0.1 + 500 / RATE, 0.3, "silence"),
        Event(0.3, 0.3 + 2000 / RATE, "speech", text="padded", cue=ones),
        Event(0.3 + 2000 / RATE, 0.5, "silence"),
        Event(0.5, 0.7, "speech", text="resampled", cue=other_rate),
        Event(0.7, 1.0, "silence"),
    )
    tl = Timeline("t", events, (Part(0, "intro", "Intro", 0.0, 1.0),), pace=1.0, total=1.0)
    render(tl, lambda cue: clips[cue.text], tmp_path / "r.wav", rate=RATE, title="t")
    data, _ = read_pcm(tmp_path / "r.wav")
    assert data.shape[0] == RATE
    a = round(0.1 * RATE)
    assert not data[:a].any() and (data[a : a + 500] == 16384).all()
    assert not data[a + 500 : round(0.3 * RATE)].any()
    b = round(0.3 * RATE)
    assert (data[b : b + 1000] == 16384).all() and not data[b + 1000 : round(0.5 * RATE)].any()
    c = round(0.5 * RATE)
    middle = data[c + 100 : c + round(0.2 * RATE) - 100]
    assert np.abs(middle.astype(int) - 16384).max() < 200  # resampled, band-limited edges
    assert not data[round(0.7 * RATE) :].any()


def test_memory_does_not_grow_with_length(tmp_path):
    """A 20-minute render allocates no more than a few blocks (measured by tracemalloc,
    which numpy reports to)."""
    words = Cue("speech", "Breathe in slowly.", Voice())
    events, t = [], 0.0
    clip = clip_source()(words)
    while t < 1200:
        events.append(Event(t, t + clip.duration, "speech", text=words.text, cue=words))
        t += clip.duration
        events.append(Event(t, t + 7.3, "silence"))
        t += 7.3
    tl = Timeline("long", tuple(events), (Part(0, "step", "Breathe", 0.0, t),), 1.0, t)
    tracemalloc.start()
    try:
        render(tl, clip_source(), tmp_path / "long.wav", rate=RATE, title="long")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (tmp_path / "long.wav").stat().st_size > 1200 * RATE * 2
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
