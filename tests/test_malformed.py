"""The malformed-routine corpus: each file names the exact line, column and message it
must produce (`# expect: LINE:COL: MESSAGE` on its first line). Plus generated hostile
inputs that cannot live in a text file. Every case: exit 1, no traceback, under a second."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceguide.cli import main

CORPUS = Path(__file__).parent / "malformed"
CASES = sorted(CORPUS.glob("*.yaml"))


def expected(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: ")
    return first.removeprefix("# expect: ").strip()


def check(path: Path) -> tuple[int, str, float]:
    started = time.monotonic()
    result = CliRunner().invoke(main, ["check", str(path)])
    return result.exit_code, result.stderr, time.monotonic() - started


def test_corpus_is_large_enough():
    assert len(CASES) >= 30


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_malformed_routine_reports_line_column_and_message(path: Path):
    code, stderr, _ = check(path)
    assert code == 1
    assert "Traceback" not in stderr
    assert f"{path}:{expected(path)}" in stderr.splitlines()


def test_all_problems_of_a_file_are_reported_in_one_run(tmp_path: Path):
    routine = tmp_path / "many.yaml"
    routine.write_text("title: T\npace: -1\nsteps:\n  - name: A\n    hodl: 1\n    every: x\n")
    code, stderr, _ = check(routine)
    assert code == 1
    assert stderr.splitlines() == [
        f"{routine}:2:7: error: 'pace' must be greater than 0",
        f"{routine}:5:5: error: unknown key 'hodl' in step; did you mean 'hold'?",
        f"{routine}:6:12: error: 'every': invalid duration 'x'; expected a number of seconds, "
        "or a string like 500ms, 30s, 2m, 1m30s, 1h or 1:30",
    ]


HOSTILE = {
    "empty": (b"", "1:1: error: empty routine: expected a mapping with title and steps"),
    "only-comments": (b"# nothing\n", "1:1: error: empty routine"),
    "binary": (b"\x7fELF\x02\x01\x01\x00\x00\x00", "1:8: error: binary data"),
    "invalid-utf8": (b"title: caf\xe9\nsteps: []\n", "1:11: error: invalid UTF-8"),
    "alias-bomb": (
        b'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
        + b"".join(
            f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n".encode()
            for p, c in zip("abcdefgh", "bcdefghi")
        )
        + b"title: T\nvars: *i\nsteps:\n  - name: A\n    say: *i\n    sides: *i\n",
        "error: 'vars' must be a mapping",
    ),
    "deep-nesting": (
        b"title: " + b"[" * 5000 + b"]" * 5000 + b"\n",
        "1:208: error: invalid YAML: nesting is too deep",
    ),
    "deep-block-nesting": (
        "".join(" " * i + "a:\n" for i in range(1200)).encode(),
        "error: invalid YAML",
    ),
    "two-documents": (
        b"title: a\n---\ntitle: b\n",
        "2:1: error: invalid YAML: expected a single document in the stream, but found another document",
    ),
    "huge-file": (b"# " + b"x" * (1024 * 1024 + 10) + b"\n", "1:1: error: file is too large"),
    "scalar": (b"just text\n", "1:1: error: the routine must be a mapping"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_fails_cleanly_and_fast(tmp_path: Path, name: str):
    data, message = HOSTILE[name]
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(data)
    code, stderr, seconds = check(path)
    assert code == 1
    assert "Traceback" not in stderr
    assert stderr.startswith(str(path) + ":"), stderr
    assert message in stderr
    assert seconds < 1.0


def test_missing_file_and_directory(tmp_path: Path):
    code, stderr, _ = check(tmp_path / "nope.yaml")
    assert code == 1
    assert stderr == f"{tmp_path / 'nope.yaml'}: error: no such file\n"
    code, stderr, _ = check(tmp_path)
    assert code == 1
    assert stderr == f"{tmp_path}:1:1: error: is a directory, not a routine file\n"


def test_unreadable_file(tmp_path: Path):
    import os

    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = tmp_path / "locked.yaml"
    path.write_text("title: T\nsteps:\n  - name: A\n")
    path.chmod(0)
    code, stderr, _ = check(path)
    assert code == 1
    assert "cannot read file" in stderr


def test_template_problems_are_reported_with_structural_ones(tmp_path: Path):
    routine = tmp_path / "mixed.yaml"
    routine.write_text(
        "title: T\ntitel: y\nintro: '{nope}'\noutro: '{next}'\nsteps:\n"
        "  - name: A\n    hold: x\n    say: '{sid}'\n"
        "  - just text\n"
        "  - name: B\n    sides: 3\n    each: '{side} {rep} {reps}'\n"
    )
    code, stderr, _ = check(routine)
    assert code == 1
    assert stderr.splitlines() == [
        f"{routine}:2:1: error: unknown key 'titel' in the routine; did you mean 'title'?",
        f"{routine}:3:8: error: unknown placeholder {{nope}}; define it under vars",
        f"{routine}:4:8: error: {{next}} is only available in step texts",
        f"{routine}:7:11: error: 'hold': invalid duration 'x'; expected a number of seconds, "
        "or a string like 500ms, 30s, 2m, 1m30s, 1h or 1:30",
        f"{routine}:8:10: error: unknown placeholder {{sid}}; define it under vars",
        f"{routine}:9:5: error: step must be a mapping of keys to values, not text 'just text'",
        f"{routine}:11:12: error: 'sides' must be a non-empty list such as [left, right]",
    ]


def test_broken_vars_do_not_make_every_placeholder_unknown(tmp_path: Path):
    routine = tmp_path / "vars.yaml"
    routine.write_text(
        "title: T\nvars: [a]\nintro: '{who}'\nsteps:\n  - name: A\n    say: '{who}'\n"
    )
    code, stderr, _ = check(routine)
    assert code == 1
    assert stderr.splitlines() == [
        f"{routine}:2:7: error: 'vars' must be a mapping of names to values, not a list"
    ]


def test_an_aliased_bad_value_is_one_problem(tmp_path: Path):
    routine = tmp_path / "alias.yaml"
    routine.write_text("title: T\nsteps:\n  - name: A\n    say: [&n [a, b], *n, *n, *n]\n")
    code, stderr, _ = check(routine)
    assert code == 1
    assert stderr.splitlines() == [f"{routine}:4:11: error: 'say' must be text, not a list"]


def test_tab_and_line_break_are_the_only_control_characters_in_texts(tmp_path: Path):
    routine = tmp_path / "ok.yaml"
    routine.write_text('title: T\nsteps:\n  - name: A\n    say: "one\\ttwo\\nthree"\n')
    assert check(routine)[0] == 0
    routine.write_text('title: T\nsteps:\n  - name: A\n    each: "a\\rb"\n')
    code, stderr, _ = check(routine)
    assert code == 1
    assert stderr.splitlines() == [
        f"{routine}:4:11: error: 'each' contains control character U+000D"
    ]
