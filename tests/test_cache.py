"""The clip cache: round trips, atomic writes, killed writers, damaged entries."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np

from voiceguide.sound.clip import Clip
from voiceguide.speech.cache import ClipCache, cache_key
from voiceguide.speech.synth import cache_clear, cache_info

ROOT = Path(__file__).resolve().parents[1]


def make_clip(seed: int, frames: int = 5000) -> Clip:
    rng = np.random.default_rng(seed)
    return Clip((rng.standard_normal(frames) * 0.1).astype(np.float32), 22050)


def same(a: Clip | None, b: Clip) -> bool:
    return a is not None and a.rate == b.rate and np.array_equal(a.samples, b.samples)


def test_round_trip_is_exact(tmp_path):
    cache = ClipCache(tmp_path)
    key = cache_key("pyttsx3", "v1", "", 150, 1.0, 1, "Hello")
    clip = make_clip(1)
    assert cache.get(key) is None
    cache.put(key, clip)
    assert same(cache.get(key), clip)


def test_key_covers_every_input():
    base = ["pyttsx3", "v1", "gmw/en-us", 150, 1.0, 1, "Hello"]
    keys = {cache_key(*base)}
    for i, other in enumerate(["piper", "v2", "en-us", 151, 0.5, 2, "Hello!"]):
        variant = list(base)
        variant[i] = other
        keys.add(cache_key(*variant))
    assert len(keys) == 8


def test_truncated_entry_is_rejected_and_removed(tmp_path):
    cache = ClipCache(tmp_path)
    key = cache_key("t", 1)
    cache.put(key, make_clip(2))
    path = cache.path(key)
    data = path.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        assert cache.get(key) is None
        assert not path.exists()


def test_flipped_byte_is_rejected(tmp_path):
    cache = ClipCache(tmp_path)
    key = cache_key("t", 2)
    cache.put(key, make_clip(3))
    path = cache.path(key)
    data = bytearray(path.read_bytes())
    data[-7] ^= 0x40
    path.write_bytes(bytes(data))
    assert cache.get(key) is None


def test_entry_under_the_wrong_name_is_rejected(tmp_path):
    cache = ClipCache(tmp_path)
    a, b = cache_key("a"), cache_key("b")
    cache.put(a, make_clip(4))
    cache.path(b).parent.mkdir(parents=True, exist_ok=True)
    os.replace(cache.path(a), cache.path(b))
    assert cache.get(b) is None


def test_writer_killed_mid_write_leaves_no_entry(tmp_path):
    # A real process is killed (SIGKILL) after writing part of the temporary file,
    # before the rename: the entry must stay absent, never half there.
    key = cache_key("killed")
    script = textwrap.dedent(
        f"""
        import os, signal, numpy as np
        from pathlib import Path
        from voiceguide.sound.clip import Clip
        from voiceguide.speech import cache as mod
        real_fdopen = os.fdopen
        class Dying:
            def __init__(self, f): self.f = f
            def __enter__(self): return self
            def __exit__(self, *a): return False
            def write(self, b):
                self.f.write(b[: len(b) // 2]); self.f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
        mod.os.fdopen = lambda fd, mode: Dying(real_fdopen(fd, mode))
        clip = Clip(np.ones(100000, dtype=np.float32) * 0.1, 22050)
        mod.ClipCache(Path({str(tmp_path)!r})).put({key!r}, clip)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True)
    assert proc.returncode == -9
    cache = ClipCache(tmp_path)
    leftovers = list(tmp_path.glob("*/.tmp-*"))
    assert leftovers and leftovers[0].stat().st_size > 0  # the writer really got going
    assert cache.get(key) is None
    assert cache_info(tmp_path).entries == 0
    cache.remove_stale_temporaries(older_than=0)
    assert not list(tmp_path.glob("*/.tmp-*"))
    clip = make_clip(5)
    cache.put(key, clip)
    assert same(cache.get(key), clip)


def test_concurrent_writers_never_expose_a_partial_entry(tmp_path):
    key = cache_key("race")
    clips = [make_clip(10, 40000), make_clip(11, 40000)]
    script = textwrap.dedent(
        f"""
        import sys, numpy as np
        from pathlib import Path
        from voiceguide.sound.clip import Clip
        from voiceguide.speech.cache import ClipCache
        rng = np.random.default_rng(int(sys.argv[1]))
        clip = Clip((rng.standard_normal(40000) * 0.1).astype(np.float32), 22050)
        cache = ClipCache(Path({str(tmp_path)!r}))
        for _ in range(150):
            cache.put({key!r}, clip)
        """
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(seed)], cwd=ROOT) for seed in (10, 11)
    ]
    cache = ClipCache(tmp_path)
    seen = 0
    while any(w.poll() is None for w in writers):
        got = cache.get(key)
        if got is not None:
            assert same(got, clips[0]) or same(got, clips[1])
            seen += 1
    assert all(w.returncode == 0 for w in writers)
    assert seen > 0
    assert cache_info(tmp_path).entries == 1
    assert not list(tmp_path.glob("*/.tmp-*"))


def test_threads_share_a_cache(tmp_path):
    cache = ClipCache(tmp_path)
    clips = {cache_key(i): make_clip(i, 2000) for i in range(40)}

    def work() -> None:
        for key, clip in clips.items():
            cache.put(key, clip)
            assert same(cache.get(key), clip)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache_info(tmp_path).entries == 40


def test_info_and_clear(tmp_path):
    cache = ClipCache(tmp_path / "clips")
    info = cache_info(tmp_path / "clips")
    assert (info.entries, info.bytes) == (0, 0)
    for i in range(5):
        cache.put(cache_key(i), make_clip(i, 1000))
    info = cache_info(tmp_path / "clips")
    assert info.location == tmp_path / "clips"
    assert info.entries == 5
    assert info.bytes > 5 * 4000
    assert cache_clear(tmp_path / "clips") == 5
    assert cache_info(tmp_path / "clips").entries == 0
    assert cache_clear(tmp_path / "missing") == 0


def test_a_cache_that_cannot_take_an_entry_keeps_nothing_and_raises_nothing(tmp_path):
    cache = ClipCache(tmp_path)
    key = cache_key("full")
    (tmp_path / key[:2]).write_text("a file where the sub-folder should be")
    cache.put(key, make_clip(3))
    assert cache.get(key) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == [key[:2]]


def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    cache = ClipCache(tmp_path)
    key = cache_key("disk full")

    def full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    cache.put(key, make_clip(4))
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["CACHEDIR.TAG"]
