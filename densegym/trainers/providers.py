"""What the trainer provides an estimator beyond the batch: one provider per need
(:data:`densegym.trainers.estimators.registry.NEEDS`), built for the needs the configured estimator declares.

    candidates   VPR (docs/algorithms.md section 4(b)): the rollout samples ``config.candidates`` actions per turn
                 from one state (env snapshots) and commits the best; each uncommitted candidate joins the batch
                 as a one-turn trajectory of the same task group and state group (``Turn.info["state_group"]``).
    probe        IGPO (docs/algorithms.md section 2(b)): the policy, in eval mode and without gradient, scores the
                 gold answer ``info["privileged"][answer_key]`` after every prefix of each conversation:
                 ``l_t``, ``IG_t = p_t - p_{t-1}`` (or ``l_t - l_{t-1}``) into ``Turn.components["info_gain"]``.
    prm          OPRL (docs/algorithms.md section 1(b)): the implicit PRM ``pi_phi`` gives each turn
                 ``r_phi(a_t) = beta * sum_tokens (log pi_phi - log pi_old)`` into
                 ``Turn.components[step_reward_key]`` and takes ``prm_updates`` trajectory-DPO steps on the
                 batch's (success, failure) pairs.

A provider has two hooks, run in the order of ``NEEDS``: ``after_rollout(batch, metrics)`` (may extend the batch)
and ``rewards(batch, rows, old_logprobs)`` (writes the turns' components after the reward weights and the
transforms; returns metrics). ``candidates`` is the number of actions per turn it asks the rollout for.
"""

from __future__ import annotations

from typing import Any

from densegym.rewards.info_gain import HFBeliefProbe, apply_info_gain
from densegym.trainers.batch import expand_candidates
from densegym.trainers.estimators.registry import NEEDS, prm_settings, probe_kind
from densegym.trainers.prm import ImplicitPRM
from densegym.trajectory import Trajectory


class Provider:
    """A provider that does nothing; the three below override what they need."""

    candidates = 1  # actions sampled per turn in the rollout

    def __init__(self, trainer: Any):
        self.trainer = trainer

    def after_rollout(self, batch: list[Trajectory], metrics: dict[str, float]) -> list[Trajectory]:
        return batch

    def rewards(self, batch: list[Trajectory], rows: list, old_logprobs: list) -> dict[str, float]:
        return {}


class CandidatesProvider(Provider):
    """State-group candidates: K actions per turn, the uncommitted ones appended to the batch."""

    def __init__(self, trainer: Any):
        super().__init__(trainer)
        self.candidates = trainer.config.candidates

    def after_rollout(self, batch: list[Trajectory], metrics: dict[str, float]) -> list[Trajectory]:
        if self.candidates <= 1:
            return batch
        batch = expand_candidates(batch)
        metrics["candidate_turns"] = float(sum(1 for t in batch if t.meta.get("candidate")))
        return batch


class ProbeProvider(Provider):
    """The belief probe: information gain of every turn, from the current policy."""

    def rewards(self, batch: list[Trajectory], rows: list, old_logprobs: list) -> dict[str, float]:
        trainer = self.trainer
        probe = HFBeliefProbe(trainer.policy, trainer.tokenizer, batch_size=trainer.config.micro_batch_rows)
        was_training = trainer.policy.training
        trainer.policy.eval()
        try:
            apply_info_gain(batch, probe, kind=probe_kind(trainer.estimator_config),
                            answer_key=trainer.config.answer_key, system_prompt=trainer.context.system_prompt)
        finally:
            trainer.policy.train(was_training)
        return {}


class PRMProvider(Provider):
    """The implicit PRM: step rewards for every turn, and its DPO update on the batch."""

    def __init__(self, trainer: Any):
        super().__init__(trainer)
        c = trainer.config
        self.settings = prm_settings(trainer.estimator_config)
        self.prm = ImplicitPRM(
            trainer.policy, lr=c.prm_lr, config=self.settings, pad_token_id=trainer.pad_token_id,
            micro_batch_rows=c.micro_batch_rows, runtime=trainer.runtime,
        )

    def rewards(self, batch: list[Trajectory], rows: list, old_logprobs: list) -> dict[str, float]:
        step_rewards, metrics = self.prm.rewards_and_update(batch, rows, old_logprobs,
                                                            self.trainer.config.prm_updates)
        for traj, r in zip(batch, step_rewards):
            for turn, value in zip(traj.turns, r):
                turn.components[self.settings.step_reward_key] = float(value)
        return metrics


PROVIDERS: dict[str, type[Provider]] = {"candidates": CandidatesProvider, "probe": ProbeProvider, "prm": PRMProvider}
assert set(PROVIDERS) == set(NEEDS)


def build_providers(trainer: Any, needs: frozenset[str]) -> dict[str, Provider]:
    """``{need: provider}`` for the estimator's needs, in the order of ``NEEDS``."""
    return {need: PROVIDERS[need](trainer) for need in NEEDS if need in needs}
