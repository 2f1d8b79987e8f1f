"""Rendered files read back and measured: length, onsets, silence, chapters, captions."""

from __future__ import annotations

import json
import re

import mutagen
import numpy as np
import pytest
from mutagen.id3 import ID3

from tests.audio_analysis import (
    RATE,
    chapter_titles,
    clip_source,
    ffmpeg_pcm,
    ffprobe,
    have,
    onsets,
    read_pcm,
    riff_chunks,
    sample_routine,
    soxi_duration,
    sub_chunks,
)
from voiceguide.export.tags import Chapter, Tags
from voiceguide.export.writers import open_writer
from voiceguide.rendering import render

FORMATS = ["wav", "flac", "ogg", "mp3"]
TITLES = ["Cleanse", "Under-eye roll (left)", "Under-eye roll (right)"]


@pytest.fixture(scope="module")
def timeline():
    return sample_routine()


@pytest.fixture(scope="module")
def chapters(timeline):
    """(title, start) of each step pass, as planned."""
    marks = [(p.title, p.start) for p in timeline.parts if p.kind == "step"]
    assert [t for t, _ in marks] == TITLES
    return marks


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, timeline):
    """The sample routine rendered once to each format, with captions and plan JSON."""
    folder = tmp_path_factory.mktemp("render")
    results = {}
    for fmt in FORMATS:
        out = folder / f"routine.{fmt}"
        results[fmt] = render(
            timeline,
            clip_source(),
            out,
            rate=RATE,
            title=timeline.title,
            album="Massages",
            captions=folder / f"routine-{fmt}.vtt",
            timeline_json=folder / f"routine-{fmt}.json",
        )
    return results


def expected_onsets(timeline, rate, **detector) -> list[int]:
    """Planned start of every sound event plus where its own clip becomes audible."""
    clip_for = clip_source(rate)
    starts = []
    for e in timeline.events:
        if e.kind != "silence":
            own = onsets(clip_for(e.cue).to_int16(), rate, **detector)
            starts.append(round(e.start * rate) + own[0])
    return starts


@pytest.mark.parametrize("fmt", FORMATS)
def test_length_matches_the_plan_within_a_millisecond(rendered, timeline, fmt):
    path = rendered[fmt].path
    samples, rate = read_pcm(path)
    assert rate == RATE
    assert abs(samples.shape[0] / rate - timeline.total) <= 0.001
    assert abs(rendered[fmt].duration - timeline.total) <= 0.001
    # What players report: mutagen's header-based length (LAME tag delay/padding for MP3),
    # and ffmpeg's decoded sample count.
    assert abs(mutagen.File(str(path)).info.length - timeline.total) <= 0.001
    assert abs(ffmpeg_pcm(path, rate).shape[0] / rate - timeline.total) <= 0.001
    if fmt != "mp3":  # sox's MP3 reader ignores the LAME tag; ffprobe's header too (below)
        assert abs(float(ffprobe(path)["format"]["duration"]) - timeline.total) <= 0.001
        assert abs(soxi_duration(path) - timeline.total) <= 0.001
    assert rendered[fmt].bytes == path.stat().st_size


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_lossless_onsets_are_sample_exact(rendered, timeline, fmt):
    samples, rate = read_pcm(rendered[fmt].path)
    assert onsets(samples, rate) == expected_onsets(timeline, rate)


@pytest.mark.parametrize("fmt", ["ogg", "mp3"])
def test_lossy_onsets_within_10_ms(rendered, timeline, fmt):
    detector = {"threshold": 300, "window": 0.002}
    samples, rate = read_pcm(rendered[fmt].path)
    found = onsets(samples, rate, **detector)
    wanted = expected_onsets(timeline, rate, **detector)
    assert len(found) == len(wanted)
    for got, want in zip(found, wanted, strict=True):
        assert abs(got - want) / rate <= 0.010, (got / rate, want / rate)


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_silences_are_digital_zero_and_sounds_are_the_clips(rendered, timeline, fmt):
    samples, rate = read_pcm(rendered[fmt].path)
    clip_for = clip_source(rate)
    for e in timeline.events:
        a, b = round(e.start * rate), round(e.end * rate)
        if e.kind == "silence":
            assert not samples[a:b].any(), f"noise in silence at {e.start:.3f}s"
        else:
            clip = clip_for(e.cue).to_int16()
            n = min(clip.shape[0], b - a)
            assert np.array_equal(samples[a : a + n], clip[:n])
            assert not samples[a + n : b].any()  # padding, if any, is silent


def test_wav_has_title_tags_and_labelled_cue_points(rendered, chapters):
    path = rendered["wav"].path
    chunks = riff_chunks(path)
    info = dict(sub_chunks(chunks[b"LIST/INFO"][0]))
    assert info[b"INAM"] == b"Evening face massage\0"
    assert info[b"IPRD"] == b"Massages\0"
    cue = chunks[b"cue "][0]
    count = int.from_bytes(cue[:4], "little")
    positions = [int.from_bytes(cue[8 + 24 * i : 12 + 24 * i], "little") for i in range(count)]
    labels = [
        body[4:].rstrip(b"\0").decode()
        for cid, body in sub_chunks(chunks[b"LIST/adtl"][0])
        if cid == b"labl"
    ]
    assert labels == [title for title, _ in chapters]
    for pos, (_, start) in zip(positions, chapters, strict=True):
        assert abs(pos / RATE - start) <= 0.001
    assert ffprobe(path)["format"]["tags"]["title"] == "Evening face massage"


@pytest.mark.parametrize("fmt", ["flac", "ogg"])
def test_vorbis_comment_chapters(rendered, chapters, fmt):
    tags = mutagen.File(str(rendered[fmt].path)).tags
    assert tags["TITLE"] == ["Evening face massage"]
    assert tags["ALBUM"] == ["Massages"]
    for i, (title, start) in enumerate(chapters, start=1):
        assert tags[f"CHAPTER{i:03d}NAME"] == [title]
        stamp = tags[f"CHAPTER{i:03d}"][0]
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d\d\d", stamp)
        h, m, s = stamp.split(":")
        assert abs(int(h) * 3600 + int(m) * 60 + float(s) - start) <= 0.001
    assert f"CHAPTER{len(chapters) + 1:03d}" not in tags
    probed = ffprobe(rendered[fmt].path)["chapters"]
    assert [c["tags"]["title"] for c in probed] == [t for t, _ in chapters]


def test_mp3_chapters_and_table_of_contents(rendered, timeline, chapters):
    path = rendered["mp3"].path
    id3 = ID3(str(path))
    assert str(id3["TIT2"]) == "Evening face massage"
    assert str(id3["TALB"]) == "Massages"
    toc = id3.getall("CTOC")[0]
    chaps = {c.element_id: c for c in id3.getall("CHAP")}
    assert len(toc.child_element_ids) == len(chapters)
    ends = [start for _, start in chapters[1:]] + [timeline.parts[-1].start]
    for cid, (title, start), end in zip(toc.child_element_ids, chapters, ends, strict=True):
        chap = chaps[cid]
        assert str(chap.sub_frames["TIT2"]) == title
        assert abs(chap.start_time - start * 1000) <= 1
        assert abs(chap.end_time - end * 1000) <= 1
    probed = ffprobe(path)["chapters"]
    assert [c["tags"]["title"] for c in probed] == [t for t, _ in chapters]
    assert abs(float(probed[0]["start_time"]) - chapters[0][1]) <= 0.001


# Title lengths out of step with time, so an order by size or name shows up as wrong.
UNEVEN = [
    Chapter("A very long chapter title here", 0.0, 1.25),
    Chapter("B", 1.25, 2.5),
    Chapter("Medium title", 2.5, 3.75),
    Chapter("Z", 3.75, 5.0),
]


@pytest.fixture(scope="module")
def uneven(tmp_path_factory):
    """Five seconds of silence in each format, with the UNEVEN chapters."""
    folder = tmp_path_factory.mktemp("uneven")
    paths = {}
    for fmt in FORMATS:
        paths[fmt] = folder / f"uneven.{fmt}"
        writer = open_writer(paths[fmt], fmt, RATE, Tags("Uneven", chapters=UNEVEN))
        writer.write(np.zeros(5 * RATE, dtype=np.int16))
        writer.close()
    return paths


@pytest.mark.parametrize("fmt", FORMATS)
def test_ffprobe_reads_every_chapter_title_in_order(uneven, fmt):
    probed = ffprobe(uneven[fmt])["chapters"]
    assert [c.get("tags", {}).get("title") for c in probed] == [c.title for c in UNEVEN]
    for got, chapter in zip(probed, UNEVEN, strict=True):
        assert abs(float(got["start_time"]) - chapter.start) <= 0.001


def test_mp3_chap_frames_are_stored_in_chapter_order(uneven):
    id3 = ID3(str(uneven["mp3"]))
    chaps = id3.getall("CHAP")
    assert [c.element_id for c in chaps] == id3.getall("CTOC")[0].child_element_ids
    assert [str(c.sub_frames["TIT2"]) for c in chaps] == [c.title for c in UNEVEN]
    assert [c.start_time for c in chaps] == [round(c.start * 1000) for c in UNEVEN]
    assert [c.end_time for c in chaps] == [round(c.end * 1000) for c in UNEVEN]


def test_wav_labels_stay_readable_riff(uneven):
    path = uneven["wav"]
    adtl = [cid for cid, _ in sub_chunks(riff_chunks(path)[b"LIST/adtl"][0])]
    assert adtl == [b"labl"] * len(UNEVEN) + [b"ltxt"] * len(UNEVEN)
    assert chapter_titles(path) == [c.title for c in UNEVEN]
    assert read_pcm(path)[0].shape[0] == 5 * RATE  # libsndfile accepts the chunk layout


def test_captions_one_per_spoken_event(rendered, timeline):
    text = rendered["wav"].path.with_name("routine-wav.vtt").read_text()
    assert text.startswith("WEBVTT\n\n")
    cues = re.findall(r"(\d+)\n(\S+) --> (\S+)\n(.+)\n", text)
    spoken = [e for e in timeline.events if e.kind == "speech"]
    assert len(cues) == len(spoken)
    for (_, start, end, words), e in zip(cues, spoken, strict=True):
        assert words == e.text
        assert abs(_seconds(start) - e.start) <= 0.0005
        assert abs(_seconds(end) - e.end) <= 0.0005


def test_plan_json_is_what_was_rendered(rendered, timeline):
    """The plan JSON written beside the track, read against the track itself: its total is
    the track's length, each sound event's span holds sound and each silence holds none."""
    written = json.loads(rendered["wav"].path.with_name("routine-wav.json").read_text())
    pcm, rate = read_pcm(rendered["wav"].path)
    samples = pcm.astype(np.float64) / 32767
    assert written["total"] == pytest.approx(samples.shape[0] / rate, abs=0.001)
    kinds = [e["kind"] for e in written["events"]]
    assert kinds.count("speech") >= 3 and "silence" in kinds
    for event in written["events"]:
        # (one sample off each edge: a time between two samples is rounded either way)
        span = samples[round(event["start"] * rate) + 1 : round(event["end"] * rate) - 1]
        if event["kind"] == "silence":
            assert not span.any(), event
        else:
            level = 20 * np.log10(np.sqrt(np.mean(span**2)))
            assert level > -40, event


def _seconds(stamp: str) -> float:
    h, m, s = stamp.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


@pytest.mark.skipif(not have("ffprobe"), reason="ffprobe not installed")
def test_mp3_header_length_is_all_frames(rendered, timeline):
    # ffprobe 5.1 reports the MP3's frames including encoder padding but marks the delay
    # as start_time; decoding (above) gives the exact length. Guard the LAME tag is there.
    head = rendered["mp3"].path.read_bytes()[:8192]
    assert b"Xing" in head or b"Info" in head
    assert b"LAME" in head
