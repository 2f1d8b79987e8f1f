"""Every tag and cue region of a render read back, in every format, from a routine with
real gaps between its parts and a final sound (a dropped last event, chapters that end
before the gap, a region one sample short, a track number off by one all show here).

Expected values are written as literals or derived from the plan the render was given,
never from the functions that wrote the file.
"""

from __future__ import annotations

import mutagen
import numpy as np
import pytest
from mutagen.id3 import ID3

from tests.audio_analysis import RATE, EspeakSpeech, read_pcm, riff_chunks, sub_chunks
from voiceguide.rendering import render_routine
from voiceguide.routine.loader import parse_routine
from voiceguide.timeline import PlanOptions

ROUTINE = """\
title: Gaps and an ending
gap: 1.5s
breath: 0.25s
steps:
  - name: First
    say: Breathe in.
    hold: 0.75s
  - name: Second
    say: Breathe out.
    sides: [left, right]
  - name: Last
    say: Rest now.
"""
TITLES = ["First", "Second (left)", "Second (right)", "Last"]  # as the README names passes
FORMATS = ["wav", "flac", "ogg", "mp3"]


@pytest.fixture(scope="module")
def renders(tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("readback")
    routine = parse_routine(ROUTINE, str(folder / "r.yaml"), base_dir=folder, name="r")
    results = {}
    for fmt in FORMATS:
        (folder / fmt).mkdir()
        results[fmt] = render_routine(
            routine,
            PlanOptions(),
            folder / fmt / f"all.{fmt}",
            sample_rate=RATE,
            split_dir=folder / fmt / "tracks",
            speech=EspeakSpeech(),
        )
    return results


@pytest.fixture(scope="module")
def plan(renders):  # type: ignore[no-untyped-def]
    """The timeline that was rendered (from --timeline's twin: the render's own plan)."""
    from voiceguide.session import prepare_session

    routine = parse_routine(ROUTINE, "r.yaml", name="r")
    return prepare_session(routine, PlanOptions(), EspeakSpeech(), sample_rate=RATE).timeline


def boundaries(plan) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """(first, end) sample of each step pass's chapter: its start to the next part's start."""
    parts = list(plan.parts)
    steps = [i for i, p in enumerate(parts) if p.kind == "step"]
    spans = []
    for i in steps:
        end = parts[i + 1].start if i + 1 < len(parts) else plan.total
        spans.append((round(parts[i].start * RATE), round(end * RATE)))
    return spans


def test_the_plan_has_real_gaps_and_ends_in_a_sound(plan):  # type: ignore[no-untyped-def]
    steps = [p for p in plan.parts if p.kind == "step"]
    assert [p.title for p in steps] == TITLES
    gaps = [b.start - a.end for a, b in zip(plan.parts, plan.parts[1:])]
    assert any(g > 1.0 for g in gaps) or any(
        e.kind == "silence" and abs(e.duration - 1.5) < 1e-9 for e in plan.events
    )
    assert plan.events[-1].kind == "speech"
    assert plan.events[-1].end == plan.total


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_the_last_sound_is_in_the_file_up_to_its_last_sample(renders, plan, fmt):  # type: ignore[no-untyped-def]
    samples, rate = read_pcm(renders[fmt].path)
    assert rate == RATE
    assert samples.shape[0] == round(plan.total * RATE)
    last = plan.events[-1]
    tail = samples[round(last.start * RATE) :]
    assert np.abs(tail.astype(np.int32)).max() > 1000  # "Rest now." is heard, not silence


def test_wav_cue_regions_cover_each_chapter_to_the_sample(renders, plan):  # type: ignore[no-untyped-def]
    chunks = riff_chunks(renders["wav"].path)
    cue = chunks[b"cue "][0]
    count = int.from_bytes(cue[:4], "little")
    assert count == 4
    positions = [int.from_bytes(cue[8 + 24 * i : 12 + 24 * i], "little") for i in range(count)]
    adtl = sub_chunks(chunks[b"LIST/adtl"][0])
    labels = [body[4:].rstrip(b"\0").decode() for cid, body in adtl if cid == b"labl"]
    lengths = [int.from_bytes(body[4:8], "little") for cid, body in adtl if cid == b"ltxt"]
    assert labels == TITLES
    spans = boundaries(plan)
    assert positions == [first for first, _ in spans]
    assert lengths == [end - first for first, end in spans]
    # No holes: each region ends where the next begins, the last where the file ends.
    ends = [p + n for p, n in zip(positions, lengths, strict=True)]
    assert ends[:-1] == positions[1:]
    assert ends[-1] == round(plan.total * RATE)


def test_mp3_chapters_leave_no_holes(renders, plan):  # type: ignore[no-untyped-def]
    id3 = ID3(str(renders["mp3"].path))
    chaps = id3.getall("CHAP")
    assert [str(c.sub_frames["TIT2"]) for c in chaps] == TITLES
    assert [c.end_time for c in chaps[:-1]] == [c.start_time for c in chaps[1:]]
    assert chaps[-1].end_time == round(plan.total * 1000)


@pytest.mark.parametrize("fmt", ["flac", "ogg"])
def test_vorbis_chapters_start_where_planned(renders, plan, fmt):  # type: ignore[no-untyped-def]
    tags = mutagen.File(str(renders[fmt].path)).tags
    assert [tags[f"CHAPTER{i:03d}NAME"][0] for i in range(1, 5)] == TITLES
    assert "CHAPTER005" not in tags
    assert tags["TITLE"] == ["Gaps and an ending"]
    assert tags["ALBUM"] == ["Gaps and an ending"]


TRACK_FILES = ["01-first", "02-second-left", "03-second-right", "04-last"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_split_tracks_carry_their_number_and_the_total(renders, fmt):  # type: ignore[no-untyped-def]
    folder = renders[fmt].path.parent / "tracks"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([f"{stem}.{fmt}" for stem in TRACK_FILES] + ["playlist.m3u8"])
    for number, stem in enumerate(TRACK_FILES, start=1):
        path = folder / f"{stem}.{fmt}"
        if fmt == "wav":
            info = dict(sub_chunks(riff_chunks(path)[b"LIST/INFO"][0]))
            assert info[b"ITRK"].rstrip(b"\0") == str(number).encode()
            assert info[b"INAM"].rstrip(b"\0") == TITLES[number - 1].encode()
        elif fmt == "mp3":
            id3 = ID3(str(path))
            assert str(id3["TRCK"]) == f"{number}/4"
            assert str(id3["TIT2"]) == TITLES[number - 1]
        else:
            tags = mutagen.File(str(path)).tags
            assert tags["TRACKNUMBER"] == [str(number)]
            assert tags["TRACKTOTAL"] == ["4"]
            assert tags["TITLE"] == [TITLES[number - 1]]


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_split_tracks_played_in_order_are_the_whole_file(renders, fmt):  # type: ignore[no-untyped-def]
    whole, _ = read_pcm(renders[fmt].path)
    folder = renders[fmt].path.parent / "tracks"
    joined = np.concatenate([read_pcm(folder / f"{stem}.{fmt}")[0] for stem in TRACK_FILES])
    assert np.array_equal(joined, whole)
