"""The user configuration file: default engine, voice, rate, volume and output folder.

TOML at `platformdirs.user_config_dir("voiceguide")/config.toml`, or the file named by
`VOICEGUIDE_CONFIG`. A missing file is an empty configuration. Precedence, lowest first:
built-in defaults <- this file <- routine <- step <- command line.
"""

from __future__ import annotations

import difflib
import errno
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from voiceguide.errors import ConfigError, Problem
from voiceguide.files import read_regular
from voiceguide.output import default_output_rule
from voiceguide.routine.models import VoiceSpec, piper_model_path
from voiceguide.routine.spec import (
    DEFAULT_ENGINE,
    DEFAULT_RATE,
    DEFAULT_VOLUME,
    MAX_RATE,
    MAX_VOLUME,
    MIN_RATE,
    MIN_VOLUME,
)

DEFAULT_CACHE_LIMIT = 500 * 10**6  # bytes (speech.cache.DEFAULT_LIMIT, without numpy)
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?\s*", re.IGNORECASE)
_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_ENV = "VOICEGUIDE_CONFIG"
KEYS = ("engine", "voice", "rate", "volume", "output_dir", "cache_limit", "listen")
MAX_CONFIG_BYTES = 2**20  # like a routine: a configuration file is a few lines
MAX_NESTING = 50  # no key takes a nested value; tomllib recurses on each level

EXAMPLE = f"""\
# voiceguide configuration: every key is optional.
engine = "piper"              # "{DEFAULT_ENGINE}" (default), "pyttsx3" or "piper"
voice = "en_US-joe-medium"    # a voice id of that engine (see `voiceguide voices`);
                              # a Piper model path is relative to this file
rate = {DEFAULT_RATE}                    # words per minute, {MIN_RATE}-{MAX_RATE}
volume = {DEFAULT_VOLUME:.1f}                  # {MIN_VOLUME:.1f}-{MAX_VOLUME:.1f}
output_dir = "~/Music/voiceguide"   # where `voiceguide render` writes by default
cache_limit = "500 MB"        # the clip cache keeps the most recently used clips up to this
listen = true                 # `play` obeys spoken commands (as with --listen)
"""

__all__ = ["CONFIG_ENV", "KEYS", "Config", "ConfigError", "config_path", "describe", "load_config"]


@dataclass(frozen=True)
class Config:
    """The values set in the configuration file (None: not set there)."""

    path: Path
    exists: bool = False
    engine: str | None = None
    voice: str | None = None
    rate: int | None = None
    volume: float | None = None
    output_dir: Path | None = None
    cache_limit: int | None = None  # bytes
    listen: bool | None = None

    def voice_spec(self) -> VoiceSpec:
        """The configuration's layer of voice settings (above built-in defaults)."""
        return VoiceSpec(engine=self.engine, id=self.voice, rate=self.rate, volume=self.volume)

    def effective(self) -> list[tuple[str, object, str]]:
        """(key, effective value, "config" or "default") for every key, for `voiceguide config`."""
        defaults: dict[str, object] = {
            "engine": DEFAULT_ENGINE,
            "voice": None,
            "rate": DEFAULT_RATE,
            "volume": DEFAULT_VOLUME,
            "output_dir": None,
            "cache_limit": DEFAULT_CACHE_LIMIT,
            "listen": False,
        }
        rows = []
        for key in KEYS:
            value = getattr(self, key)
            if value is None:
                rows.append((key, defaults[key], "default"))
            else:
                rows.append((key, value, "config"))
        return rows


def config_path() -> Path:
    """Where the configuration file is read from (`VOICEGUIDE_CONFIG` wins)."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir("voiceguide")) / "config.toml"


def _position(text: str, key: str, at_key: bool = False) -> tuple[int, int] | None:
    """1-based line and column of top-level `key`'s value (or of the key); tomllib gives none."""
    pattern = re.compile(rf"^[ \t]*[\"']?{re.escape(key)}[\"']?[ \t]*=[ \t]*", re.MULTILINE)
    match = pattern.search(text)
    if match is None:  # a table header: [key] or [[key]]
        match = re.compile(rf"^[ \t]*\[\[?[ \t]*{re.escape(key)}\b", re.MULTILINE).search(text)
        at_key = True
    if match is None:
        return None
    line = text.count("\n", 0, match.start()) + 1
    start = len(match.group(0)) - len(match.group(0).lstrip()) if at_key else len(match.group(0))
    column = match.start() + start - (text.rfind("\n", 0, match.start()) + 1) + 1
    return line, column


def _error(path: Path, text: str, key: str, message: str, at_key: bool = False) -> ConfigError:
    """`message` located at `key`'s value (or at the key itself) in the file."""
    line, column = _position(text, key, at_key) or (0, 0)
    return _file_error(path, message, line, column)


def _file_error(path: Path, message: str, line: int = 0, column: int = 0) -> ConfigError:
    """One problem in the configuration file; line 0: the whole file's."""
    return ConfigError([Problem(str(path), line, column, message)])


def _check(path: Path, text: str, data: dict[str, Any]) -> dict[str, Any]:
    """Validated values by key; the first problem found is a ConfigError."""
    for key in data:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(KEYS)})"
            raise _error(path, text, key, f"unknown key {key!r}{hint}", at_key=True)
    values: dict[str, Any] = {}
    for key in ("engine", "voice", "output_dir"):
        if key in data:
            value = data[key]
            if not isinstance(value, str) or not value.strip():
                raise _error(path, text, key, f"{key} must be a non-empty string, got {value!r}")
            values[key] = value.strip()
    if "engine" in values:
        # The registry, not a copy of its names; importing it loads no engine library.
        from voiceguide.speech.base import engine_names

        known = engine_names()
        if values["engine"] not in known:
            close = difflib.get_close_matches(values["engine"], known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
            raise _error(path, text, "engine", f"unknown engine {values['engine']!r} ({hint})")
    if "voice" in values:
        # A model path in this file means the file beside it, like output_dir.
        model = piper_model_path(values["voice"], values.get("engine"), path.parent)
        if model is not None:
            values["voice"] = str(model)
    if "rate" in data:
        rate = data["rate"]
        # bool is an int in Python: `rate = true` must not mean 1 wpm.
        if isinstance(rate, bool) or not isinstance(rate, int):
            raise _error(path, text, "rate", f"rate must be a whole number, got {rate!r}")
        if not MIN_RATE <= rate <= MAX_RATE:
            raise _error(
                path,
                text,
                "rate",
                f"rate must be {MIN_RATE}-{MAX_RATE} words per minute, got {rate}",
            )
        values["rate"] = rate
    if "volume" in data:
        volume = data["volume"]
        if isinstance(volume, bool) or not isinstance(volume, (int, float)):
            raise _error(path, text, "volume", f"volume must be a number, got {volume!r}")
        if not MIN_VOLUME <= volume <= MAX_VOLUME:
            raise _error(
                path,
                text,
                "volume",
                f"volume must be {MIN_VOLUME:.1f}-{MAX_VOLUME:.1f}, got {volume}",
            )
        values["volume"] = float(volume)
    if "cache_limit" in data:
        values["cache_limit"] = _size(path, text, data["cache_limit"])
    if "listen" in data:
        if not isinstance(data["listen"], bool):
            raise _error(
                path, text, "listen", f"listen must be true or false, got {data['listen']!r}"
            )
        values["listen"] = data["listen"]
    if "output_dir" in values:
        folder = Path(values["output_dir"]).expanduser()
        # Relative folders are taken relative to the file, not to wherever a command runs.
        values["output_dir"] = folder if folder.is_absolute() else path.parent / folder
    return values


def parse_size(value: object) -> int | None:
    """Bytes from "500 MB", "1.5 GiB", "0", or a number of megabytes; None if not a size."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value * 10**6) if 0 <= value < 10**9 else None
    if not isinstance(value, str):
        return None
    match = _SIZE.fullmatch(value)
    if match is None:
        return None
    unit = (match.group(2) or "mb").lower()
    return int(float(match.group(1)) * _UNITS[unit])


def _size(path: Path, text: str, value: object) -> int:
    size = parse_size(value)
    if size is None:
        raise _error(
            path,
            text,
            "cache_limit",
            f'cache_limit must be a size such as "500 MB" or "2 GB", got {value!r}',
        )
    return size


def format_size(size: int) -> str:
    """Bytes in the units `cache info` and `config` show."""
    return f"{size / 1e9:g} GB" if size >= 10**9 else f"{size / 1e6:g} MB"


def _nesting(text: str) -> tuple[int, int] | None:
    """Line and column where arrays or inline tables nest deeper than MAX_NESTING (outside
    strings and comments), or None: tomllib recurses per level and would overflow."""
    depth = 0
    line, line_start = 1, 0
    quote = ""
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\n":
            line, line_start = line + 1, i + 1
            if quote in ('"', "'"):
                quote = ""
        elif quote:
            if char == "\\" and quote == '"':
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return line, i - line_start + 1
        elif char in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None


def _read_config(file: Path) -> bytes:
    """The file's bytes: a regular file of at most MAX_CONFIG_BYTES (a FIFO, a device or
    /dev/zero is refused without reading it). FileNotFoundError passes through."""
    try:
        return read_regular(file, MAX_CONFIG_BYTES)
    except IsADirectoryError:
        raise _file_error(file, "is a folder, not a configuration file") from None
    except OSError as error:
        if error.errno == errno.EINVAL:
            raise _file_error(file, "is not a regular file") from None
        if error.errno == errno.EFBIG:
            raise _file_error(
                file, f"file is too large (the limit is {MAX_CONFIG_BYTES // 2**20} MiB)"
            ) from None
        raise


def load_config(path: str | Path | None = None) -> Config:
    """Read the configuration file (default: `config_path()`); missing means empty.

    A file named explicitly must exist. A problem is a ConfigError holding one located Problem.
    """
    explicit = path is not None
    file = Path(path).expanduser() if path is not None else config_path()
    try:
        raw = _read_config(file)
    except FileNotFoundError:
        if explicit:
            raise _file_error(file, "configuration file not found") from None
        return Config(path=file)
    except OSError as error:
        raise _file_error(file, f"cannot read: {error.strerror or error}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _file_error(file, "not UTF-8 text") from None
    deep = _nesting(text)
    if deep is not None:
        raise _file_error(file, "invalid TOML: nesting is too deep", *deep)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _toml_error(file, error) from None
    except RecursionError:  # a nesting the scan above did not see (it is not a parser)
        raise _file_error(file, "invalid TOML: nesting is too deep") from None
    return Config(path=file, exists=True, **_check(file, text, data))


def _toml_error(path: Path, error: tomllib.TOMLDecodeError) -> ConfigError:
    """tomllib's error as a located problem. Before Python 3.14 it has no position
    attributes, only a message ending "(at line X, column Y)": the position is read there."""
    message = str(error)
    line = column = 0
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if match:
        line, column = int(match.group(1)), int(match.group(2))
        message = message[: match.start()]
    match = re.search(r"\s*\(at end of document\)$", message)
    if match:
        message = message[: match.start()] + " at end of file"
    return _file_error(path, message[:1].lower() + message[1:], line, column)


def describe(config: Config, speaks: str = "") -> str:
    """The text `voiceguide config` prints: the file and each effective value with its source;
    `speaks`: which engine and voice a routine that names none is spoken with, and why."""
    state = "" if config.exists else " (not found: built-in defaults apply)"
    lines = [f"config file: {config.path}{state}"]
    for key, value, source in config.effective():
        shown = "(engine default)" if value is None and key == "voice" else value
        if value is None and key == "output_dir":
            shown = default_output_rule()
        if key == "cache_limit" and isinstance(value, int):
            shown = format_size(value)
        lines.append(f"{key:<10} = {shown!s:<40} [{source}]")
    if speaks:
        lines.append(f"speaks with: {speaks}")
    if not config.exists:
        lines.append(f"(create the file to change these; keys: {', '.join(KEYS)})")
    return "\n".join(lines)
