"""A trivially learnable env for the trainer's end-to-end tests (importable by spawned EnvPool workers).

``LetterEnv``: every turn pays 1 when the reply contains the letter ``u`` (``hit``) and 0 otherwise; an episode
is ``turns`` turns long (``turns=None``: 1 to 3, set by the task); ``outcome`` is the fraction of hits and ``success`` means every turn hit. A randomly
initialised tiny model hits about a third of the time; pushing up the tokens that contain a ``u`` is all it
has to learn, so a few policy-gradient steps move the mean reward far outside sampling noise.
"""

from __future__ import annotations

import numpy as np

from densegym.envs import StepOutcome, TextEnv
from densegym.rewards import RewardHook, RewardSet, outcome_reward


class HitReward(RewardHook):
    range = (0.0, 1.0)
    description = "the reply contains the letter u"

    def __call__(self, t) -> float:
        return float("u" in t.parsed)


class LetterEnv(TextEnv):
    default_max_turns = 4
    supports_snapshot = True  # VPR candidates are scored from snapshots

    def __init__(self, turns: int | None = 2, **kwargs):
        self.turns = turns
        super().__init__(**kwargs)

    def default_rewards(self) -> RewardSet:
        return RewardSet({"hit": (HitReward(), 1.0), "outcome": (outcome_reward(), 1.0)})

    def sample_task(self, rng: np.random.Generator) -> str:
        return f"letter-{int(rng.integers(10**6)):06d}"

    def start(self, task: str) -> str:
        self.hits, self.turn_no = 0, 0
        self.length = self.turns if self.turns is not None else 1 + int(task[-1]) % 3
        return f"Task {task}. {self.action_help()}"

    def action_help(self) -> str:
        return "Say anything; a reply with the letter u scores."

    def parse_action(self, text: str) -> str:
        return text

    def apply_action(self, text: str) -> StepOutcome:
        self.turn_no += 1
        self.hits += "u" in text
        done = self.turn_no >= self.length
        return StepOutcome(
            f"Turn {self.turn_no}: {'hit' if 'u' in text else 'miss'}.", terminated=done,
            success=done and self.hits == self.length, outcome=self.hits / self.length if done else 0.0,
        )

    def state_view(self) -> tuple[int, int]:
        return self.turn_no, self.hits

    def save_state(self) -> tuple[int, int, int]:
        return self.turn_no, self.hits, self.length

    def load_state(self, state: tuple[int, int, int]) -> None:
        self.turn_no, self.hits, self.length = state

    def anchor(self) -> str:
        return f"{self.turn_no}"

    def privileged(self) -> dict:
        return {"answer": "u"}


class RepeatedVerdict(RewardHook):
    """A per-state verdict that can be earned on every turn without progress (the shape of VPR's verdict)."""

    range = (0.0, 1.0)
    description = "the reply repeats a letter the policy can always repeat"
    farmable = True

    def __call__(self, t) -> float:
        return float("u" in t.parsed)


class FarmableLetterEnv(LetterEnv):
    """``LetterEnv`` plus a farmable component ``verdict``, weight 0 by default."""

    def default_rewards(self) -> RewardSet:
        return RewardSet({**super().default_rewards(), "verdict": (RepeatedVerdict(), 0.0)})
