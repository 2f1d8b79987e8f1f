"""Export helpers: caption text, clock format, slugs, playlists, WAV cue chunks."""

from __future__ import annotations

import pytest

from voiceguide.errors import OutputError
from voiceguide.export.captions import Caption, caption_format, captions_text
from voiceguide.export.playlist import Track, playlist_text, slug
from voiceguide.export.tags import Chapter, clock, wav_cue_chunks


def test_clock():
    assert clock(0) == "00:00:00.000"
    assert clock(3723.4567) == "01:02:03.457"
    assert clock(59.9996, ",") == "00:01:00,000"


def test_webvtt():
    text = captions_text([Caption(1.0, 2.5, "Rub <gently> & slowly"), Caption(3, 4, "Stop")], "vtt")
    assert text == (
        "WEBVTT\n\n"
        "1\n00:00:01.000 --> 00:00:02.500\nRub &lt;gently&gt; &amp; slowly\n\n"
        "2\n00:00:03.000 --> 00:00:04.000\nStop\n"
    )


def test_srt_keeps_cues_separate_despite_blank_lines():
    text = captions_text([Caption(0.5, 1.25, "One.\n\nTwo.")], "srt")
    assert text == "1\n00:00:00,500 --> 00:00:01,250\nOne.\nTwo.\n"


def test_caption_format():
    assert caption_format(".VTT") == "vtt"
    with pytest.raises(OutputError, match=r"unsupported captions format '\.txt'"):
        caption_format(".txt")


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Under-eye roll (left)", "under-eye-roll-left"),
        ("Face oil", "face-oil"),
        ("Crème brûlée!", "creme-brulee"),
        ("***", "part"),
    ],
)
def test_slug(title, expected):
    assert slug(title) == expected


def test_playlist():
    text = playlist_text([Track("01-a.mp3", "A", 12.4), Track("02-b.mp3", "B c", 0.2)], "R")
    assert text == "#EXTM3U\n#PLAYLIST:R\n#EXTINF:12,A\n01-a.mp3\n#EXTINF:1,B c\n02-b.mp3\n"


def test_wav_cue_chunks_are_even_sized():
    raw = wav_cue_chunks([Chapter("Odd", 1.0, 2.0), Chapter("Even", 2.0, 3.0)], 1000)
    assert raw[:4] == b"cue " and len(raw) % 2 == 0
    assert int.from_bytes(raw[4:8], "little") == 4 + 2 * 24
    assert wav_cue_chunks([], 1000) == b""
