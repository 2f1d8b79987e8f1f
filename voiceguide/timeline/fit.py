"""--fit: the repetitions and the pace that make a routine last a target. Pure arithmetic.

Nothing here knows how events are placed: the layout hands in a function that measures
the routine (at a pace, or with given repetitions), so this module imports no layout.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from voiceguide.errors import PlanError
from voiceguide.routine.durations import format_duration

# A fitted pace outside this range is warned about: pauses no longer sound as written.
PACE_RANGE = (0.5, 2.0)


@dataclass(frozen=True)
class Measure:
    """A routine's length at one pace, split the way pace acts on it."""

    total: float  # seconds
    fixed: float  # seconds that do not scale with pace (speech)
    scaled: float  # written seconds, each lasting 1/pace


def choose_reps(
    ranges: Sequence[tuple[int, int]],
    total: Callable[[tuple[int, ...]], float],
    target: float,
) -> tuple[int, ...]:
    """Counts within `ranges` (low, high) whose `total` comes closest to `target` seconds.

    Every range grows by the same fraction f of its width, rounded to the nearest count
    (low + round(f * (high - low))), so ranged steps lengthen together instead of one
    reaching its high end while another stays at its low end. The candidates are the
    distinct counts that f passes through from 0 (every low end) to 1 (every high end);
    `total` must not decrease along them, and bisection on f finds the two either side of
    the target: the closer wins, a tie the fewer repetitions. A target below the all-low
    total gives the low ends, one above the all-high total the high ends.
    """
    measured: dict[tuple[int, ...], float] = {}

    def counts(f: Fraction) -> tuple[int, ...]:
        half = Fraction(1, 2)
        return tuple(low + math.floor(f * (high - low) + half) for low, high in ranges)

    def seconds(f: Fraction) -> float:
        key = counts(f)
        if key not in measured:
            measured[key] = total(key)
        return measured[key]

    def next_jump(f: Fraction) -> Fraction:
        # The least fraction above f at which some count grows (exact, so no jump is missed).
        return min(
            Fraction(2 * (count - low) + 1, 2 * (high - low))
            for (low, high), count in zip(ranges, counts(f))
            if count < high
        )

    short, long = Fraction(0), Fraction(1)
    if seconds(short) >= target:
        return counts(short)
    if seconds(long) <= target:
        return counts(long)
    # seconds(short) < target < seconds(long) until one jump separates them.
    while counts(next_jump(short)) != counts(long):
        middle = (short + long) / 2
        if seconds(middle) < target:
            short = middle
        else:
            long = middle
    if seconds(long) - target < target - seconds(short):
        return counts(long)
    return counts(short)


def solve_pace(measure: Callable[[float], Measure], target: float, start: float) -> float:
    """The pace at which `measure` gives `target` seconds, searched from pace `start`.

    The total is (fixed speech) + (written silences) / pace, where which parts count as
    fixed changes only where a slot's text outgrows its slot; iterating that linear model
    converges in a few rounds, bisection covers the rest.
    """
    fixed = measure(math.inf).fixed
    if target <= fixed + 1e-9:
        raise PlanError(
            f"cannot fit into {format_duration(target)}: speech alone lasts "
            f"{format_duration(fixed)}"
        )
    pace = start
    for _ in range(60):
        layout = measure(pace)
        if layout.scaled <= 0:
            raise PlanError("cannot fit: the routine has no silences to stretch")
        new = layout.scaled / (target - layout.fixed)
        if abs(new - pace) <= 1e-13 * pace:
            return new
        pace = new
    low, high = 1e-6, 1e6
    for _ in range(200):
        middle = math.sqrt(low * high)
        if measure(middle).total > target:
            low = middle
        else:
            high = middle
    return math.sqrt(low * high)


def pace_warnings(pace: float, target: float) -> tuple[str, ...]:
    """A warning, naming the pace, when the fitted pace lies outside PACE_RANGE."""
    low, high = PACE_RANGE
    if low <= pace <= high:
        return ()
    shown = f"{pace:.2f}" if pace >= 0.1 else f"{pace:.2g}"
    stretch = f"{1 / pace:.1f}" if pace < 1 else f"{1 / pace:.2g}"
    return (
        f"fitting into {format_duration(target)} needs pace {shown}, outside "
        f"{low:g}-{high:g}: pauses will last {stretch} times their written length",
    )
