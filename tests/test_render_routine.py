"""Built-in and custom routines rendered end to end with the real speech engines, read back."""

from __future__ import annotations

import json

import mutagen
import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from tests.audio_analysis import EspeakSpeech, chapter_titles, onsets, read_pcm
from voiceguide.cli import main
from voiceguide.rendering import render_routine
from voiceguide.session import CueClips
from voiceguide.timeline import PlanOptions

CUSTOM = """\
title: Quick neck reset
gap: 0.7s
chime: {chime}
intro: Sit tall.
steps:
  - name: Ear to shoulder
    say: Tilt your head towards the {{side}} shoulder.
    sides: [left, right]
    hold: 2.5s
    countdown: 2
  - name: Chin tucks
    say: Tuck your chin.
    repeat: 3
    every: 2.2s
    each: "Tuck {{rep}}"
outro: Done.
"""


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """The project's Synthesizer (pyttsx3 / eSpeak NG workers), shared by this module."""
    from voiceguide.speech.synth import Synthesizer

    with Synthesizer(cache_dir=tmp_path_factory.mktemp("clips")) as speech:
        yield speech


@pytest.fixture
def custom(tmp_path):
    t = np.arange(11025) / 44100
    sf.write(str(tmp_path / "ding.wav"), 0.3 * np.sin(2 * np.pi * 523 * t), 44100)
    path = tmp_path / "neck.yaml"
    path.write_text(CUSTOM.format(chime="ding.wav"))
    return path


def check_file(path, plan, speech, lossless, base=None, voice=None):
    """Length, sound onsets and silences of a rendered file against its plan JSON."""
    samples, rate = read_pcm(path)
    assert abs(samples.shape[0] / rate - plan["total"]) <= 0.001
    assert abs(mutagen.File(str(path)).info.length - plan["total"]) <= 0.001
    events = plan["events"]
    sounds = CueClips(speech.clip, rate)
    detector = {} if lossless else {"threshold": 300, "window": 0.002}
    checked = 0
    for before, event in zip(events, events[1:], strict=False):
        if event["kind"] == "silence":
            a, b = round(event["start"] * rate), round(event["end"] * rate)
            if lossless:
                assert not samples[a:b].any(), f"noise in silence at {event['start']}"
            continue
        if before["kind"] != "silence" or before["end"] - before["start"] < 0.4:
            continue
        # Onset: where energy appears after the silence, against the planned start plus
        # the clip's own lead-in.
        # The search starts 0.1 s into the silence, clear of a lossy codec's ringing.
        a = round((before["start"] + 0.1) * rate)
        found = onsets(samples[a : round(event["end"] * rate)], rate, **detector)
        assert found, f"no sound at {event['start']}"
        lead = onsets(_clip_of(event, sounds, base, voice), rate, **detector)[0]
        # Lossless: the exact sample (the plan JSON's times are rounded to microseconds);
        # lossy: within 10 ms.
        tolerance = 0.5 / rate + 1e-6 if lossless else 0.010
        assert abs((a + found[0] - lead) / rate - event["start"]) <= tolerance
        checked += 1
    assert checked >= 3


def _clip_of(event, sounds, base, voice=None):
    from voiceguide.routine.models import Voice
    from voiceguide.timeline import Cue

    if event["kind"] == "tone":
        name = event["text"]
        if name not in ("bell", "beep"):  # a chime file, named as the routine wrote it
            name = str((base / name).resolve())
        return sounds(Cue("tone", name)).to_int16()
    return sounds(Cue("speech", event["text"], voice or Voice())).to_int16()


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3"])
def test_builtin_routine_in_every_format(tmp_path, fmt, synth):
    speech = synth
    out = tmp_path / f"hand.{fmt}"
    result = render_routine(
        "hand-massage",
        PlanOptions(reps="min"),
        out,
        timeline_json=tmp_path / "plan.json",
        speech=speech,
    )
    assert result.path == out
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["estimated"] is False
    check_file(out, plan, speech, lossless=fmt in ("wav", "flac"))
    assert chapter_titles(out) == [
        "Palm circles (left)",
        "Palm circles (right)",
        "Finger pulls (left)",
        "Finger pulls (right)",
        "Wrist stretch (left)",
        "Wrist stretch (right)",
        "Shake out",
    ]


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3"])
def test_custom_routine_with_wav_chime_and_sides(tmp_path, custom, fmt, synth):
    speech = synth
    out = tmp_path / f"neck.{fmt}"
    render_routine(
        str(custom),
        PlanOptions(pace=1.3),
        out,
        sample_rate=44100,
        timeline_json=tmp_path / "plan.json",
        captions=tmp_path / "neck.srt",
        speech=speech,
    )
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert any(e["kind"] == "tone" for e in plan["events"])
    check_file(out, plan, speech, lossless=fmt in ("wav", "flac"), base=custom.parent)
    info = mutagen.File(str(out))
    assert info.info.sample_rate == 44100
    assert chapter_titles(out) == [
        "Ear to shoulder (left)",
        "Ear to shoulder (right)",
        "Chin tucks",
    ]
    srt = (tmp_path / "neck.srt").read_text()
    assert srt.count(" --> ") == sum(1 for e in plan["events"] if e["kind"] == "speech")


def test_a_given_speech_source_is_not_closed(tmp_path):
    speech = EspeakSpeech()
    render_routine("hand-massage", PlanOptions(reps="min"), tmp_path / "h.wav", speech=speech)
    assert speech.closed is False


@pytest.mark.piper
def test_piper_render_passes_the_same_exactness_checks(tmp_path):
    from voiceguide.routine.models import Voice, VoiceSpec
    from voiceguide.speech.synth import Synthesizer

    options = PlanOptions(overrides=VoiceSpec(engine="piper", id="en_US-joe-medium"))
    out = tmp_path / "facial.wav"
    with Synthesizer(cache_dir=tmp_path / "clips") as speech:
        render_routine(
            "facial-massage", options, out, timeline_json=tmp_path / "plan.json", speech=speech
        )
        plan = json.loads((tmp_path / "plan.json").read_text())
        assert sf.info(str(out)).samplerate == 22050  # the joe model's own rate

        joe = Voice(engine="piper", id="en_US-joe-medium")
        check_file(out, plan, speech, lossless=True, voice=joe)


def test_default_output_is_audio_slug_wav(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = render_routine("hand-massage", PlanOptions(reps="min"), speech=EspeakSpeech())
    assert result.path.as_posix() == "audio/hand-massage.wav"
    assert (tmp_path / "audio" / "hand-massage.wav").is_file()


def test_cli_rejects_unknown_extension_before_synthesis(tmp_path):
    result = CliRunner().invoke(main, ["render", "hand-massage", "-o", str(tmp_path / "x.xyz")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: unsupported output format '.xyz' (use .wav, .flac, .ogg or .mp3)"
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "{d}/folder.wav"], "cannot write {d}/folder.wav: it is a folder"),
        (
            ["-o", "{d}/x.wav", "--timeline", "{d}/folder.wav"],
            "cannot write {d}/folder.wav: it is a folder",
        ),
        (
            ["-o", "{d}/x.wav", "--split", "{d}/file.txt"],
            "cannot write {d}/file.txt/playlist.m3u8: {d}/file.txt is a file, not a folder",
        ),
        (
            ["-o", "{d}/file.txt/sub/x.wav"],
            "cannot write {d}/file.txt/sub/x.wav: {d}/file.txt is a file, not a folder",
        ),
    ],
)
def test_cli_destination_in_the_way_is_one_line_exit_1(tmp_path, args, message):
    (tmp_path / "folder.wav").mkdir()
    (tmp_path / "file.txt").write_text("keep me")
    argv = ["render", "hand-massage", "-q", *(a.format(d=tmp_path) for a in args)]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["error: " + message.format(d=tmp_path)]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["file.txt", "folder.wav"]
    assert (tmp_path / "file.txt").read_text() == "keep me"


def test_cli_renders_with_the_real_synthesizer(tmp_path):
    out = tmp_path / "hand.mp3"
    result = CliRunner().invoke(
        main,
        [
            "render",
            "hand-massage",
            "--reps",
            "min",
            "-o",
            str(out),
            "--quiet",
            "--timeline",
            str(tmp_path / "plan.json"),
            "--split",
            str(tmp_path / "tracks"),
        ],
    )
    assert result.exit_code == 0, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith(f"{out}  ")
    assert line.endswith((" kB", " MB"))
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert abs(mutagen.File(str(out)).info.length - plan["total"]) <= 0.001
    assert (tmp_path / "tracks" / "playlist.m3u8").is_file()


def test_cli_rate_must_suit_mp3(tmp_path):
    result = CliRunner().invoke(
        main, ["render", "hand-massage", "-o", str(tmp_path / "x.mp3"), "--sample-rate", "22000"]
    )
    assert result.exit_code == 1
    assert "MP3 cannot use a sample rate of 22000 Hz" in result.output
