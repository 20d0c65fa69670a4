"""``densegym/Sokoban-v0``: Sokoban with exact oracle rewards on every turn."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from densegym import resources
from densegym.envs.base import ActionError, StepOutcome, TextEnv, extract_tag, squash
from densegym.envs.sokoban.generator import (
    GENERATION_BUDGET,
    default_difficulty,
    generate_level,
    generated_task_id,
    parse_generated_task_id,
)
from densegym.envs.sokoban.level import MOVES, Level, cells_of, load_levels, parse_levels
from densegym.envs.sokoban.oracle import INF, SokobanOracle, oracle_for
from densegym.envs.sokoban.render import LEGEND, GridRenderer, rgb_array
from densegym.envs.sokoban.rewards import DeadlockReward, OptimalMoveReward, SokobanView, progress_hook
from densegym.rewards import FormatReward, OutcomeReward, RewardSet

_MOVE_INDEX = {name: i for i, name in enumerate(MOVES)}
_new_tuple = tuple.__new__
_SEPARATORS = str.maketrans({",": " ", ";": " ", "\n": " ", "\t": " "})
# <action> bodies already parsed into moves (valid ones only; short ones only; at most _PARSED_MAX): a plain
# dict on the hot path, named in densegym.resources so that clear_caches() and cache_sizes() see it
_PARSED_MAX = 4096
_PARSED: dict[str, tuple[int, ...]] = resources.register_cache("sokoban.parsed_actions", {}, _PARSED_MAX)
# the first line of a one-move turn's observation, by move and by boxes pushed (0 or 1)
_MOVED = tuple((f"You moved {m}.\n", f"You moved {m} and pushed a box 1 time(s).\n") for m in MOVES)


class SokobanEnv(TextEnv):
    """Sokoban as a text game, with a dense reward on every turn verified by an exact solver.

    ## Description

    The agent pushes boxes onto goals in a walled room. Levels are generated from the seed (room size,
    number of boxes and difficulty = optimal solution length in moves, every level solvable by
    construction) or loaded from a Boxoban-format file. An exact oracle (``oracle.py``) knows the
    optimal number of moves to solve from every state the agent can reach; every reward component is
    checked against it.

    ## Actions

    Text. The env reads the last ``<action>...</action>`` block: ``up``, ``down``, ``left`` or ``right``
    (case-insensitive); with ``moves_per_turn = k > 1`` up to ``k`` moves separated by spaces or commas.
    Moving into a box pushes it. An unparsable action, too many moves, or an illegal move (into a wall,
    or pushing a box into a wall or another box) changes nothing and is answered with what was wrong.

    ## Observations

    Text. ``reset`` returns the rules, the legend, the action format, the number of turns (``max_turns``),
    the grid with row and column numbers, and the coordinates of the player, the boxes and the goals;
    each step returns what happened and the new grid. An invalid
    action's observation names what was wrong (an unknown word with the accepted moves: ``unknown move 'move';
    use up, down, left, right (one per turn)``) and restates the unchanged grid.

    ## Rewards

    Components (``info["reward_components"]``, unweighted; ``rewards={...}`` sets weights):

    | component | meaning | range | default weight |
    |---|---|---|---|
    | ``progress`` | potential-based change in normalised optimal distance ``phi = -d/d0`` | ``[-d_dead/d0, k/d0]`` | 1.0 |
    | ``optimal`` | VPR verdict (+1 optimal move(s), 0 legal but not optimal, -1 invalid), less 1 when the turn starts behind the episode's lowest distance | ``{-1, 0, 1}``, sum ``<= d0`` | 0.0 |
    | ``deadlock`` | -1 when the turn made the level unsolvable | ``{-1, 0}`` | 0.0 |
    | ``format`` | 0 well-formed legal action, -1 otherwise | ``{-1, 0}`` | 0.1 |
    | ``outcome`` | 1 on the turn that solves the level | ``{0, 1}`` | 1.0 |

    The sum of ``progress`` over an episode is ``phi(last) - phi(start)``: 1 for a solved level, and a
    move undone gives back exactly what it earned. See ``rewards.py`` for ``d_dead``.

    ``optimal`` keeps VPR's ranking of the actions from any one state (an optimal move scores one more than
    a legal non-optimal one), but it is not a per-state verdict: a turn that starts farther from solved than
    the lowest distance reached in the episode (``info["behind_best"]``) scores one less, so stepping off the
    optimal path and back earns nothing, and the sum over an episode is at most ``d0`` (proof in
    ``rewards.OptimalMoveReward``). ``snapshot()``/``restore()`` carry that lowest distance.

    ## Starting state

    A generated level (``gen:HxW:bN:dLO-HI:sSEED`` task ids, reproducible from the id alone) or a level
    of the ``levels`` file. ``options={"task": id_or_Level}`` picks one.

    ## Episode end

    Terminated when every box is on a goal (``success``), or at a deadlock with
    ``terminate_on_deadlock=True``. Truncated after ``max_turns`` turns.

    ## Arguments

    * ``dim_room`` (``(6, 6)``), ``num_boxes`` (2), ``difficulty`` (int or ``(lo, hi)``; by default a
      range suited to the room): the generator's knobs. With the default difficulty, rooms up to 8x8 with up
      to 5 boxes, up to 12x12 with up to 4 boxes, and 14x14 or 16x16 with 2 boxes reset with every seed, in a
      fraction of a second typically and at most about 1.6 s (measured: docs/envs.md, Sokoban); larger rooms
      need a lower ``difficulty``.
    * ``generation_budget`` (1,000,000): the most states the generator's backward searches may visit for
      one level, over all the rooms it draws (about a second or two). A size it cannot serve
      (``dim_room=(20, 20), num_boxes=5`` with the default difficulty) raises ``GenerationError`` (a
      ``ValueError``) at ``reset``, saying what was searched and how deep the rooms went; ``None``: no bound
      (up to 200 rooms of 200,000 states, over a minute). The budget never changes a level it lets through.
    * ``levels``: a Boxoban-format file (path), its text, or a list of ``Level``; replaces the generator.
    * ``moves_per_turn`` (1), ``terminate_on_deadlock`` (False), ``max_turns`` (by difficulty),
      ``rewards`` (weights / extra hooks), ``render_mode`` (``"ansi"`` or ``"rgb_array"``),
      ``oracle_max_states`` (300,000: beyond it the oracle degrades to bounded per-state search and
      sets ``info["oracle_degraded"]``); ``max_action_chars`` / ``max_observation_chars`` (the text spaces).

    ## Version history

    * v0: initial release. Since 2026-11-30 an invalid action's observation restates the grid (before, it
      held only the error, so a ``current`` context lost the board), and the goals' coordinates are listed
      beside the player's and the boxes'.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    supports_snapshot = True
    has_oracle = True

    def __init__(
        self,
        dim_room: tuple[int, int] = (6, 6),
        num_boxes: int = 2,
        difficulty: int | tuple[int, int] | None = None,
        *,
        levels: str | Path | list[Level] | None = None,
        moves_per_turn: int = 1,
        terminate_on_deadlock: bool = False,
        max_turns: int | None = None,
        rewards: dict[str, Any] | None = None,
        render_mode: str | None = None,
        oracle_max_states: int = 300_000,
        generation_budget: int | None = GENERATION_BUDGET,
        **text_env_kwargs: Any,
    ):
        self.dim_room = (int(dim_room[0]), int(dim_room[1]))
        self.num_boxes = int(num_boxes)
        if difficulty is None:
            difficulty = default_difficulty(*self.dim_room, self.num_boxes)
        self.difficulty = (int(difficulty), int(difficulty)) if np.isscalar(difficulty) else tuple(difficulty)
        if moves_per_turn < 1:
            raise ValueError(f"moves_per_turn must be at least 1, got {moves_per_turn}")
        self.moves_per_turn = int(moves_per_turn)
        self.terminate_on_deadlock = bool(terminate_on_deadlock)
        self.oracle_max_states = int(oracle_max_states)
        if generation_budget is not None and generation_budget < 1:
            raise ValueError(f"generation_budget must be at least 1 state (or None), got {generation_budget}")
        self.generation_budget = None if generation_budget is None else int(generation_budget)
        self.levels = self._load_levels(levels)
        if max_turns is None:
            longest = self.difficulty[1] if self.levels is None else 60
            max_turns = max(10, math.ceil(2 * longest / self.moves_per_turn) + 5)
        super().__init__(max_turns=max_turns, rewards=rewards, render_mode=render_mode, **text_env_kwargs)
        self.level: Level | None = None
        self.oracle: SokobanOracle | None = None
        self._key = 0

    @staticmethod
    def _load_levels(levels: Any) -> list[Level] | None:
        if levels is None:
            return None
        if isinstance(levels, (list, tuple)):
            out = list(levels)
        elif isinstance(levels, str) and "\n" in levels:
            out = parse_levels(levels)
        else:
            out = load_levels(levels)
        if not out or not all(isinstance(lv, Level) for lv in out):
            raise ValueError("levels must hold at least one Sokoban level")
        return out

    # ---- tasks --------------------------------------------------------------------------------

    def default_rewards(self) -> RewardSet:
        return RewardSet(
            {
                "progress": (progress_hook(), 1.0),
                "optimal": (OptimalMoveReward(), 0.0),
                "deadlock": (DeadlockReward(), 0.0),
                "format": (FormatReward(0.0, -1.0), 0.1),
                "outcome": (OutcomeReward((0.0, 1.0)), 1.0),
            }
        )

    def sample_task(self, rng: np.random.Generator) -> Level:
        if self.levels is not None:
            return self.levels[int(rng.integers(len(self.levels)))]
        seed = int(rng.integers(2**31 - 1))
        return self._generated(generated_task_id(self.dim_room, self.num_boxes, self.difficulty, seed))

    def resolve_task(self, spec: Any) -> Level:
        if isinstance(spec, Level):
            return spec
        if isinstance(spec, (int, np.integer)) and self.levels is not None:
            if not 0 <= spec < len(self.levels):
                raise ValueError(f"task index {spec} out of range: {len(self.levels)} levels")
            return self.levels[int(spec)]
        if isinstance(spec, str):
            if spec.startswith("gen:"):
                return self._generated(spec)
            if "\n" in spec:
                return Level.from_text(spec, name="custom")
            for lv in self.levels or ():
                if lv.name == spec or lv.name.endswith(":" + spec):
                    return lv
        raise ValueError(
            f"unknown Sokoban task {spec!r}: pass a Level, a generated id 'gen:HxW:bN:dLO-HI:sSEED', "
            "a level's text, or (with levels=...) a level's name or index"
        )

    def _generated(self, task_id: str) -> Level:
        dims, boxes, diff, seed = parse_generated_task_id(task_id)
        return generate_level(seed, dims, boxes, diff, budget=self.generation_budget, name=task_id)

    def task_id(self, task: Level) -> str:
        return task.name

    # ---- state --------------------------------------------------------------------------------

    def _set_level(self, level: Level) -> None:
        self.level = level
        self.oracle = oracle_for(level, self.oracle_max_states)
        d0 = self.oracle.start_distance
        self._norm = d0 if 0 < d0 < INF else 1.0
        if self.oracle.exact:
            self._d_dead = float(self.oracle.max_distance + 1)
        else:
            self._d_dead = 2.0 * self._norm + 1.0
        self._render = GridRenderer(level)
        w = level.width
        self._coords = tuple(f"({c // w}, {c % w})" for c in range(level.n_cells))
        self._goal_mask = level.goal_mask
        self._n_cells = level.n_cells
        self._n_goals = len(level.goals)
        self._goal_text = ", ".join(self._coords[c] for c in level.goals)
        start = self.oracle.start_distance
        self._start_distance = -1 if start == INF else int(start)
        # Per-state facts (oracle view, anchor, boxes on goals, privileged dict, rendering) are pure
        # functions of the state key; random and learning agents revisit states constantly, so each is
        # computed once per episode. The rendering is made when first needed (the state before a move
        # needs only its view and anchor).
        self._states: dict[int, list[Any]] = {}

    def _state(self, key: int) -> list[Any]:
        """``[view, anchor, on_goals, privileged, description or None]`` of state ``key``, cached."""
        entry = self._states.get(key)
        if entry is None:
            if len(self._states) >= 100_000:
                self._states.clear()
            mask, player = divmod(key, self._n_cells)
            oracle = self.oracle
            if oracle.dist is not None:  # exact: one dict lookup
                d = oracle.dist.get(key)
                distance, exact = (INF if d is None else float(d)), True
            else:
                answer = oracle.answer(key)
                distance, exact = answer.distance, answer.exact
            d = distance if distance < INF else self._d_dead
            view = _new_tuple(SokobanView, (key, distance, exact, -d / self._norm))  # SokobanView(...), faster
            # -1, not None, for "no longer solvable": Gymnasium's vector envs batch info values by type,
            # and a key that is an int on one step and None on the next breaks gym.make_vec
            privileged = {
                "distance": -1 if distance == INF else int(distance),
                "distance_exact": exact,
                "start_distance": self._start_distance,
            }
            on_goals = (mask & self._goal_mask).bit_count()
            entry = self._states[key] = [view, f"p{player}b{mask:x}", on_goals, privileged, None]
        return entry

    def _description(self, entry: list[Any]) -> str:
        """The grid and the positions of state ``entry`` (rendered once, then kept in the entry)."""
        text = entry[4]
        if text is None:
            mask, player = divmod(entry[0].key, self._n_cells)
            cells = cells_of(mask)
            coords = self._coords
            text = entry[4] = (
                f"{self._render(cells, player)}\n"
                f"You are at {coords[player]}. Boxes at {', '.join([coords[c] for c in cells])}. "
                f"Goals at {self._goal_text}. Boxes on goals: {entry[2]} of {self._n_goals}."
            )
        return text

    def start(self, task: Level) -> str:
        self._set_level(task)
        self._key = task.start_key
        self._best = self.oracle.start_distance  # the lowest distance reached this episode (``optimal``)
        k = self.moves_per_turn
        how = (
            "Reply with one move, up, down, left or right, inside <action></action>, e.g. <action>up</action>."
            if k == 1
            else f"Reply with up to {k} moves (up, down, left, right) separated by spaces inside "
            "<action></action>, e.g. <action>up left</action>."
        )
        return (
            "You are playing Sokoban. Push every box onto a goal. You push a box by walking into it; "
            "boxes cannot be pulled, and a box cannot be pushed into a wall or another box.\n"
            f"Legend: {LEGEND}. Rows are numbered from 0 at the top, columns from 0 at the left.\n"
            f"{how} You have {self.max_turns} turns.\n\n{self._describe()}"
        )

    def state_view(self) -> SokobanView:
        return (self._states.get(self._key) or self._state(self._key))[0]

    def anchor(self) -> str:
        return (self._states.get(self._key) or self._state(self._key))[1]

    def _view_and_anchor(self) -> tuple[SokobanView, str]:
        entry = self._states.get(self._key) or self._state(self._key)
        return entry[0], entry[1]

    def save_state(self) -> int:
        return self._key

    def load_state(self, state: int) -> None:
        """Go to state ``state`` (a key from ``save_state``). The lowest distance reached so far (what the
        ``optimal`` component compares with) is kept, unless the level changes; ``snapshot``/``restore`` carry it."""
        if self.level is not self.task:
            self._set_level(self.task)
            self._best = INF
        self._key = int(state)
        self._best = min(self._best, self.oracle.distance(self._key))

    def snapshot(self) -> dict[str, Any]:
        snap = super().snapshot()
        snap["best_distance"] = self._best
        return snap

    def restore(self, snapshot: dict[str, Any]) -> None:
        super().restore(snapshot)
        if "best_distance" in snapshot:
            self._best = snapshot["best_distance"]

    def privileged(self) -> dict[str, Any]:
        """``distance`` (optimal moves left; -1 once the level can no longer be solved), ``distance_exact``
        (False where the oracle fell back to bounded search) and ``start_distance``."""
        return (self._states.get(self._key) or self._state(self._key))[3].copy()

    # ---- actions ------------------------------------------------------------------------------

    def action_help(self) -> str:
        k = self.moves_per_turn
        many = "one move" if k == 1 else f"1 to {k} moves separated by spaces"
        return f"Accepted: {many} from up, down, left, right inside <action></action>, e.g. <action>up</action>."

    def parse_action(self, text: str) -> list[int]:
        body = extract_tag(text, self.action_tag)
        if body is None:
            raise ActionError("no <action>...</action> block found")
        known = _PARSED.get(body)  # the same few bodies come back all the time
        if known is not None and len(known) <= self.moves_per_turn:
            return list(known)
        words = body.translate(_SEPARATORS).lower().split()
        if not words:
            raise ActionError("the <action> block is empty")
        unknown = [w for w in words if w not in _MOVE_INDEX]
        if unknown:  # named first: '<action>move down</action>' is one unknown word, not two moves
            k = self.moves_per_turn
            per_turn = "one per turn" if k == 1 else f"up to {k} per turn, separated by spaces"
            raise ActionError(f"unknown move {squash(unknown[0])!r}; use up, down, left, right ({per_turn})")
        if len(words) > self.moves_per_turn:
            raise ActionError(f"{len(words)} moves given; at most {self.moves_per_turn} per turn")
        moves = [_MOVE_INDEX[w] for w in words]
        if len(body) <= 64 and len(_PARSED) < _PARSED_MAX:
            _PARSED[body] = tuple(moves)
        return moves

    def apply_action(self, moves: list[int]) -> StepOutcome:
        oracle = self.oracle
        move = oracle.board.move
        key = self._key
        if len(moves) == 1:  # the common case, without the loops below
            m = moves[0]
            nxt = move(key, m)
            if nxt is None:
                raise ActionError(f"moving {MOVES[m]} is illegal: {self._blocked_reason(key, m)}")
            distance = oracle.distance
            a = distance(key)
            key, pushed = nxt
            d_after = distance(key)
            optimal = a != INF and d_after == a - 1
        else:
            keys = [key]
            pushed = 0
            for i, m in enumerate(moves):
                nxt = move(key, m)
                if nxt is None:
                    which = f"move {i + 1} ({MOVES[m]})" if len(moves) > 1 else f"moving {MOVES[m]}"
                    raise ActionError(f"{which} is illegal: {self._blocked_reason(key, m)}")
                key = nxt[0]
                pushed += nxt[1]
                keys.append(key)
            # optimal: every move lowers the optimal distance by exactly one
            distance = oracle.distance
            optimal = True
            a = d_before = distance(keys[0])
            for after_key in keys[1:]:
                if a == INF:
                    optimal = False
                    break
                b = distance(after_key)
                if b != a - 1:
                    optimal = False
                    break
                a = b
            a, d_after = d_before, distance(key)
        # behind: the turn starts farther from solved than the closest this episode has been (and solvable)
        best = self._best
        behind = best < a < INF
        if d_after < best:
            self._best = d_after
        self._key = key
        entry = self._states.get(key) or self._state(key)
        after, on_goals = entry[0], entry[2]
        solved = on_goals == self._n_goals
        terminated = solved or (after.distance == INF and self.terminate_on_deadlock)
        if len(moves) == 1 and pushed < 2:
            text = _MOVED[moves[0]][pushed]
        else:
            names = ", ".join(MOVES[m] for m in moves)
            text = f"You moved {names}" + (f" and pushed a box {pushed} time(s).\n" if pushed else ".\n")
        if solved:
            text += "Every box is on a goal: the level is solved!\n"
        elif terminated:
            text += "A box is stuck where it can never reach a goal: the level can no longer be solved.\n"
        info = {
            "moves_optimal": optimal,
            "behind_best": behind,
            "boxes_on_goals": on_goals,
            "oracle_degraded": not (after.exact and oracle.exact),
        }
        return StepOutcome(text + self._description(entry), terminated, solved, 1.0 if solved else 0.0, info)

    def _blocked_reason(self, key: int, m: int) -> str:
        mask, player = divmod(key, self.level.n_cells)
        d = self.level.deltas[m]
        if self.level.walls[player + d]:
            return "a wall is in the way"
        behind = player + 2 * d
        return "the box there would be pushed into " + (
            "a wall" if self.level.walls[behind] else "another box"
        )

    def invalid_observation(self, error: str) -> str:
        """The error, the accepted moves, and the unchanged grid: under the ``current`` context the latest
        observation is all the policy sees of where it stands."""
        return f"{super().invalid_observation(error)}\nNothing moved.\n{self._describe()}"

    def random_action(self, rng: np.random.Generator) -> str:
        """``moves_per_turn`` uniformly random moves (legal or not)."""
        return f"<action>{' '.join(MOVES[int(i)] for i in rng.integers(4, size=self.moves_per_turn))}</action>"

    def oracle_action(self) -> str:
        """The first move(s) of an optimal solution (any legal move once solved or deadlocked)."""
        key, moves = self._key, []
        for _ in range(self.moves_per_turn):
            best = self.oracle.best_moves(key)
            if not best:
                if not moves:
                    best = [m for i, m in enumerate(MOVES) if self.oracle.board.move(key, i) is not None][:1]
                if not best:
                    break
            moves.append(best[0])
            key = self.oracle.board.move(key, _MOVE_INDEX[best[0]])[0]
            if self.oracle.board.solved(key):
                break
        return f"<action>{' '.join(moves) or 'up'}</action>"

    # ---- rendering ----------------------------------------------------------------------------

    def _describe(self) -> str:
        return self._description(self._states.get(self._key) or self._state(self._key))

    def render_text(self) -> str:
        return self._describe()

    def render(self) -> Any:
        if self.render_mode == "rgb_array":
            mask, player = divmod(self._key, self.level.n_cells)
            return rgb_array(self.level, mask, player)
        return super().render()
