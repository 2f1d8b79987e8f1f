"""Per-part file names and the extended M3U playlist that plays them in order."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Track:
    file_name: str
    title: str
    duration: float  # seconds


def slug(text: str) -> str:
    """Lower-case ASCII words joined by '-': "Under-eye roll (left)" -> "under-eye-roll-left"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "part"


def playlist_text(tracks: Sequence[Track], title: str) -> str:
    """playlist.m3u8: #EXTM3U, the list's title, then #EXTINF (whole seconds, title) + file."""
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(title)}"]
    for track in tracks:
        lines.append(f"#EXTINF:{max(1, round(track.duration))},{_one_line(track.title)}")
        lines.append(track.file_name)
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())
