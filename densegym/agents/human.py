"""``HumanAgent``: a person at a terminal plays the env (``densegym play``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from densegym.agents.base import AgentError, AgentOutput, Conversation


QUIT_WORDS = ("q", "quit", "exit")


class HumanQuit(AgentError):
    """The person ended the session (a quit word or the end of input)."""


class HumanAgent:
    """Prints each conversation's latest observation and reads one line from ``stdin`` as the action.

    As in ``densegym play``: a line without an ``<action>`` tag is wrapped as ``<action>line</action>``
    (the env convention), so a person types ``up``; a line with the tag is sent as typed. ``q``, ``quit``
    or ``exit`` raise :class:`HumanQuit`, and so does the end of input (instead of looping on "").
    """

    name = "human"

    def __init__(
        self,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        *,
        prompt: str = "> ",
        action_tag: str = "action",
        wrap: bool = True,
    ):
        # resolved at call time by default, so that pytest's capture and redirection work
        self._stdin = stdin
        self._stdout = stdout
        self.prompt = prompt
        self.action_tag = action_tag
        self.wrap = wrap

    def act(self, conversations: Sequence[Conversation]) -> list[AgentOutput]:
        stdin = self._stdin or sys.stdin
        stdout = self._stdout or sys.stdout
        outputs = []
        for i, conv in enumerate(conversations):
            latest = next((m["content"] for m in reversed(conv) if m.get("role") == "user"), "")
            header = f"--- env {i + 1} of {len(conversations)} ---\n" if len(conversations) > 1 else ""
            stdout.write(f"{header}{latest}\n{self.prompt}")
            stdout.flush()
            line = stdin.readline()
            if not line:
                raise HumanQuit("no more input on stdin: the human player left")
            line = line.rstrip("\r\n")
            if line.strip().lower() in QUIT_WORDS:
                raise HumanQuit("the human player quit")
            outputs.append(AgentOutput(self._as_action(line)))
        return outputs

    def _as_action(self, line: str) -> str:
        if not self.wrap or f"<{self.action_tag}>" in line.lower():
            return line
        return f"<{self.action_tag}>{line.strip()}</{self.action_tag}>"
