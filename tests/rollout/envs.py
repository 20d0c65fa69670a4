"""Small real envs for the rollout tests (importable by spawned workers)."""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any

import numpy as np

from densegym.envpool import EnvFailure
from densegym.envs import ActionError, StepOutcome, TextEnv, extract_tag
from densegym.rewards import RewardSet, format_reward, outcome_reward

WORDS = ("apple", "river", "stone", "cloud", "ember", "maple")


def _unpickle_bomb(pid: int) -> Bomb:
    if os.getpid() == pid:
        raise RuntimeError(f"a Bomb does not unpickle in process {pid}")
    return Bomb(pid)


class Bomb:
    """Pickles anywhere; unpickling raises in process ``pid`` only (the caller of a pool, in the tests)."""

    def __init__(self, pid: int):
        self.pid = pid

    def __reduce__(self):
        return (_unpickle_bomb, (self.pid,))


class SecretEnv(TextEnv):
    """Guess a secret word from hints. The secret sits in info["privileged"] and must never reach a prompt.

    Special actions for fault tests: ``<action>hang</action>`` sleeps forever, ``<action>crash</action>``
    raises inside step, ``<action>die</action>`` kills the worker process; ``<action>unscorable</action>`` ends the episode with
    ``info["failed"]`` (the env could not score it); ``bomb:PID`` answers with a
    :class:`Bomb` for process PID in ``info["bomb"]``; ``spawn:PATH`` starts ``sleep 300`` (pid written to PATH,
    and in ``info["child_pid"]``), ``spawn-hang:PATH`` does that and then hangs.
    """

    default_max_turns = 6
    supports_snapshot = False

    def default_rewards(self) -> RewardSet:
        return RewardSet({"format": (format_reward(), 0.1), "outcome": (outcome_reward(), 1.0)})

    def sample_task(self, rng: np.random.Generator) -> str:
        return f"{WORDS[int(rng.integers(len(WORDS)))]}-{int(rng.integers(10**6)):06d}"

    def start(self, task: str) -> str:
        self.secret = task
        self.guesses = 0
        return f"Guess the secret. It starts with '{task[0]}' and has {len(task)} characters. {self.action_help()}"

    def action_help(self) -> str:
        return "Reply <action>your guess</action>."

    def parse_action(self, text: str) -> str:
        body = extract_tag(text)
        if body is None:
            raise ActionError("no <action> block")
        return body.strip()

    def apply_action(self, guess: str) -> StepOutcome:
        if guess == "hang":
            time.sleep(3600)
        if guess == "crash":
            raise RuntimeError("the env broke")
        if guess == "die":
            os._exit(3)
        if guess == "unscorable":  # a service the env needs is down: it ends the episode and says it failed
            return StepOutcome("The grader is unreachable.", terminated=True, info={"failed": "grader unreachable"})
        if guess.startswith("bomb:"):
            return StepOutcome("Boom.", info={"bomb": Bomb(int(guess[5:]))})
        if guess.startswith(("spawn:", "spawn-hang:")):
            kind, path = guess.split(":", 1)
            child = subprocess.Popen(["sleep", "300"])
            with open(path, "w") as f:
                f.write(str(child.pid))
            if kind == "spawn-hang":
                time.sleep(3600)
            return StepOutcome("Spawned.", info={"child_pid": child.pid})
        self.guesses += 1
        if guess == self.secret:
            return StepOutcome("Correct.", terminated=True, success=True, outcome=1.0)
        return StepOutcome(f"No. Guesses so far: {self.guesses}.")

    def state_view(self) -> int:
        return self.guesses

    def anchor(self) -> str:
        return str(self.guesses)

    def privileged(self) -> dict[str, Any]:
        return {"gold": self.secret}

    def oracle_action(self) -> str:
        return f"<action>{self.secret}</action>"


def check_fault_isolation(pool: Any, died: str) -> None:
    """The failure contract every pool keeps, on a fresh 2-slot, 2-worker SecretEnv pool with a 3 s step
    timeout: a hang fails its slot by timeout and costs its worker; an env exception fails its slot only; a
    worker that exits fails its slot with a reason containing ``died``; the pool keeps working after all."""
    pool.reset({0: (0, None, 0), 1: (1, None, 1)})
    results = pool.step({0: "<action>hang</action>", 1: "<action>nope</action>"})
    assert isinstance(results[0], EnvFailure) and "timeout" in results[0].reason
    assert results[1][4]["action_valid"] and not results[1][2]
    assert pool.restarts == 1
    results = pool.step({1: "<action>crash</action>"})
    assert isinstance(results[1], EnvFailure) and "the env broke" in results[1].reason
    assert pool.restarts == 1, "an exception in an env does not cost its worker"
    results = pool.step({1: "<action>die</action>"})
    assert isinstance(results[1], EnvFailure) and died in results[1].reason
    assert pool.restarts == 2
    obs, info = pool.reset({0: (4, None, 0)})[0]
    assert "Guess the secret" in obs


def guesses(answer) -> str:
    """The observation of a step answer that must not be a failure."""
    assert not isinstance(answer, EnvFailure), answer
    return answer[0]


def check_bad_answer_fails_its_slot_only(pool) -> None:
    """The answer-integrity contract every pool keeps, on a fresh 2-slot SecretEnv pool: slot 0 answers a value
    that pickles in its worker but does not unpickle in this process; that slot alone fails, and every later call
    gets its own answers (no answer of an earlier call taken for a later one)."""
    pool.reset({0: (0, None, 0), 1: (1, None, 1)})
    results = pool.step({0: f"<action>bomb:{os.getpid()}</action>", 1: "<action>first</action>"})
    assert isinstance(results[0], EnvFailure) and "could not be unpickled" in results[0].reason
    assert "does not unpickle" in results[0].reason
    assert guesses(results[1]) == "No. Guesses so far: 1."
    # the next calls get their own answers: slot 1 counts its guesses on, slot 0's env carries on too
    results = pool.step({0: "<action>second</action>", 1: "<action>second</action>"})
    assert guesses(results[0]) == "No. Guesses so far: 1.", "the bomb turn did not count a guess"
    assert guesses(results[1]) == "No. Guesses so far: 2."
    results = pool.step({1: "<action>third</action>"})
    assert list(results) == [1] and guesses(results[1]) == "No. Guesses so far: 3."
    assert pool.restarts == 0, "a bad answer costs neither worker"


class PacedEnv(TextEnv):
    """Every step sleeps as its task says; the task is ``"NAME:SECONDS:TURNS"`` (``options={"task": ...}``) and
    the episode ends (a success) after TURNS steps. ``"NAME:hang:TURNS"`` steps hang at turn 2 (sleep an
    hour). ``info["privileged"]`` is ``{"name": NAME, "blob": "x..."}``, a megabyte for a task named ``big`` (16
    bytes otherwise), that never changes within an episode except on a step whose action is
    ``<action>rotate</action>``."""

    default_max_turns = 50
    supports_snapshot = False
    BLOB = 2**20

    def default_rewards(self) -> RewardSet:
        return RewardSet({"outcome": (outcome_reward(), 1.0)})

    def sample_task(self, rng: np.random.Generator) -> str:
        return "fast:0:3"

    def start(self, task: str) -> str:
        self.name, delay, turns = task.split(":")
        self.delay, self.turns, self.done_turns = delay, int(turns), 0
        self.blob = "x" * (self.BLOB if self.name == "big" else 16)
        return f"Paced task {self.name}. Reply <action>anything</action>."

    def parse_action(self, text: str) -> str:
        return extract_tag(text) or ""

    def apply_action(self, action: str) -> StepOutcome:
        self.done_turns += 1
        if self.delay == "hang":
            time.sleep(3600 if self.done_turns == 2 else 0)
        else:
            time.sleep(float(self.delay))
        if action == "rotate":
            self.blob = "y" + self.blob[1:] if self.blob[0] == "x" else "x" + self.blob[1:]
        if self.done_turns >= self.turns:
            return StepOutcome(f"{self.name} done.", terminated=True, success=True, outcome=1.0)
        return StepOutcome(f"{self.name} turn {self.done_turns}.")

    def state_view(self) -> int:
        return self.done_turns

    def anchor(self) -> str:
        return str(self.done_turns)

    def privileged(self) -> dict[str, Any]:
        return {"name": self.name, "blob": self.blob}
