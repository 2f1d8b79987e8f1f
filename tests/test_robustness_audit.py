"""The hostile audit of issue 15: each defect it found, reproduced, and what must happen now.

Data loss first (a cache clear that removed a drawing program's files; outputs written over
the routine or over each other), then hangs and unbounded reads (FIFOs, /dev/zero, sparse
giants in a shared cache folder or config file), then wrong answers and leftovers. Every
case: one line on stderr, the documented exit status, no traceback, nothing lost.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from voiceguide import cli
from voiceguide.cli import main
from voiceguide.routine.models import Voice
from voiceguide.sound.clip import Clip
from voiceguide.speech.cache import ClipCache, cache_key
from voiceguide.speech.synth import Synthesizer
from voiceguide.timeline import Cue

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

SHORT = """\
title: Short — and calm
steps:
  - name: One
    say: Breathe in slowly.
    hold: 1s
  - name: Two
    say: Relax your shoulders.
"""


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def one_line(result: Result, code: int = 1) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any engine started fails the test: these checks come before synthesis."""

    def refuse(name: str):  # type: ignore[no-untyped-def]
        raise AssertionError(f"engine {name} started before the outputs were checked")

    monkeypatch.setattr(
        cli.Run, "synthesizer", lambda self: Synthesizer(use_cache=False, engine_factory=refuse)
    )


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# -- 1. cache clear deletes files that are not clips -------------------------------------


def test_cache_clear_refuses_a_folder_that_is_not_a_cache(tmp_path: Path):
    home = tmp_path / "h"
    (home / "Art").mkdir(parents=True)
    (home / "go").mkdir()
    (home / "Art" / "page.clip").write_text("x")
    (home / ".tmp-notes").write_text("x")
    result = invoke("cache", "clear", "--cache-dir", str(home))
    assert one_line(result) == (
        f"error: {home} is not a voiceguide clip cache (no CACHEDIR.TAG marker);"
        " nothing was removed"
    )
    assert files(home) == [".tmp-notes", "Art/page.clip"]
    assert (home / "go").is_dir()


def test_cache_clear_in_a_cache_removes_only_its_own_files(tmp_path: Path):
    cache = ClipCache(tmp_path / "c")
    cache.open()
    key = cache_key("one")
    cache.put(key, Clip(np.full(100, 0.1, dtype=np.float32), 22050))
    shard = tmp_path / "c" / key[:2]
    (shard / "page.clip").write_text("not ours")
    (tmp_path / "c" / ".tmp-notes").write_text("not ours")
    (tmp_path / "c" / "go").mkdir()
    result = invoke("cache", "clear", "--cache-dir", str(tmp_path / "c"))
    assert result.exit_code == 0, result.output
    assert result.output == f"removed 1 clips from {tmp_path / 'c'}\n"
    assert files(tmp_path / "c") == sorted([".tmp-notes", "CACHEDIR.TAG", f"{key[:2]}/page.clip"])
    assert (tmp_path / "c" / "go").is_dir()


def test_a_cache_is_marked_when_it_is_made_and_a_folder_of_other_files_is_refused(
    tmp_path: Path,
):
    with Synthesizer(cache_dir=tmp_path / "new"):
        pass
    assert "voiceguide clip cache" in (tmp_path / "new" / "CACHEDIR.TAG").read_text()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "letter.txt").write_text("dear")
    result = invoke("plan", "hand-massage", "--cache-dir", str(tmp_path / "docs"))
    assert one_line(result) == (
        f"error: cannot use the clip cache folder {tmp_path / 'docs'}: it holds files that are"
        " not clips (choose an empty folder) (choose another with --cache-dir, or use --no-cache)"
    )
    assert files(tmp_path / "docs") == ["letter.txt"]


def test_a_cache_made_before_markers_is_still_recognised(tmp_path: Path):
    key = cache_key("old")
    (tmp_path / "c" / key[:2]).mkdir(parents=True)
    (tmp_path / "c" / key[:2] / f"{key}.clip").write_bytes(b"old entry")
    result = invoke("cache", "clear", "--cache-dir", str(tmp_path / "c"))
    assert result.output == f"removed 1 clips from {tmp_path / 'c'}\n"
    assert files(tmp_path / "c") == []


# -- 2. outputs checked against each other and the inputs --------------------------------


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--timeline", "{routine}"],
            "{routine} is the routine: writing the timeline there would replace it",
        ),
        (["--timeline", "{out}"], "{out} is given as both the audio file and the timeline"),
        (
            ["--captions", "{d}/x.vtt", "--timeline", "{d}/x.vtt"],
            "{d}/x.vtt is given as both the captions and the timeline",
        ),
        (
            ["--timeline", "{d}/sub/../r.yaml"],
            "{d}/sub/../r.yaml is the routine: writing the timeline there would replace it",
        ),
    ],
)
def test_outputs_that_collide_are_one_line_exit_2_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: list[str], message: str
):
    no_engine(monkeypatch)
    (tmp_path / "sub").mkdir()
    routine = tmp_path / "r.yaml"
    routine.write_text(SHORT)
    out = tmp_path / "o.wav"
    names = {"routine": str(routine), "out": str(out), "d": str(tmp_path)}
    args = [a.format(**names) for a in extra]
    result = invoke("render", str(routine), "-o", str(out), "-q", *args)
    assert one_line(result, 2) == "error: " + message.format(**names)
    assert routine.read_text() == SHORT
    assert files(tmp_path) == ["r.yaml"]


def test_an_output_named_like_a_track_in_the_split_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    no_engine(monkeypatch)
    routine = tmp_path / "r.yaml"
    routine.write_text(SHORT)
    (tmp_path / "sp").mkdir()
    out = tmp_path / "sp" / "01-one.wav"
    result = invoke("render", str(routine), "-o", str(out), "--split", str(tmp_path / "sp"))
    assert one_line(result, 2) == (
        f"error: {out} is the audio file, and the --split folder {tmp_path / 'sp'} writes its"
        " tracks and playlist under such names: choose another name or folder"
    )


def test_a_symlinked_spelling_of_the_routine_is_the_routine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    no_engine(monkeypatch)
    routine = tmp_path / "r.yaml"
    routine.write_text(SHORT)
    (tmp_path / "alias").symlink_to(tmp_path)
    result = invoke(
        "render", str(routine), "-o", str(tmp_path / "alias" / "r.yaml.wav"),
        "--timeline", str(tmp_path / "alias" / "r.yaml"),
    )  # fmt: skip
    assert one_line(result, 2).endswith(
        "is the routine: writing the timeline there would replace it"
    )
    assert routine.read_text() == SHORT


def test_the_chime_is_an_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    no_engine(monkeypatch)
    import soundfile as sf

    sf.write(tmp_path / "bell.wav", np.zeros(2205, dtype=np.float32), 22050)
    routine = tmp_path / "r.yaml"
    routine.write_text("chime: bell.wav\n" + SHORT)
    before = (tmp_path / "bell.wav").read_bytes()
    result = invoke("render", str(routine), "-o", str(tmp_path / "bell.wav"))
    assert one_line(result, 2) == (
        f"error: {tmp_path / 'bell.wav'} is the chime: writing the audio file there would replace it"
    )
    assert (tmp_path / "bell.wav").read_bytes() == before


# -- 3. cache entries that are not files -------------------------------------------------


def _entry(tmp_path: Path) -> tuple[ClipCache, str, Path]:
    cache = ClipCache(tmp_path / "c")
    cache.open()
    key = cache_key("hostile")
    path = cache.path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    return cache, key, path


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "sparse-3-gb", "folder", "header-lies"])
def test_a_hostile_cache_entry_is_a_missing_entry_read_at_once(tmp_path: Path, kind: str):
    cache, key, path = _entry(tmp_path)
    if kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "sparse-3-gb":
        with open(path, "wb") as f:
            f.truncate(3 * 10**9)
    elif kind == "folder":
        path.mkdir()
        (path / "inside").write_text("x")
    else:  # a valid header claiming a clip of two hours
        import struct

        header = struct.pack(
            "<8s32sIQ32s", b"VGCLIP01", bytes.fromhex(key), 22050, 22050 * 7200, b"\0" * 32
        )
        with open(path, "wb") as f:
            f.write(header)
            f.truncate(len(header) + 22050 * 7200 * 4)
    started = time.monotonic()
    assert cache.frames(key) is None
    assert cache.get(key) is None
    assert time.monotonic() - started < 1.0
    clip = Clip(np.full(500, 0.25, dtype=np.float32), 22050)
    assert cache.put(key, clip)  # whatever was in the way is replaced by a real entry
    got = cache.get(key)
    assert got is not None and np.array_equal(got.samples, clip.samples)


# -- 4. the config file is read bounded --------------------------------------------------


def _config_error(monkeypatch: pytest.MonkeyPatch, path: Path | str) -> str:
    monkeypatch.setenv("VOICEGUIDE_CONFIG", str(path))
    started = time.monotonic()
    result = invoke("config")
    assert time.monotonic() - started < 2.0
    return one_line(result)


def test_config_dev_zero_is_refused_unread(monkeypatch: pytest.MonkeyPatch):
    assert _config_error(monkeypatch, "/dev/zero") == "/dev/zero: error: is not a regular file"


def test_config_fifo_does_not_hang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    os.mkfifo(tmp_path / "config.toml")
    line = _config_error(monkeypatch, tmp_path / "config.toml")
    assert line == f"{tmp_path / 'config.toml'}: error: is not a regular file"


def test_config_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "config.toml"
    path.write_text("# " + "x" * 2**20 + "\n")
    assert (
        _config_error(monkeypatch, path) == f"{path}: error: file is too large (the limit is 1 MiB)"
    )


def test_config_nested_100_000_deep_is_one_located_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "config.toml"
    path.write_text("rate = 150\nx = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert (
        _config_error(monkeypatch, path) == f"{path}:2:55: error: invalid TOML: nesting is too deep"
    )


def test_config_brackets_inside_strings_are_not_nesting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "config.toml"
    path.write_text('voice = "' + "[" * 80 + '"  # ' + "{" * 80 + "\n")
    monkeypatch.setenv("VOICEGUIDE_CONFIG", str(path))
    result = invoke("config")
    assert result.exit_code == 0, result.output


# -- 5. a FIFO as the routine ---------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [["check"], ["render", "-q"], ["play", "--dry-run", "--no-keys"]]
)
def test_a_fifo_routine_fails_at_once(tmp_path: Path, command: list[str]):
    fifo = tmp_path / "r.yaml"
    os.mkfifo(fifo)
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide", *command[:1], str(fifo), *command[1:]],
        cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == f"{fifo}:1:1: error: is not a regular file (a pipe or a device)\n"


# -- 6. long cues, 8. cues with nothing to say, 13. duplicate vars -------------------------


def test_a_cue_longer_than_the_limit_is_refused_where_it_is_written(tmp_path: Path):
    path = tmp_path / "r.yaml"
    path.write_text("title: Long\nsteps:\n  - name: One\n    say: " + "word " * 4000 + "\n")
    line = one_line(invoke("check", str(path)))
    assert line == (
        f"{path}:4:10: error: the text is 19999 characters long; one cue says at most 1000"
        " (split it into several steps or a list of texts)"
    )


@pytest.mark.parametrize("text", ["'...'", "…", "—", "'?'", "'('", "\u200b", "'{{}}'", "'{mark}'"])
def test_a_cue_with_nothing_to_say_is_refused_at_its_location(tmp_path: Path, text: str):
    path = tmp_path / "r.yaml"
    path.write_text(
        f"title: Quiet\nvars:\n  mark: '...'\nsteps:\n  - name: One\n    say: {text}\n",
        encoding="utf-8",
    )
    assert one_line(invoke("check", str(path))) == (
        f"{path}:6:10: error: nothing to say: the text is only punctuation or invisible characters"
    )


def test_a_cue_with_a_word_among_punctuation_is_fine(tmp_path: Path):
    path = tmp_path / "r.yaml"
    path.write_text("title: Fine\nsteps:\n  - name: One\n    say: '… {side}!'\n    sides: [left]\n")
    assert invoke("check", str(path)).exit_code == 0


def test_duplicate_keys_in_vars_are_errors(tmp_path: Path):
    path = tmp_path / "r.yaml"
    path.write_text(
        "title: T\nvars:\n  tool: roller\n  tool: stone\nsteps:\n  - name: A\n    say: Use the {tool}.\n"
    )
    assert (
        one_line(invoke("check", str(path))) == f"{path}:4:3: error: duplicate key 'tool' in vars"
    )


# -- 9. SIGHUP, and leftovers of a killed writer -------------------------------------------


def test_sighup_stops_a_render_and_leaves_nothing(tmp_path: Path):
    routine = tmp_path / "r.yaml"
    routine.write_text("title: Long\nsteps:\n  - name: One\n    say: Breathe.\n    hold: 3h\n")
    out = tmp_path / "o.flac"
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "render", str(routine), "-o", str(out), "-q",
         "--cache-dir", str(tmp_path / "c")],
        cwd=tmp_path, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not any(p.name.endswith(".part") for p in tmp_path.iterdir()):
        assert time.monotonic() < deadline and proc.poll() is None, (
            "the render never started writing"
        )
        time.sleep(0.05)
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert err == "terminated\n"
    assert [f for f in files(tmp_path) if not f.startswith("c/")] == ["r.yaml"]
    assert not list(Path("/tmp").glob(f"voiceguide-pyttsx3-*{proc.pid}*"))


def test_a_later_render_removes_a_dead_writers_part_file(tmp_path: Path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)
    out = tmp_path / "o.wav"
    stale = tmp_path / f".o.wav.{pid}-0123abcd.part"
    stale.write_bytes(b"\0" * 1000)
    alive = tmp_path / f".o.wav.{os.getpid()}-4567abcd.part"  # a live writer's: kept
    alive.write_bytes(b"\0")
    other = tmp_path / f".other.wav.{pid}-0123abcd.part"  # another destination's: kept
    other.write_bytes(b"\0")
    routine = tmp_path / "r.yaml"
    routine.write_text(SHORT)
    result = invoke("render", str(routine), "-o", str(out), "-q", "--no-cache")
    assert result.exit_code == 0, result.output
    assert not stale.exists()
    assert alive.exists() and other.exists()


# -- 10. new is atomic ---------------------------------------------------------------------


def test_new_force_keeps_the_routine_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "mine.yaml"
    path.write_text("title: Mine\n")

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    result = invoke("new", str(path), "--force")
    assert one_line(result) == f"error: cannot write {path}: No space left on device"
    assert path.read_text() == "title: Mine\n"
    assert files(tmp_path) == ["mine.yaml"]


def test_new_on_a_full_disk_leaves_no_empty_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(
        os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(28, "No space left on device"))
    )
    result = invoke("new", str(tmp_path / "r.yaml"))
    assert one_line(result) == f"error: cannot write {tmp_path / 'r.yaml'}: No space left on device"
    assert files(tmp_path) == []


# -- 11. every destination checked before synthesis ------------------------------------------


@pytest.mark.parametrize("option", ["-o", "--captions", "--timeline"])
def test_a_destination_in_a_missing_folder_fails_before_synthesis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: str
):
    no_engine(monkeypatch)
    routine = tmp_path / "r.yaml"
    routine.write_text(SHORT)
    dest = (
        tmp_path
        / "nonexistent"
        / "dir"
        / {"-o": "x.mp3", "--captions": "x.vtt", "--timeline": "x.json"}[option]
    )
    args = ["render", str(routine), "-q"]
    args += (
        [option, str(dest)]
        if option == "-o"
        else ["-o", str(tmp_path / "o.wav"), option, str(dest)]
    )
    assert one_line(invoke(*args)) == (
        f"error: cannot write {dest}: the folder {dest.parent} does not exist (create it first)"
    )
    assert not (tmp_path / "nonexistent").exists()


def test_a_split_folder_under_a_file_fails_before_synthesis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    no_engine(monkeypatch)
    routine = tmp_path / "r.yaml"
    routine.write_text(SHORT)
    (tmp_path / "f").write_text("a file")
    result = invoke(
        "render", str(routine), "-o", str(tmp_path / "o.wav"), "--split", str(tmp_path / "f" / "sp")
    )
    assert one_line(result) == (
        f"error: cannot write {tmp_path / 'f' / 'sp' / 'playlist.m3u8'}: {tmp_path / 'f'} is a file,"
        " not a folder"
    )


def test_a_split_folder_is_made_but_not_its_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    no_engine(monkeypatch)
    routine = tmp_path / "r.yaml"
    routine.write_text(SHORT)
    split = tmp_path / "missing" / "sp"
    result = invoke("render", str(routine), "-o", str(tmp_path / "o.wav"), "--split", str(split))
    assert one_line(result) == (
        f"error: cannot write {split / 'playlist.m3u8'}: the folder {split.parent} does not exist"
        " (create it first)"
    )


# -- 12. output that is not UTF-8 ------------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [{"PYTHONIOENCODING": "latin-1"}, {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}],
)
def test_an_output_stream_that_is_not_utf8_never_crashes(tmp_path: Path, env: dict[str, str]):
    routine = tmp_path / "r.yaml"
    routine.write_text(SHORT.replace("Short — and calm", "Short — and calm ✓"), encoding="utf-8")
    environ = {**os.environ, **env}
    for command in (["check"], ["plan", "--estimate"], ["play", "--dry-run", "--no-keys"]):
        proc = subprocess.run(
            [sys.executable, "-m", "voiceguide", command[0], str(routine), *command[1:]],
            capture_output=True, env=environ, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert b"Traceback" not in proc.stderr
        assert b"Short " in proc.stdout or b"Breathe in slowly." in proc.stdout


def test_the_cli_replaces_what_its_streams_cannot_encode(monkeypatch: pytest.MonkeyPatch):
    import io

    stdout = io.TextIOWrapper(io.BytesIO(), encoding="latin-1")
    stderr = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    cli._tolerant_streams()
    print("Short — and calm ✓")
    print("— warning", file=sys.stderr)
    stdout.flush()
    stderr.flush()
    assert stdout.buffer.getvalue() == b"Short ? and calm ?\n"  # type: ignore[attr-defined]
    assert stderr.buffer.getvalue() == b"? warning\n"  # type: ignore[attr-defined]


# -- 14. a syntax error at the end of a 1 MiB routine is reported fast ------------------------


def test_a_syntax_error_at_the_end_of_a_large_file_is_reported_within_a_second(tmp_path: Path):
    path = tmp_path / "big.yaml"
    body = "title: Big\nsteps:\n" + "".join(
        f"  - name: Step {i}\n    say: Breathe.\n" for i in range(25_000)
    )
    body = body[: 2**20 - 40] + "\n  - name: [unclosed\n"
    path.write_text(body)
    assert path.stat().st_size <= 2**20
    started = time.monotonic()
    line = one_line(invoke("check", str(path)))
    assert time.monotonic() - started < 1.5
    assert line.startswith(f"{path}:") and "invalid YAML" in line


# -- 15. the small ones ----------------------------------------------------------------------------


def test_a_file_name_of_250_characters_can_be_written(tmp_path: Path):
    routine = tmp_path / "r.yaml"
    routine.write_text(SHORT)
    out = tmp_path / ("n" * 246 + ".wav")
    result = invoke("render", str(routine), "-o", str(out), "-q", "--no-cache")
    assert result.exit_code == 0, result.output
    assert files(tmp_path) == [out.name, "r.yaml"]


def test_a_symlink_loop_as_the_routine_says_what_it_is(tmp_path: Path):
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    assert one_line(invoke("check", str(tmp_path / "a.yaml"))) == (
        f"{tmp_path / 'a.yaml'}:1:1: error: cannot read file: Too many levels of symbolic links"
    )


def test_system_error_of_libsndfile_names_the_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import soundfile as sf

    from voiceguide.export import writers

    def system_error(self, data):  # type: ignore[no-untyped-def]
        raise sf.LibsndfileError(2, "System error.")  # what libsndfile says on ENOSPC

    monkeypatch.setattr(sf.SoundFile, "write", system_error)

    class Full:
        f_bavail = 0
        f_frsize = 4096

    monkeypatch.setattr(writers.os, "statvfs", lambda path: Full())
    routine = tmp_path / "r.yaml"
    routine.write_text(SHORT)
    out = tmp_path / "o.flac"
    line = one_line(invoke("render", str(routine), "-o", str(out), "-q", "--no-cache"))
    assert line == f"error: cannot write {out}: No space left on device"
    assert files(tmp_path) == ["r.yaml"]


def test_a_file_size_limit_during_synthesis_is_one_line_at_once(tmp_path: Path):
    import resource

    routine = tmp_path / "r.yaml"
    routine.write_text(SHORT)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (20 * 1024, 20 * 1024))

    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide", "render", str(routine), "-o", str(tmp_path / "o.wav"), "-q", "--no-cache"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, preexec_fn=limit,
    )  # fmt: skip
    assert time.monotonic() - started < 10
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == (
        "error: the file size limit (ulimit -f) is 20 KiB: speech clips need up to 8 MiB"
        " (raise it with `ulimit -f unlimited`)\n"
    )
    assert files(tmp_path) == ["r.yaml"]


def test_a_file_size_limit_is_one_line_not_a_hang(tmp_path: Path):
    import resource

    routine = tmp_path / "r.yaml"
    routine.write_text("title: T\nsteps:\n  - name: One\n    say: Breathe.\n    hold: 20m\n")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (10 * 2**20, 10 * 2**20))

    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide", "render", str(routine), "-o", str(tmp_path / "o.wav"), "-q", "--no-cache"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, preexec_fn=limit,
    )  # fmt: skip
    assert time.monotonic() - started < 60
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == f"error: cannot write {tmp_path / 'o.wav'}: File too large\n"
    assert files(tmp_path) == ["r.yaml"]


# -- 7. memory: lengths held, samples on disk --------------------------------------------------


def test_the_synthesizer_holds_lengths_not_samples(tmp_path: Path):
    cues = [Cue("speech", f"Number {i}.", Voice()) for i in range(5)]
    with Synthesizer(cache_dir=tmp_path / "c") as speech:
        speech.prepare(cues)
        assert speech._held == {}
        lengths = [speech.length(c) for c in cues]
        assert all(0.3 < s < 3 for s in lengths)
        assert [speech.clip(c).duration for c in cues] == lengths
    with Synthesizer(use_cache=False) as speech:
        speech.prepare(cues)
        assert speech._held == {}  # a private folder holds them, removed at close
        scratch = speech._scratch
        assert scratch is not None and scratch.is_dir()
    assert not scratch.exists()


# -- 14.7 a cache size limit ---------------------------------------------------------------------


def test_the_cache_keeps_the_most_recently_used_clips_within_its_limit(tmp_path: Path):
    cache = ClipCache(tmp_path / "c")
    cache.open()
    keys = [cache_key(i) for i in range(6)]
    for age, key in enumerate(keys):
        cache.put(key, Clip(np.full(25_000, 0.1, dtype=np.float32), 22050))  # 100 kB each
        os.utime(cache.path(key), (1000 + age, 1000 + age))
    assert cache.get(keys[0]) is not None  # used now: the newest
    assert cache.trim(350_000) == 3
    assert [cache.has(k) for k in keys] == [True, False, False, False, True, True]


def test_cache_info_shows_the_limit_and_the_config_sets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    result = invoke("cache", "info", "--cache-dir", str(tmp_path / "c"))
    assert (
        result.output.splitlines()[-1]
        == "limit:    500 MB [default] (most recently used clips kept)"
    )
    config = tmp_path / "config.toml"
    config.write_text('cache_limit = "2 GB"\n')
    monkeypatch.setenv("VOICEGUIDE_CONFIG", str(config))
    result = invoke("cache", "info", "--cache-dir", str(tmp_path / "c"))
    assert (
        result.output.splitlines()[-1] == "limit:    2 GB [config] (most recently used clips kept)"
    )
    config.write_text('cache_limit = "lots"\n')
    assert one_line(invoke("config")) == (
        f'{config}:1:15: error: cache_limit must be a size such as "500 MB" or "2 GB", got \'lots\''
    )


def test_a_run_trims_the_cache_to_the_configured_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    config = tmp_path / "config.toml"
    config.write_text('cache_limit = "0 MB"\n')
    monkeypatch.setenv("VOICEGUIDE_CONFIG", str(config))
    result = invoke("plan", "hand-massage", "--cache-dir", str(tmp_path / "c"))
    assert result.exit_code == 0, result.output
    assert ClipCache(tmp_path / "c").info().entries == 0


# -- 14.8 output where the user expects it ---------------------------------------------------


def test_the_default_output_is_audio_in_the_current_folder_and_config_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.yaml").write_text(SHORT)
    result = invoke("render", "r.yaml", "-q", "--no-cache")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("audio/r.wav  ")
    config = invoke("config").output
    assert f"output_dir = {tmp_path / 'audio'} (audio/ in the current folder)" in config


# -- the same kind of defect elsewhere ------------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_piper_voice_config_that_is_not_a_file_is_refused_unread(tmp_path: Path, kind: str):
    from voiceguide.errors import SynthesisError
    from voiceguide.speech.piper_voices import VoiceFile

    model = tmp_path / "v.onnx"
    model.write_bytes(b"")
    config = tmp_path / "v.onnx.json"
    if kind == "fifo":
        os.mkfifo(config)
    else:
        config.symlink_to("/dev/zero")
    started = time.monotonic()
    with pytest.raises(SynthesisError) as error:
        VoiceFile("v", model, "path").read_config()
    assert time.monotonic() - started < 1.0
    assert str(error.value) == f"cannot read piper voice config {config}: not a regular file"


def test_play_interrupted_says_what_render_says(monkeypatch: pytest.MonkeyPatch):
    from voiceguide.errors import Interrupted

    def stopped(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise Interrupted("interrupted")

    monkeypatch.setattr(cli.Run, "play", stopped)
    result = invoke("play", "hand-massage", "--no-keys")
    assert result.exit_code == 130
    assert result.stderr == "interrupted\n"


def test_piper_keeps_its_phoneme_warnings_off_the_terminal():
    import logging

    import voiceguide.speech.piper_engine  # noqa: F401 - importing it sets the level

    assert logging.getLogger("piper.phoneme_ids").getEffectiveLevel() >= logging.ERROR
