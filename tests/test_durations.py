import pytest

from voiceguide.routine.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (30, 30.0),
        (2.5, 2.5),
        ("500ms", 0.5),
        ("30s", 30.0),
        ("2m", 120.0),
        ("1m30s", 90.0),
        ("1h", 3600.0),
        ("1:30", 90.0),
        ("1:02:03", 3723.0),
        ("1.5s", 1.5),
        ("2m500ms", 120.5),
        ("45", 45.0),
        (" 10s ", 10.0),
        ("1H", 3600.0),
    ],
)
def test_parses(value, seconds):
    assert parse_duration(value) == pytest.approx(seconds, abs=1e-12)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty duration"),
        ("ten", "invalid duration 'ten'"),
        ("1:75", "invalid clock duration"),
        ("5x", "invalid duration"),
        (-3, "cannot be negative"),
        (True, "expected a duration"),
        (None, "expected a duration"),
        (float("inf"), "finite"),
        ("m", "invalid duration"),
    ],
)
def test_rejects(value, message):
    with pytest.raises(ValueError, match=message):
        parse_duration(value)


def test_format():
    assert format_duration(0) == "0:00.0"
    assert format_duration(90.25) == "1:30.2"
    assert format_duration(720) == "12:00.0"
    assert format_duration(3723) == "1:02:03"


WRITTEN = [
    "30",
    "2.5",
    ".5",
    "500ms",
    "30s",
    "30S",
    " 30s ",
    "\t10s\n",
    "2m",
    "2M",
    "1m30s",
    "1h",
    "1H2m3s4ms",
    "2m500ms",
    "1:30",
    "1:02:03",
    "100:00",
    "1m30",
    "1:75",
    "1:60:00",
    "1 m",
    "1m 30s",
    "5x",
    "ten",
    "m",
    "ms",
    ".",
    "",
    "  ",
    "5.",
    "1e3",
    "2.5E-1",
    "1e3s",
    "-3",
    "-3s",
    "+5",
    "1_000",
    "inf",
    "nan",
    "30s30s",
    "1s1m",
    "٣s",
]


@pytest.mark.parametrize("text", WRITTEN)
def test_schema_and_validator_accept_the_same_duration_strings(text):
    import jsonschema

    from voiceguide.routine.schema import routine_schema

    hold = routine_schema()["$defs"]["step"]["properties"]["hold"]
    schema = {"anyOf": hold["anyOf"]}
    try:
        parse_duration(text)
        valid = True
    except ValueError:
        valid = False
    assert jsonschema.Draft202012Validator(schema).is_valid(text) == valid
