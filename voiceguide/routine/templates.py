"""Cue text templates: `{name}` placeholders, `{{` and `}}` for literal braces."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")

# Names the timeline fills in; a routine's `vars` cannot reuse them.
BUILTIN_NAMES = ("side", "rep", "reps", "step", "next")


@dataclass(frozen=True)
class TemplateIssue:
    offset: int  # character offset in the template
    message: str


def template_issues(template: str, allowed: Mapping[str, str]) -> list[TemplateIssue]:
    """Problems in `template` given the names usable here (name -> why it is not, or "")."""
    issues = []
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if match.group(1) is None:
            issues.append(
                TemplateIssue(
                    match.start(), f"unmatched {token!r} (write {token * 2} for a literal brace)"
                )
            )
            continue
        name = match.group(1).strip()
        if not _NAME.fullmatch(name):
            issues.append(TemplateIssue(match.start(), f"invalid placeholder {token!r}"))
        elif name not in allowed:
            issues.append(
                TemplateIssue(
                    match.start(), f"unknown placeholder {{{name}}}" + _hint(name, allowed)
                )
            )
        elif allowed[name]:
            issues.append(TemplateIssue(match.start(), f"{{{name}}} {allowed[name]}"))
    return issues


def _hint(name: str, allowed: Mapping[str, str]) -> str:
    import difflib

    usable = [n for n, why in allowed.items() if not why]
    close = difflib.get_close_matches(name, usable, n=1)
    if close:
        return f"; did you mean {{{close[0]}}}?"
    return "; define it under vars" if name not in BUILTIN_NAMES else ""


def fill(template: str, values: Mapping[str, object]) -> str:
    """The template with placeholders replaced; assumes `template_issues` found none."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return str(values.get((match.group(1) or "").strip(), ""))

    return _TOKEN.sub(replace, template)
