"""Load a routine and plan it: the one path from command-line inputs to a Timeline."""

from __future__ import annotations

from dataclasses import dataclass

from voiceguide.routine.builtins import resolve_routine
from voiceguide.routine.models import Routine
from voiceguide.timeline import LengthFn, PlanOptions, Timeline, build_timeline, estimate_length


@dataclass(frozen=True)
class Plan:
    routine: Routine
    timeline: Timeline


def plan_routine(ref: str, options: PlanOptions, length: LengthFn | None = None) -> Plan:
    """Load ROUTINE (path or built-in name) and build its timeline.

    Without `length`, speech lengths are estimated from the text and rate.
    """
    routine = resolve_routine(ref)
    if length is None:
        timeline = build_timeline(routine, options, estimate_length, estimated=True)
    else:
        timeline = build_timeline(routine, options, length)
    return Plan(routine, timeline)
