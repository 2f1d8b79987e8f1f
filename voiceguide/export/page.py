"""The player page: one HTML file made from the page's static files, a plan and its track.

The same page serves two ways. `voiceguide serve` fills it with the plan and the track's
address; `voiceguide render ROUTINE -o NAME.html` puts the track inside as a base64 data
URI, so the file plays from file://, offline, and can be sent to a phone like any file.
The page reads every time from the plan JSON; it never lays anything out itself.
"""

from __future__ import annotations

import base64
import html
import json
import re
import tempfile
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from voiceguide.errors import OutputError
from voiceguide.export.cbr import encode_mp3
from voiceguide.export.staging import Staging, describe

_SLOT = re.compile(r"\{\{([A-Z_0-9]+)\}\}")
_B64_CHUNK = 3 * 256 * 1024  # a multiple of 3: chunks encode without padding in between


@cache
def _static(name: str) -> bytes:
    return (resources.files("voiceguide.web") / "static" / name).read_bytes()


def _script_json(value: object) -> str:
    """JSON safe inside a <script> element: '<' only occurs in strings, escaped there."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c")


def _data_uri(name: str, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(_static(name)).decode("ascii")


def page_html(plan: dict[str, Any], config: dict[str, Any], audio_slot: str = "") -> str:
    """The page for `plan` (a `Timeline.to_json()`); `config` tells the script where the
    track and the plan are served (`audio`, `plan`, `query`), whether the server can render
    afresh (`live`) and the options used (`options`). `audio_slot` is put where the track's
    data URI goes (empty when served)."""
    values = {
        "TITLE": html.escape(str(plan.get("title", "voiceguide"))),
        "STYLE": _static("player.css").decode("utf-8"),
        "SCRIPT": _static("player.js").decode("utf-8"),
        "PLAN": _script_json(plan),
        "CONFIG": _script_json(config),
        "AUDIO": audio_slot,
        "VIDEO_WEBM": _data_uri("keep-awake.webm", "video/webm"),
        "VIDEO_MP4": _data_uri("keep-awake.mp4", "video/mp4"),
    }
    template = _static("player.html").decode("utf-8")
    # One pass, so text inside a value (a step named "{{SCRIPT}}") is never replaced again.
    return _SLOT.sub(lambda m: values[m.group(1)], template)


_AUDIO_MARK = "\x00audio\x00"


def write_page(
    out: Path, options: dict[str, Any], make_audio: Callable[[Path], dict[str, Any]]
) -> int:
    """Write the self-contained page to `out`, atomically: `make_audio(wav_path)` renders
    the track there (WAV) and returns its plan JSON; the track goes inside as an MP3 data URI.
    Returns the file's size in bytes. Nothing appears at `out` unless all of it succeeds."""
    staging = Staging()
    temp = staging.temp_for(out)  # an unwritable destination fails before any rendering
    try:
        with tempfile.TemporaryDirectory(prefix="voiceguide-page-") as folder:
            wav, mp3 = Path(folder) / "audio.wav", Path(folder) / "audio.mp3"
            plan = make_audio(wav)
            encode_mp3(wav, mp3)
            config = {"live": False, "options": options}
            head, tail = page_html(plan, config, _AUDIO_MARK).split(_AUDIO_MARK)
            try:
                # Streamed in chunks: a long track never sits in memory twice as text.
                with open(temp, "w", encoding="utf-8") as page, open(mp3, "rb") as track:
                    page.write(head)
                    page.write("data:audio/mpeg;base64,")
                    while chunk := track.read(_B64_CHUNK):
                        page.write(base64.b64encode(chunk).decode("ascii"))
                    page.write(tail)
            except OSError as exc:
                raise OutputError(f"cannot write {out}: {describe(exc)}") from None
        staging.commit()
    except BaseException:
        staging.discard()
        raise
    return out.stat().st_size
