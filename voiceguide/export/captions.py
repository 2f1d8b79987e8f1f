"""Caption files (.vtt, .srt): one caption per spoken event, at its exact times."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from voiceguide.errors import OutputError
from voiceguide.export.tags import clock

CAPTION_FORMATS = (".vtt", ".srt")


@dataclass(frozen=True)
class Caption:
    start: float
    end: float
    text: str


def caption_format(suffix: str) -> str:
    """`vtt` or `srt` from a file suffix, else OutputError."""
    if suffix.lower() not in CAPTION_FORMATS:
        raise OutputError(f"unsupported captions format '{suffix or '(none)'}' (use .vtt or .srt)")
    return suffix.lower()[1:]


def captions_text(captions: Iterable[Caption], fmt: str) -> str:
    """The whole caption file as text, WebVTT or SubRip."""
    blocks = []
    for n, cap in enumerate(captions, start=1):
        if fmt == "vtt":
            times = f"{clock(cap.start)} --> {clock(cap.end)}"
            text = _vtt_escape(_one_paragraph(cap.text))
        else:
            times = f"{clock(cap.start, ',')} --> {clock(cap.end, ',')}"
            text = _one_paragraph(cap.text)
        blocks.append(f"{n}\n{times}\n{text}\n")
    head = "WEBVTT\n\n" if fmt == "vtt" else ""
    return head + "\n".join(blocks)


def _one_paragraph(text: str) -> str:
    # A blank line ends a cue in both formats; keep line breaks but drop empty lines.
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line) or "…"


def _vtt_escape(text: str) -> str:
    # WebVTT cue text treats & and < as markup, and "-->" may not appear in it.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
