"""A real `voiceguide serve` app on a free local port (uvicorn in a thread) and a real
headless Chromium (Debian's, driven by Playwright: no browser download), at phone size."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}

# Short, with everything the page shows: an intro, a `wait: true`, sides and repetitions,
# an outro.
ROUTINE = """\
title: Phone test
intro: Welcome.
steps:
  - name: Forehead
    say: Smooth the forehead.
    hold: 1s
    wait: true
  - name: Chin
    say: Now the chin.
    sides: [left, right]
    repeat: 2
    every: 2s
  - name: Rest
    say: Rest.
    hold: 1s
outro: Done.
"""


@dataclass
class Server:
    base: str  # http://127.0.0.1:PORT
    routine_name: str

    def get(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def plan(self, name: str, query: str = "") -> dict[str, Any]:
        status, _, body = self.get(f"/routine/{name}/plan.json" + (f"?{query}" if query else ""))
        assert status == 200, body
        return json.loads(body)


def start_server(folder: Path, refs: list[str]) -> tuple[Server, Any, threading.Thread]:
    import uvicorn

    from voiceguide.web.app import Served, create_app, routine_table
    from voiceguide.web.renders import Renders
    from voiceguide.web.server import listen

    served = Served(routine_table(refs), Renders(folder / "renders"), folder / "clips")
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(served), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    return Server(f"http://127.0.0.1:{port}", Path(refs[0]).stem), server, thread


@pytest.fixture(scope="module")
def phone_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve")
    routine = folder / "phone-test.yaml"
    routine.write_text(ROUTINE)
    server, uv, thread = start_server(folder, [str(routine)])
    try:
        yield server
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run scripts/setup (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Chromium mutes audio under automation unless --mute-audio is removed; no user
        # gesture is needed here because every test clicks Play as a person would.
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), ignore_default_args=["--mute-audio"]
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def phone(chromium: Any) -> Iterator[Any]:
    """A fresh page at phone size (390×844) that records every request it makes and fails
    on any script error."""
    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, has_touch=True)
    page = context.new_page()
    page.requests = []  # type: ignore[attr-defined]
    page.errors = []  # type: ignore[attr-defined]
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    try:
        yield page
    finally:
        errors = list(page.errors)
        context.close()
        assert not errors, errors


def step_at(plan: dict[str, Any], t: float) -> str:
    """What the page should name at time t, from the plan JSON alone: the step of the last
    event begun (a gap belongs to the step before it), "Intro" before the first step, "End"
    from the outro's first words."""
    events = plan["events"]
    last_step = max((i for i, e in enumerate(events) if e["step"] is not None), default=-1)
    name = "Intro"
    for i, event in enumerate(events):
        if event["start"] > t + 1e-6:
            break
        if event["step"] is not None:
            name = event["step"]
        elif i > last_step and event["kind"] == "speech":
            name = "End"
    return name


def first_event(plan: dict[str, Any], **match: Any) -> dict[str, Any]:
    return next(e for e in plan["events"] if all(e.get(k) == v for k, v in match.items()))


def audio_time(page: Any) -> float:
    return float(page.evaluate("() => document.getElementById('audio').currentTime"))


def wait_for_time(page: Any, above: float, timeout: float = 10.0) -> float:
    """Wait until the track's time passes `above` (it is really playing)."""
    page.wait_for_function(
        f"() => document.getElementById('audio').currentTime > {above}", timeout=timeout * 1000
    )
    return audio_time(page)
