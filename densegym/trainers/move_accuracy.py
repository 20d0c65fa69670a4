"""Does a policy read the board? Its move accuracy against the exact Sokoban oracle on held-out levels.

The probe walks the oracle's optimal path through each held-out level. In every state on the path it builds
the prompt the policy would see there (the same context policy and chat template as the rollout) and scores
the four one-move answers ``<action>up</action>`` ... by their log-probability under the policy. The policy's
move is the most likely of the four; it is *correct* when it starts an optimal solution (any of the oracle's
``best_moves``) and *legal* when it does not walk into a wall or push a box where it cannot go.

Scoring the four answers, rather than sampling, measures what the policy prefers without sampling noise or
format errors; ``chance`` is what a uniform choice among the four would score on the same states, the
yardstick a policy that has learned only the marginal distribution of moves sits near.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from densegym.agents.context import ContextPolicy
from densegym.agents.hf import HFAgent, sequence_logprobs
from densegym.envs.sokoban.level import MOVES
from densegym.trainers.batch import chunks
from densegym.trainers.sft import end_of_turn_id


def oracle_path_states(env_id: str, env_kwargs: dict[str, Any], seeds: Sequence[int],
                       context: ContextPolicy) -> list[tuple[list[dict[str, str]], set[str], set[str]]]:
    """``(conversation, optimal moves, legal moves)`` for every state on the oracle's path of each level."""
    import gymnasium as gym

    import densegym  # noqa: F401  (registers the ids)

    states = []
    env = gym.make(env_id, **env_kwargs)
    try:
        for seed in seeds:
            obs, _ = env.reset(seed=int(seed))
            sokoban = env.unwrapped
            observations, actions = [obs], []
            done = False
            while not done:
                key = sokoban.save_state()
                best = set(sokoban.oracle.best_moves(key))
                if not best:
                    break
                legal = {m for i, m in enumerate(MOVES) if sokoban.oracle.board.move(key, i) is not None}
                states.append((context.build(observations, actions), best, legal))
                action = sokoban.oracle_action()
                obs, _, terminated, truncated, _ = env.step(action)
                observations.append(obs)
                actions.append(action)
                done = terminated or truncated
    finally:
        env.close()
    return states


@torch.no_grad()
def oracle_move_accuracy(agent: HFAgent, env_id: str, env_kwargs: dict[str, Any], seeds: Sequence[int],
                         context: ContextPolicy, batch_states: int = 32) -> dict[str, float]:
    """``accuracy`` (the policy's most likely move is optimal), ``legal``, ``chance`` and ``states`` over the
    oracle's paths through the levels of ``seeds`` (see the module docstring)."""
    states = oracle_path_states(env_id, env_kwargs, seeds, context)
    tokenizer, end = agent.tokenizer, end_of_turn_id(agent.tokenizer)
    answers = [tuple(tokenizer(f"<action>{m}</action>", add_special_tokens=False)["input_ids"] + [end])
               for m in MOVES]
    correct = legal = 0
    was_training = agent.model.training
    agent.model.eval()
    try:
        for piece in chunks(list(range(len(states))), batch_states):
            prompts = [tuple(agent.prompt_ids(states[k][0])) for k in piece]
            logps = sequence_logprobs(agent.model, [p for p in prompts for _ in MOVES], answers * len(piece),
                                      agent.pad_token_id)
            totals = torch.stack([lp.sum() for lp in logps]).view(len(piece), len(MOVES))
            for k, choice in zip(piece, totals.argmax(dim=1).tolist()):
                correct += MOVES[choice] in states[k][1]
                legal += MOVES[choice] in states[k][2]
    finally:
        agent.model.train(was_training)
    n = max(len(states), 1)
    chance = float(np.mean([len(best) / len(MOVES) for _, best, _ in states])) if states else 0.0
    return {"accuracy": correct / n, "legal": legal / n, "chance": chance, "states": float(len(states))}
