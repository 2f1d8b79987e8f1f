"""The music bed and the loudness of renders, measured on the files read back."""

from __future__ import annotations

import json

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from click.testing import CliRunner
from scipy.signal import butter, lfilter, resample_poly

from voiceguide.cli import main
from voiceguide.rendering import render_routine
from voiceguide.routine.loader import parse_routine
from voiceguide.routine.models import Music
from voiceguide.sound.loudness import TruePeakLimiter, integrated_loudness
from voiceguide.sound.mastering import _RUN, run_peaks
from voiceguide.sound.music import load_bed
from voiceguide.timeline import PlanOptions

ROUTINE = """\
title: Bed check
breath: 0.8s
gap: 6s
music: {music}
intro: Sit comfortably and breathe slowly.
steps:
  - name: Temples
    say: [Circle your temples gently., Keep your shoulders low.]
    hold: 6s
  - name: Jaw
    say: Let your jaw go soft.
    hold: 4s
outro: That is all for now.
"""


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from voiceguide.speech.synth import Synthesizer

    with Synthesizer(cache_dir=tmp_path_factory.mktemp("clips")) as speech:
        yield speech


@pytest.fixture(scope="module")
def renders(tmp_path_factory, synth):
    """The routine rendered with no bed, with pink noise (duck 10 dB) and with brown noise."""
    folder = tmp_path_factory.mktemp("renders")
    out = {}
    for name, music in (
        ("none", "{source: pink-noise, duck: 0dB, level: -60dB}"),
        ("pink", "{source: pink-noise, duck: 10dB}"),
        ("brown", "brown-noise"),
    ):
        routine = parse_routine(ROUTINE.format(music=music), str(folder / f"{name}.yaml"))
        music_arg = None if name == "none" else "routine"
        path = folder / f"{name}.wav"
        plan = folder / f"{name}.json"
        render_routine(
            routine, PlanOptions(), path, speech=synth, timeline_json=plan, music=music_arg
        )
        samples, rate = sf.read(str(path))
        out[name] = (samples, rate, json.loads(plan.read_text()))
    return out


def true_peak_db(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.max(np.abs(resample_poly(samples, 4, 1)))))


@pytest.mark.parametrize("name", ["none", "pink", "brown"])
def test_loudness_and_true_peak(renders, name):
    samples, rate, _ = renders[name]
    loudness = pyloudnorm.Meter(rate).integrated_loudness(samples)
    assert abs(loudness - -16.0) <= 0.5, loudness
    assert true_peak_db(samples) <= -1.0


SPARSE = """\
title: Mostly bed
music: {music}
steps:
  - name: Forehead
    say: Smooth the forehead from the centre outwards.
    hold: 40s
  - name: Chin
    say: Press along the chin.
    hold: 40s
"""


@pytest.mark.parametrize("music", ["brown-noise", "rain"])
def test_loudness_of_a_routine_that_is_mostly_bed(tmp_path, synth, music):
    """Few words, long holds: limiting the voice lets the bed's blocks through the gate,
    which a prediction from the unlimited mix does not see (it came out near -21 LUFS)."""
    routine = parse_routine(SPARSE.format(music=music), str(tmp_path / "sparse.yaml"))
    path = tmp_path / "sparse.wav"
    render_routine(routine, PlanOptions(), path, speech=synth)
    samples, rate = sf.read(str(path))
    loudness = pyloudnorm.Meter(rate).integrated_loudness(samples)
    assert abs(loudness - -16.0) <= 0.5, loudness
    assert true_peak_db(samples) <= -1.0


def test_every_cue_on_the_same_sample_with_and_without_music(renders):
    plain, rate, plan = renders["none"]
    bedded, _, plan_bed = renders["pink"]
    assert plan == plan_bed
    assert plain.shape == bedded.shape
    padded = np.concatenate([np.zeros(40), bedded, np.zeros(rate)])
    for event in plan["events"]:
        if event["kind"] != "speech":
            continue
        a = round(event["start"] * rate)
        piece = plain[a : a + int(0.3 * rate)]
        lags = range(-40, 41)
        score = [float(np.dot(piece, padded[40 + a + lag :][: piece.shape[0]])) for lag in lags]
        assert lags[int(np.argmax(score))] == 0


def _level(samples: np.ndarray, rate: int, start: float, end: float) -> float:
    # The bed's high band (first difference): steady over half a second, unlike its lows.
    piece = np.diff(samples[round(start * rate) : round(end * rate)])
    return float(10 * np.log10(np.mean(piece**2)))


def test_duck_depth_under_speech(renders):
    samples, rate, plan = renders["pink"]
    events = plan["events"]
    ducked, clear = [], []
    for i, event in enumerate(events):
        if event["kind"] != "silence" or not 0 < i < len(events) - 1:
            continue
        length = event["end"] - event["start"]
        both_speech = events[i - 1]["kind"] == events[i + 1]["kind"] == "speech"
        if both_speech and length < 1.0:  # a breath between sentences: stays ducked
            ducked.append(_level(samples, rate, event["start"] + 0.15, event["end"] - 0.2))
        elif length > 3.0:  # a hold: back up from 0.5 s after the voice to 0.15 s before
            clear.append(_level(samples, rate, event["start"] + 0.7, event["end"] - 0.3))
    assert ducked and clear
    depth = float(np.mean(clear) - np.mean(ducked))
    assert abs(depth - 10.0) <= 1.0, depth


def test_looped_file_has_no_click(tmp_path):
    rate = 22050
    t = np.arange(int(2.3 * rate)) / rate  # 2.3 s of 440 Hz: a plain loop would jump
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    sf.write(str(tmp_path / "tone.wav"), tone, rate)
    bed = load_bed(Music(str(tmp_path / "tone.wav")), rate, frames=20 * rate)
    assert bed.loops
    period = bed.samples.shape[0]
    played = bed.read(0, 4 * period)
    steps = np.abs(np.diff(played))
    ordinary = np.max(np.abs(np.diff(bed.samples[: period // 2])))
    for k in (1, 2, 3):
        seam = steps[k * period - 5 : k * period + 5]
        assert np.max(seam) <= 1.05 * ordinary


def test_meter_matches_pyloudnorm():
    rate = 22050
    rng = np.random.default_rng(3)
    t = np.arange(12 * rate) / rate
    signal = 0.2 * np.sin(2 * np.pi * 220 * t) * (t % 3 < 2) + 0.01 * rng.standard_normal(t.size)
    assert (
        abs(integrated_loudness(signal, rate) - pyloudnorm.Meter(rate).integrated_loudness(signal))
        < 0.01
    )


def test_limiter_keeps_length_and_position():
    rate = 22050
    rng = np.random.default_rng(4)
    # Loud noise up to 80 % of Nyquist, 7 dB over the ceiling. (Right at Nyquist, 4x
    # meters with different filters disagree by tenths of a dB; speech has nothing there.)
    x = lfilter(*butter(8, 0.8), rng.standard_normal(rate * 3) * 0.5)
    limiter = TruePeakLimiter(rate, -1.2)
    y = np.concatenate([limiter.process(x[i : i + 1000]) for i in range(0, x.size, 1000)])
    y = np.concatenate([y, limiter.flush()])
    assert y.shape == x.shape
    assert true_peak_db(x) > 5.0
    assert true_peak_db(y) <= -1.0
    quiet = x * 0.01  # far under the ceiling: untouched, sample for sample
    limiter = TruePeakLimiter(rate, -1.0)
    z = np.concatenate([limiter.process(quiet), limiter.flush()])
    assert np.array_equal(z, quiet.astype(np.float32))


@pytest.mark.parametrize("window", [1, 33, 661, 1322])
@pytest.mark.parametrize("n", [0, 20, 32, 1000, 4133])
def test_run_peaks_are_the_maxima_of_a_slide_sample_by_sample(n, window):
    z = np.abs(np.random.default_rng(n + window).standard_normal(n + window - 1))
    slide = np.array([z[i : i + window].max() for i in range(n)])
    runs = n // _RUN
    expected = slide[: runs * _RUN].reshape(runs, _RUN).max(axis=1)
    assert np.array_equal(run_peaks(z, runs, _RUN + window - 1), expected)


def test_missing_music_file_is_a_located_error(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(ROUTINE.format(music="rain.flac"))
    result = CliRunner().invoke(main, ["render", str(path), "-o", str(tmp_path / "o.wav")])
    assert result.exit_code == 1
    assert f"{path}:4:8: error: music file 'rain.flac' not found" in result.output
    assert not (tmp_path / "o.wav").exists()


def test_music_option_missing_file_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(
        main, ["plan", "facial-massage", "--music", str(tmp_path / "x.mp3")]
    )
    assert result.exit_code == 2
    assert "--music" in result.output and "not found" in result.output


def test_music_option_keeps_the_routines_level_duck_and_fade(tmp_path):
    from voiceguide import api

    routine = parse_routine(
        "title: T\nmusic: {source: rain, level: -30dB, duck: 6dB, fade: 1s}\n"
        "steps:\n  - name: A\n    say: Hi.\n"
    )
    run = api.plan_options(music="pink-noise")
    assert run._music(routine) == Music("pink-noise", level=-30.0, duck=6.0, fade=1.0)
    assert api.plan_options(music="none")._music(routine) is None
    assert api.plan_options()._music(routine) == routine.music


def test_cli_render_with_music_option_and_loudness(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("title: T\nsteps:\n  - name: A\n    say: Relax your shoulders.\n    hold: 4s\n")
    out = tmp_path / "o.flac"
    args = ["render", str(path), "-o", str(out), "--music", "rain", "--loudness", "-20"]
    result = CliRunner().invoke(main, [*args, "--cache-dir", str(tmp_path / "c"), "-q"])
    assert result.exit_code == 0, result.output
    samples, rate = sf.read(str(out))
    assert abs(pyloudnorm.Meter(rate).integrated_loudness(samples) - -20.0) <= 0.5
    assert true_peak_db(samples) <= -1.0
    hold = samples[round(-3.5 * rate) : round(-3.0 * rate)]  # in the hold: the bed, not zeros
    assert np.sqrt(np.mean(hold**2)) > 1e-4
    bad = CliRunner().invoke(main, ["render", str(path), "--loudness", "3"])
    assert bad.exit_code == 2 and "--loudness" in bad.output
