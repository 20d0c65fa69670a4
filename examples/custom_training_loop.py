"""A custom training loop skeleton over ``gym.make``: where your own trainer plugs into densegym.

The policy here is a lookup table of move preferences per state (keyed by ``info["anchor"]``) trained
with REINFORCE on per-turn rewards. Replace ``TablePolicy`` with an LLM and the loop keeps its shape:
reset -> act on text -> step -> re-weight ``info["reward_components"]`` -> returns-to-go -> update.
Because every component arrives unweighted, the weights are the trainer's choice, made here
(``WEIGHTS``) without re-running the env.

Run it:  python examples/custom_training_loop.py
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import gymnasium as gym
import numpy as np

import densegym

gym.register_envs(densegym)

MOVES = ("up", "down", "left", "right")
WEIGHTS = {"progress": 1.0, "outcome": 1.0, "format": 0.1}  # the dense run; {"outcome": 1.0} is outcome-only


class TablePolicy:
    def __init__(self, seed: int, lr: float = 0.5):
        self.logits: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(MOVES)))
        self.rng = np.random.default_rng(seed)
        self.lr = lr

    def probs(self, state: str) -> np.ndarray:
        z = np.exp(self.logits[state] - self.logits[state].max())
        return z / z.sum()

    def act(self, state: str) -> int:
        return int(self.rng.choice(len(MOVES), p=self.probs(state)))

    def update(self, states: list[str], moves: list[int], advantages: np.ndarray) -> None:
        for s, a, adv in zip(states, moves, advantages):
            grad = -self.probs(s)
            grad[a] += 1.0  # d log pi(a|s) / d logits
            self.logits[s] += self.lr * adv * grad


def train(episodes: int = 300, seed: int = 0, weights: dict[str, float] | None = None, task: str | None = None):
    """Returns the success rate of each block of 50 episodes."""
    weights = weights or WEIGHTS
    env = gym.make("densegym/Sokoban-small-v0")
    _, info = env.reset(seed=seed)
    task = task or info["task_id"]  # one fixed level, so a lookup table can learn it
    policy = TablePolicy(seed)
    value: dict[str, float] = defaultdict(float)  # a state-value baseline: mean return-to-go from each state
    successes, curve = [], []
    for episode in range(episodes):
        env.reset(options={"task": task})
        states, moves, rewards = [], [], []
        while True:
            state = env.unwrapped.anchor()  # canonical text of the current state
            move = policy.act(state)
            _, _, terminated, truncated, info = env.step(f"<action>{MOVES[move]}</action>")
            components = info["reward_components"]
            rewards.append(sum(w * components[name] for name, w in weights.items()))
            states.append(state)
            moves.append(move)
            if terminated or truncated:
                break
        returns = np.cumsum(rewards[::-1])[::-1]
        advantages = returns - np.array([value[s] for s in states])
        for s, g in zip(states, returns):
            value[s] += 0.1 * (g - value[s])
        policy.update(states, moves, advantages)
        successes.append(info["success"])
        if (episode + 1) % 50 == 0:
            curve.append(float(np.mean(successes[-50:])))
    env.close()
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=300)
    args = parser.parse_args()
    for name, weights in (("dense", WEIGHTS), ("outcome-only", {"outcome": 1.0})):
        curve = train(args.episodes, weights=weights)
        print(f"{name:>12}: success per 50 episodes {[f'{x:.0%}' for x in curve]}")


if __name__ == "__main__":
    main()
