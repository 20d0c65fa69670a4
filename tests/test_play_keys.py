"""`densegym play` in a terminal: arrow keys are moves for envs whose actions are moves; typed lines still work.

The key reader is tested directly on scripted key strokes, and the whole command once in a pseudo-terminal.
Piped input (not a terminal) is read line by line as before: tests/test_cli.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import gymnasium as gym
import pytest

import densegym  # noqa: F401
from densegym.cli import arrow_action, read_key_line, takes_moves


def keys(text: str):
    """A ``read()`` that hands out ``text`` one character at a time, then end of input."""
    chars = iter(text)
    return lambda: next(chars, "")


def read(text: str, arrows: bool = True) -> tuple[str | None, str]:
    echoed: list[str] = []
    line = read_key_line(keys(text), echoed.append, arrows)
    return line, "".join(echoed)


@pytest.mark.parametrize("sequence, move", [
    ("\x1b[A", "up"), ("\x1b[B", "down"), ("\x1b[C", "right"), ("\x1b[D", "left"),
    ("\x1bOA", "up"), ("\x1bOD", "left"),  # application cursor mode
])
def test_arrow_sequences(sequence, move):
    assert arrow_action(sequence) == move
    assert read(sequence + "rest of input") == (move, move + "\n")  # a whole command at once, no Enter


def test_other_sequences_are_not_moves():
    assert arrow_action("\x1b[H") is None and arrow_action("w") is None
    assert read("\x1b[Hup\n") == ("up", "up\n")  # Home is ignored


def test_typed_lines_with_backspace_and_enter():
    assert read("lfet\x7f\x7f\x7feft\r") == ("left", "lfet" + "\b \b" * 3 + "eft\n")
    assert read("<action>up down</action>\n")[0] == "<action>up down</action>"
    assert read("q\n")[0] == "q"


def test_arrows_only_start_a_line_and_only_for_move_envs():
    assert read("ab\x1b[Ac\n")[0] == "abc"  # an arrow in the middle of a typed line is dropped
    assert read("\x1b[ASELECT 1\n", arrows=False)[0] == "SELECT 1"  # an env whose actions are not moves


def test_end_of_input():
    assert read("") == (None, "")
    assert read("\x04")[0] is None  # Ctrl-D on an empty line
    assert read("up")[0] == "up"  # input ended after a typed word: it is the command


def test_which_envs_take_moves():
    sokoban = gym.make("densegym/Sokoban-small-v0")
    assert takes_moves(sokoban)
    from examples.guess_number_env import GuessNumberEnv  # actions are numbers

    assert not takes_moves(GuessNumberEnv())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pseudo-terminal of Linux")
def test_play_in_a_terminal_takes_arrow_keys():
    """stdin is a pseudo-terminal: a down arrow moves down, a typed word + Enter moves, q + Enter quits."""
    import pty

    master, slave = pty.openpty()
    try:
        # typed ahead: the terminal is switched to key mode without discarding what is waiting
        os.write(master, b"\x1b[Bup\rq\r")
        proc = subprocess.run([sys.executable, "-m", "densegym", "play", "densegym/Sokoban-small-v0", "--seed", "0"],
                              stdin=slave, capture_output=True, timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    out = proc.stdout.decode()
    assert proc.returncode == 0, out + proc.stderr.decode()
    assert "the arrow keys move" in out
    turns = re.findall(r"turn (\d+): reward", out)
    assert turns == ["1", "2"], out
    first, second = out.split("turn 1:")[0], out.split("turn 1:")[1].split("turn 2:")[0]
    assert "You moved down" in first  # the arrow key, with no Enter
    assert "You moved up" in second  # the typed word
