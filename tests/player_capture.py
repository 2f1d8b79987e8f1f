"""Play through simpleaudio into the test ALSA device and capture what reaches the "speaker".

ALSA reads its configuration once per process, at first use, so this runs as a fresh
subprocess: `python -m tests.player_capture SPEC.json` (from the project root). SPEC:
  {"mode": "play" | "keys" | "nodevice", "dir": tmp dir, "cues": [[wav, silence_after], ...],
   "pace": 1.0}
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


def spec_timeline(cues: list[tuple[str, float]], pace: float):  # type: ignore[no-untyped-def]
    """One part per cue: the speech (its WAV's length), then its silence divided by `pace`."""
    from tests.player_fixtures import build_timeline

    parts = []
    for number, (wav, silence) in enumerate(cues, start=1):
        items = [
            ("speech", load_clip(wav).duration, wav, None),
            ("silence", silence / pace, "", None),
        ]
        parts.append(("step", f"Cue {number}", f"Cue {number}", number, None, items))
    return build_timeline(parts, pace=pace)  # type: ignore[arg-type]


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    directory = Path(spec["dir"])
    mode = spec["mode"]
    if mode == "nodevice":
        os.environ["ALSA_CONFIG_PATH"] = str(ALSA_DIR / "empty.conf")
    else:
        conf, fifo = capture_conf(directory)
        os.environ["ALSA_CONFIG_PATH"] = str(conf)  # before simpleaudio first opens ALSA

    from voiceguide.errors import VoiceguideError
    from voiceguide.keys import TerminalKeys
    from voiceguide.player import play
    from voiceguide.status import PlainStatus

    timeline = spec_timeline(spec["cues"], spec.get("pace", 1.0))
    calls: list[str] = []

    def clip_for(cue):  # type: ignore[no-untyped-def]
        calls.append(cue.text)
        return load_clip(cue.text)

    capture = None
    if mode != "nodevice":
        capture = FifoCapture(fifo, directory)
        capture.start()
    keys = TerminalKeys() if mode == "keys" else None
    started = time.monotonic()
    result: dict[str, object] = {}
    try:
        outcome = play(timeline, clip_for, keys=keys, status=PlainStatus(sys.stderr))
        result.update(
            status=outcome.status,
            origin=outcome.origin,
            onsets=[[o.index, o.due, o.at] for o in outcome.onsets],
        )
    except VoiceguideError as exc:
        result.update(error=str(exc), exit_code=exc.exit_code)
    result.update(seconds=time.monotonic() - started, clip_calls=len(calls))
    if capture is not None:
        time.sleep(0.3)  # the last clip's bytes are still being written by ALSA's thread
        capture.stop()
        result["segments"] = capture.segments
    print(json.dumps(result))
    return int(result.get("exit_code", 0))  # type: ignore[call-overload]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
