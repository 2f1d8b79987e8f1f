"""--split: one file per step pass plus a playlist; played in order they equal the single
file (the intro opens the first track, the outro closes the last)."""

from __future__ import annotations

import mutagen
import numpy as np
import pytest

from tests.audio_analysis import RATE, clip_source, read_pcm, sample_routine
from voiceguide.rendering import render

NAMES = [
    "01-cleanse",
    "02-under-eye-roll-left",
    "03-under-eye-roll-right",
]


@pytest.fixture(scope="module")
def timeline():
    return sample_routine()


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3"])
def test_split_tracks_named_by_pass_with_playlist(tmp_path, timeline, fmt):
    result = render(
        timeline,
        clip_source(),
        tmp_path / f"all.{fmt}",
        rate=RATE,
        title=timeline.title,
        split_dir=tmp_path / "tracks",
    )
    files = sorted(p.name for p in (tmp_path / "tracks").iterdir())
    assert files == sorted([f"{n}.{fmt}" for n in NAMES] + ["playlist.m3u8"])
    assert {p.name for p in result.files} >= set(files)
    lines = (tmp_path / "tracks" / "playlist.m3u8").read_text().splitlines()
    assert lines[0] == "#EXTM3U"
    entries = [line for line in lines if not line.startswith("#")]
    assert entries == [f"{n}.{fmt}" for n in NAMES]
    infos = [line for line in lines if line.startswith("#EXTINF:")]
    passes = [p for p in timeline.parts if p.kind == "step"]
    assert [p.kind for p in timeline.parts] == ["intro", "step", "step", "step", "outro"]
    assert [i.split(",", 1)[1] for i in infos] == [p.title for p in passes]
    bounds = [p.start for p in passes[1:]] + [timeline.total]
    starts = [0.0] + bounds[:-1]
    for info, name, start, end in zip(infos, NAMES, starts, bounds, strict=True):
        assert int(info[len("#EXTINF:") :].split(",")[0]) == max(1, round(end - start))
        # Each track lasts from its part's start to the next part's start (players agree).
        track = mutagen.File(str(tmp_path / "tracks" / f"{name}.{fmt}"))
        assert abs(track.info.length - (end - start)) <= 0.001
    first = mutagen.File(str(tmp_path / "tracks" / f"{NAMES[1]}.{fmt}"))
    if fmt in ("flac", "ogg"):
        assert first.tags["TITLE"] == ["Under-eye roll (left)"]
        assert first.tags["ALBUM"] == [timeline.title]
        assert first.tags["TRACKNUMBER"] == ["2"]
    elif fmt == "mp3":
        assert str(first.tags["TIT2"]) == "Under-eye roll (left)"
        assert str(first.tags["TRCK"]) == "2/3"


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_split_tracks_concatenate_to_the_single_file(tmp_path, timeline, fmt):
    render(
        timeline,
        clip_source(),
        tmp_path / f"all.{fmt}",
        rate=RATE,
        title=timeline.title,
        split_dir=tmp_path / "tracks",
    )
    whole, _ = read_pcm(tmp_path / f"all.{fmt}")
    pieces = [read_pcm(tmp_path / "tracks" / f"{n}.{fmt}")[0] for n in NAMES]
    assert np.array_equal(np.concatenate(pieces), whole)
    # Boundaries fall exactly on the first sample of each pass after the first.
    edges = np.cumsum([p.shape[0] for p in pieces])[:-1]
    passes = [p for p in timeline.parts if p.kind == "step"]
    assert list(edges) == [round(p.start * RATE) for p in passes[1:]]
