"""Title/album tags and chapter marks, per format: ID3v2 CHAP+CTOC, Vorbis comments, WAV chunks."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mutagen.flac import FLAC
from mutagen.id3 import CHAP, CTOC, ID3, TALB, TIT2, TRCK, TSSE, CTOCFlags
from mutagen.id3._tags import save_frame
from mutagen.oggvorbis import OggVorbis

SOFTWARE = "voiceguide"


@dataclass(frozen=True)
class Chapter:
    title: str
    start: float  # seconds
    end: float


@dataclass(frozen=True)
class Tags:
    """What a file is called and where its chapters are."""

    title: str
    album: str | None = None
    track: tuple[int, int] | None = None  # (number, count) for per-step files
    chapters: Sequence[Chapter] = field(default_factory=tuple)


def clock(seconds: float, sep: str = ".") -> str:
    """HH:MM:SS.mmm (rounded to the millisecond), as chapters and captions write times."""
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def tag_mp3(path: Path, tags: Tags) -> None:
    """ID3v2.4 title/album, and one CHAP frame per chapter listed in an ordered top-level CTOC."""
    # ffmpeg writes CHAP but no CTOC for MP3, so the tag is built with mutagen.
    id3 = _InsertionOrderID3()
    id3.add(TIT2(encoding=3, text=[tags.title]))
    if tags.album:
        id3.add(TALB(encoding=3, text=[tags.album]))
    if tags.track:
        id3.add(TRCK(encoding=3, text=[f"{tags.track[0]}/{tags.track[1]}"]))
    id3.add(TSSE(encoding=3, text=[SOFTWARE]))
    ids = [f"chp{i}" for i in range(len(tags.chapters))]
    if tags.chapters:
        id3.add(
            CTOC(
                element_id="toc",
                flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[TIT2(encoding=3, text=[tags.title])],
            )
        )
    for cid, chapter in zip(ids, tags.chapters, strict=True):
        id3.add(
            CHAP(
                element_id=cid,
                start_time=round(chapter.start * 1000),
                end_time=round(chapter.end * 1000),
                # 0xFFFFFFFF: "byte offsets not given", players use the times.
                start_offset=0xFFFFFFFF,
                end_offset=0xFFFFFFFF,
                sub_frames=[TIT2(encoding=3, text=[chapter.title])],
            )
        )
    id3.save(str(path), v2_version=4)


class _InsertionOrderID3(ID3):
    """An ID3 tag that stores its frames in the order they were added."""

    # mutagen (1.48) sorts frames on save by (priority, serialized size, HashKey), so
    # CHAP frames land in title-length order; ffmpeg and mutagen's getall("CHAP") list
    # chapters in stored order whatever the CTOC says. mutagen offers no public way to
    # choose the order, so this replaces the private ID3Tags._write, using mutagen's own
    # frame serializer. tests/test_render.py reads the order back should mutagen change.
    def _write(self, config: object) -> bytearray:
        return bytearray().join(save_frame(frame, config=config) for frame in self.values())


def tag_vorbis(path: Path, tags: Tags, fmt: str) -> None:
    """Vorbis comments TITLE/ALBUM and CHAPTERnnn=HH:MM:SS.mmm / CHAPTERnnnNAME (FLAC, Ogg)."""
    audio = FLAC(str(path)) if fmt == "flac" else OggVorbis(str(path))
    if audio.tags is None:
        audio.add_tags()
    comments = audio.tags
    assert comments is not None
    comments["TITLE"] = tags.title
    if tags.album:
        comments["ALBUM"] = tags.album
    if tags.track:
        comments["TRACKNUMBER"] = str(tags.track[0])
        comments["TRACKTOTAL"] = str(tags.track[1])
    comments["ENCODER"] = SOFTWARE
    for i, chapter in enumerate(tags.chapters, start=1):
        comments[f"CHAPTER{i:03d}"] = clock(chapter.start)
        comments[f"CHAPTER{i:03d}NAME"] = chapter.title
    audio.save()


def wav_info_chunk(tags: Tags) -> bytes:
    """A LIST/INFO chunk: INAM (title), IPRD (album), ITRK, ISFT."""
    fields = [(b"INAM", tags.title)]
    if tags.album:
        fields.append((b"IPRD", tags.album))
    if tags.track:
        fields.append((b"ITRK", str(tags.track[0])))
    fields.append((b"ISFT", SOFTWARE))
    body = b"INFO" + b"".join(_chunk(fid, _zstr(text)) for fid, text in fields)
    return _chunk(b"LIST", body)


def wav_cue_chunks(chapters: Sequence[Chapter], rate: int) -> bytes:
    """A `cue ` chunk (one point per chapter) and a LIST/adtl with `labl` names and `ltxt`
    region lengths, as audio editors read them."""
    if not chapters:
        return b""
    points = []
    labels = []
    regions = []
    for cue_id, chapter in enumerate(chapters, start=1):
        start = round(chapter.start * rate)
        length = round(chapter.end * rate) - start
        # id, position, fccChunk, chunk start, block start, sample offset
        points.append(struct.pack("<II4sIII", cue_id, start, b"data", 0, 0, start))
        labels.append(_chunk(b"labl", struct.pack("<I", cue_id) + _zstr(chapter.title)))
        # id, sample length, purpose, country, language, dialect, code page
        region = struct.pack("<II4sHHHH", cue_id, length, b"rgn ", 0, 0, 0, 0)
        regions.append(_chunk(b"ltxt", region))
    cue = _chunk(b"cue ", struct.pack("<I", len(points)) + b"".join(points))
    # Every `labl` before any `ltxt`: ffmpeg stops reading an adtl list at its first chunk
    # that is not `labl` (libavformat/wavdec.c), which would leave later chapters untitled.
    return cue + _chunk(b"LIST", b"adtl" + b"".join(labels + regions))


def _zstr(text: str) -> bytes:
    return text.encode("utf-8") + b"\0"


def _chunk(fourcc: bytes, body: bytes) -> bytes:
    """A RIFF chunk, padded to an even length as RIFF requires."""
    pad = b"\0" if len(body) % 2 else b""
    return fourcc + struct.pack("<I", len(body)) + body + pad
