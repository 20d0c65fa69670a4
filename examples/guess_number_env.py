"""A complete new densegym env written against the public API, with a custom reward hook.

The agent guesses a hidden integer in ``[1, high]``; the env answers "higher" or "lower". Besides the
generic ``format``, ``outcome`` and potential-based ``progress`` hooks it has one hook of its own,
``halving``: the bits of information a guess gained, ``log2(candidates before / candidates after)``,
where the candidates are the numbers still consistent with every answer so far. A binary search
earns about one bit a turn; a guess outside the candidates earns nothing.

Run it:  python examples/guess_number_env.py
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from densegym.envs import ActionError, StepOutcome, TextEnv, extract_tag
from densegym.rewards import RewardHook, RewardSet, Transition, format_reward, outcome_reward, progress_reward


class GuessState(NamedTuple):
    low: int  # the smallest number still possible
    high: int  # the largest number still possible

    @property
    def candidates(self) -> int:
        return self.high - self.low + 1


class HalvingReward(RewardHook):
    """Bits of information the guess gained (a custom hook: any callable of a Transition works)."""

    description = "log2 of the shrink factor of the candidate interval"

    def __init__(self, high: int):
        self.range = (0.0, math.log2(high))

    def __call__(self, t: Transition) -> float:
        if not t.valid:
            return 0.0
        remaining = t.after.candidates if not t.terminated else 1
        return math.log2(t.before.candidates / remaining)


class GuessNumberEnv(TextEnv):
    """Guess the hidden number.

    ## Description
    A hidden integer is drawn from ``[1, high]`` by the seed; each turn the agent guesses and the env
    says whether the number is higher or lower.

    ## Actions
    ``<action>N</action>`` with an integer ``N`` in ``[1, high]``.

    ## Observations
    The rules on reset; "higher" / "lower" / "correct" after each guess.

    ## Rewards
    ``halving`` (bits gained, ``[0, log2 high]``), ``progress`` (potential ``-log2(candidates)/log2(high)``,
    ``[-1, 1]``), ``format`` (``{-1, 0}``), ``outcome`` (``{0, 1}``).

    ## Starting state
    The full interval; the secret from the seed (or ``options={"task": secret}``).

    ## Episode end
    Terminated on the right guess; truncated after ``max_turns``.

    ## Arguments
    ``high`` (100), ``max_turns`` (10), ``rewards``.

    ## Version history
    * v0: the example.
    """

    has_oracle = True
    supports_snapshot = True
    default_max_turns = 10

    def __init__(self, high: int = 100, **kwargs: Any):
        self.high = int(high)
        super().__init__(**kwargs)
        self.secret, self.low_, self.high_ = 0, 1, self.high

    def default_rewards(self) -> RewardSet:
        scale = math.log2(self.high)
        return RewardSet(
            {
                "halving": (HalvingReward(self.high), 0.0),
                "progress": (progress_reward(lambda s: -math.log2(s.candidates) / scale), 1.0),
                "format": (format_reward(), 0.1),
                "outcome": (outcome_reward(), 1.0),
            }
        )

    def sample_task(self, rng: np.random.Generator) -> int:
        return int(rng.integers(1, self.high + 1))

    def resolve_task(self, spec: Any) -> int:
        secret = int(spec)
        if not 1 <= secret <= self.high:
            raise ValueError(f"the secret must lie in [1, {self.high}], got {spec!r}")
        return secret

    def start(self, task: int) -> str:
        self.secret, self.low_, self.high_ = task, 1, self.high
        return f"I am thinking of a whole number from 1 to {self.high}. {self.action_help()}"

    def action_help(self) -> str:
        return f"Guess with <action>N</action>, N a whole number from 1 to {self.high}."

    def parse_action(self, text: str) -> int:
        body = extract_tag(text)
        if body is None or not body.strip().isdigit():
            raise ActionError("expected a whole number inside <action></action>")
        guess = int(body.strip()[:12])
        if not 1 <= guess <= self.high:
            raise ActionError(f"{guess} is outside 1..{self.high}")
        return guess

    def apply_action(self, guess: int) -> StepOutcome:
        if guess == self.secret:
            self.low_ = self.high_ = guess
            return StepOutcome("Correct!", terminated=True, success=True, outcome=1.0)
        if guess < self.secret:
            self.low_ = max(self.low_, guess + 1)
            return StepOutcome(f"{guess} is too low: the number is higher.")
        self.high_ = min(self.high_, guess - 1)
        return StepOutcome(f"{guess} is too high: the number is lower.")

    def state_view(self) -> GuessState:
        return GuessState(self.low_, self.high_)

    def anchor(self) -> str:
        return f"{self.low_}-{self.high_}"

    def privileged(self) -> dict[str, Any]:
        return {"secret": self.secret}

    def oracle_action(self) -> str:
        return f"<action>{(self.low_ + self.high_) // 2}</action>"

    def save_state(self) -> tuple[int, int, int]:
        return self.secret, self.low_, self.high_

    def load_state(self, state: tuple[int, int, int]) -> None:
        self.secret, self.low_, self.high_ = state


gym.register("examples/GuessNumber-v0", entry_point=GuessNumberEnv)


def main() -> None:
    env = gym.make("examples/GuessNumber-v0", rewards={"halving": 0.5})
    obs, info = env.reset(seed=0)
    print(obs)
    while True:
        action = env.unwrapped.oracle_action()
        obs, reward, terminated, truncated, info = env.step(action)
        parts = ", ".join(f"{k}={v:+.2f}" for k, v in info["reward_components"].items())
        print(f"{action} -> {obs}  reward {reward:+.2f} [{parts}]")
        if terminated or truncated:
            break


if __name__ == "__main__":
    main()
