"""Synthesized chimes and chime files, measured."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from voiceguide.errors import PlanError
from voiceguide.sound.tones import TONE_NAMES, tone_clip


@pytest.mark.parametrize("rate", [16000, 22050, 44100, 48000])
def test_bell_is_a_soft_decaying_chime(rate):
    clip = tone_clip("bell", rate)
    assert clip.rate == rate
    assert clip.frames == round(1.5 * rate)
    x = clip.samples
    assert 0.45 <= np.abs(x).max() <= 0.5
    assert abs(x[0]) < 0.01 and x[-1] == 0.0  # no click at either end
    tenth = len(x) // 10
    first, last = np.abs(x[:tenth]).max(), np.abs(x[-2 * tenth : -tenth]).max()
    assert last < first / 5  # it decays
    spectrum = np.abs(np.fft.rfft(x))
    peak_hz = np.argmax(spectrum) * rate / len(x)
    assert 600 < peak_hz < 720  # strongest partial: the 660 Hz prime


@pytest.mark.parametrize("rate", [8000, 22050, 48000])
def test_beep_is_a_short_sine_with_fades(rate):
    clip = tone_clip("beep", rate)
    assert clip.frames == round(0.2 * rate)
    x = clip.samples
    assert x[0] == 0.0 and abs(x[-1]) < 1e-6
    spectrum = np.abs(np.fft.rfft(x))
    assert abs(np.argmax(spectrum) * rate / len(x) - 880) < 10
    assert np.abs(x[: round(0.005 * rate)]).max() < 0.3  # fading in, not a step


def test_names():
    assert TONE_NAMES == ("bell", "beep")


def test_wav_file_is_read_mixed_to_mono_and_resampled(tmp_path):
    path = tmp_path / "chime.wav"
    t = np.arange(44100) / 44100
    stereo = np.stack([0.4 * np.sin(2 * np.pi * 440 * t)] * 2, axis=1)
    sf.write(str(path), stereo, 44100)
    clip = tone_clip(str(path), 22050)
    assert clip.rate == 22050
    assert abs(clip.frames - 22050) <= 2
    assert clip.samples.ndim == 1
    assert 0.38 < np.abs(clip.samples).max() < 0.42


def test_missing_file_is_a_plan_error_naming_it(tmp_path):
    with pytest.raises(PlanError) as err:
        tone_clip(str(tmp_path / "nope.wav"), 22050)
    assert str(err.value) == (
        f"chime file not found: {tmp_path / 'nope.wav'} (use bell, beep or a WAV file)"
    )


def test_unreadable_file_is_a_plan_error(tmp_path):
    path = tmp_path / "bad.wav"
    path.write_text("not audio")
    with pytest.raises(PlanError) as err:
        tone_clip(str(path), 22050)
    assert str(err.value).startswith(f"cannot read chime file {path}: ")
    assert "\n" not in str(err.value)
