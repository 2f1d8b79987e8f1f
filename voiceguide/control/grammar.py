"""The spoken commands: which words mean which `Command`, and the grammar the recognizer
decodes against. Pure data and text: no audio, no recognizer.

A command is spoken alone: an utterance is a command only when it decodes to exactly one
command phrase (and, in `recognize`, lasts at most MAX_UTTERANCE).
"""

from __future__ import annotations

from voiceguide.control.commands import Command

# Every accepted phrase, and its command. The first phrase of each command is its name
# (what `voiceguide listen` prints).
PHRASES: dict[str, Command] = {
    "next": Command.NEXT,
    "skip": Command.NEXT,
    "done": Command.NEXT,
    "ready": Command.NEXT,
    "back": Command.PREVIOUS,
    "previous": Command.PREVIOUS,
    "pause": Command.HOLD,
    "stop": Command.HOLD,
    "wait": Command.HOLD,
    "resume": Command.RESUME,
    "continue": Command.RESUME,
    "go on": Command.RESUME,
    "repeat": Command.REPEAT,
    "again": Command.REPEAT,
    "slower": Command.SLOWER,
    "faster": Command.FASTER,
}

# More ways to say the command words than the model's dictionary (CMUdict: General American)
# knows, in its phone set: British and Caribbean vowels (eSpeak NG's default voice is
# British), a non-rhotic "-er", "resume" with a glide. Without them the grammar forces such a
# word onto the nearest other command ("done" read as "go on", "faster" as "pause").
PRONUNCIATIONS: dict[str, list[str]] = {
    "done": ["D AA N"],
    "back": ["B AA K"],
    "stop": ["S T AO P"],
    "pause": ["P AA Z"],
    "faster": ["F AA S T AH", "F AA S T ER", "F AE S T AH"],
    "slower": ["S L OW AH"],
    "resume": ["R IH Z Y UW M"],
    "previous": ["P R IY V Y AH S"],
}

# The table's first column for each command: `next`, `back`, `pause`, ...
NAMES: dict[Command, str] = {}
for _phrase, _command in PHRASES.items():
    NAMES.setdefault(_command, _phrase)


def phrase_command(text: str) -> Command | None:
    """The command a decoded utterance means: exactly one command phrase, or None."""
    words = " ".join(text.lower().split())
    return PHRASES.get(words)


def command_name(command: Command) -> str:
    """The command's spoken name (the table's first column): `next`, `back`, `pause`..."""
    return NAMES.get(command, command.value)


def jsgf() -> str:
    """A JSGF grammar of the command phrases alone. Decoding against the command words only
    (no general language model) is what makes one-word commands reliable across voices;
    speech that is not a command is rejected by its length and by the echo rule."""
    return f"#JSGF V1.0;\ngrammar voiceguide;\npublic <command> = {' | '.join(PHRASES)};\n"
