"""A batch manifest: YAML naming the tracks to render, expanded into jobs.

    defaults: {format: mp3, captions: true}
    jobs:
      - {routine: facial-massage, out: face-slow.mp3, pace: 0.8}
    matrix:
      routine: [facial-massage, my/hand-care.yaml]
      voice: [en-us, en-gb]
      pace: [0.8, 1, 1.25]
      out: "tracks/{routine}/{voice}-{pace}.{format}"

Read with the routine loader's machinery (plain YAML, every problem located). Each job's
plan options go through `api.plan_options`, the one place they are checked, and a value it
refuses is reported where the manifest wrote it. Paths are relative to the manifest; two
jobs writing the same file are an error before any work.
"""

from __future__ import annotations

import inspect
import itertools
import os
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

from voiceguide import api
from voiceguide.errors import LocatedError, OptionError, Problem, RoutineError
from voiceguide.export.writers import FORMATS
from voiceguide.routine import spec
from voiceguide.routine.builtins import builtin_path
from voiceguide.routine.loader import _INVALID, _Checker, _compose, _decode
from voiceguide.routine.models import piper_model_path
from voiceguide.routine.spec import MUSIC_GENERATED, Field, Kind

if TYPE_CHECKING:
    from voiceguide.config import Config

__all__ = ["OPTIONS", "Job", "Manifest", "ManifestError", "load_manifest", "parse_manifest"]


class ManifestError(LocatedError):
    """A batch manifest is invalid; carries every problem found, each located in it."""


@dataclass(frozen=True)
class Option:
    """One key a job can set: its JSON Schema and its help (the schema is built from these)."""

    name: str
    schema: dict[str, Any]
    help: str


_BOOL_OR_PATH: dict[str, Any] = {"type": ["boolean", "string"]}
_DURATION: dict[str, Any] = {"type": ["number", "string"]}
FORMAT_NAMES = tuple(dict.fromkeys(FORMATS.values()))

# Every key of a job. The plan options are checked by api.plan_options; these are their
# shapes and help for the JSON Schema.
OPTIONS: tuple[Option, ...] = (
    Option("routine", {"type": "string"}, "A built-in routine's name, or a routine file."),
    Option(
        "out",
        {"type": "string"},
        "Output file; may use {routine}, {voice}, {engine}, {pace}, {reps}, {rate}, {fit}, "
        "{wait}, {sample_rate} and {format} [default: {routine} and the keys a matrix varies].",
    ),
    Option(
        "pace",
        {"type": "number", "exclusiveMinimum": 0, "maximum": spec.MAX_PACE},
        "Multiply the routine's pace.",
    ),
    Option(
        "reps",
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": spec.MAX_REPEAT},
                {"enum": ["min", "max"]},
            ]
        },
        "Repetitions of every repeating step: a number, min or max.",
    ),
    Option(
        "rate",
        {"type": "integer", "minimum": spec.MIN_RATE, "maximum": spec.MAX_RATE},
        "Speech rate in words per minute.",
    ),
    Option(
        "voice",
        {"type": "string"},
        "Voice id; a Piper model path is taken from the manifest's folder.",
    ),
    Option("engine", {"enum": list(spec.ENGINES)}, "Speech engine."),
    Option("fit", _DURATION, "Choose the pace so the track lasts exactly this long (e.g. 12m)."),
    Option("wait", _DURATION, "Length of every `wait: true` step [default: 10s]."),
    Option("music", {"type": "string"}, "Music bed (passed to the plan options)."),
    Option(
        "loudness",
        {"type": "number", "minimum": spec.MIN_LOUDNESS, "maximum": spec.MAX_LOUDNESS},
        "Integrated loudness of the track in LUFS [default: -16].",
    ),
    Option(
        "sample_rate",
        {"type": "integer", "minimum": api.MIN_SAMPLE_RATE, "maximum": api.MAX_SAMPLE_RATE},
        "Sample rate in Hz [default: the voice's own].",
    ),
    Option(
        "captions", _BOOL_OR_PATH, "Captions: true (a .vtt beside the track), vtt, srt, or a file."
    ),
    Option("timeline", _BOOL_OR_PATH, "Plan JSON: true (a .json beside the track) or a file."),
    Option(
        "split",
        _BOOL_OR_PATH,
        "One file per step pass: true (a folder named after the track) or a folder.",
    ),
    Option(
        "format",
        {"enum": list(FORMAT_NAMES)},
        "Audio format when `out` has no extension [default: wav].",
    ),
)

# Keys passed to api.plan_options as they are (music only when it has it).
_PLAN_KEYS = ("pace", "reps", "rate", "voice", "engine", "fit", "wait", "music")
_TEMPLATE_KEYS = (
    "routine",
    "voice",
    "engine",
    "pace",
    "reps",
    "rate",
    "fit",
    "wait",
    "sample_rate",
    "format",
)
_VALUE = cast(Kind, "scalar")  # kinds of this module's checker (kind_scalar, kind_axis, ...)
_AXIS = cast(Kind, "axis")
_OPTIONS_KIND = cast(Kind, "options")
_JOBS = cast(Kind, "jobs")
_MATRIX = cast(Kind, "matrix")
_OPTION_FIELDS = tuple(Field(o.name, _VALUE, o.help) for o in OPTIONS)
_AXIS_FIELDS = tuple(Field(o.name, _VALUE if o.name == "out" else _AXIS, o.help) for o in OPTIONS)
_ROOT_FIELDS = (
    Field("defaults", _OPTIONS_KIND, "Options every job starts from."),
    Field("jobs", _JOBS, "Jobs, each a mapping of options with at least `routine`."),
    Field(
        "matrix", _MATRIX, "Every combination of the listed values (or a list of such mappings)."
    ),
)


def plan_keywords() -> frozenset[str]:
    """The plan keys `api.plan_options` accepts today."""
    accepted = set(inspect.signature(api.plan_options).parameters)
    return frozenset(k for k in _PLAN_KEYS if k in accepted)


@dataclass(frozen=True)
class Job:
    """One track to render: what to render, with which options, to which files."""

    number: int  # 1-based, in manifest order (explicit jobs, then the matrix)
    routine: str  # as written in the manifest
    source: str  # a built-in's name or an absolute routine path
    run: api.Run  # the checked plan options
    settings: dict[str, Any]  # the job's keys as written (after defaults): report and stamp
    out: Path
    sample_rate: int | None = None
    loudness: float | None = spec.DEFAULT_LOUDNESS
    captions: Path | None = None
    timeline: Path | None = None
    split: Path | None = None
    line: int = 0
    column: int = 0

    @property
    def outputs(self) -> tuple[Path, ...]:
        """Every file or folder the job writes."""
        return tuple(p for p in (self.out, self.captions, self.timeline, self.split) if p)


@dataclass(frozen=True)
class Manifest:
    path: str  # as the user gave it (problems are located against it)
    folder: Path  # where its relative paths start
    jobs: tuple[Job, ...]


def load_manifest(
    path: str | os.PathLike[str],
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    config: Config | None = None,
) -> Manifest:
    """Read and expand a manifest file; ManifestError lists every problem found."""
    file = Path(path)
    shown = str(path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise ManifestError([Problem(shown, 0, 0, "no such file")]) from None
    except IsADirectoryError:
        raise ManifestError([Problem(shown, 0, 0, "is a directory, not a manifest")]) from None
    except OSError as exc:
        raise ManifestError([Problem(shown, 0, 0, f"cannot read: {exc.strerror or exc}")]) from None
    if len(data) > spec.MAX_FILE_BYTES:
        raise ManifestError([Problem(shown, 0, 0, "file is too large (the limit is 1 MiB)")])
    return parse_manifest(
        data,
        shown,
        folder=file.resolve().parent,
        cache_dir=cache_dir,
        use_cache=use_cache,
        config=config,
    )


def parse_manifest(
    data: bytes | str,
    path: str = "<manifest>",
    *,
    folder: Path | None = None,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    config: Config | None = None,
) -> Manifest:
    """Validate manifest text and expand its jobs; ManifestError on any problem."""
    try:
        text = _decode(data, path) if isinstance(data, bytes) else data
        root = _compose(text, path)
    except RoutineError as error:  # the loader's located YAML problems
        raise ManifestError(error.problems) from None
    if config is None:
        from voiceguide.config import load_config

        config = load_config()
    base = folder or Path.cwd()
    checker = _ManifestChecker(path, base)
    values = checker.mapping(root, _ROOT_FIELDS, "the manifest")
    jobs: list[Job] = []
    if values is not None and not checker.problems:
        if "jobs" not in values and "matrix" not in values:
            checker.problem(root, "the manifest needs 'jobs' or 'matrix' (or both)")
        expander = _Expander(checker, base, cache_dir, use_cache, config)
        jobs = expander.expand(values)
        if not checker.problems and not jobs:
            checker.problem(root, "the manifest names no job")
    if checker.problems:
        raise ManifestError(
            sorted(dict.fromkeys(checker.problems), key=lambda p: (p.line, p.column))
        )
    return Manifest(path, base, tuple(jobs))


# -- reading ------------------------------------------------------------------------------


class _ManifestChecker(_Checker):
    """The routine loader's checker (structure, unknown keys with hints, plain tags, the node
    budget) with this format's kinds."""

    def kind_scalar(self, node: yaml.Node, f: Field) -> Any:
        value = self.scalar(node, f)
        if value is not _INVALID and value is None:
            self.problem(node, f"'{f.name}' needs a value")
            return _INVALID
        return value

    def kind_axis(self, node: yaml.Node, f: Field) -> Any:
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        if isinstance(node, yaml.SequenceNode) and not items:
            self.problem(node, f"'{f.name}' cannot be an empty list")
            return _INVALID
        values = [(self.value(item, replace_kind(f, _VALUE)), item) for item in items]
        return _INVALID if any(v is _INVALID for v, _ in values) else values

    def kind_options(self, node: yaml.Node, f: Field) -> Any:
        values = self.mapping(node, _OPTION_FIELDS, f"'{f.name}'")
        return _INVALID if values is None else values

    def kind_jobs(self, node: yaml.Node, f: Field) -> Any:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"'jobs' must be a list of jobs, not {_what(node)}")
            return _INVALID
        jobs = []
        for item in node.value:
            values = self.mapping(item, _OPTION_FIELDS, "a job") if self._count(item) else None
            if values is not None:
                jobs.append((values, item))
        return jobs

    def kind_matrix(self, node: yaml.Node, f: Field) -> Any:
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        matrices = []
        for item in items:
            values = self.mapping(item, _AXIS_FIELDS, "the matrix") if self._count(item) else None
            if values is not None:
                matrices.append((values, item))
        return matrices


def replace_kind(f: Field, kind: Kind) -> Field:
    return Field(f.name, kind, f.help)


def _what(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    return "a list" if isinstance(node, yaml.SequenceNode) else "a value"


# -- expanding ----------------------------------------------------------------------------

_Located = dict[str, tuple[Any, yaml.Node]]


class _Number(float):
    """A number in an `out` template: `{pace}` is 1 or 0.8 (not 1.0); `{pace:.2f}` works."""

    def __format__(self, spec: str) -> str:
        return format(float(self), spec or "g")


@dataclass
class _Expander:
    checker: _ManifestChecker
    base: Path
    cache_dir: Path | None
    use_cache: bool
    config: Config
    accepted: frozenset[str] = field(default_factory=plan_keywords)

    def expand(self, values: _Located) -> list[Job]:
        defaults: _Located = values.get("defaults", ({}, None))[0]
        candidates: list[tuple[_Located, yaml.Node, str]] = []
        for job, node in values.get("jobs", ([], None))[0]:
            candidates.append(({**defaults, **job}, node, "{routine}.{format}"))
        for matrix, node in values.get("matrix", ([], None))[0]:
            for combination in _combinations(matrix):
                varying = [
                    k for k, v in matrix.items() if k not in ("out", "routine") and len(v[0]) > 1
                ]
                default_out = "{routine}" + "".join(f"-{{{k}}}" for k in varying) + ".{format}"
                candidates.append(({**defaults, **combination}, node, default_out))
        jobs = []
        for number, (settings, node, default_out) in enumerate(candidates, start=1):
            job = self.job(number, settings, node, default_out)
            if job is not None:
                jobs.append(job)
        self.check_collisions(jobs, [c[0] for c in candidates], [c[1] for c in candidates])
        return jobs

    def job(self, number: int, located: _Located, node: yaml.Node, default_out: str) -> Job | None:
        problems_before = len(self.checker.problems)
        values = {k: v for k, (v, _) in located.items()}

        def at(key: str) -> yaml.Node:
            return located[key][1] if key in located else node

        if "routine" not in values:
            self.checker.problem(
                node, "a job needs 'routine' (in the job, the defaults or the matrix)"
            )
            return None
        for key in ("music",):
            if key in values and key not in self.accepted:
                self.checker.problem(
                    at(key),
                    f"option '{key}' is not supported by this voiceguide's render (no such plan option)",
                )
        routine = str(values["routine"])
        keywords = {k: values[k] for k in _PLAN_KEYS if k in values and k in self.accepted}
        for key in ("voice", "engine", "music"):
            if key in keywords:
                keywords[key] = str(keywords[key])
        if "engine" in keywords and keywords["engine"] not in spec.ENGINES:
            self.checker.problem(
                at("engine"),
                f"unknown engine '{keywords['engine']}'; use {spec.either(spec.ENGINES)}",
            )
        if "voice" in keywords:
            model = piper_model_path(keywords["voice"], keywords.get("engine"), self.base)
            if model is not None:
                keywords["voice"] = str(model)
        music = keywords.get("music")
        if music is not None and music.strip().lower() not in ("none", *MUSIC_GENERATED):
            keywords["music"] = str(self.base / Path(music).expanduser())  # a file: the manifest's
        try:
            run = api.plan_options(
                **keywords, cache_dir=self.cache_dir, use_cache=self.use_cache, config=self.config
            )
        except OptionError as error:
            self.checker.problem(
                at(error.option), f"'{error.option}': {error.explain(lambda k: repr(k))}"
            )
            return None
        sample_rate = None
        if "sample_rate" in values:
            try:
                sample_rate = api.check_sample_rate(values["sample_rate"])
            except OptionError as error:
                self.checker.problem(at("sample_rate"), f"'sample_rate': {error.reason}")
        loudness: float | None = spec.DEFAULT_LOUDNESS
        if "loudness" in values:
            try:
                loudness = api.check_loudness(values["loudness"])
            except OptionError as error:
                self.checker.problem(at("loudness"), f"'loudness': {error.reason}")
        fmt = values.get("format")
        if fmt is not None and fmt not in FORMAT_NAMES:
            self.checker.problem(
                at("format"), f"unknown format '{fmt}'; use {', '.join(FORMAT_NAMES)}"
            )
            fmt = None
        fields = self.template_fields(routine, values, fmt or "wav")
        out_text = str(values.get("out", default_out))
        out = self.path_from(out_text, fields, at("out"))
        if out is None:
            return None
        suffix_format = FORMATS.get(out.suffix.lower())
        if suffix_format is None:
            out = out.with_name(f"{out.name}.{fmt or 'wav'}")
        elif fmt is not None and suffix_format != fmt:
            self.checker.problem(at("out"), f"'out' ends in {out.suffix} but 'format' is {fmt}")
        captions = self.sidecar("captions", values, fields, out, ".vtt", at("captions"))
        timeline = self.sidecar("timeline", values, fields, out, ".json", at("timeline"))
        split = self.sidecar("split", values, fields, out, "", at("split"))
        if captions is not None and captions.suffix.lower() not in (".vtt", ".srt"):
            self.checker.problem(
                at("captions"), f"captions file '{captions.name}' must end in .vtt or .srt"
            )
        if len(self.checker.problems) > problems_before:
            return None
        return Job(
            number=number,
            routine=routine,
            source=self.routine_source(routine),
            run=run,
            settings={k: _plain(v) for k, v in values.items()},
            out=out,
            sample_rate=sample_rate,
            loudness=loudness,
            captions=captions,
            timeline=timeline,
            split=split,
            line=node.start_mark.line + 1,
            column=node.start_mark.column + 1,
        )

    def routine_source(self, routine: str) -> str:
        """A built-in's name, or the routine file's absolute path (relative: the manifest's)."""
        path = self.base / Path(routine).expanduser()
        # A folder named like a built-in (a previous batch's output, say) is not a routine.
        if not _is_file(path) and "/" not in routine and builtin_path(routine) is not None:
            return routine
        return str(path)

    def template_fields(self, routine: str, values: dict[str, Any], fmt: str) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for key in _TEMPLATE_KEYS:
            value = values.get(key)
            if key == "format":
                value = fmt
            if value is None:
                continue
            if key in ("routine", "voice"):
                text = str(value)
                # A path names its file: my/hand-care.yaml -> hand-care.
                value = (
                    Path(text).stem
                    if "/" in text or text.endswith((".yaml", ".yml", ".onnx"))
                    else text
                )
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                value = _Number(value)
            fields[key] = value
        return fields

    def path_from(self, template: str, fields: dict[str, Any], node: yaml.Node) -> Path | None:
        try:
            names = [
                name for _, name, _, _ in string.Formatter().parse(template) if name is not None
            ]
        except ValueError as error:
            self.checker.problem(node, f"'{template}' is not a valid template: {error}")
            return None
        for name in names:
            if name not in _TEMPLATE_KEYS:
                self.checker.problem(
                    node,
                    f"unknown placeholder {{{name}}}; use {', '.join('{' + k + '}' for k in _TEMPLATE_KEYS)}",
                )
                return None
            if name not in fields:
                self.checker.problem(
                    node, f"placeholder {{{name}}} has no value in this job (set '{name}')"
                )
                return None
        try:
            text = template.format(**fields)
        except (ValueError, TypeError) as error:
            self.checker.problem(node, f"'{template}' cannot be filled in: {error}")
            return None
        if not text.strip():
            self.checker.problem(node, "the output path is empty")
            return None
        return self.base / Path(text).expanduser()

    def sidecar(
        self,
        key: str,
        values: dict[str, Any],
        fields: dict[str, Any],
        out: Path,
        suffix: str,
        node: yaml.Node,
    ) -> Path | None:
        value = values.get(key, False)
        if value is False:
            return None
        if value is True:
            return out.with_suffix(suffix)
        text = str(value)
        if key == "captions" and text.lower() in ("vtt", "srt"):
            return out.with_suffix("." + text.lower())
        return self.path_from(text, fields, node)

    def check_collisions(
        self, jobs: list[Job], settings: list[_Located], nodes: list[yaml.Node]
    ) -> None:
        """Two jobs writing one file: each later one is reported, naming the first."""
        owners: dict[Path, Job] = {}
        for job in jobs:
            located = settings[job.number - 1]
            node = located["out"][1] if "out" in located else nodes[job.number - 1]
            for path in job.outputs:
                key = Path(os.path.normpath(path))
                first = owners.setdefault(key, job)
                if first is not job:
                    self.checker.problem(
                        node,
                        f"job {job.number} writes {_shown(key, self.base)}, which job {first.number} "
                        f"(line {first.line}) writes too",
                    )


def _combinations(matrix: _Located) -> Iterator[_Located]:
    """Every combination of a matrix's lists, the first key varying slowest."""
    out = matrix.get("out")
    axes = [(k, v) for k, (v, _) in matrix.items() if k != "out"]
    for choice in itertools.product(*(values for _, values in axes)):
        combination: _Located = {k: item for (k, _), item in zip(axes, choice, strict=True)}
        if out is not None:
            combination["out"] = out
        yield combination


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _shown(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)
