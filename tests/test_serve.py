"""`voiceguide serve` over real HTTP (its app on uvicorn, in-process) and as a command, and
`voiceguide render ROUTINE -o NAME.html`: what a phone's browser gets, byte ranges, options
in the query, bad requests answered in one line, and the self-contained file."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import mutagen.mp3
import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

import voiceguide
from tests.phone_fixtures import ROUTINE, Server
from voiceguide.cli import main
from voiceguide.web.app import routine_table

pytest_plugins = ["tests.phone_fixtures"]  # its fixture: phone_server

NAME = "phone-test"


def test_index_lists_the_builtins_and_the_files_given(phone_server: Server):
    status, headers, body = phone_server.get("/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    text = body.decode()
    for href in ("facial-massage", "hand-massage", "neck-and-shoulders", NAME):
        assert f'href="/routine/{href}"' in text
    assert "Phone test" in text


def test_page_plan_and_track_agree(phone_server: Server):
    status, _, page = phone_server.get(f"/routine/{NAME}")
    assert status == 200
    plan = phone_server.plan(NAME)
    embedded = re.search(rb'<script id="plan" type="application/json">(.*?)</script>', page)
    assert embedded and json.loads(embedded.group(1)) == plan
    assert [e["kind"] for e in plan["events"]].count("wait") == 1
    status, headers, track = phone_server.get(f"/routine/{NAME}/audio.mp3")
    assert status == 200 and headers["content-type"] == "audio/mpeg"
    assert headers["accept-ranges"] == "bytes"
    info = mutagen.mp3.MP3(io.BytesIO(track)).info
    assert info.bitrate_mode == mutagen.mp3.BitrateMode.CBR  # seekable to the exact byte
    assert info.length == pytest.approx(plan["total"], abs=0.002)  # the track is the plan


def test_the_page_track_carries_a_music_bed_asked_for_in_the_query(phone_server: Server):
    plan = phone_server.plan(NAME, "music=brown-noise")
    wait = next(e for e in plan["events"] if e["kind"] == "wait")
    levels = {}
    for music in ("brown-noise", "none"):
        status, _, track = phone_server.get(f"/routine/{NAME}/audio.mp3?music={music}")
        assert status == 200
        samples, rate = sf.read(io.BytesIO(track), dtype="float32")
        middle = samples[int((wait["start"] + 1) * rate) : int((wait["end"] - 1) * rate)]
        levels[music] = 20 * np.log10(np.sqrt(np.mean(middle**2)) + 1e-9)
    # The bed goes on through the wait (never ducked there); with none, a wait is silence.
    assert levels["brown-noise"] > -50 and levels["none"] < -80
    status, _, body = phone_server.get(f"/routine/{NAME}/audio.mp3?music=/etc/passwd")
    assert status == 400 and b"music: one of brown-noise, pink-noise, rain, none" in body


def test_byte_ranges_are_answered_206(phone_server: Server):
    _, _, whole = phone_server.get(f"/routine/{NAME}/audio.mp3")
    status, headers, part = phone_server.get(
        f"/routine/{NAME}/audio.mp3", {"Range": "bytes=1000-1999"}
    )
    assert status == 206
    assert headers["content-range"] == f"bytes 1000-1999/{len(whole)}"
    assert part == whole[1000:2000]
    status, _, tail = phone_server.get(f"/routine/{NAME}/audio.mp3", {"Range": "bytes=-500"})
    assert status == 206 and tail == whole[-500:]
    status, _, _ = phone_server.get(
        f"/routine/{NAME}/audio.mp3", {"Range": f"bytes={len(whole) + 10}-"}
    )
    assert status == 416


def test_query_options_apply_to_page_plan_and_track(phone_server: Server):
    plain = phone_server.plan(NAME)
    fast = phone_server.plan(NAME, "pace=2&reps=3")
    assert fast["pace"] == 2 and fast["total"] < plain["total"]
    assert max(e["rep"] or 0 for e in fast["events"]) == 3
    _, _, track = phone_server.get(f"/routine/{NAME}/audio.mp3?pace=2&reps=3")
    assert mutagen.mp3.MP3(io.BytesIO(track)).info.length == pytest.approx(fast["total"], abs=0.002)
    _, _, page = phone_server.get(f"/routine/{NAME}?pace=2&reps=3")
    assert b'"query":"pace=2&reps=3"' in page
    fitted = phone_server.plan(NAME, "fit=30s")
    assert fitted["total"] == pytest.approx(30, abs=0.01)


def test_a_warm_rerender_is_quick_and_kept(phone_server: Server):
    phone_server.plan(NAME)  # clips cached
    start = time.perf_counter()
    phone_server.plan(NAME, "pace=1.7")
    first = time.perf_counter() - start
    start = time.perf_counter()
    phone_server.plan(NAME, "pace=1.7")
    again = time.perf_counter() - start
    assert again < first  # the second is a file; no timing bound (see scripts/bench_page)


@pytest.mark.parametrize(
    ("path", "status", "line"),
    [
        ("/routine/nope", 404, "unknown routine 'nope'"),
        ("/routine/nope/audio.mp3", 404, "unknown routine 'nope'"),
        (
            f"/routine/{NAME}/plan.json?pace=0",
            400,
            "pace: 0 is not a number above 0 and at most 100",
        ),
        (f"/routine/{NAME}?pace=fast", 400, "pace: 'fast' is not a number"),
        (
            f"/routine/{NAME}?reps=lots",
            400,
            "reps: 'lots' is not a whole number from 1 to 10000, 'min' or 'max'",
        ),
        (f"/routine/{NAME}/audio.mp3?rate=9", 400, "rate: 9 is not a whole number from 40 to 600"),
        (f"/routine/{NAME}?rate=abc", 400, "rate: 'abc' is not a whole number from 40 to 600"),
        (
            f"/routine/{NAME}?fit=12m&pace=2",
            400,
            "fit: chooses the pace itself; do not combine it with pace",
        ),
        (f"/routine/{NAME}?fit=soon", 400, None),
        (
            f"/routine/{NAME}?volume=2",
            400,
            "unknown option 'volume' (use pace, reps, rate, voice, fit, music)",
        ),
        (f"/routine/{NAME}?voice=no-such-voice", 400, None),
        ("/routine/..%2F..%2Fetc%2Fpasswd", 404, "Not Found"),
        ("/routine/..%2F..%2Fetc%2Fpasswd/audio.mp3", 404, "Not Found"),
        ("/routine/../../etc/passwd", 404, "Not Found"),
        ("/routine/%2e%2e/plan.json", 404, "unknown routine '..'"),
        ("/static/../../pyproject.toml", 404, "Not Found"),
    ],
)
def test_bad_requests_get_a_4xx_and_one_line(
    phone_server: Server, path: str, status: int, line: str | None
):
    got, headers, body = phone_server.get(path)
    assert got == status
    text = body.decode()
    assert text.count("\n") <= 1 and "Traceback" not in text and "root:" not in text
    assert "[project]" not in text
    if line is not None:
        assert text.strip() == line
    assert headers["content-type"].startswith("text/plain")


def test_routine_table_names_files_and_folders(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "morning stretch.yaml").write_text(ROUTINE)
    (tmp_path / "a" / "notes.txt").write_text("not a routine")
    (tmp_path / "b.yml").write_text(ROUTINE)
    (tmp_path / "facial-massage.yaml").write_text(ROUTINE)
    table = routine_table(
        [str(tmp_path / "a"), str(tmp_path / "b.yml"), str(tmp_path / "facial-massage.yaml")]
    )
    assert table["morning-stretch"] == str((tmp_path / "a" / "morning stretch.yaml").resolve())
    assert table["b"] == str((tmp_path / "b.yml").resolve())
    assert table["facial-massage"] == "facial-massage"  # the built-in keeps its name
    assert table["facial-massage-2"] == str((tmp_path / "facial-massage.yaml").resolve())


def test_serve_reports_a_broken_routine_before_serving(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: Bad\nsteps: []\n")
    result = CliRunner().invoke(main, ["serve", str(bad), "--port", "0"])
    assert result.exit_code == 1
    assert result.output.startswith(f"{bad}:") and "Traceback" not in result.output


def test_serve_command_prints_the_address_and_a_qr_code(tmp_path: Path):
    routine = tmp_path / "phone-test.yaml"
    routine.write_text(ROUTINE)
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "serve", str(routine), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        address = re.search(r"http://127\.0\.0\.1:(\d+)/", lines[1])
        assert lines[0].startswith("voiceguide: serving 4 routines") and address, lines
        qr = [process.stdout.readline() for _ in range(8)]
        assert all(set(line.strip()) <= set("█▀▄ ") for line in qr) and "█" in "".join(qr)
        server = Server(f"http://127.0.0.1:{address.group(1)}", "phone-test")
        status, _, body = server.get("/")
        assert status == 200 and b"phone-test" in body
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_serve_refuses_a_port_in_use(phone_server: Server):
    port = phone_server.base.rsplit(":", 1)[1]
    result = CliRunner().invoke(main, ["serve", "--port", port])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")


# -- the self-contained page -------------------------------------------------------------


def embedded_track(page: Path) -> bytes:
    text = page.read_text(encoding="utf-8")
    found = re.search(
        r'<script id="audio-data" type="text/plain">data:audio/mpeg;base64,([A-Za-z0-9+/=]+)</script>',
        text,
    )
    assert found
    return base64.b64decode(found.group(1))


def test_render_html_is_one_file_with_page_plan_and_track(tmp_path: Path):
    routine = tmp_path / "phone-test.yaml"
    routine.write_text(ROUTINE)
    out = tmp_path / "out" / "phone.html"
    out.parent.mkdir()  # `-o` never makes folders
    timeline = tmp_path / "plan.json"
    result = CliRunner().invoke(
        main,
        [
            "render",
            str(routine),
            "-o",
            str(out),
            "--pace",
            "1.5",
            "--reps",
            "3",
            "--timeline",
            str(timeline),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{out}  ")
    plan = json.loads(timeline.read_text())
    assert plan["pace"] == 1.5 and max(e["rep"] or 0 for e in plan["events"]) == 3
    text = out.read_text(encoding="utf-8")
    embedded = re.search(r'<script id="plan" type="application/json">(.*?)</script>', text)
    assert embedded and json.loads(embedded.group(1)) == plan
    track = embedded_track(out)
    info = mutagen.mp3.MP3(io.BytesIO(track)).info
    assert info.length == pytest.approx(plan["total"], abs=0.002)
    samples, rate = sf.read(io.BytesIO(track))
    assert len(samples) / rate == pytest.approx(plan["total"], abs=0.06)  # decodes
    without_audio = len(text) - len(base64.b64encode(track))
    assert without_audio <= 60_000
    assert (
        "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text
    )
    assert [p.name for p in out.parent.iterdir()] == ["phone.html"]  # no temporary left


def test_render_html_fits_and_splits(tmp_path: Path):
    out = tmp_path / "fit.html"
    result = voiceguide.render(
        voiceguide.loads(ROUTINE, "phone-test.yaml"), out, fit="40s", cache_dir=tmp_path / "c"
    )
    assert result.duration == pytest.approx(40, abs=0.001)
    assert mutagen.mp3.MP3(io.BytesIO(embedded_track(out))).info.length == pytest.approx(
        40, abs=0.002
    )
    assert '"fit":"0:40.0"' in out.read_text(encoding="utf-8")


def test_render_html_to_a_folder_fails_early_and_leaves_nothing(tmp_path: Path):
    (tmp_path / "page.html").mkdir()
    result = CliRunner().invoke(
        main, ["render", "facial-massage", "-o", str(tmp_path / "page.html"), "-q"]
    )
    assert result.exit_code == 1
    assert result.output == f"error: cannot write {tmp_path / 'page.html'}: it is a folder\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


@pytest.mark.parametrize("rate", [16000, 22050, 24000, 44100, 48000])
def test_the_page_track_decodes_to_the_rendered_samples(tmp_path: Path, rate: int):
    """The constant-bitrate track (lameenc plus the Info frame written here) decodes, in
    ffmpeg (what Chromium uses), to exactly the rendered length with no shift."""
    import numpy as np

    from voiceguide.export.cbr import encode_mp3

    wav, mp3, decoded = tmp_path / "a.wav", tmp_path / "a.mp3", tmp_path / "b.wav"
    noise = (np.random.default_rng(1).standard_normal(rate * 2) * 3000).astype("int16")
    sf.write(wav, noise, rate)
    encode_mp3(wav, mp3)
    assert mutagen.mp3.MP3(mp3).info.bitrate_mode == mutagen.mp3.BitrateMode.CBR
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(mp3), str(decoded)], check=True)
    back, back_rate = sf.read(decoded, dtype="float32")
    assert back_rate == rate and len(back) == len(noise)
    source = noise.astype("float32") / 32768
    window = slice(rate // 4, rate // 4 + rate)
    lags = range(-600, 601)
    best = max(
        lags,
        key=lambda lag: float(np.dot(source[window], back[window.start + lag : window.stop + lag])),
    )
    assert best == 0
