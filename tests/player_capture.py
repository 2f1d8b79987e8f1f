"""Play through simpleaudio into the test ALSA device and capture what reaches the "speaker".

ALSA reads its configuration once per process, at first use, so this runs as a fresh
subprocess: `python -m tests.player_capture SPEC.json` (from the project root). SPEC:
  {"mode": "play" | "keys" | "nodevice", "dir": tmp dir, "cues": [[wav, silence_after], ...],
   "pace": 1.0, "music": "brown-noise" (optional), "segment": seconds (optional)}
It prints one JSON object on stdout: the schedule (origin, onsets) and, for each clip that
reached the FIFO, when its first byte arrived (time.monotonic, same clock as the player) and
the file its bytes were saved to.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

ALSA_DIR = Path(__file__).parent / "alsa"


def capture_conf(directory: Path) -> tuple[Path, Path]:
    """Write a capture configuration into `directory`; return (conf path, FIFO path)."""
    fifo = directory / "speaker.fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    conf = directory / "capture.conf"
    conf.write_text((ALSA_DIR / "capture.conf").read_text().replace("@FILE@", str(fifo)))
    return conf, fifo


class FifoCapture:
    """Reads the FIFO on a thread: one segment per clip (ALSA opens and closes it per clip)."""

    def __init__(self, fifo: Path, save_dir: Path) -> None:
        self.fifo, self.save_dir = fifo, save_dir
        self.segments: list[tuple[float, str, int]] = []  # (first byte time, file, size)
        self._stop = False
        self._thread = threading.Thread(target=self._read, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop = True
        # The reader may be blocked opening the FIFO: a writer that opens and closes frees it.
        fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK) if self._thread.is_alive() else -1
        if fd >= 0:
            os.close(fd)
        self._thread.join(timeout=5)

    def _read(self) -> None:
        while not self._stop:
            with open(self.fifo, "rb", buffering=0) as pipe:
                first = pipe.read(65536)
                at = time.monotonic()
                if not first:
                    continue
                chunks = [first]
                while chunk := pipe.read(65536):
                    chunks.append(chunk)
            data = b"".join(chunks)
            path = self.save_dir / f"segment_{len(self.segments):03d}.raw"
            path.write_bytes(data)
            self.segments.append((at, str(path), len(data)))


def load_clip(path: str):  # type: ignore[no-untyped-def]
    import soundfile

    from voiceguide.sound.clip import Clip

    samples, rate = soundfile.read(path, dtype="float32")
    return Clip(samples, rate)


def spec_routine(cues: list[tuple[str, float]]):  # type: ignore[no-untyped-def]
    """One step per cue: its speech (the WAV, said as "Cue N"), then its silence as `hold`."""
    from voiceguide.routine.loader import parse_routine

    steps = "".join(
        f"  - name: Cue {n}\n    say: Cue {n}\n    hold: {silence}\n"
        for n, (_, silence) in enumerate(cues, start=1)
    )
    return parse_routine(f"title: Capture\ngap: 0\nbreath: 0\nsteps:\n{steps}", "capture.yaml")


class FileSpeech:
    """A SpeechSource whose clip for "Cue N" is the Nth WAV file; counts the clips made."""

    def __init__(self, cues: list[tuple[str, float]]) -> None:
        self.wavs = {f"Cue {n}": wav for n, (wav, _) in enumerate(cues, start=1)}
        self.calls: list[str] = []

    def prepare(self, cues, progress=None) -> None:  # type: ignore[no-untyped-def]
        pass

    def clip(self, cue):  # type: ignore[no-untyped-def]
        self.calls.append(cue.text)
        return load_clip(self.wavs[cue.text])

    def check_voices(self, cues) -> None:  # type: ignore[no-untyped-def]
        pass

    def close(self) -> None:
        pass


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    directory = Path(spec["dir"])
    mode = spec["mode"]
    if mode == "nodevice":
        os.environ["ALSA_CONFIG_PATH"] = str(ALSA_DIR / "empty.conf")
    else:
        conf, fifo = capture_conf(directory)
        os.environ["ALSA_CONFIG_PATH"] = str(conf)  # before simpleaudio first opens ALSA

    from voiceguide.control.keys import TerminalKeys
    from voiceguide.errors import VoiceguideError
    from voiceguide.player import play_routine
    from voiceguide.status import PlainStatus
    from voiceguide.timeline import PlanOptions

    music = None
    if spec.get("music"):
        from voiceguide import live_mix
        from voiceguide.routine.models import Music

        music = Music(spec["music"])
        live_mix.SEGMENT = spec.get("segment", live_mix.SEGMENT)
    routine = spec_routine(spec["cues"])
    speech = FileSpeech(spec["cues"])

    capture = None
    if mode != "nodevice":
        capture = FifoCapture(fifo, directory)
        capture.start()
    keys = TerminalKeys() if mode == "keys" else None
    started = time.monotonic()
    result: dict[str, object] = {}
    try:
        outcome = play_routine(
            routine,
            PlanOptions(pace=spec.get("pace", 1.0)),
            commands=keys,
            speech=speech,
            status=PlainStatus(sys.stderr),
            music=music,
        )
        result.update(
            status=outcome.status,
            origin=outcome.origin,
            onsets=[[o.event.text, o.due, o.at] for o in outcome.onsets],
            mixed=[[m.at, m.until, m.clock] for m in outcome.mixed],
        )
    except VoiceguideError as exc:
        result.update(error=str(exc), exit_code=exc.exit_code)
    result.update(seconds=time.monotonic() - started, clip_calls=len(speech.calls))
    if capture is not None:
        time.sleep(0.3)  # the last clip's bytes are still being written by ALSA's thread
        capture.stop()
        result["segments"] = capture.segments
    print(json.dumps(result))
    return int(result.get("exit_code", 0))  # type: ignore[call-overload]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
