"""Read a routine file: plain YAML only, every problem reported with its line and column."""

from __future__ import annotations

import difflib
import math
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from voiceguide.errors import Problem, RoutineError
from voiceguide.routine import spec
from voiceguide.routine.durations import parse_duration
from voiceguide.routine.models import (
    Music,
    Routine,
    Step,
    Text,
    VoiceSpec,
    Wait,
    is_file,
    piper_model_path,
)
from voiceguide.routine.spec import Field
from voiceguide.routine.templates import BUILTIN_NAMES, fill, template_issues

_STD = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_STD + t for t in ("null", "bool", "int", "float", "str", "timestamp")}
_RANGE = re.compile(r"\s*(\d+)\s*-\s*(\d+)\s*")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_INVALID = object()
_MIB = spec.MAX_FILE_BYTES // 2**20
# Control characters other than tab and line break: engines speak nothing for them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def load_routine(path: str | os.PathLike[str], display: str | None = None) -> Routine:
    """Load and validate a routine file; RoutineError lists every problem found."""
    file = Path(path)
    shown = display or str(path)
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                raise RoutineError([Problem(shown, 1, 1, "is a directory, not a routine file")])
            if not stat.S_ISREG(mode):
                raise RoutineError(
                    [Problem(shown, 1, 1, "is not a regular file (a pipe or a device)")]
                )
            size = os.fstat(fd).st_size
            if size > spec.MAX_FILE_BYTES:
                raise RoutineError(
                    [
                        Problem(
                            shown,
                            1,
                            1,
                            f"file is too large ({size} bytes; the limit is {_MIB} MiB)",
                        )
                    ]
                )
            data = handle.read(spec.MAX_FILE_BYTES + 1)
    except IsADirectoryError:
        raise RoutineError([Problem(shown, 1, 1, "is a directory, not a routine file")]) from None
    except FileNotFoundError:
        raise RoutineError([Problem(shown, 1, 1, "no such file")]) from None
    except OSError as exc:
        raise RoutineError(
            [Problem(shown, 1, 1, f"cannot read file: {exc.strerror or exc}")]
        ) from None
    if len(data) > spec.MAX_FILE_BYTES:
        raise RoutineError([Problem(shown, 1, 1, f"file is too large (the limit is {_MIB} MiB)")])
    routine = parse_routine(data, shown, base_dir=file.resolve().parent, name=_slug(file.stem))
    return replace(routine, source=file.resolve())


def parse_routine(
    data: bytes | str, path: str = "<routine>", *, base_dir: Path | None = None, name: str = ""
) -> Routine:
    """Validate routine text (YAML) and build the Routine; RoutineError on any problem."""
    text = _decode(data, path) if isinstance(data, bytes) else data
    root = _compose(text, path)
    checker = _Checker(path, base_dir or Path.cwd())
    routine = checker.routine(root, name)
    if checker.problems or routine is None:
        # An alias repeats its node: one bad value used five times is one problem.
        problems = dict.fromkeys(checker.problems)
        raise RoutineError(sorted(problems, key=lambda p: (p.line, p.column)))
    return routine


def _decode(data: bytes, path: str) -> str:
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        offset = data.index(b"\x00")
        line, col = _position(data, offset)
        raise RoutineError([Problem(path, line, col, "binary data, not a YAML text file")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        raise RoutineError(
            [Problem(path, line, col, "invalid UTF-8 (save the file as UTF-8)")]
        ) from None


def _position(data: bytes, offset: int) -> tuple[int, int]:
    before = data[:offset]
    line_start = before.rfind(b"\n") + 1
    return before.count(b"\n") + 1, len(before[line_start:].decode("utf-8", "replace")) + 1


# libyaml's parser when PyYAML was built with it: ten times faster on large files.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BRACKETS = re.compile(r"[\[\]{}\n]|#.*")
MAX_FLOW_DEPTH = 200
# The pure-Python parser re-reads a failing file for a better message only when it is small:
# at the end of a 1 MiB file it took 4-5 s, libyaml's own message takes milliseconds.
_REPARSE_LIMIT = 64 * 1024
_PREPARSE_SIZE = 128 * 1024


def _check_flow_depth(text: str, path: str) -> None:
    """Reject absurdly nested flow collections before PyYAML sees them: its parser slows
    down quadratically with depth (5,000 levels of `[` took 14 s) and its composer recurses."""
    depth = line = 0
    line_start = 0
    for match in _BRACKETS.finditer(text):
        char = match.group(0)
        if char == "\n":
            line += 1
            line_start = match.end()
        elif char in "[{":
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                column = match.start() - line_start + 1
                raise RoutineError(
                    [Problem(path, line + 1, column, "invalid YAML: nesting is too deep")]
                )
        elif char in "]}":
            depth = max(0, depth - 1)


def _indenting_tab(text: str, last_line: int) -> tuple[int, int] | None:
    """(line, column) of the first tab in a line's indentation up to `last_line`, the line
    where YAML gave up: a tab there is why (YAML allows only spaces for indentation)."""
    for number, line in enumerate(text.splitlines()[:last_line], start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip():
            return number, indent.index("\t") + 1
    return None


def _compose(text: str, path: str) -> yaml.Node:
    _check_flow_depth(text, path)
    try:
        try:
            if len(text) > _PREPARSE_SIZE:
                # Building nodes costs five times what parsing does: a large file's syntax
                # error (even at its very end) is found by the parser alone, in a fraction
                # of the time, before any node is made.
                for _ in yaml.parse(text, Loader=_LOADER):
                    pass
            node = yaml.compose(text, Loader=_LOADER)
        except yaml.YAMLError:
            if _LOADER is yaml.SafeLoader or len(text) > _REPARSE_LIMIT:
                raise
            # libyaml's messages are terser ("found undefined alias", no name): the pure
            # Python parser, slower but only on this failing path, says more.
            node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = (exc.problem or exc.context or "invalid YAML").strip()
        if message.startswith("but ") and exc.context:
            message = f"{exc.context.strip()}, {message}"
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        tab = _indenting_tab(text, line)
        if tab is not None:
            raise RoutineError(
                [Problem(path, *tab, "a tab indents this line; YAML needs spaces for indentation")]
            ) from None
        raise RoutineError([Problem(path, line, col, f"invalid YAML: {message}")]) from None
    except yaml.reader.ReaderError as exc:
        # Not a MarkedYAMLError: only a character offset into the text.
        before = text[: exc.position]
        line = before.count("\n") + 1
        column = exc.position - (before.rfind("\n") + 1) + 1
        character = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise RoutineError(
            [
                Problem(
                    path,
                    line,
                    column,
                    f"invalid YAML: unacceptable character #x{ord(character):04x}",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        raise RoutineError([Problem(path, 1, 1, f"invalid YAML: {message}")]) from None
    except RecursionError:
        raise RoutineError([Problem(path, 1, 1, "invalid YAML: nesting is too deep")]) from None
    if node is None:
        raise RoutineError(
            [Problem(path, 1, 1, "empty routine: expected a mapping with title and steps")]
        )
    return node


class _Filled(dict[str, str]):
    """Placeholder values for checking that a text says something: the routine's vars, and
    a word for every other name (a side, a step name, a number always say something)."""

    def get(self, key: str, default: object = None) -> str:
        return super().get(key, "x")


def _speakable(text: str) -> bool:
    """Whether `text` holds a letter or a digit (an engine has something to say)."""
    return any(char.isalnum() for char in text)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "routine"


@dataclass
class _Checker:
    path: str
    base_dir: Path
    problems: list[Problem] = field(default_factory=list)
    nodes_seen: int = 0
    voice_marks: list[tuple[str, int, int]] = field(default_factory=list)
    var_values: dict[str, str] = field(default_factory=dict)
    # One constructor for every scalar: making a loader per value cost a third of the time
    # of checking a file of many small values.
    constructor: yaml.SafeLoader = field(default_factory=lambda: yaml.SafeLoader(""))

    # -- reporting -------------------------------------------------------------
    def problem(self, node: yaml.Node, message: str, offset: int = 0) -> None:
        mark = node.start_mark
        column = mark.column + 1
        if offset and isinstance(node, yaml.ScalarNode) and "\n" not in node.value:
            column += offset + (1 if node.style in ("'", '"') else 0)
        self.problems.append(Problem(self.path, mark.line + 1, column, message))

    def _count(self, node: yaml.Node) -> bool:
        # Aliases share nodes, so a few lines can expand to billions of values: stop early.
        self.nodes_seen += 1
        if self.nodes_seen == spec.MAX_NODES + 1:
            self.problem(node, "routine is too large (too many values, perhaps an alias bomb)")
        return self.nodes_seen <= spec.MAX_NODES

    # -- structure -------------------------------------------------------------
    def mapping(
        self, node: yaml.Node, fields: tuple[Field, ...], what: str
    ) -> dict[str, tuple[Any, yaml.Node]] | None:
        """Validate a mapping against `fields`; returns name -> (value, node) of valid entries."""
        if not self._count(node):
            return None
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} must be a mapping of keys to values, not {_describe(node)}")
            return None
        known = {f.name: f for f in fields}
        seen: dict[str, yaml.Node] = {}
        values: dict[str, tuple[Any, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in (
                _STD + "str",
                _STD + "int",
            ):
                self.problem(key_node, f"keys of {what} must be plain names")
                continue
            key = str(key_node.value)
            if key == "<<":
                self.problem(key_node, "merge keys (<<) are not supported")
                continue
            if key not in known:
                close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
                hint = (
                    f"; did you mean '{close[0]}'?" if close else f" (allowed: {', '.join(known)})"
                )
                self.problem(key_node, f"unknown key '{key}' in {what}{hint}")
                continue
            if key in seen:
                self.problem(key_node, f"duplicate key '{key}' in {what}")
                continue
            seen[key] = key_node
            value = self.value(value_node, known[key])
            if value is not _INVALID:
                values[key] = (value, value_node)
        for f in fields:
            if f.required and f.name not in seen:
                self.problem(node, f"{what} is missing required key '{f.name}'")
        return values

    def value(self, node: yaml.Node, f: Field) -> Any:
        if not self._count(node) or not self._plain_tag(node):
            return _INVALID
        checker: Callable[[yaml.Node, Field], Any] = getattr(self, f"kind_{f.kind}")
        return checker(node, f)

    def _plain_tag(self, node: yaml.Node) -> bool:
        if node.tag in _SCALAR_TAGS or node.tag in (_STD + "seq", _STD + "map"):
            return True
        self.problem(node, f"tag {node.tag.replace(_STD, '!!')} is not allowed (plain YAML only)")
        return False

    def scalar(self, node: yaml.Node, f: Field) -> Any:
        """A plain scalar's Python value, or _INVALID (reported) for collections and tags."""
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, f"'{f.name}' must be {_expected(f)}, not {_describe(node)}")
            return _INVALID
        if node.tag not in _SCALAR_TAGS:
            self.problem(
                node, f"tag {node.tag.replace(_STD, '!!')} is not allowed (plain YAML only)"
            )
            return _INVALID
        if node.tag == _STD + "timestamp":
            return node.value
        value = self.constructor.construct_object(node)
        self.constructor.constructed_objects.pop(node, None)  # nothing refers back to it
        return value

    # -- kinds -----------------------------------------------------------------
    def kind_string(self, node: yaml.Node, f: Field) -> Any:
        value = self.scalar(node, f)
        if value is _INVALID:
            return value
        if not isinstance(value, str):
            self.problem(node, f"'{f.name}' must be text, not {_describe(node)}")
            return _INVALID
        if f.choices and value not in f.choices:
            close = difflib.get_close_matches(value, f.choices, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "use " + spec.either(f.choices)
            self.problem(node, f"unknown {f.name} '{value}'; {hint}")
            return _INVALID
        return value

    def kind_title(self, node: yaml.Node, f: Field) -> Any:
        value = self.kind_text(node, f)
        return value if value is _INVALID else value.text.template.strip()

    def kind_text(self, node: yaml.Node, f: Field) -> Any:
        value = self.scalar(node, f)
        if value is _INVALID:
            return value
        if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float)):
            self.problem(node, f"'{f.name}' must be text, not {_describe(node)} (quote it)")
            return _INVALID
        text = str(value)
        if not text.strip():
            self.problem(node, f"'{f.name}' cannot be empty")
            return _INVALID
        control = _CONTROL.search(text)
        if control:
            self.problem(
                node, f"'{f.name}' contains control character U+{ord(control.group()):04X}"
            )
            return _INVALID
        mark = node.start_mark
        return _Located(Text(text, mark.line + 1, mark.column + 1), node)

    def kind_texts(self, node: yaml.Node, f: Field) -> Any:
        if isinstance(node, yaml.SequenceNode):
            if not node.value:
                self.problem(node, f"'{f.name}' cannot be an empty list")
                return _INVALID
            items = [
                self.kind_text(item, f) if self._count(item) else _INVALID for item in node.value
            ]
            return _INVALID if any(item is _INVALID for item in items) else tuple(items)
        value = self.kind_text(node, f)
        return value if value is _INVALID else (value,)

    def kind_duration(self, node: yaml.Node, f: Field) -> Any:
        value = self.scalar(node, f)
        if value is _INVALID:
            return value
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.problem(node, f"'{f.name}': {exc}")
            return _INVALID
        return self._bounded(node, f, seconds, "s")

    def kind_number(self, node: yaml.Node, f: Field) -> Any:
        value = self.scalar(node, f)
        if value is _INVALID:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(node, f"'{f.name}' must be a number, not {_describe(node)}")
            return _INVALID
        if math.isnan(value) or math.isinf(value):
            self.problem(node, f"'{f.name}' must be a finite number, not {node.value}")
            return _INVALID
        return self._bounded(node, f, float(value), "")

    def kind_integer(self, node: yaml.Node, f: Field) -> Any:
        value = self.scalar(node, f)
        if value is _INVALID:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(node, f"'{f.name}' must be a whole number, not {_describe(node)}")
            return _INVALID
        return self._bounded(node, f, value, "")

    def kind_boolean(self, node: yaml.Node, f: Field) -> Any:
        value = self.scalar(node, f)
        if value is not _INVALID and not isinstance(value, bool):
            self.problem(node, f"'{f.name}' must be true or false, not {_describe(node)}")
            return _INVALID
        return value

    def kind_wait(self, node: yaml.Node, f: Field) -> Any:
        """`true` (until the person goes on), `false`, or the longest wait as a duration."""
        value = self.scalar(node, f)
        if value is _INVALID:
            return value
        if isinstance(value, bool):
            return Wait() if value else None
        try:
            seconds = parse_duration(value)
        except ValueError:
            self.problem(
                node,
                f"'wait' must be true, false or a duration like 2m, not {_describe(node)}",
            )
            return _INVALID
        seconds = self._bounded(node, f, seconds, "s")
        return seconds if seconds is _INVALID else Wait(seconds)

    def kind_repeat(self, node: yaml.Node, f: Field) -> Any:
        value = self.scalar(node, f)
        if value is _INVALID:
            return value
        low = high = None
        if isinstance(value, int) and not isinstance(value, bool):
            low = high = value
        elif isinstance(value, str) and (match := _RANGE.fullmatch(value)):
            low, high = int(match[1]), int(match[2])
        if low is None or high is None:
            self.problem(
                node, f"'repeat' must be a whole number or a range like 5-10, not {_describe(node)}"
            )
            return _INVALID
        if low < 1:
            self.problem(node, "'repeat' must be at least 1")
            return _INVALID
        if low > high:
            self.problem(node, f"'repeat' range {low}-{high} runs backwards; write {high}-{low}")
            return _INVALID
        if high > spec.MAX_REPEAT:
            self.problem(node, f"'repeat' is too large ({high}; the limit is {spec.MAX_REPEAT})")
            return _INVALID
        return (low, high)

    def kind_sides(self, node: yaml.Node, f: Field) -> Any:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.problem(node, "'sides' must be a non-empty list such as [left, right]")
            return _INVALID
        sides = []
        for item in node.value:
            if not self._count(item):
                return _INVALID
            value = self.kind_text(item, f)
            if value is _INVALID:
                return _INVALID
            sides.append(value.text.template.strip())
        return tuple(sides)

    def kind_vars(self, node: yaml.Node, f: Field) -> Any:
        if not isinstance(node, yaml.MappingNode):
            self.problem(
                node, f"'vars' must be a mapping of names to values, not {_describe(node)}"
            )
            return _INVALID
        result: dict[str, str] = {}
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not self._count(value_node):
                return _INVALID
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str) or not _VAR_NAME.fullmatch(key):
                self.problem(
                    key_node,
                    "variable names must be letters, digits, _ or - (starting with a letter)",
                )
                continue
            if key in BUILTIN_NAMES:
                self.problem(
                    key_node, f"'{key}' is a built-in placeholder and cannot be a variable"
                )
                continue
            if key in seen:
                self.problem(key_node, f"duplicate key '{key}' in vars")
                continue
            seen.add(key)
            value = self.kind_text(value_node, Field(key, "text", ""))
            if value is not _INVALID:
                result[key] = value.text.template
        self.var_values = result
        return result

    def kind_chime(self, node: yaml.Node, f: Field) -> Any:
        value = self.kind_string(node, f)
        if value is _INVALID:
            return value
        if value.strip().lower() in spec.CHIME_NAMES:
            return value.strip().lower()
        chime = self.base_dir / value
        try:
            chime = chime.resolve()
            exists, is_dir, is_file = chime.exists(), chime.is_dir(), chime.is_file()
        except OSError as exc:  # e.g. a name too long for the file system
            reason = exc.strerror or str(exc)
            self.problem(node, f"chime file '{_short(value)}' cannot be opened: {reason}")
            return _INVALID
        if is_dir:
            self.problem(node, f"chime '{value}' is a directory, not a WAV file")
        elif not exists:
            self.problem(
                node, f"chime file '{value}' not found (use none, bell, beep or a WAV file)"
            )
        elif not is_file:
            self.problem(node, f"chime '{value}' is not a regular file")
        elif not os.access(chime, os.R_OK):
            self.problem(node, f"chime file '{value}' cannot be read")
        elif not _looks_like_wav(chime):
            self.problem(node, f"chime file '{value}' is not a WAV file")
        else:
            return str(chime)
        return _INVALID

    def kind_music(self, node: yaml.Node, f: Field) -> Any:
        if isinstance(node, yaml.MappingNode):
            values = self.mapping(node, spec.MUSIC_FIELDS, "music")
            if values is None or "source" not in values:
                return _INVALID
            return Music(**{k: v for k, (v, _) in values.items()})
        source = self.kind_music_source(node, Field("music", "music_source", ""))
        return source if source is _INVALID else Music(source)

    def kind_music_source(self, node: yaml.Node, f: Field) -> Any:
        value = self.kind_string(node, f)
        if value is _INVALID:
            return value
        if value.strip().lower() in spec.MUSIC_GENERATED:
            return value.strip().lower()
        if value.strip().lower() == "none":
            self.problem(node, "music 'none' is not a source; leave 'music' out for no bed")
            return _INVALID
        problem = audio_file_problem(self.base_dir / value, value)
        if problem is not None:
            self.problem(node, problem)
            return _INVALID
        return str((self.base_dir / value).resolve())

    def kind_decibels(self, node: yaml.Node, f: Field) -> Any:
        value = self.scalar(node, f)
        if value is _INVALID:
            return value
        try:
            db = parse_decibels(value)
        except ValueError:
            self.problem(
                node, f"'{f.name}' must be a level in dB such as -20dB, not {_describe(node)}"
            )
            return _INVALID
        return self._bounded(node, f, db, " dB")

    def kind_voice(self, node: yaml.Node, f: Field) -> Any:
        values = self.mapping(node, spec.VOICE_FIELDS, "voice")
        if values is None:
            return _INVALID
        fields = {k: v for k, (v, _) in values.items()}
        model = None
        if "id" in fields:
            # Like a chime, a model path means the file beside the routine, not in the cwd.
            model = piper_model_path(fields["id"], fields.get("engine"), self.base_dir)
        if model is not None:
            if not is_file(model):
                relative = not Path(fields["id"]).expanduser().is_absolute()
                where = " (a relative path is taken from the routine's folder)" if relative else ""
                self.problem(
                    values["id"][1], f"piper voice model '{_short(fields['id'])}' not found{where}"
                )
                return _INVALID
            fields["id"] = str(model)
        if "id" in fields:
            # Engines know their voices only when speech is made: keep where each id was
            # written so an unknown one is reported at its line then.
            mark = values["id"][1].start_mark
            self.voice_marks.append((fields["id"], mark.line + 1, mark.column + 1))
        return VoiceSpec(**fields)

    def kind_steps(self, node: yaml.Node, f: Field) -> Any:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"'steps' must be a list of steps, not {_describe(node)}")
            return _INVALID
        if not node.value:
            self.problem(node, "'steps' needs at least one step")
            return _INVALID
        # Steps that are mappings are kept even when others are broken, so that their
        # texts are checked in the same run; a routine is built only without problems.
        steps = [self.step(item) for item in node.value]
        return [s for s in steps if s is not None]

    def _bounded(self, node: yaml.Node, f: Field, value: float, unit: str) -> Any:
        if f.above is not None and value <= f.above:
            self.problem(node, f"'{f.name}' must be greater than {f.above:g}{unit}")
        elif f.minimum is not None and value < f.minimum:
            self.problem(node, f"'{f.name}' must be at least {f.minimum:g}{unit}")
        elif f.maximum is not None and value > f.maximum:
            self.problem(node, f"'{f.name}' must be at most {f.maximum:g}{unit}")
        else:
            return value
        return _INVALID

    # -- documents -------------------------------------------------------------
    def step(self, node: yaml.Node) -> tuple[dict[str, tuple[Any, yaml.Node]], yaml.Node] | None:
        values = self.mapping(node, spec.STEP_FIELDS, "step")
        return None if values is None else (values, node)

    def routine(self, root: yaml.Node, name: str) -> Routine | None:
        values = self.mapping(root, spec.ROUTINE_FIELDS, "the routine")
        if values is None:
            return None
        # Templates are checked even when other keys have problems: all in one run.
        steps = self._check_steps(values.get("steps", ([], None))[0], values, root)
        self._check_intro_outro(values, root)
        if self.problems:
            return None
        return self._build(values, steps, name)

    def _names(self, values: dict[str, tuple[Any, yaml.Node]], node: yaml.Node) -> _Names:
        """Placeholder names usable everywhere: the routine's vars, or any name at all
        when `vars` is written but broken (its problem is reported already)."""
        if "vars" not in values and "vars" in _written(node):
            return _AnyName()
        return _Names(dict.fromkeys(values.get("vars", ({}, None))[0], ""))

    def _check_intro_outro(self, values: dict[str, tuple[Any, yaml.Node]], root: yaml.Node) -> None:
        var_names = self._names(values, root)
        not_here = "is only available in step texts"
        outside = {"side": not_here, "rep": not_here, "reps": not_here, "step": not_here}
        for located in values.get("intro", ((), None))[0]:
            self._check_template(located, var_names.with_(**outside, next=""))
        for located in values.get("outro", ((), None))[0]:
            self._check_template(located, var_names.with_(**outside, next=not_here))

    def _check_steps(
        self, raw_steps: list[Any], top: dict[str, tuple[Any, yaml.Node]], root: yaml.Node
    ) -> list[Step]:
        var_names = self._names(top, root)
        steps: list[Step] = []
        names: dict[str, yaml.Node] = {}
        for values, node in raw_steps:
            get = {k: v for k, (v, _) in values.items()}
            nodes = {k: n for k, (_, n) in values.items()}
            if "name" not in get:
                continue
            step_name = get["name"]
            folded = step_name.casefold()
            if folded in names:
                self.problem(nodes["name"], f"duplicate step name '{step_name}'")
            names[folded] = nodes["name"]
            if "count" in get and "each" in get:
                self.problem(nodes["count"], "use either 'each' or 'count', not both")
            if "hold" in get and "duration" in get:
                self.problem(nodes["duration"], "use either 'hold' or 'duration', not both")
            each = get.get("each")
            if get.get("count") and each is None:
                each = _Located(
                    Text(
                        "{rep}",
                        nodes["count"].start_mark.line + 1,
                        nodes["count"].start_mark.column + 1,
                    ),
                    nodes["count"],
                )
            countdown = get.get("countdown", 0)
            hold = get.get("hold", spec.DEFAULT_HOLD)
            broken = {"hold", "duration"} & _written(node) - set(get)
            if countdown and not broken:
                room = get.get("duration", hold)
                if room < countdown:
                    what = "duration" if "duration" in get else "hold"
                    self.problem(
                        nodes["countdown"],
                        f"countdown of {countdown} needs {what} of at least {countdown}s "
                        f"(it is {room:g}s)",
                    )
            sides = get.get("sides", ())
            # A written but broken `sides` is reported already: {side} is not also wrong.
            has_sides = bool(sides) or "sides" in _written(node)
            context = var_names.with_(
                step="",
                next="",
                reps="",
                side="" if has_sides else "needs 'sides' in this step",
                rep="is only available in 'each'",
            )
            for located in get.get("say", ()):
                self._check_template(located, context)
            if each is not None:
                self._check_template(each, context.with_(rep=""))
            steps.append(
                Step(
                    name=step_name,
                    say=tuple(t.text for t in get.get("say", ())),
                    repeat=get.get("repeat") or ((1, 1) if each is not None else None),
                    every=get.get("every", spec.DEFAULT_EVERY),
                    each=each.text if each is not None else None,
                    sides=sides,
                    hold=hold,
                    countdown=countdown,
                    duration=get.get("duration"),
                    wait=get.get("wait"),
                    voice=get.get("voice", VoiceSpec()),
                    line=node.start_mark.line + 1,
                    column=node.start_mark.column + 1,
                )
            )
        return steps

    def _check_template(self, located: _Located, context: dict[str, str]) -> None:
        issues = template_issues(located.text.template, context)
        for issue in issues:
            self.problem(located.node, issue.message, issue.offset)
        if issues:
            return
        template = located.text.template
        filled = fill(template, _Filled(self.var_values)) if "{" in template else template
        if not _speakable(filled):
            # An engine returns no audio for "...", "—" or a zero-width space: say so here,
            # not after synthesis.
            self.problem(
                located.node,
                "nothing to say: the text is only punctuation or invisible characters",
            )
        elif len(filled) > spec.MAX_CUE_CHARS:
            self.problem(
                located.node,
                f"the text is {len(filled)} characters long; one cue says at most"
                f" {spec.MAX_CUE_CHARS} (split it into several steps or a list of texts)",
            )

    def _build(
        self, values: dict[str, tuple[Any, yaml.Node]], steps: list[Step], name: str
    ) -> Routine:
        get = {k: v for k, (v, _) in values.items()}
        return Routine(
            title=get["title"],
            steps=tuple(steps),
            description=get.get("description", ""),
            voice=get.get("voice", VoiceSpec()),
            pace=get.get("pace", spec.DEFAULT_PACE),
            gap=get.get("gap", spec.DEFAULT_GAP),
            breath=get.get("breath", spec.DEFAULT_BREATH),
            chime=get.get("chime", spec.DEFAULT_CHIME),
            music=get.get("music"),
            vars=get.get("vars", {}),
            intro=tuple(t.text for t in get.get("intro", ())),
            outro=tuple(t.text for t in get.get("outro", ())),
            path=self.path,
            name=name or _slug(get["title"]),
            voice_marks=tuple(self.voice_marks),
        )


_DECIBELS = re.compile(r"\s*([+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+))\s*(?:[dD][bB])?\s*")


def parse_decibels(value: object) -> float:
    """A level in dB from a number or a string such as "-20dB" (ValueError otherwise)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str) and (match := _DECIBELS.fullmatch(value)):
        return float(match[1])
    raise ValueError(f"{value!r} is not a level in dB")


def audio_file_problem(path: Path, written: str) -> str | None:
    """Why `path` cannot be a music bed (missing, unreadable, not decodable audio), or None.

    The file's header is decoded here, so a bad file is reported where it is named, before
    any synthesis or sound."""
    import soundfile  # here: loading a routine without music never imports it

    shown = _short(written)
    try:
        resolved = path.expanduser().resolve()
        if resolved.is_dir():
            return f"music '{shown}' is a directory, not an audio file"
        if not resolved.exists():
            return (
                f"music file '{shown}' not found (use {', '.join(spec.MUSIC_GENERATED)} "
                "or an audio file)"
            )
        if not resolved.is_file():
            return f"music '{shown}' is not a regular file"
        if not os.access(resolved, os.R_OK):
            return f"music file '{shown}' cannot be read"
    except OSError as exc:
        return f"music file '{shown}' cannot be opened: {exc.strerror or exc}"
    undecodable = f"music file '{shown}' cannot be decoded (use WAV, FLAC, OGG or MP3)"
    if resolved.suffix.lower() == ".mp3" and not _looks_like_mp3(resolved):
        return undecodable  # before libmpg123, which prints its own notes to stderr
    try:
        info = soundfile.info(str(resolved))
    except (RuntimeError, OSError, ValueError):  # soundfile.LibsndfileError is a RuntimeError
        return undecodable
    if info.frames <= 0 or info.samplerate <= 0:
        return f"music file '{shown}' holds no audio"
    return None


def _looks_like_mp3(path: Path) -> bool:
    """An ID3 tag or an MPEG audio frame sync at the start."""
    try:
        with path.open("rb") as handle:
            head = handle.read(3)
    except OSError:
        return False
    return head == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _looks_like_wav(path: Path) -> bool:
    """RIFF/WAVE (or RF64) header with a format chunk: enough to say "not a WAV" at check."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError:
        return False
    return (
        head[:4] in (b"RIFF", b"RF64")
        and head[8:12] == b"WAVE"
        and head[12:16] in (b"fmt ", b"JUNK", b"bext", b"LIST")
    )


class _Names(dict[str, str]):
    """Placeholder names usable in a text: name -> "" or why it is not usable here."""

    def with_(self, **more: str) -> _Names:
        names = type(self)(self)
        names.update(more)
        return names


class _AnyName(_Names):
    """Every name is usable: the routine's vars could not be read."""

    def __contains__(self, name: object) -> bool:
        return True

    def __missing__(self, name: str) -> str:
        return ""


def _written(node: yaml.Node) -> set[str]:
    """Keys written in a mapping node, valid or not."""
    if not isinstance(node, yaml.MappingNode):
        return set()
    return {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}


@dataclass(frozen=True)
class _Located:
    text: Text
    node: yaml.Node


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    tag = node.tag.replace(_STD, "")
    names = {
        "str": "text",
        "int": "a whole number",
        "float": "a number",
        "bool": "true/false",
        "null": "empty",
    }
    shown = node.value if len(node.value) <= 30 else node.value[:27] + "..."
    return f"{names.get(tag, tag)} '{shown}'" if tag != "null" else "empty"


def _expected(f: Field) -> str:
    return {
        "duration": "a duration",
        "number": "a number",
        "integer": "a whole number",
        "boolean": "true or false",
        "wait": "true, false or a duration",
    }.get(f.kind, "text")
