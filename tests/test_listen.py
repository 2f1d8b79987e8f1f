"""Voice commands: the grammar, recognition on synthesized speech (several voices and
rates, with noise), guide-like sentences rejected, `voiceguide listen --file`, and how the
player obeys spoken commands and tells its sources when it sounds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from tests.listen_audio import GUIDE_SENTENCES, VOICES, int16, padded, spoken, with_noise
from tests.player_fixtures import FakeClock, FakeKeys
from tests.test_player_schedule import run
from voiceguide.cli import main
from voiceguide.control.commands import Command
from voiceguide.control.grammar import PHRASES, command_name, phrase_command
from voiceguide.control.listen import Merged, listen_file
from voiceguide.control.recognize import RATE, recognize
from voiceguide.speech.synth import Synthesizer

pytestmark = pytest.mark.listen


@pytest.fixture(scope="module")
def speech() -> Iterator[Synthesizer]:
    with Synthesizer(use_cache=False) as synth:
        yield synth


def test_every_phrase_of_the_table_means_its_command() -> None:
    table = {
        "next": Command.NEXT, "skip": Command.NEXT, "done": Command.NEXT, "ready": Command.NEXT,
        "back": Command.PREVIOUS, "previous": Command.PREVIOUS,
        "pause": Command.HOLD, "stop": Command.HOLD, "wait": Command.HOLD,
        "resume": Command.RESUME, "continue": Command.RESUME, "go on": Command.RESUME,
        "repeat": Command.REPEAT, "again": Command.REPEAT,
        "slower": Command.SLOWER, "faster": Command.FASTER,
    }  # fmt: skip
    assert table == PHRASES
    assert phrase_command(" Go  ON ") is Command.RESUME
    assert phrase_command("next step") is None
    names = {command_name(c) for c in table.values()}
    assert names == {"next", "back", "pause", "resume", "repeat", "slower", "faster"}


def recognised(samples: np.ndarray) -> list[Command | None]:
    return [heard.command for heard in recognize(int16(samples))]


@pytest.mark.parametrize("voice", VOICES, ids=lambda v: f"{v.engine}-{v.rate}")
def test_commands_spoken_alone_are_recognised(speech: Synthesizer, voice) -> None:  # type: ignore[no-untyped-def]
    clean = noisy = 0
    for phrase, command in PHRASES.items():
        word = padded(spoken(speech, phrase, voice))
        clean += recognised(word) == [command]
        noisy += recognised(with_noise(word, 15)) == [command]
    # Measured (scripts/bench_listen): 16/16 clean for every voice; at 15 dB SNR 14-15/16.
    assert clean >= 15
    assert noisy >= 13


def test_commands_a_second_apart_in_one_long_input_are_each_recognised(
    speech: Synthesizer,
) -> None:
    # Digital silence between them (a file, the piped test microphone) once kept the speech
    # detector from ending utterances after a minute or so: commands merged into one.
    phrases = list(PHRASES) * 2
    words = [padded(spoken(speech, phrase, voice)) for voice in VOICES for phrase in phrases]
    heard = recognize(int16(np.concatenate(words)))
    expected = [PHRASES[phrase] for _ in VOICES for phrase in phrases]
    assert len(heard) == len(expected)
    assert sum(h.command == c for h, c in zip(heard, expected, strict=True)) >= len(expected) - 4


@pytest.mark.parametrize("voice", [VOICES[1], VOICES[-1]], ids=["espeak", "piper"])
def test_guide_sentences_with_command_words_recognise_nothing(speech: Synthesizer, voice) -> None:  # type: ignore[no-untyped-def]
    for sentence in GUIDE_SENTENCES:
        heard = recognize(int16(padded(spoken(speech, sentence, voice))))
        assert [h.command for h in heard if h.command is not None] == [], sentence


def test_listen_file_prints_each_command_with_its_start(
    speech: Synthesizer, tmp_path: Path
) -> None:
    voice = VOICES[-1]
    track = np.concatenate(
        [
            padded(spoken(speech, "next", voice), 1.0, 1.0),
            spoken(speech, GUIDE_SENTENCES[0], voice),
            padded(spoken(speech, "repeat", voice), 1.0, 1.0),
        ]
    )
    path = tmp_path / "commands.flac"
    sf.write(path, track, RATE)
    result = CliRunner().invoke(main, ["listen", "--file", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[1] for line in lines] == ["next", "repeat"]
    assert lines[0].startswith("00:00.") or lines[0].startswith("00:01.")
    first = float(lines[0].split()[0][3:])
    assert 0.7 <= first <= 1.3  # the word starts at 1.0 s
    result = CliRunner().invoke(main, ["listen", "--file", str(path), "--json"])
    items = json.loads(result.output)
    assert [i["command"] for i in items] == ["next", "repeat"]
    assert set(items[0]) == {"start", "end", "command", "heard"}
    assert items[0]["start"] < items[0]["end"] <= items[1]["start"]
    assert listen_file(path)[1].command is Command.REPEAT


def test_listen_without_a_usable_input_is_one_line_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "noise.wav"
    bad.write_bytes(b"not audio")
    result = CliRunner().invoke(main, ["listen", "--file", str(bad)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("error: cannot read")
    result = CliRunner().invoke(main, ["listen", "--mic", "no-such-microphone-xyz"])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "microphone" in result.output


def test_play_listen_with_no_microphone_fails_before_the_session() -> None:
    result = CliRunner().invoke(
        main, ["play", "facial-massage", "--dry-run", "--mic", "no-such-microphone-xyz"]
    )
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "microphone" in result.output
    assert "Welcome" not in result.output


# --- the player ------------------------------------------------------------------------


class FakeVoice(FakeKeys):
    """Commands at scripted clock times, as a microphone would give them; keeps what the
    player said about its sounds."""

    def __init__(self, clock: FakeClock, script: list[tuple[float, Command]]) -> None:
        super().__init__(clock, [(t, c.value) for t, c in script])
        self.sounds: list[tuple[float, float]] = []

    def wait(self, timeout: float) -> Command | None:
        if self.script and self.script[0][0] <= self.clock.t + timeout:
            at, value = self.script.pop(0)
            self.clock.t = max(self.clock.t, at)
            return Command(value)
        self.clock.t += timeout
        return None

    def sounding(self, start: float, end: float) -> None:
        if self.sounds and self.sounds[-1][0] == start:
            self.sounds[-1] = (start, end)
        else:
            self.sounds.append((start, end))


def voiced(script: list[tuple[float, Command]]):  # type: ignore[no-untyped-def]
    holder: dict[str, FakeVoice] = {}

    class Voice(FakeVoice):
        def __init__(self, clock: FakeClock, _script: object) -> None:
            super().__init__(clock, [(clock.t + t, c) for t, c in script])
            holder["voice"] = self

    return Voice, holder


def test_spoken_pause_twice_stays_paused_and_resume_while_playing_does_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tests.test_player_schedule as schedule_tests

    plain = run()[0]
    script = [
        (0.2, Command.RESUME),
        (1.0, Command.HOLD),
        (2.0, Command.HOLD),
        (5.0, Command.RESUME),
    ]
    cls, holder = voiced(script)
    monkeypatch.setattr(schedule_tests, "FakeKeys", cls)
    result, _, status, _ = run([])
    assert status.notices.count("paused") == 1 and status.notices.count("resumed") == 1
    assert result.elapsed == pytest.approx(plain.elapsed + 4.0, abs=0.5)  # paused 1.0 -> 5.0
    voice = holder["voice"]
    audible = [o for o in result.onsets]
    assert len(voice.sounds) >= len(audible)  # told of every sound (and of each cut)
    for onset in audible:
        assert any(abs(start - onset.at) < 1e-9 for start, _ in voice.sounds)
    cut = [s for s in voice.sounds if s[0] <= result.origin + 1.0 < s[1] + 1e-9]
    assert all(end <= result.origin + 1.0 + 1e-6 for _, end in cut)  # the pause cut it short


def test_merged_sources_give_keys_and_voice_both() -> None:
    clock = FakeClock()
    keys = FakeKeys(clock, [(clock.t + 0.01, "n")])
    voice = FakeVoice(clock, [(clock.t, Command.HOLD)])
    merged = Merged([voice, keys])
    merged.open()
    assert merged.wait(0.1) is Command.HOLD
    assert merged.wait(0.1) is Command.NEXT
    merged.sounding(1.0, 2.0)
    assert voice.sounds == [(1.0, 2.0)]
    merged.close()
    assert keys.opened == keys.closed == 1


def test_what_was_heard_shows_in_the_status_line_or_as_lines() -> None:
    import io

    from voiceguide.control.recognize import Heard
    from voiceguide.control.voice import HeardLog

    out = io.StringIO()
    lines = HeardLog(out, lines=True)
    lines.heard(Heard(12.345, 12.8, "next", Command.NEXT), True)
    lines.heard(Heard(13.0, 13.4, "pause", Command.HOLD), False)  # our own voice: not shown
    assert out.getvalue() == "00:12.345 heard: next\n"
    line = HeardLog(io.StringIO(), lines=False)
    assert line.status_text() == "listening"
    line.heard(Heard(1.0, 1.5, "go on", Command.RESUME), True)
    assert line.status_text() == "listening · heard: resume"
