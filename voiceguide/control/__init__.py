"""Where a live session's commands come from: keys today; every source produces `Command`s,
consumed in one place by the player."""

from voiceguide.control.commands import Command, CommandSource, command_for_key

__all__ = ["Command", "CommandSource", "command_for_key"]
