"""A real-time test microphone with no sound card: a private PulseAudio server whose pipe
source reads a FIFO, seen by ALSA programs as `pcm.vgmic { type pulse }` (and as the
default). A feeder thread writes silence in real time and mixes in the clips it is given at
chosen clock times, so a test speaks at a known moment (see ../shared/NOTES.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

RATE = 16000
BLOCK = 320  # 20 ms


def available() -> bool:
    return (
        shutil.which("pulseaudio") is not None
        and Path("/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so").exists()
        or bool(list(Path("/usr/lib").glob("*/alsa-lib/libasound_module_pcm_pulse.so")))
    )


class VirtualMic:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fifo = folder / "mic.fifo"
        self.socket = folder / "native"
        self.config = folder / "asound.conf"
        self._clips: list[tuple[float, np.ndarray]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.server: subprocess.Popen[bytes] | None = None
        self.feeder: threading.Thread | None = None

    def env(self) -> dict[str, str]:
        """The environment a program needs to see this microphone (as `vgmic` and default)."""
        return {**os.environ, "ALSA_CONFIG_PATH": str(self.config)}

    def start(self) -> None:
        (self.folder / "run").mkdir()
        server = f"unix:{self.socket}"
        self.config.write_text(
            f'pcm.!default {{ type pulse server "{server}" device "vgmic" }}\n'
            f'pcm.vgmic {{ type pulse server "{server}" device "vgmic" }}\n'
            f'ctl.!default {{ type pulse server "{server}" }}\n'
        )
        env = {
            **os.environ,
            "HOME": str(self.folder),
            "PULSE_RUNTIME_PATH": str(self.folder / "run"),
        }
        self.server = subprocess.Popen(
            [
                "pulseaudio", "--system=false", "--exit-idle-time=-1", "--daemonize=no", "-n",
                "--disable-shm=yes", "--log-target=stderr",
                "-L", f"module-native-protocol-unix socket={self.socket} auth-anonymous=1",
                "-L", f"module-pipe-source source_name=vgmic file={self.fifo} format=s16le rate={RATE} channels=1",
                "-L", "module-null-sink sink_name=vgnull",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not (self.socket.exists() and self.fifo.exists()):
            if time.monotonic() > deadline or self.server.poll() is not None:
                raise RuntimeError("the test PulseAudio server did not start")
            time.sleep(0.05)
        self.feeder = threading.Thread(target=self._feed, daemon=True)
        self.feeder.start()

    def say(self, samples: np.ndarray, at: float) -> None:
        """Play 16 kHz int16 `samples` into the microphone from clock time `at`
        (time.monotonic)."""
        with self._lock:
            self._clips.append((at, samples.astype(np.int16)))

    def _feed(self) -> None:
        fd = os.open(self.fifo, os.O_WRONLY)
        try:
            start = time.monotonic()
            written = 0
            while not self._stop.is_set():
                block_start = start + written / RATE
                block = np.zeros(BLOCK, np.int32)
                with self._lock:
                    for at, clip in self._clips:
                        first = int(round((block_start - at) * RATE))
                        if first + BLOCK <= 0 or first >= clip.shape[0]:
                            continue
                        lo, hi = max(0, first), min(clip.shape[0], first + BLOCK)
                        block[lo - first : hi - first] += clip[lo:hi]
                os.write(fd, np.clip(block, -32768, 32767).astype("<i2").tobytes())
                written += BLOCK
                # Written 40 ms ahead of the clock: the pipe source reads in real time.
                delay = start + written / RATE - 0.04 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        except OSError:
            pass
        finally:
            os.close(fd)

    def stop(self) -> None:
        self._stop.set()
        if self.feeder is not None:
            self.feeder.join(timeout=5)
        if self.server is not None:
            self.server.terminate()
            try:
                self.server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
