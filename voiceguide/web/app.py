"""The web app behind `voiceguide serve`: the routines served, their player pages, tracks and
plans, with plan options in the query.

    /                           the routines served
    /routine/NAME               the player page
    /routine/NAME/audio.mp3     the track (answers byte ranges: HTTP 206)
    /routine/NAME/plan.json     the plan JSON of that track

Query options `pace`, `reps`, `rate`, `voice`, `fit`, `music` apply to all three and are checked by
`api.plan_options`, like the command line's. A bad request gets a 4xx and one line of text;
nothing outside the renders folder is ever sent.
"""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
)
from starlette.routing import Route

from voiceguide import api
from voiceguide.errors import LocatedError, OptionError, VoiceguideError, one_line
from voiceguide.export.page import page_html
from voiceguide.routine.builtins import builtin_names
from voiceguide.routine.durations import format_duration
from voiceguide.routine.models import Routine
from voiceguide.routine.spec import MUSIC_GENERATED
from voiceguide.web.renders import Renders

QUERY_OPTIONS = ("pace", "reps", "rate", "voice", "fit", "music")
# A page may ask for a generated bed, or none; never a file on the server's disk.
QUERY_MUSIC = (*MUSIC_GENERATED, "none")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class BadRequest(Exception):
    """A request that cannot be answered: its status and one line saying why."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = one_line(reason)


def routine_table(refs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """URL name -> routine reference: the built-ins, then every file given and every YAML
    file in a folder given (named by their stems; a clash gets -2, -3, …)."""
    table: dict[str, str] = {name: name for name in builtin_names()}
    for ref in refs:
        path = Path(ref)
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
        for file in files:
            if str(file) in table.values() and file.exists():
                continue
            if not file.exists():
                api.load(ref)  # a built-in's name, or a RoutineError naming what is missing
                continue
            api.load(file)  # a broken routine is reported before anything is served
            base = _UNSAFE.sub("-", file.stem).strip("-.") or "routine"
            name, n = base, 1
            while name in table:
                n += 1
                name = f"{base}-{n}"
            table[name] = str(file.resolve())
    return table


@dataclass
class Served:
    """What the app serves: routines by name, where renders are kept, the clip cache."""

    routines: Mapping[str, str]
    renders: Renders
    cache_dir: Path | None = None

    def routine(self, name: str) -> Routine:
        ref = self.routines.get(name)
        if ref is None:
            raise BadRequest(404, f"unknown routine {name!r}")
        try:
            return api.load(ref)  # loaded afresh: an edited file shows on the next request
        except VoiceguideError as error:
            raise BadRequest(422, _first_line(error)) from None

    def run(self, query: Mapping[str, str]) -> api.Run:
        unknown = sorted(set(query) - set(QUERY_OPTIONS))
        if unknown:
            raise BadRequest(400, f"unknown option {unknown[0]!r} (use {', '.join(QUERY_OPTIONS)})")
        options: dict[str, Any] = {k: v for k, v in query.items() if v != ""}
        if options.get("music", "none") not in QUERY_MUSIC:
            raise BadRequest(400, f"music: one of {', '.join(QUERY_MUSIC)}")
        if "rate" in options:
            with contextlib.suppress(ValueError):  # else plan_options says what is wrong
                options["rate"] = int(options["rate"])
        try:
            return api.plan_options(**options, cache_dir=self.cache_dir)
        except OptionError as error:
            raise BadRequest(400, f"{error.option}: {error.explain(str)}") from None

    def render(self, name: str, query: Mapping[str, str]) -> Any:
        routine, run = self.routine(name), self.run(query)
        try:
            return self.renders.get(routine, run)
        except VoiceguideError as error:
            raise BadRequest(400, _first_line(error)) from None


def _first_line(error: VoiceguideError) -> str:
    if isinstance(error, LocatedError) and error.problems:
        return str(error.problems[0])
    return str(error)


def _query(request: Request) -> dict[str, str]:
    return dict(request.query_params)


def create_app(served: Served) -> Starlette:
    """The Starlette app serving `served`."""

    def index(request: Request) -> Response:
        rows = []
        for name, ref in served.routines.items():
            try:
                routine = api.load(ref)
                total = api.plan(routine, estimate=True, cache_dir=served.cache_dir).total
                about = f"about {format_duration(total)}"
                title = routine.title
            except VoiceguideError as error:
                title, about = name, one_line(_first_line(error))
            href = html.escape(str(request.url_for("page", name=name).path))
            rows.append(
                f'<li><a href="{href}">{html.escape(title)}</a> <span>{html.escape(about)}</span></li>'
            )
        return HTMLResponse(_INDEX.replace("{{ROWS}}", "\n".join(rows)))

    def page(request: Request) -> Response:
        name = request.path_params["name"]
        query = _query(request)
        rendered = served.render(name, query)
        config = {
            "live": True,
            "audio": str(request.url_for("audio", name=name).path),
            "plan": str(request.url_for("plan", name=name).path),
            "query": urlencode(query),
            "options": query,
        }
        return HTMLResponse(page_html(rendered.plan, config), headers=_NO_STORE)

    def audio(request: Request) -> Response:
        rendered = served.render(request.path_params["name"], _query(request))
        return FileResponse(rendered.audio, media_type="audio/mpeg")

    def plan(request: Request) -> Response:
        rendered = served.render(request.path_params["name"], _query(request))
        return JSONResponse(rendered.plan, headers=_NO_STORE)

    async def bad_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadRequest)
        return PlainTextResponse(exc.reason + "\n", status_code=exc.status)

    return Starlette(
        routes=[
            Route("/", index),
            Route("/routine/{name}", page, name="page"),
            Route("/routine/{name}/audio.mp3", audio, name="audio"),
            Route("/routine/{name}/plan.json", plan, name="plan"),
        ],
        exception_handlers={BadRequest: bad_request},
    )


_NO_STORE = {"Cache-Control": "no-store"}

_INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><link rel="icon" href="data:,">
<title>voiceguide</title>
<style>
body { font: 18px/1.4 system-ui, sans-serif; max-width: 40rem; margin: 0 auto; padding: 16px; }
ul { list-style: none; padding: 0; } li { margin: 0 0 10px; }
a { display: flex; align-items: center; min-height: 48px; padding: 0 14px; border: 1px solid #8888;
    border-radius: 14px; font-size: 1.2rem; font-weight: 600; text-decoration: none; color: inherit; }
span { display: block; padding: 2px 14px; opacity: 0.8; font-size: 0.95rem; }
</style></head>
<body><h1>voiceguide</h1><p>Choose a routine:</p><ul>
{{ROWS}}
</ul></body></html>
"""
