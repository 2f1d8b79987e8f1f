"""The player page in a real headless Chromium at phone size: served by `voiceguide serve`'s
app and as the self-contained `.html` file from file://. The track really plays (its time
advances); every expectation about where a step starts comes from the plan JSON."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

import voiceguide
from tests.phone_fixtures import (
    ROUTINE,
    Server,
    audio_time,
    first_event,
    step_at,
    wait_for_time,
)

pytest_plugins = ["tests.phone_fixtures"]  # its fixtures: phone_server, chromium, phone

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parent.parent / "docs"
NAMES = ["Play", "Previous step", "Next step", "Repeat"]


def button(page: Any, name: str) -> Any:
    return page.get_by_role("button", name=name, exact=True)


def open_player(page: Any, server: Server, query: str = "") -> dict[str, Any]:
    page.goto(f"{server.base}/routine/{server.routine_name}" + (f"?{query}" if query else ""))
    page.wait_for_function("() => document.getElementById('audio').readyState >= 1")
    return server.plan(server.routine_name, query)


def just_after(t: float, start: float) -> bool:
    """Read while playing: at `start`, or the moment after (a read takes a few ms)."""
    return start - 0.005 <= t <= start + 0.25


def jump(page: Any, name: str) -> None:
    """Open the step list, as a person would, and tap a step (it plays from there)."""
    if page.locator("#steps-box").get_attribute("open") is None:
        page.locator("#steps-box summary").click()
    page.get_by_role("button", name=name, exact=True).click()


def shown(page: Any) -> tuple[float, str]:
    """The track's time and the step the status names, read in one go."""
    t, name = page.evaluate(
        "() => [document.getElementById('audio').currentTime,"
        " document.getElementById('step').textContent]"
    )
    return float(t), str(name)


def test_play_advances_the_track_and_the_status_names_the_step(phone: Any, phone_server: Server):
    plan = open_player(phone, phone_server)
    assert button(phone, "Play").count() == 1
    button(phone, "Play").click()
    wait_for_time(phone, 0.4)
    assert button(phone, "Pause").count() == 1  # one toggle: now named Pause
    first = first_event(plan, step="Forehead")["start"]
    phone.wait_for_function(f"() => document.getElementById('audio').currentTime > {first + 0.3}")
    t, name = shown(phone)
    assert name == step_at(plan, t) == "Forehead"
    assert phone.locator("#caption").text_content() == "Smooth the forehead."
    assert "Step 1 of 3" in phone.locator("#where").text_content()
    button(phone, "Pause").click()
    paused = audio_time(phone)
    time.sleep(0.4)
    assert audio_time(phone) == pytest.approx(paused, abs=1e-3)


def test_next_step_goes_to_the_next_steps_start_from_the_plan(phone: Any, phone_server: Server):
    plan = open_player(phone, phone_server)
    button(phone, "Play").click()
    wait_for_time(phone, 0.2)
    button(phone, "Next step").click()  # from the intro: the first step
    forehead = first_event(plan, step="Forehead")["start"]
    t, name = shown(phone)
    assert just_after(t, forehead)
    assert name == "Forehead"
    wait_for_time(phone, forehead + 0.3)  # and it plays on from there
    button(phone, "Next step").click()  # past the wait: the next step, its first side
    chin = first_event(plan, step="Chin", side="left")["start"]
    t, name = shown(phone)
    assert just_after(t, chin)
    assert name == "Chin"
    assert phone.locator("#detail").text_content().startswith("Left side")
    button(phone, "Next step").click()  # "next step" skips the sides left, like `n` live
    t, name = shown(phone)
    assert just_after(t, first_event(plan, step="Rest")["start"])
    button(phone, "Previous step").click()  # within 3 s of its start: the step before
    assert just_after(audio_time(phone), chin)


def test_a_wait_step_stops_the_track_until_play(phone: Any, phone_server: Server):
    plan = open_player(phone, phone_server)
    wait = first_event(plan, kind="wait")
    assert wait["until_ready"] is True
    jump(phone, "1. Forehead")  # the step list: jump and play
    phone.wait_for_function("() => voiceguide.state().waiting", timeout=15000)
    t = audio_time(phone)
    assert t == pytest.approx(wait["start"], abs=1e-3)  # stopped exactly at its start
    assert phone.evaluate("() => document.getElementById('audio').paused")
    assert phone.locator("#wait").is_visible()
    time.sleep(1.0)
    assert audio_time(phone) == pytest.approx(t, abs=1e-3)  # stopped, not counting down
    button(phone, "Play").click()
    t = wait_for_time(phone, wait["end"] + 0.1)
    assert t >= wait["end"]
    assert not phone.locator("#wait").is_visible()
    assert shown(phone)[1] == step_at(plan, audio_time(phone))


def test_next_step_at_a_wait_goes_on(phone: Any, phone_server: Server):
    plan = open_player(phone, phone_server)
    wait = first_event(plan, kind="wait")
    jump(phone, "1. Forehead")
    phone.wait_for_function("() => voiceguide.state().waiting", timeout=15000)
    button(phone, "Next step").click()
    assert wait_for_time(phone, wait["end"] + 0.1) >= wait["end"]


def test_repeat_plays_the_last_cue_again(phone: Any, phone_server: Server):
    plan = open_player(phone, phone_server)
    button(phone, "Play").click()
    cue = first_event(plan, kind="speech", step="Forehead")
    wait_for_time(phone, cue["end"] + 0.2)
    button(phone, "Repeat").click()
    assert just_after(audio_time(phone), cue["start"])
    assert wait_for_time(phone, cue["start"] + 0.2) > cue["start"]


def test_media_session_handlers_steer_the_player(phone: Any, phone_server: Server):
    # Chromium does not list registered handlers, so the page's registrations are recorded
    # on their way in, then called as a headset's or a lock screen's buttons would.
    phone.add_init_script(
        """
        window.__handlers = {};
        const set = navigator.mediaSession.setActionHandler.bind(navigator.mediaSession);
        navigator.mediaSession.setActionHandler = (action, handler) => {
          window.__handlers[action] = handler; set(action, handler);
        };
        """
    )
    plan = open_player(phone, phone_server)
    actions = phone.evaluate("() => Object.keys(window.__handlers).sort()")
    assert {"play", "pause", "nexttrack", "previoustrack"} <= set(actions)
    phone.evaluate("() => window.__handlers.play({action: 'play'})")
    wait_for_time(phone, 0.2)
    assert phone.evaluate("() => navigator.mediaSession.playbackState") == "playing"
    phone.evaluate("() => window.__handlers.nexttrack({action: 'nexttrack'})")
    assert just_after(audio_time(phone), first_event(plan, step="Forehead")["start"])
    metadata = phone.evaluate(
        "() => [navigator.mediaSession.metadata.title, navigator.mediaSession.metadata.artist]"
    )
    assert metadata == ["Forehead", "Phone test"]
    phone.evaluate("() => window.__handlers.pause({action: 'pause'})")
    assert phone.evaluate("() => document.getElementById('audio').paused")
    assert phone.evaluate("() => navigator.mediaSession.playbackState") == "paused"


def test_the_screen_is_kept_on_while_playing(phone: Any, phone_server: Server):
    open_player(phone, phone_server)
    button(phone, "Play").click()
    wait_for_time(phone, 0.2)
    # http://127.0.0.1 is a secure context: the Screen Wake Lock itself.
    assert phone.evaluate("() => voiceguide.awake()") == "wake-lock"
    button(phone, "Pause").click()
    assert phone.evaluate("() => voiceguide.awake()") == "off"


def test_pace_change_renders_afresh_and_resumes_at_the_same_step(phone: Any, phone_server: Server):
    plan = open_player(phone, phone_server)
    jump(phone, "2. Chin")
    wait_for_time(phone, first_event(plan, step="Chin")["start"] + 0.2)
    phone.get_by_label("Pace").select_option("2")
    phone.get_by_role("button", name="Apply").click()
    faster = phone_server.plan(phone_server.routine_name, "pace=2")
    chin = first_event(faster, step="Chin", side="left")["start"]
    phone.wait_for_url(re.compile(r"\?pace=2$"))
    wait_for_time(phone, chin + 0.2, timeout=30)
    assert shown(phone)[1] == "Chin"
    assert phone.evaluate("() => voiceguide.plan.pace") == 2
    assert phone.evaluate("() => document.getElementById('audio').src").endswith("audio.mp3?pace=2")


def test_targets_names_weight_and_no_request_leaves_the_origin(phone: Any, phone_server: Server):
    open_player(phone, phone_server)
    for name in NAMES:
        assert button(phone, name).count() == 1, name
    small = phone.evaluate(
        """() => [...document.querySelectorAll('button, select, summary, a')]
             .filter((e) => e.offsetParent !== null)
             .map((e) => [e.textContent.trim(), e.getBoundingClientRect()])
             .filter(([, r]) => r.width < 48 || r.height < 48)"""
    )
    assert small == []
    _, _, body = phone_server.get(f"/routine/{phone_server.routine_name}")
    assert len(body) <= 60_000
    button(phone, "Play").click()
    wait_for_time(phone, 0.3)
    assert phone.requests, "no request recorded"
    assert all(u.startswith((phone_server.base, "data:", "blob:")) for u in phone.requests), (
        phone.requests
    )


def test_the_html_file_plays_from_file_url(phone: Any, tmp_path: Path):
    out = tmp_path / "phone.html"
    routine = voiceguide.loads(ROUTINE, str(tmp_path / "phone-test.yaml"))
    voiceguide.render(routine, out, pace=1.5, cache_dir=tmp_path / "clips")
    plan = voiceguide.plan(routine, pace=1.5, cache_dir=tmp_path / "clips").to_json()
    phone.goto(out.as_uri())
    phone.wait_for_function("() => document.getElementById('audio').readyState >= 1")
    duration = phone.evaluate("() => document.getElementById('audio').duration")
    assert duration == pytest.approx(plan["total"], abs=0.01)  # the track is exactly the plan
    button(phone, "Play").click()
    wait_for_time(phone, 0.3)
    button(phone, "Next step").click()
    t, name = shown(phone)
    assert just_after(t, first_event(plan, step="Forehead")["start"])
    wait_for_time(phone, t + 0.3)
    t, name = shown(phone)
    assert name == step_at(plan, t) == "Forehead"
    assert phone.locator("#options").is_hidden()  # no server to render afresh
    assert all(u.startswith(("file:", "data:", "blob:")) for u in phone.requests), phone.requests
    # file:// is a secure context only in some browsers; either way the screen is handled.
    assert phone.evaluate("() => voiceguide.awake()") in ("wake-lock", "video")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshot_for_the_readme(chromium: Any, phone_server: Server, scheme: str):
    """docs/phone.png (and phone-dark.png): the built-in facial massage at 390×844, in its
    fourth step, for a person to look at (the README shows it)."""
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, color_scheme=scheme
    )
    try:
        page = context.new_page()
        page.goto(f"{phone_server.base}/routine/facial-massage")
        plan = phone_server.plan("facial-massage")
        page.wait_for_function("() => document.getElementById('audio').readyState >= 1")
        button(page, "Play").click()
        wait_for_time(page, 0.2)
        target = next(e for e in plan["events"] if e["rep"] == 3)
        page.evaluate(
            f"() => {{ const a = document.getElementById('audio'); a.currentTime = {target['start'] + 0.1}; }}"
        )
        wait_for_time(page, target["start"] + 0.3)
        button(page, "Pause").click()
        assert (
            page.locator("#detail")
            .text_content()
            .endswith(f"Repetition 3 of {_reps(plan, target)}")
        )
        DOCS.mkdir(exist_ok=True)
        path = DOCS / ("phone.png" if scheme == "light" else "phone-dark.png")
        page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000
    finally:
        context.close()


def _reps(plan: dict[str, Any], event: dict[str, Any]) -> int:
    return max(
        e["rep"] or 0
        for e in plan["events"]
        if e["step"] == event["step"] and e["side"] == event["side"]
    )
