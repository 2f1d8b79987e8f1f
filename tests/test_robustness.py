"""Bad input, part two: the corpus in tests/robustness/ (53 routines) plus inputs that need
setting up (a 50 MB sparse file, unreadable or non-WAV chimes, absurd command-line values).

Every case: exit 1 (2 for a command-line usage error), every stderr line is one problem in
the form PATH:LINE:COL: error: MESSAGE, no traceback, under a second. tests/test_malformed.py
holds the first 40 routines and 10 hostile files; one process checking all of them and this
corpus stays under a peak RSS bound.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.test_malformed import CASES as MALFORMED
from tests.test_malformed import HOSTILE
from tests.test_malformed import expected as expected_line
from voiceguide.cli import main
from voiceguide.errors import RoutineError, VoiceguideError
from voiceguide.routine.loader import parse_routine
from voiceguide.timeline import PlanOptions, build_timeline

CORPUS = Path(__file__).parent / "robustness"
CASES = sorted(CORPUS.glob("*.yaml"))
# `PATH:LINE:COL: error: ...`, or `PATH: error: ...` for a problem with the whole file.
LOCATED = re.compile(r"^(?P<path>.+?)(?::(?P<line>\d+):(?P<col>\d+))?: error: \S.*$")
MEMORY_LIMIT_MIB = 150  # peak RSS of one `voiceguide` process; ~33 MiB is the interpreter
ROOT = Path(__file__).resolve().parent.parent
TIME_LIMIT = 1.0  # seconds, in-process (interpreter start-up excluded)
PLAN_TIME_LIMIT = 5.0  # seconds, for inputs that hit a limit only while planning


def invoke(*args: str) -> tuple[Result, float]:
    """Run the CLI in-process; returns the result and the seconds it took."""
    started = time.monotonic()
    result = CliRunner().invoke(main, list(args))
    return result, time.monotonic() - started


# Runs the CLI and then reports the process's own peak RSS (VmHWM). Not wait4/ru_maxrss:
# Linux carries the forking parent's peak over exec, so a child of a 500 MB pytest process
# would report 500 MB.
_MEASURED = """
import sys
from voiceguide.cli import main
from voiceguide.errors import RoutineError, VoiceguideError
from voiceguide.routine.loader import parse_routine
from voiceguide.timeline import PlanOptions, build_timeline
try:
    main(sys.argv[2:], prog_name="voiceguide")
finally:
    with open("/proc/self/status") as status, open(sys.argv[1], "w") as out:
        out.write(next(l for l in status if l.startswith("VmHWM:")).split()[1])
"""


def peak_rss(*args: str) -> tuple[int, str]:
    """Run `voiceguide ARGS` in a fresh process expecting exit 1: its peak resident memory
    in MiB and its stderr."""
    with tempfile.NamedTemporaryFile("r") as report:
        proc = subprocess.run(
            [sys.executable, "-c", _MEASURED, report.name, *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        return int(report.read()) // 1024, proc.stderr


def assert_clean_failure(result: Result, path: Path | str, code: int = 1) -> list[str]:
    """Exit `code`, no traceback, and every stderr line a located problem in `path`."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines
    for line in lines:
        match = LOCATED.match(line)
        assert match, f"not PATH:LINE:COL: error: ...: {line!r}"
        assert match["path"] == str(path)
    return lines


def test_bad_input_corpus_has_at_least_fifty_cases():
    generated = len(HOSTILE) + len(SETUP_CASES) + 3  # + missing, directory, unreadable
    assert len(CASES) >= 50
    assert len(MALFORMED) + len(CASES) + generated >= 100


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_robustness_corpus(path: Path):
    result, seconds = invoke("check", str(path))
    lines = assert_clean_failure(result, path)
    assert f"{path}:{expected_line(path)}" in lines
    assert seconds < TIME_LIMIT


def test_checking_every_bad_input_at_once_stays_within_a_memory_bound(tmp_path: Path):
    """One process checks both corpora, the hostile files and the 50 MB file: its peak RSS
    stays near the interpreter's own (~33 MiB here)."""
    paths = [*MALFORMED, *CASES, sparse_50_mb(tmp_path)]
    for name, (data, _) in HOSTILE.items():
        paths.append(tmp_path / f"{name}.yaml")
        paths[-1].write_bytes(data)
    rss, stderr = peak_rss("check", *map(str, paths))
    assert rss < MEMORY_LIMIT_MIB, f"{rss} MiB"
    assert len(stderr.splitlines()) >= len(paths)


# -- cases that need setting up --------------------------------------------------------

ROUTINE = "title: T\nchime: {chime}\nsteps:\n  - name: A\n    say: hi\n"


def sparse_50_mb(folder: Path) -> Path:
    path = folder / "huge.yaml"
    with open(path, "wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: costs no disk, reads as 50 MB of NULs
    return path


def unreadable_chime(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    chime = folder / "bell.wav"
    chime.write_bytes(b"RIFF")
    chime.chmod(0)
    if os.geteuid() == 0:  # root reads every file: make the permission check say no
        real = os.access
        monkeypatch.setattr(
            os, "access", lambda p, m, **kw: False if Path(p) == chime else real(p, m, **kw)
        )
    path = folder / "r.yaml"
    path.write_text(ROUTINE.format(chime="bell.wav"))
    return path


def fifo_chime(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    os.mkfifo(folder / "bell.wav")  # opening it would block forever: must not be opened
    path = folder / "r.yaml"
    path.write_text(ROUTINE.format(chime="bell.wav"))
    return path


def device_file(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return Path("/dev/zero")  # endless: refused without reading it


def fifo_routine(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = folder / "r.yaml"
    os.mkfifo(path)  # nobody writes to it: opening it for reading would wait forever
    return path


def link_loop(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = folder / "r.yaml"
    path.symlink_to(folder / "loop.yaml")
    (folder / "loop.yaml").symlink_to(path)
    return path


SETUP_CASES = {
    "sparse-50-mb": (
        lambda folder, _: sparse_50_mb(folder),
        "1:1: error: file is too large (52428800 bytes; the limit is 1 MiB)",
    ),
    "dev-zero": (device_file, "1:1: error: is not a regular file (a pipe or a device)"),
    "fifo-routine": (fifo_routine, "1:1: error: is not a regular file (a pipe or a device)"),
    "link-loop": (
        link_loop,
        "1:1: error: cannot read file: Too many levels of symbolic links",
    ),
    "chime-unreadable": (unreadable_chime, "2:8: error: chime file 'bell.wav' cannot be read"),
    "chime-fifo": (fifo_chime, "2:8: error: chime 'bell.wav' is not a regular file"),
}


@pytest.mark.parametrize("name", sorted(SETUP_CASES))
def test_inputs_that_need_setting_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str):
    make, message = SETUP_CASES[name]
    path = make(tmp_path, monkeypatch)
    result, seconds = invoke("check", str(path))
    lines = assert_clean_failure(result, path)
    assert any(line.startswith(f"{path}:{message}") for line in lines), lines
    assert seconds < TIME_LIMIT


def write(folder: Path, text: str, name: str = "r.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--reps", "1000000000"],
            "Invalid value for '--reps': '1000000000' is not a whole number",
        ),
        (["--reps", "-1"], "Invalid value for '--reps'"),
        (["--pace", "0"], "Invalid value for '--pace'"),
        (["--fit", "1e12s"], "Invalid value for '--fit': invalid duration '1e12s'"),
        (["--fit", "-5m"], "Invalid value for '--fit'"),
        (["--rate", "100000"], "Invalid value for '--rate'"),
        (["--fit", "10m", "--pace", "2"], "--fit chooses the pace itself"),
    ],
)
def test_absurd_options_are_usage_errors(args: list[str], message: str):
    result, seconds = invoke("plan", "--estimate", "facial-massage", *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert message in result.stderr
    assert seconds < TIME_LIMIT


@pytest.mark.parametrize(
    "args, message",
    [
        (["--reps", "10000"], "error: the routine would have more than 100000 events"),
        (["--pace", "0.0000001"], "; the limit is 24 hours"),
        (["--fit", "0.5s"], "error: cannot fit into 0:00.5: speech alone lasts"),
    ],
)
def test_options_that_blow_up_the_plan_fail_before_any_work(args: list[str], message: str):
    result, seconds = invoke("plan", "--estimate", "facial-massage", *args)
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    # Every limit the options break, one located line each, found before any layout.
    lines = result.stderr.splitlines()
    assert lines and all(re.match(r"(facial-massage:\d+:\d+: )?error: ", x) for x in lines)
    assert message in result.stderr
    assert seconds < TIME_LIMIT


def test_the_events_limit_stays_within_a_memory_bound():
    rss, stderr = peak_rss("plan", "--estimate", "facial-massage", "--reps", "10000")
    assert "more than 100000 events" in stderr
    assert rss < MEMORY_LIMIT_MIB, f"{rss} MiB"


def test_every_limit_error_of_a_plan_is_one_line(tmp_path: Path):
    sides = ", ".join(f"s{i}" for i in range(20))
    path = write(
        tmp_path,
        f"title: T\nsteps:\n  - name: A\n    repeat: 10000\n    every: 0.001\n    sides: [{sides}]\n",
    )
    result, seconds = invoke("check", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}:3:5: error: the routine would have more than 100000 events "
        "by the end of step 'A'; reduce repeat or --reps"
    ]
    assert seconds < TIME_LIMIT


def test_a_chime_that_is_not_a_wav_fails_the_render_in_one_line(tmp_path: Path):
    (tmp_path / "bell.wav").write_bytes(b"RIFF" + b"junk" * 50)
    path = write(tmp_path, ROUTINE.format(chime="bell.wav"))
    out = tmp_path / "out" / "r.wav"
    result = CliRunner().invoke(main, ["render", str(path), "-o", str(out), "--no-cache", "-q"])
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines == [f"{path}:2:8: error: chime file 'bell.wav' is not a WAV file"]
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


# -- known gaps: each documents a failure mode that still needs a fix elsewhere ---------

LONG = "a" * 5000


def test_a_routine_path_too_long_for_the_os_is_one_line():
    result, _ = invoke("check", LONG + ".yaml")
    assert_clean_failure(result, LONG + ".yaml")


def test_a_chime_path_too_long_for_the_os_is_one_line(tmp_path: Path):
    path = write(tmp_path, ROUTINE.format(chime=LONG + ".wav"))
    result, _ = invoke("check", str(path))
    assert_clean_failure(result, path)


def test_pace_nan_is_a_usage_error():
    result, _ = invoke("plan", "--estimate", "facial-massage", "--pace", "nan")
    assert result.exit_code == 2
    assert "Invalid value for '--pace'" in result.stderr


def test_check_finds_a_chime_that_is_not_a_wav(tmp_path: Path):
    (tmp_path / "bell.wav").write_bytes(b"RIFF" + b"junk" * 50)
    path = write(tmp_path, ROUTINE.format(chime="bell.wav"))
    result, _ = invoke("check", str(path))
    assert_clean_failure(result, path)


def test_plan_limit_errors_name_their_file(tmp_path: Path):
    path = write(tmp_path, "title: T\nsteps:\n  - name: A\n    repeat: 10000\n    every: 10s\n")
    result, _ = invoke("check", str(path))
    assert result.exit_code == 1
    assert str(path) in result.stderr


def test_a_wide_list_checks_within_the_time_bound(tmp_path: Path):
    items = ",".join(["a"] * 30000)
    path = write(tmp_path, f"title: T\nsteps:\n  - name: A\n    say: [{items}]\n    hold: -1\n")
    result, seconds = invoke("check", str(path))
    assert_clean_failure(result, path)
    assert seconds < TIME_LIMIT


def test_a_control_character_is_one_located_line(tmp_path: Path):
    path = tmp_path / "r.yaml"
    path.write_bytes(b"title: T\nsteps:\n  - name: A\x01\n")
    result, _ = invoke("check", str(path))
    lines = assert_clean_failure(result, path)
    assert lines == [f"{path}:3:12: error: invalid YAML: unacceptable character #x0001"]


def test_a_multi_line_value_is_quoted_on_one_line(tmp_path: Path):
    path = tmp_path / "r.yaml"
    path.write_text("'title: T\n\n  and more'\n")
    result, _ = invoke("check", str(path))
    lines = assert_clean_failure(result, path)
    assert lines == [
        f"{path}:1:1: error: the routine must be a mapping of keys to values, "
        "not text 'title: T\\nand more'"
    ]


def test_a_line_break_in_a_path_stays_on_one_line(tmp_path: Path):
    missing = tmp_path / "no\nsuch.yaml"
    result, _ = invoke("check", str(missing))
    assert result.exit_code == 1
    escaped = str(missing).replace("\n", "\\n")
    assert result.stderr.splitlines() == [f"{escaped}: error: no such file"]

    result, _ = invoke("render", "facial-massage", "-o", str(tmp_path / "bad\nname.xyz"))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: unsupported output format '.xyz' (use .wav, .flac, .ogg or .mp3)"
    ]


# -- fuzzing the bytes, not just the structure (tests/test_properties.py does that) ------

FRAGMENTS = [
    "title: T\n",
    "steps:\n",
    "  - name: A\n",
    "    say: hi\n",
    "    hold: 1\n",
    "&a ",
    "*a",
    "<<: ",
    "[",
    "]",
    "{",
    "}",
    "- ",
    ": ",
    "\t",
    "!!binary ",
    "'",
    '"',
    "\\u0000",
    "\n",
    "    repeat: 5-10\n",
    "    every: 1e9\n",
    "{side}",
    "{{",
    "---\n",
    "%YAML 1.1\n",
    "? ",
]


UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
FUZZ_EXAMPLES = int(os.environ.get("VOICEGUIDE_FUZZ_EXAMPLES", "300"))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=200),
        st.lists(st.sampled_from(FRAGMENTS), max_size=30).map(lambda xs: "".join(xs).encode()),
    )
)
# Found by this test: a quoted multi-line value once put a line break inside a message.
@example(b"'title: T\n\n'")
@example(b"title: T\nsteps:\n  - name: A\x01\n")
def test_any_bytes_load_or_fail_with_located_problems(data: bytes):
    try:
        routine = parse_routine(data, "fuzz.yaml")
        build_timeline(routine, PlanOptions(), lambda cue: 0.5)
    except RoutineError as error:
        assert error.problems
        assert all(p.line >= 1 and p.column >= 1 for p in error.problems)
        assert not any(UNPRINTABLE.search(p.message) for p in error.problems)
    except VoiceguideError:
        pass
