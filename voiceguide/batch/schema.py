"""JSON Schema of the batch manifest, built from the same option table as its reader."""

from __future__ import annotations

from typing import Any

from voiceguide import __version__
from voiceguide.batch.manifest import OPTIONS, plan_keywords

SCHEMA_ID = "https://voiceguide.invalid/schema/batch-v1.json"


def batch_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) for batch manifests."""
    accepted = plan_keywords()
    options = {
        o.name: {**o.schema, "description": o.help}
        for o in OPTIONS
        if o.name not in ("music", "loudness") or o.name in accepted
    }
    axis = {
        name: prop
        if name == "out"
        else {"anyOf": [prop, {"type": "array", "items": prop, "minItems": 1}]}
        for name, prop in options.items()
    }
    job = {"type": "object", "properties": options, "additionalProperties": False}
    matrix = {"type": "object", "properties": axis, "additionalProperties": False}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "voiceguide batch manifest",
        "description": f"Batch manifest v1 (voiceguide {__version__}): tracks to render.",
        "type": "object",
        "properties": {
            "defaults": {**job, "description": "Options every job starts from."},
            "jobs": {
                "type": "array",
                "items": {"$ref": "#/$defs/job"},
                "description": "Jobs, each with at least `routine` (here or in defaults).",
            },
            "matrix": {
                "anyOf": [
                    {"$ref": "#/$defs/matrix"},
                    {"type": "array", "items": {"$ref": "#/$defs/matrix"}},
                ],
                "description": "Every combination of the listed values.",
            },
        },
        "additionalProperties": False,
        "anyOf": [{"required": ["jobs"]}, {"required": ["matrix"]}],
        "$defs": {"job": job, "matrix": matrix},
    }
