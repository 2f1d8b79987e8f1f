"""JSON Schema of the routine format, generated from the same field tables as the validator."""

from __future__ import annotations

from typing import Any

from voiceguide import __version__
from voiceguide.routine import spec
from voiceguide.routine.durations import duration_pattern
from voiceguide.routine.spec import Field

SCHEMA_ID = "https://voiceguide.invalid/schema/routine-v1.json"

_DURATION: dict[str, Any] = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": duration_pattern()},
    ]
}
_TEXT: dict[str, Any] = {"type": ["string", "number"]}


def _kind(f: Field) -> dict[str, Any]:
    kind = f.kind
    if kind in ("title", "string"):
        if f.choices:
            return {"enum": list(f.choices)}
        return {"type": "string", **({"minLength": 1} if kind == "title" else {})}
    if kind == "text":
        return dict(_TEXT)
    if kind == "texts":
        return {"anyOf": [_TEXT, {"type": "array", "items": _TEXT, "minItems": 1}]}
    if kind == "duration":
        return dict(_DURATION)
    if kind in ("number", "integer"):
        out: dict[str, Any] = {"type": kind}
        if f.minimum is not None:
            out["minimum"] = f.minimum
        if f.above is not None:
            out["exclusiveMinimum"] = f.above
        if f.maximum is not None:
            out["maximum"] = f.maximum
        return out
    if kind == "boolean":
        return {"type": "boolean"}
    if kind == "wait":
        return {"anyOf": [{"type": "boolean"}, _DURATION]}
    if kind == "repeat":
        return {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": spec.MAX_REPEAT},
                {"type": "string", "pattern": r"^\s*\d+\s*-\s*\d+\s*$"},
            ]
        }
    if kind == "sides":
        return {"type": "array", "items": _TEXT, "minItems": 1}
    if kind == "vars":
        return {
            "type": "object",
            "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_-]*$"},
            "additionalProperties": _TEXT,
        }
    if kind == "chime":
        return {
            "anyOf": [
                {"enum": list(spec.CHIME_NAMES)},
                {"type": "string", "pattern": r"\.[wW][aA][vV]$"},
            ]
        }
    if kind == "music_source":
        return {
            "anyOf": [
                {"enum": list(spec.MUSIC_GENERATED)},
                {
                    "type": "string",
                    "pattern": r"\.([wW][aA][vV]|[fF][lL][aA][cC]|[oO][gG][gG]|[mM][pP]3)$",
                },
            ]
        }
    if kind == "music":
        return {"anyOf": [_kind(Field("source", "music_source", "")), {"$ref": "#/$defs/music"}]}
    if kind == "decibels":
        number: dict[str, Any] = {"type": "number"}
        if f.minimum is not None:
            number["minimum"] = f.minimum
        if f.maximum is not None:
            number["maximum"] = f.maximum
        return {
            "anyOf": [
                number,
                {
                    "type": "string",
                    "pattern": r"^\s*[+-]?([0-9]+(\.[0-9]+)?|\.[0-9]+)\s*([dD][bB])?\s*$",
                },
            ]
        }
    if kind == "voice":
        return {"$ref": "#/$defs/voice"}
    if kind == "steps":
        return {"type": "array", "items": {"$ref": "#/$defs/step"}, "minItems": 1}
    raise AssertionError(f"no schema for kind {kind}")


def _object(fields: tuple[Field, ...]) -> dict[str, Any]:
    properties = {}
    for f in fields:
        prop = _kind(f)
        prop["description"] = f.help
        if f.default is not None:
            prop["default"] = f.default
        properties[f.name] = prop
    required = [f.name for f in fields if f.required]
    return {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        **({"required": required} if required else {}),
    }


def routine_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) for routine files."""
    step = _object(spec.STEP_FIELDS)
    step["not"] = {"anyOf": [{"required": ["hold", "duration"]}, {"required": ["each", "count"]}]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "voiceguide routine",
        "description": f"Routine format v1 (voiceguide {__version__}).",
        **_object(spec.ROUTINE_FIELDS),
        "$defs": {
            "voice": _object(spec.VOICE_FIELDS),
            "music": _object(spec.MUSIC_FIELDS),
            "step": step,
        },
    }
