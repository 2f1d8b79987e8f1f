"""Cues -> processed clips: the cache first, then engines in parallel; each text once per run."""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from types import TracebackType

import numpy as np
from platformdirs import user_cache_dir

import voiceguide.speech  # noqa: F401 - registers the built-in engines
from voiceguide.cue import Cue
from voiceguide.errors import SynthesisError
from voiceguide.routine.models import Voice
from voiceguide.routine.spec import DEFAULT_ENGINE
from voiceguide.sound.clip import Clip
from voiceguide.sound.processing import PROCESSING_VERSION, process_speech
from voiceguide.speech.base import Engine, VoiceInfo, create_engine
from voiceguide.speech.cache import DEFAULT_LIMIT, CacheInfo, ClipCache, cache_key

# Clips are synthesized in chunks so progress can be reported between them; a chunk is
# large enough to keep every worker busy.
_CHUNK_PER_JOB = 8


def default_cache_dir() -> Path:
    """Where clips are cached unless --cache-dir says otherwise."""
    return Path(user_cache_dir("voiceguide")) / "clips"


def cache_info(cache_dir: Path, limit: int | None = DEFAULT_LIMIT) -> CacheInfo:
    """Location, number of entries, total bytes and size limit of a clip cache."""
    return ClipCache(cache_dir).info(limit)


def cache_clear(cache_dir: Path) -> int:
    """Empty a clip cache; returns the number of entries removed."""
    return ClipCache(cache_dir).clear()


class Synthesizer:
    """Hands out trimmed, loudness-normalized clips for speech cues.

    Memory stays flat in the amount of speech: a clip's samples live on disk (the cache, or
    with `use_cache=False` a private folder removed at `close`) and only its length is held;
    `clip` reads it back when it is needed. A clip the disk would not take stays in memory.
    """

    def __init__(
        self,
        cache_dir: Path | None = None,
        use_cache: bool = True,
        jobs: int | None = None,
        engine_factory: Callable[[str], Engine] = create_engine,
        cache_limit: int | None = DEFAULT_LIMIT,
    ):
        self.cache = ClipCache(cache_dir or default_cache_dir()) if use_cache else None
        self.cache_limit = cache_limit if use_cache else None
        self.jobs = jobs
        self._factory = engine_factory
        self._engines: dict[str, Engine] = {}
        self._checked: set[Voice] = set()
        self._lengths: dict[tuple[str, Voice], tuple[str, int, int]] = {}  # key, frames, rate
        self._held: dict[tuple[str, Voice], Clip] = {}  # clips the disk did not take
        self._scratch: Path | None = None
        if self.cache is not None:
            self.cache.open()
            self.cache.remove_stale_temporaries()
            self._store = self.cache
        else:
            self._scratch = Path(tempfile.mkdtemp(prefix="voiceguide-clips-"))
            self._store = ClipCache(self._scratch)
            # Removed at close(), or when the synthesizer is collected without one.
            weakref.finalize(self, shutil.rmtree, self._scratch, True)

    def __enter__(self) -> Synthesizer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def engine(self, name: str) -> Engine:
        """The engine called `name`; one instance per synthesizer, created on first use."""
        if name not in self._engines:
            engine = self._factory(name)
            if self.jobs is not None and hasattr(engine, "jobs"):
                engine.jobs = self.jobs  # engines that parallelize expose a worker count
            self._engines[name] = engine
        return self._engines[name]

    def prepare(
        self, cues: Iterable[Cue], progress: Callable[[int, int], None] | None = None
    ) -> None:
        """Make every unique speech cue available: from the cache, else synthesized in
        parallel. Tone cues are ignored. `progress(done, total)` counts unique cues."""
        wanted = list(dict.fromkeys(_identity(c) for c in cues if c.kind == "speech"))
        total = len(wanted)
        missing = [item for item in wanted if not self._known(item)]
        done = total - len(missing)
        pending: list[tuple[str, Voice, str]] = []
        for text, voice in missing:
            key = self._key(text, voice)
            clip = self.cache.get(key) if self.cache is not None else None
            if clip is not None:
                self._lengths[(text, voice)] = (key, clip.frames, clip.rate)
                done += 1
            else:
                pending.append((text, voice, key))
        if progress is not None:
            progress(done, total)
        if pending:
            _check_file_size_limit()
        by_engine: dict[str, list[tuple[str, Voice, str]]] = {}
        for item in pending:
            by_engine.setdefault(item[1].engine, []).append(item)
        for name, items in by_engine.items():
            engine = self.engine(name)
            for voice in dict.fromkeys(v for _, v, _ in items):
                self._check_voice(engine, voice)
            chunk = max(1, _CHUNK_PER_JOB * (getattr(engine, "jobs", None) or 1))
            for start in range(0, len(items), chunk):
                part = items[start : start + chunk]
                # Engines synthesize at full volume; the voice's volume is applied after
                # loudness normalization, so it is linear and the same for every engine.
                raw = engine.synthesize_batch([(t, replace(v, volume=1.0)) for t, v, _ in part])
                if len(raw) != len(part):
                    raise SynthesisError(f"speech engine {name} returned too few clips")
                for (text, voice, key), clip in zip(part, raw, strict=False):
                    if clip.frames == 0 or not np.any(clip.samples):
                        # Never let an engine's silence pass for speech: the track would
                        # look right and say nothing.
                        raise SynthesisError(f"speech engine {name} returned no audio for {text!r}")
                    processed = process_speech(clip, voice.volume)
                    identity = (text, voice)
                    self._lengths[identity] = (key, processed.frames, processed.rate)
                    if not self._store.put(key, processed):
                        self._held[identity] = processed
                done += len(part)
                if progress is not None:
                    progress(done, total)

    def clip(self, cue: Cue) -> Clip:
        """The processed clip of a speech cue, at the engine's native rate."""
        if cue.kind != "speech":
            raise ValueError(f"not a speech cue: {cue.kind}")
        identity = _identity(cue)
        for _ in range(2):
            if not self._known(identity):
                self.prepare([cue])
            held = self._held.get(identity)
            if held is not None:
                return held
            key = self._lengths[identity][0]
            clip = self._store.get(key)
            if clip is not None:
                return clip
            # Removed meanwhile (`cache clear` in another shell, a full trim): make it again.
            del self._lengths[identity]
        raise SynthesisError(f"the clip for {cue.text!r} could not be kept")

    def frames(self, cue: Cue) -> tuple[int, int]:
        """(frames, sample rate) of `clip(cue)`, without reading its samples."""
        identity = _identity(cue)
        if not self._known(identity):
            self.prepare([cue])
        held = self._held.get(identity)
        if held is not None:
            return held.frames, held.rate
        _, frames, rate = self._lengths[identity]
        return frames, rate

    def length(self, cue: Cue) -> float:
        """Seconds of `clip(cue)` (what the timeline needs), without reading its samples."""
        frames, rate = self.frames(cue)
        return frames / rate

    def _known(self, identity: tuple[str, Voice]) -> bool:
        return identity in self._lengths or identity in self._held

    def close(self) -> None:
        """Stop every engine's workers; trim the cache to its limit; remove scratch clips."""
        engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.close()
        if self.cache is not None and self.cache_limit is not None:
            self.cache.trim(self.cache_limit)
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def check_voices(self, cues: Iterable[Cue]) -> None:
        """Each voice that speech is still to be made with is one its engine has
        (UnknownVoice names the closest ones otherwise). A cached clip was made with a
        voice checked then, so a warm run starts no engine just to list its voices."""
        wanted = dict.fromkeys(_identity(c) for c in cues if c.kind == "speech")
        for text, voice in wanted:
            if voice in self._checked or self._known((text, voice)):
                continue
            key = self._key(text, voice)
            if self.cache is not None and self.cache.has(key):
                continue
            self._check_voice(self.engine(voice.engine), voice)

    def _check_voice(self, engine: Engine, voice: Voice) -> None:
        if voice not in self._checked:
            engine.check_voice(voice)
            self._checked.add(voice)

    def _key(self, text: str, voice: Voice) -> str:
        return clip_key(self.engine(voice.engine), text, voice)


def clip_key(engine: Engine, text: str, voice: Voice) -> str:
    """The cache key of `text` spoken by `voice` on `engine` (reads the engine's version,
    which starts no worker and loads no model)."""
    return cache_key(
        engine.name,
        engine.version(),
        voice.id or "",
        voice.rate,
        voice.volume,
        PROCESSING_VERSION,
        text,
    )


# The largest clip file an engine writes: a 1,000-character cue (the limit) is about a
# minute of speech, 16-bit mono at up to 48 kHz.
_CLIP_FILE_BYTES = 8 * 2**20


def _check_file_size_limit() -> None:
    """SynthesisError when `ulimit -f` is below what one clip file needs: an engine whose
    write fails with EFBIG inside a C callback never returns (it looked like a hang)."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    except (ImportError, OSError, ValueError):
        return
    if soft != resource.RLIM_INFINITY and 0 <= soft < _CLIP_FILE_BYTES:
        raise SynthesisError(
            f"the file size limit (ulimit -f) is {soft // 1024} KiB: speech clips need up to"
            f" {_CLIP_FILE_BYTES // 2**20} MiB (raise it with `ulimit -f unlimited`)"
        )


def _identity(cue: Cue) -> tuple[str, Voice]:
    return (cue.text, cue.voice or Voice())


def no_voices_hint(engine_name: str) -> str:
    """What to tell a user whose engine found no voice."""
    if engine_name == "piper":
        from voiceguide.speech.piper_voices import no_voice_found

        return no_voice_found()
    return f"no {engine_name} voice found"


def list_voices(engine_name: str = DEFAULT_ENGINE) -> list[VoiceInfo]:
    """Every voice of the named engine, sorted by id."""
    engine = create_engine(engine_name)
    try:
        return sorted(engine.voices(), key=lambda v: v.id)
    finally:
        engine.close()
