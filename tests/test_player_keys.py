"""Reading single keys from a real terminal (a pseudo-terminal): cbreak mode, restored."""

from __future__ import annotations

import os
import pty
import termios
import tty
from collections.abc import Iterator

import pytest

from voiceguide.control.commands import Command
from voiceguide.control.keys import TerminalKeys


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    leader, follower = pty.openpty()
    yield leader, follower
    os.close(leader)
    os.close(follower)


def test_keys_are_read_without_enter_and_the_mode_is_restored(terminal: tuple[int, int]) -> None:
    leader, follower = terminal
    before = termios.tcgetattr(follower)
    keys = TerminalKeys(follower)
    keys.open()
    try:
        mode = termios.tcgetattr(follower)
        assert not mode[3] & termios.ICANON and not mode[3] & termios.ECHO
        assert mode[3] & termios.ISIG  # Ctrl-C still raises KeyboardInterrupt
        assert keys.wait(0.01) is None
        os.write(leader, b" ")
        assert keys.wait(1.0) is Command.PAUSE
        os.write(leader, b"=")
        assert keys.wait(1.0) is Command.FASTER  # '+' without shift
        os.write(leader, b"\r")  # Enter (the terminal turns it into a line feed)
        assert keys.wait(1.0) is Command.READY
        os.write(leader, b"\x1b[A")  # an arrow key: not a control
        assert keys.wait(1.0) is None
        os.write(leader, b"Q")
        assert keys.wait(1.0) is Command.QUIT
        os.write(leader, b"x")  # not a command
        assert keys.wait(1.0) is None
    finally:
        keys.close()
        keys.close()  # twice is harmless
    assert termios.tcgetattr(follower) == before


def test_ctrl_c_byte_raises_keyboard_interrupt(terminal: tuple[int, int]) -> None:
    leader, follower = terminal
    tty.setraw(follower)  # ISIG off: Ctrl-C arrives as a byte instead of a signal
    keys = TerminalKeys(follower)
    os.write(leader, b"\x03")
    with pytest.raises(KeyboardInterrupt):
        keys.wait(1.0)
