"""The ``densegym`` command line: list|play|rollout|eval|replay|train|bench|cleanup|demo (docs/cli.md)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import densegym
from densegym.envs.registration import ENVS
from densegym.evaluate import text_table

# Exit codes (docs/cli.md): 0 the command did its work; 1 the run failed (every episode failed, the agent's server
# is down, the env could not be built); 2 the command line is wrong and nothing ran (an unknown env, a bad kwarg,
# a bad agent spec or path, an unreadable config); argparse uses 2 too.
EXIT_FAILED, EXIT_USAGE = 1, 2


def _usage_error(message: str) -> SystemExit:
    """Exit code 2, as argparse uses for a bad command line (a bad agent spec is one)."""
    print(f"densegym: error: {message}", file=sys.stderr)
    return SystemExit(EXIT_USAGE)


def _failure(message: str) -> SystemExit:
    """Exit code 1: the command line was fine, the run failed."""
    print(f"densegym: {message}", file=sys.stderr)
    return SystemExit(EXIT_FAILED)


def parse_env_kwargs(text: str | dict[str, Any] | None, flag: str = "--kwargs") -> dict[str, Any]:
    """``--kwargs`` as a dict: a JSON object, or a usage error that says what is wrong with it."""
    if text is None or isinstance(text, dict):
        return dict(text or {})
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _usage_error(f"{flag} is not valid JSON ({exc}): {text!r}; write an object, e.g. "
                           '\'{"dim_room": [8, 8]}\'') from None
    if not isinstance(value, dict):
        raise _usage_error(f"{flag} must be a JSON object of env keyword arguments ({{\"name\": value, ...}}), "
                           f"got {type(value).__name__} {text!r}")
    return value


def resolve_env(spec: str, kwargs: str | dict[str, Any] | None = None, imports: Sequence[str] = ()) -> Any:
    """The env ``spec`` names (an id, ``module:id``, ``module:Class``), after ``--import``; a usage error (exit 2)
    with a one-line reason when it cannot be resolved or a kwarg is not the env's."""
    from densegym.envs.resolve import EnvSpecError
    from densegym.envs.resolve import resolve_env as resolve

    env_kwargs = parse_env_kwargs(kwargs)
    try:
        return resolve(spec, env_kwargs, imports)
    except EnvSpecError as exc:
        raise _usage_error(str(exc)) from None


def check_output_path(path: str | None, flag: str) -> None:
    """Fail before the run (exit 2) when ``path`` cannot be written as a file: it is a directory, or a missing
    parent cannot be made (missing parent directories are made when the file is written)."""
    if not path:
        return
    if os.path.isdir(path):
        raise _usage_error(f"{flag} {path}: is a directory; give a file path")
    if os.path.exists(path):
        if not os.access(path, os.W_OK):
            raise _usage_error(f"{flag} {path}: not writable")
        return
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):  # the nearest existing ancestor: the missing ones are made in it
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise _usage_error(f"{flag} {path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK):
        raise _usage_error(f"{flag} {path}: {parent} is not writable")


def cmd_list(args: argparse.Namespace) -> int:
    """Every registered id with its family and reward components, from the registry's metadata: no env family
    is imported (a family whose extra is missing is imported only to get its message)."""
    rows = []
    for info in ENVS:
        missing = info.unavailable()
        weights = info.rewards if info.rewards is not None else _constructed_weights(info.id)
        if isinstance(weights, str):  # the env could not be built: why
            missing = missing or weights
        rewards = f"unavailable: {missing}" if missing else ", ".join(f"{n}={w:g}" for n, w in weights)
        rows.append((info.id, info.family, info.summary, rewards))
    print(text_table(("id", "family", "levels / tasks", "reward components (default weights)"), rows))
    return 0


def _constructed_weights(env_id: str) -> tuple[tuple[str, float], ...] | str:
    """The default reward weights of an id whose family has no metadata in the registry, from the env itself
    (constructing an env starts nothing); the ImportError's message when its extra is missing."""
    import gymnasium as gym

    try:
        env = gym.make(env_id)
    except ImportError as exc:
        return str(exc)
    try:
        return tuple(env.unwrapped.rewards.weights.items())
    finally:
        env.close()


# ---- play ------------------------------------------------------------------------------------------------

# Arrow keys as terminals send them (normal and application cursor mode) -> the move they stand for.
ARROWS = {"\x1b[A": "up", "\x1b[B": "down", "\x1b[C": "right", "\x1b[D": "left",
          "\x1bOA": "up", "\x1bOB": "down", "\x1bOC": "right", "\x1bOD": "left"}
MOVES = ("up", "down", "left", "right")


def arrow_action(sequence: str) -> str | None:
    """The move an arrow key's escape sequence stands for (``"\\x1b[A"`` -> ``"up"``), else ``None``."""
    return ARROWS.get(sequence)


def takes_moves(env: Any) -> bool:
    """True when the env's actions are moves: its ``action_help()`` names up, down, left and right."""
    try:
        text = env.unwrapped.action_help().lower()
    except Exception:
        return False
    return all(re.search(rf"\b{m}\b", text) for m in MOVES)


def read_key_line(read: Callable[[], str], write: Callable[[str], Any], arrows: bool = True) -> str | None:
    """One command from a terminal in cbreak mode, ``read()`` giving one character at a time: an arrow key is
    a whole command at once (its move; only at the start of a line, and only with ``arrows``), anything else is
    typed and edited (backspace) up to Enter. ``None`` at end of input (Ctrl-D on an empty line)."""
    buf: list[str] = []
    while True:
        ch = read()
        if ch == "":
            return "".join(buf) if buf else None
        if ch == "\x1b":  # an escape sequence: ESC [ X or ESC O X
            seq = ch + read()
            if seq in ("\x1b[", "\x1bO"):
                seq += read()
            move = arrow_action(seq)
            if move and arrows and not buf:
                write(move + "\n")
                return move
            continue  # another key (or an arrow in the middle of a line): ignored
        if ch in ("\r", "\n"):
            write("\n")
            return "".join(buf)
        if ch == "\x04":  # Ctrl-D
            if not buf:
                return None
            continue
        if ch in ("\x7f", "\x08"):  # backspace
            if buf:
                buf.pop()
                write("\b \b")
            continue
        if ch.isprintable():
            buf.append(ch)
            write(ch)


class _Keys:
    """stdin of a terminal in cbreak mode (keys arrive one at a time; Ctrl-C still interrupts), restored on exit."""

    def __init__(self, stream: Any):
        self.stream = stream
        self.fd = stream.fileno()
        self.saved: Any = None

    def __enter__(self) -> _Keys:
        import termios

        self.saved = termios.tcgetattr(self.fd)
        mode = termios.tcgetattr(self.fd)
        mode[3] &= ~(termios.ICANON | termios.ECHO)  # lflags: no line buffering, no echo (we echo)
        mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
        termios.tcsetattr(self.fd, termios.TCSANOW, mode)  # TCSANOW: keys typed ahead are kept
        return self

    def __exit__(self, *exc: Any) -> None:
        import termios

        termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)

    def read(self) -> str:
        data = os.read(self.fd, 1)
        while data and data[0] >= 0x80 and len(data) < 4:  # the rest of a UTF-8 character
            try:
                return data.decode()
            except UnicodeDecodeError:
                data += os.read(self.fd, 1)
        return data.decode(errors="replace")


def _echo(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _terminal_input(stdin: Any) -> bool:
    try:
        import termios  # noqa: F401 - POSIX only

        return stdin.isatty()
    except (ImportError, AttributeError, ValueError):
        return False


def cmd_play(args: argparse.Namespace) -> int:
    """A person plays in the terminal; every reward component is shown each turn. In a terminal, the arrow keys
    are moves for envs whose actions are moves; typed lines work everywhere (piped input is read line by line)."""
    resolved = resolve_env(args.env_id, args.kwargs, args.imports)
    try:
        env = resolved.make()
    except Exception as exc:  # the env's constructor refused a value
        raise _failure(f"{resolved.label}: could not build the env: {type(exc).__name__}: {exc}") from None
    obs, info = env.reset(seed=args.seed)
    tag = getattr(env.unwrapped, "action_tag", "action")  # <action> for most envs, <sql> for SQL
    keys = _terminal_input(sys.stdin)
    arrows = keys and takes_moves(env)
    how = "the arrow keys move, or type" if arrows else "type"
    example = "up" if takes_moves(env) else "..."  # a move, or whatever the env's own prompt asks for
    print(f"[task {info.get('task_id')}]  {how} an action (e.g. '{example}' for <{tag}>{example}</{tag}>, or the "
          "tags yourself) and press Enter; 'q' quits\n")
    print(obs)
    total = 0.0
    terminal = _Keys(sys.stdin) if keys else None
    with terminal or contextlib.nullcontext():
        while True:
            try:
                if terminal is not None:
                    _echo("\n> ")
                    line = read_key_line(terminal.read, _echo, arrows)
                else:
                    line = input("\n> ")
            except (EOFError, KeyboardInterrupt):
                line = None
            if line is None:
                print()
                break
            if line.strip().lower() in ("q", "quit", "exit"):
                break
            action = line if "<" in line and ">" in line else f"<{tag}>{line}</{tag}>"
            obs, reward, terminated, truncated, info = env.step(action)
            total += reward
            print(obs)
            parts = "  ".join(f"{k}={v:+.3f}" for k, v in info["reward_components"].items())
            print(f"\nturn {info['turn']}: reward {reward:+.3f} (total {total:+.3f})  [{parts}]")
            if terminated or truncated:
                print(f"episode over: success={info['success']} outcome={info['outcome']:g}")
                break
    env.close()
    return 0


def _summary_table(summaries: list[dict[str, Any]]) -> str:
    names = list(dict.fromkeys(k for s in summaries for k in s["components"]))
    tokens = any(s.get("tokens") is not None for s in summaries)
    headers = ["agent", "episodes", "success", "turns", "reward"] + (["tokens"] if tokens else []) + names
    rows = [
        [s["agent"], s["episodes"], s["success"], s["turns"], s["reward"]]
        + ([s["tokens"] if s["tokens"] is not None else "-"] if tokens else [])
        + [s["components"].get(k, 0.0) for k in names]
        for s in summaries
    ]
    return text_table(headers, rows)


def _agent_from_args(args: argparse.Namespace) -> Any:
    """The agent ``--agent`` names, with the model flags the command line was given (unset ones dropped)."""
    from densegym.agents.spec import make_agent

    options = {
        "seed": args.seed,
        "temperature": args.temperature,
        "max_new_tokens": args.max_new_tokens,
        "model": args.model,
        "device": args.device,
        "return_token_ids": True if args.return_token_ids else None,
    }
    try:
        return make_agent(args.agent, **options)
    except (ValueError, OSError, ImportError) as exc:  # a bad spec, a missing model dir, a missing extra
        raise _usage_error(str(exc)) from None


def run_rollouts(
    env_id: Any,
    agent: Any,
    episodes: int,
    seed: int,
    kwargs: str | dict[str, Any] | None,
    out: str | None,
    *,
    label: str | None = None,
    group_size: int = 1,
    num_envs: int | None = None,
    workers: int | None = None,
    max_turns: int | None = None,
    context: str = "full",
    imports: Sequence[str] = (),
):
    """Play ``episodes`` tasks (env seeds ``seed .. seed + episodes - 1``), each ``group_size`` times.

    Every agent, scripted or model-backed, goes through :func:`densegym.rollout.collect` and an
    :class:`~densegym.envpool.EnvPool`, so that the command line exercises the same path a trainer does:
    envs step in worker processes while a model agent generates for all episodes in flight as one batch.
    ``env_id`` is an env spec (an id, ``module:id``, ``module:Class``; ``imports`` are imported first) or an
    already resolved env (then ``kwargs`` and ``imports`` are not used); ``kwargs`` is JSON text or a dict.
    ``agent`` is an agent spec (``"oracle"``, ``"hf:PATH"`` ...) or an agent object.
    """
    from densegym.agents.context import ContextPolicy
    from densegym.envpool import EnvPool
    from densegym.evaluate import rollout_summary
    from densegym.rollout import collect

    resolved = resolve_env(env_id, kwargs, imports) if isinstance(env_id, str) else env_id
    check_output_path(out, "--out")
    label = label or (agent if isinstance(agent, str) else getattr(agent, "name", type(agent).__name__))
    if isinstance(agent, str):
        from densegym.agents.spec import make_agent

        agent = make_agent(agent, seed=seed)
    try:
        policy = ContextPolicy.from_spec(context)
    except ValueError as exc:
        raise _usage_error(str(exc)) from None
    total = episodes * group_size
    start = time.perf_counter()
    source, env_kwargs = resolved.pool_source()
    try:
        pool = EnvPool(source, num_envs=min(num_envs or 8, total), num_workers=workers, env_kwargs=env_kwargs)
    except RuntimeError as exc:  # the env could not be built from these kwargs
        raise _failure(str(exc).splitlines()[0]) from None
    with pool:
        groups = collect(
            agent,
            pool,
            [seed + i for i in range(episodes)],
            group_size=group_size,
            max_turns=max_turns,
            context=policy,
            out=out,
            seed=seed,
            env_id=resolved.label,
            meta={"agent": label, "env_kwargs": dict(resolved.kwargs),  # what `densegym replay` rebuilds the env from
                  **({"env_imports": list(resolved.imports)} if resolved.imports else {})},
            ordered=True,
        )
    trajectories = [t for g in groups for t in g]
    summary = rollout_summary(trajectories, label)
    summary["seconds"] = time.perf_counter() - start
    return trajectories, summary


def first_failure(trajectories: Sequence[Any]) -> str | None:
    """The reason the first failed episode gives (``meta["failed"]``), on one line; ``None`` when none failed."""
    for t in trajectories:
        if "failed" in t.meta:
            reason = str(t.meta["failed"]).strip()
            lines = [line.strip() for line in reason.splitlines() if line.strip()]
            if not lines:
                return "(no reason given)"
            head = []  # the message, without a traceback that may follow it
            for line in lines:
                if line.startswith("Traceback"):
                    break
                head.append(line)
            return " ".join(head[:3]) if head else lines[-1]  # a bare traceback: its last line says what was raised
    return None


def report_failures(trajectories: Sequence[Any], summary: dict[str, Any]) -> None:
    """Say how many episodes failed and why the first did; exit 1 when every episode failed (nothing was measured)."""
    failed = summary.get("failed", 0)
    if not failed:
        return
    reason = first_failure(trajectories)
    if failed == summary["episodes"]:
        raise _failure(f"every episode failed ({failed}); the first: {reason}")
    print(f"\n{failed} episode(s) failed (env or worker error) and count as unsuccessful; the first: {reason}")


def _rollouts_from_args(args: argparse.Namespace):
    """``run_rollouts`` with the agent and the options of a ``rollout`` or ``eval`` command line."""
    from densegym.agents.base import AgentError

    resolved = resolve_env(args.env_id, args.kwargs, args.imports)  # before a model loads or a worker starts
    check_output_path(args.out, "--out")
    if isinstance(args.json, str):
        check_output_path(args.json, "--json")
    try:
        return run_rollouts(
            resolved,
            _agent_from_args(args),
            args.episodes,
            args.seed,
            None,
            args.out,
            label=args.agent,
            group_size=args.group_size,
            num_envs=args.num_envs,
            workers=args.workers,
            max_turns=args.max_turns,
            context=args.context,
        )
    except AgentError as exc:  # a server that is down or refuses the requests: its message, not a traceback
        raise _failure(f"the agent failed: {exc}") from None


def cmd_rollout(args: argparse.Namespace) -> int:
    trajectories, summary = _rollouts_from_args(args)
    print(f"{args.env_id}: mean per episode (reward components are unweighted sums over turns)")
    print(_summary_table([summary]))
    if args.out:
        print(f"\nwrote {summary['episodes']} trajectories to {args.out}")
    if args.json:
        print(json.dumps(summary))
    report_failures(trajectories, summary)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Success rate, mean reward components, turns and tokens per episode, as a table and as JSON."""
    trajectories, summary = _rollouts_from_args(args)
    report = {
        "env_id": args.env_id,
        "seed": args.seed,
        "group_size": args.group_size,
        "max_turns": args.max_turns,
        "context": args.context,
        **summary,
    }
    print(f"{args.env_id}: evaluation of {args.agent}, mean per episode over {summary['episodes']} episodes")
    print(_summary_table([summary]))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
        print(f"\nwrote the metrics to {args.json}")
    if args.out:
        print(f"wrote {summary['episodes']} trajectories to {args.out}")
    report_failures(trajectories, summary)
    return 0


EXIT_NONDETERMINISTIC = 3  # replay: two replays of the same actions differ (docs/cli.md)


def cmd_replay(args: argparse.Namespace) -> int:
    """``densegym replay FILE.jsonl [--rewards JSON] [--out NEW.jsonl]``: re-run the stored actions on fresh envs and
    check every stored reward component; with ``--rewards``, re-score them (densegym/replay.py)."""
    from densegym.envs.resolve import EnvSpecError, import_modules
    from densegym.replay import RewardSpecError, replay
    from densegym.trajectory import TrajectoryWriter, read_jsonl

    rewards = parse_env_kwargs(args.rewards, "--rewards") if args.rewards is not None else None
    env_kwargs = parse_env_kwargs(args.kwargs)
    check_output_path(args.out, "--out")
    if args.out and os.path.exists(args.out) and os.path.samefile(args.out, args.file):
        raise _usage_error(f"--out {args.out}: is the file being replayed; write the new trajectories elsewhere")
    try:
        import_modules(args.imports)
        trajectories = list(read_jsonl(args.file))
    except EnvSpecError as exc:
        raise _usage_error(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise _usage_error(f"replay: {_one_line(exc)}") from None
    if args.limit is not None:
        trajectories = trajectories[: args.limit]
    try:
        report = replay(trajectories, rewards=rewards, env_kwargs=env_kwargs, imports=args.imports,
                        keep=bool(args.out))
    except (EnvSpecError, RewardSpecError) as exc:  # an unknown env id or kwarg in the file, a bad --rewards
        raise _usage_error(f"replay: {exc}") from None
    except Exception as exc:  # the env could not be built
        raise _failure(f"replay: {args.file}: {type(exc).__name__}: {_one_line(exc)}") from None
    for note in report.assumptions:
        print(f"note: {note}")
    if args.json:
        print(json.dumps(report.to_dict(), default=str))
    if report.status == "nondeterministic":
        print(f"densegym: replay: {args.file}: {report.message()}", file=sys.stderr)
        return EXIT_NONDETERMINISTIC
    if not report.ok:
        raise _failure(f"replay: {args.file}: {report.message()}")
    print(f"{args.file}: {report.message()}")
    if args.out:
        with TrajectoryWriter(args.out) as writer:
            for traj in report.trajectories:
                writer.write(traj)
        totals = [t.total_reward for t in report.trajectories]
        mean = sum(totals) / len(totals) if totals else 0.0
        print(f"wrote {len(totals)} {'re-scored ' if rewards else ''}trajectories to {args.out} (mean reward per "
              f"episode {mean:+.4f})")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job: the reward breakdown of oracle and random play, then RL with dense vs outcome-only rewards."""
    from densegym.trainers.demo import DEMO_ENV, DEMO_ENV_KWARGS, TASK_POOL

    env_id, kwargs = args.env_id or DEMO_ENV, args.kwargs
    if args.env_id is None and kwargs is None:
        kwargs = json.dumps(DEMO_ENV_KWARGS)
    resolved = resolve_env(env_id, kwargs, args.imports)
    if args.out_dir:
        check_output_path(os.path.join(args.out_dir, "oracle.jsonl"), "--out-dir")
    episodes = args.episodes or TASK_POOL
    print(f"densegym demo, part 1: oracle and random play, {episodes} episodes each, on {env_id} {kwargs or ''}\n")
    summaries = []
    for name in ("oracle", "random"):
        out = f"{args.out_dir}/{name}.jsonl" if args.out_dir else None
        trajs, summary = run_rollouts(resolved, name, episodes, args.seed, None, out, workers=1)
        if summary["failed"] == summary["episodes"]:
            report_failures(trajs, summary)
        summaries.append(summary)
        if name == "random" and trajs:
            example = next((t for t in trajs if not t.success), trajs[0])
            turns = example.turns[:4]
    print(_summary_table(summaries))
    print(
        "\nprogress sums to 1 for every solved level (potential-based); optimal = VPR verdict per turn "
        "(+1 optimal, 0 legal, -1 invalid; 1 less when the turn starts behind the episode's best distance, so "
        "it cannot be farmed); deadlock = -1 when a turn made the level unsolvable."
    )
    print("\nThe first turns of a random episode, reward by component:")
    for i, t in enumerate(turns):
        parts = "  ".join(f"{k}={v:+.2f}" for k, v in t.components.items())
        print(f"  turn {i + 1}: {t.action:<28} {parts}")
    if args.out_dir:
        print(f"\ntrajectories written to {args.out_dir}/oracle.jsonl and {args.out_dir}/random.jsonl")
    if args.no_train:
        return 0
    return _demo_training(args)


def _demo_training(args: argparse.Namespace) -> int:
    from densegym.trainers.demo import ARMS, demo_table, plot_seed_curves, run_demo

    arms = ", ".join(f"{arm} ({settings['estimator']})" for arm, settings in ARMS.items())
    print(
        "\ndensegym demo, part 2: a tiny Qwen2 (built from a config, offline tokenizer) is warm-started on oracle "
        "demonstrations, then trained with RL from the same weights and the same sample budget, "
        f"{args.seeds} training seeds per arm: {arms}. Progress goes to stderr."
    )
    start = time.perf_counter()
    run = run_demo(args.out_dir or "runs/demo", steps=args.steps, seed=args.seed, seeds=args.seeds, quick=args.quick)
    acc = run.warm_start.accuracy
    print(f"\nWarm start: move accuracy against the oracle on {acc['states']:.0f} states of held-out levels "
          f"{acc['accuracy']:.3f} (a uniform choice: {acc['chance']:.3f}; legal moves {acc['legal']:.3f}).")
    print(f"\nSuccess on the 16 training levels, 4 samples each at temperature 1: mean +- standard error over "
          f"{args.seeds} seeds, and the paired difference (p: two-sided paired t-test over seeds):")
    print(demo_table(run.histories))
    if args.out_dir:
        path = plot_seed_curves(run.histories, f"{args.out_dir}/curves.png")
        print(f"\ncurves: {path}; every step's metrics: {args.out_dir}/<arm>/seed-<k>/metrics.jsonl")
    print(f"demo finished in {time.perf_counter() - start:.0f}s")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """``densegym train CONFIG.yaml [key=value ...]``: run the bundled trainer."""
    from densegym.envs.resolve import EnvSpecError, import_modules
    from densegym.trainers.config import TrainerConfig

    try:
        import_modules(args.imports)  # before the config: its env may be an id one of them registers
        config = TrainerConfig.from_yaml(args.config, args.overrides)
    except EnvSpecError as exc:
        raise _usage_error(str(exc)) from None
    except (ValueError, OSError) as exc:  # a malformed file, a bad value, a missing file or config name
        raise _usage_error(f"train: {_one_line(exc)}") from None
    except Exception as exc:
        if type(exc).__module__.split(".")[0] != "yaml":  # a YAML syntax error, if the loader lets one through
            raise
        raise _usage_error(f"train: {args.config}: {_one_line(exc)}") from None
    resolve_env(config.env, dict(config.env_kwargs))  # an unknown env or kwarg: said now, not from a worker
    from densegym.trainers.progress import Progress

    Progress(config.progress).say("densegym train: importing torch and transformers ...")
    from densegym.trainers.checkpoint import CorruptCheckpointError, UnsafeCheckpointError
    from densegym.trainers.trainer import Trainer

    try:  # output_dir in use, a resume that changes the run, a reward_weights typo, an uncached model
        trainer = Trainer(config)
    except (ValueError, OSError, ImportError, CorruptCheckpointError, UnsafeCheckpointError) as exc:
        raise _usage_error(f"train: {_one_line(exc)}") from None
    with trainer:
        history = trainer.train()
        is_main = trainer.runtime.is_main
    if is_main and history:
        last = history[-1]
        keys = [k for k in ("step", "success", "outcome", "reward", "loss", "eval/success") if k in last]
        print(text_table(keys, [[last[k] for k in keys]]))
        print(f"metrics: {config.output_dir}/metrics.jsonl; checkpoints: {config.output_dir}/checkpoints/")
    return 0


def _one_line(exc: BaseException) -> str:
    """An exception as one line: an OSError as 'path: reason', anything else its message's lines joined."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__


BENCHMARKS = ("sokoban", "rollout", "train", "sql", "lsp", "search", "swe", "learning")


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the side-by-side benchmarks of a source checkout (``benchmarks/``, not part of the installed
    package: the peers they compare against are installed by ``make bench``)."""
    import subprocess
    from pathlib import Path

    root = Path(densegym.__file__).resolve().parents[1]
    if not (root / "benchmarks" / "__init__.py").exists():
        raise SystemExit("densegym bench: the benchmarks live in the source checkout (git clone, then `make bench`)")
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        print(f"densegym bench: unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}",
              file=sys.stderr)
        return 2
    for name in args.names or BENCHMARKS:
        print(f"== benchmarks.bench_{name}", flush=True)
        cmd = [sys.executable, "-m", f"benchmarks.bench_{name}", *(["--quick"] if args.quick else [])]
        code = subprocess.call(cmd, cwd=root)
        if code:
            print(f"densegym bench: bench_{name} exited with {code}", file=sys.stderr)
            return code
    return 0


def cmd_cleanup(args: argparse.Namespace) -> int:
    """Remove what crashed runs left behind: every EnvPool whose process died without closing it left its
    workers' ledgers, and what they list (temp dirs, language servers, cgroups) is removed now."""
    from densegym import leftovers

    removed = leftovers.sweep_orphans()
    for kind, ref in removed:
        print(f"removed {kind} {ref}")
    print(f"densegym cleanup: {len(removed)} leftover(s) of crashed runs removed")
    return 0


def cmd_serve_retriever(argv: Sequence[str]) -> int:
    """Serve a densegym search index under the Search-R1 retrieval API (``POST /retrieve``). The options are
    :func:`densegym.envs.search.remote.build_parser`'s, parsed there (the search extra is imported only now)."""
    from densegym.envs.search.remote import main as serve

    return serve(list(argv))


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="densegym", description=densegym.__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"densegym {densegym.__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="list env ids, families and reward components").set_defaults(func=cmd_list)

    env_help = ("the env: a registered id (densegym/Sokoban-v0), MODULE:ID (import MODULE, which registers ID), "
                "or MODULE:CLASS (construct the class); MODULE may be a .py file")
    kwargs_help = "env keyword arguments as a JSON object, e.g. '{\"dim_room\": [8, 8]}'"
    import_help = "import MODULE (a module name or a .py file) first, e.g. one that registers your env (repeatable)"

    def add_import(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                            help=import_help)

    play = sub.add_parser("play", help="play an env in the terminal (arrow keys or typed actions) and see every "
                          "reward component")
    play.add_argument("env_id", help=env_help)
    play.add_argument("--seed", type=int, default=None)
    play.add_argument("--kwargs", help=kwargs_help)
    add_import(play)
    play.set_defaults(func=cmd_play)

    agent_help = (
        "the agent: oracle | random | hf:PATH (a transformers model dir) | openai:URL#MODEL (an OpenAI-compatible "
        "server, e.g. openai:http://127.0.0.1:8000/v1#Qwen3-0.6B; or openai:URL with --model; the key comes from "
        "$OPENAI_API_KEY) | vllm:PATH (GPU)"
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("env_id", help=env_help)
    common.add_argument("--agent", default="oracle", metavar="SPEC", help=agent_help + " (default: oracle)")
    common.add_argument("--seed", type=int, default=0, help="tasks use env seeds SEED..SEED+EPISODES-1 (default 0)")
    common.add_argument("--group-size", type=_positive_int, default=1, help="plays of each task (a GRPO group)")
    common.add_argument("--max-turns", type=_positive_int, help="truncate an episode after this many turns")
    common.add_argument("--num-envs", type=_positive_int, help="episodes in flight at once (default 8)")
    common.add_argument("--workers", type=_positive_int, help="env worker processes (default: one per core)")
    common.add_argument("--context", default="full", metavar="full|last_k:K|current",
                        help="the history the agent sees each turn (default full)")
    common.add_argument("--temperature", type=float, help="sampling temperature of a model agent (0: greedy)")
    common.add_argument("--max-new-tokens", type=_positive_int, help="action length limit of a model agent")
    common.add_argument("--model", help="the model name sent to an openai: server (or write it after '#')")
    common.add_argument("--device", help="hf: agents: cpu, cuda, cuda:1 ... (default: cuda when available)")
    common.add_argument("--return-token-ids", action="store_true",
                        help="openai: agents: ask the server for token ids (vLLM's extension)")
    common.add_argument("--out", help="JSONL file to append the trajectories to (missing directories are made)")
    common.add_argument("--kwargs", help=kwargs_help)
    add_import(common)

    ro = sub.add_parser("rollout", parents=[common], help="run an agent and write trajectories as JSONL")
    ro.add_argument("--episodes", type=_positive_int, default=10, help="tasks to play (default 10)")
    ro.add_argument("--json", action="store_true", help="also print the summary as one JSON line")
    ro.set_defaults(func=cmd_rollout)

    ev = sub.add_parser("eval", parents=[common], help="success rate, reward components, turns and tokens of an agent")
    ev.add_argument("--episodes", type=_positive_int, default=20, help="tasks to play (default 20)")
    ev.add_argument("--json", metavar="FILE", help="write the metrics to FILE as JSON (missing directories are made)")
    ev.set_defaults(func=cmd_eval)

    rp = sub.add_parser("replay", help="re-run stored trajectories' actions and check every reward component; "
                        "--rewards re-scores them with other weights or hooks")
    rp.add_argument("file", metavar="FILE.jsonl", help="trajectories, as `densegym rollout --out` writes them")
    rp.add_argument("--rewards", metavar="JSON",
                    help='re-score: a JSON object of weights and hooks, e.g. \'{"progress": 0.0, "outcome": 1.0}\', '
                    '\'{"mine": "mymodule:my_hook"}\' or \'{"mine": ["hooks.py:my_hook", 0.5]}\'')
    rp.add_argument("--out", metavar="NEW.jsonl", help="write the replayed (re-scored) trajectories to this file")
    rp.add_argument("--kwargs", help="env keyword arguments (JSON) merged over those each trajectory records")
    rp.add_argument("--limit", type=_positive_int, help="replay only the first N trajectories")
    rp.add_argument("--json", action="store_true", help="also print the report as one JSON line")
    add_import(rp)
    rp.set_defaults(func=cmd_replay)

    train = sub.add_parser("train", help="train a policy with a bundled RL trainer (TrainerConfig YAML)")
    train.add_argument("config", help="a YAML TrainerConfig file, or a bundled config by name (sokoban_turn, sokoban_grpo, ...)")
    train.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                       help="override config keys, values in YAML: steps=10 lr=1e-4 estimator_config.gamma=0.9")
    add_import(train)
    train.set_defaults(func=cmd_train)

    bench = sub.add_parser("bench", help="run the benchmarks against peer libraries (a source checkout)")
    bench.add_argument("names", nargs="*", metavar="NAME",
                       help=f"which ({', '.join(BENCHMARKS)}; default all); `make bench` installs the peers first")
    bench.add_argument("--quick", action="store_true", help="smoke runs of a few seconds each")
    bench.set_defaults(func=cmd_bench)

    sub.add_parser("cleanup", help="remove what crashed runs left behind (temp dirs, servers, cgroups)").set_defaults(
        func=cmd_cleanup)

    # listed here for `densegym --help`; main() hands its arguments to densegym.envs.search.remote
    sub.add_parser("serve-retriever", help="serve a search index (the generated world or a corpus file; bm25, dense "
                   "or hybrid) under the Search-R1 retrieval API, POST /retrieve (--help: its options)")

    demo = sub.add_parser("demo", help="the main job: reward breakdown, then RL with dense vs outcome-only rewards")
    demo.add_argument("--env-id", help="env of part 1, any env spec (default: the training env of part 2)")
    demo.add_argument("--episodes", type=_positive_int, help="episodes of part 1 per agent (default: the 16 levels)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--kwargs", help="env keyword arguments of part 1 as a JSON object")
    add_import(demo)
    demo.add_argument("--out-dir", default="runs/demo")
    demo.add_argument("--steps", type=_positive_int, default=16, help="RL steps of each arm and seed (default 16)")
    demo.add_argument("--seeds", type=_positive_int, default=3, help="training seeds per arm (default 3)")
    demo.add_argument("--no-train", action="store_true", help="part 1 only")
    demo.add_argument("--quick", action="store_true", help="a seconds-long smoke run of part 2 (tests)")
    demo.set_defaults(func=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve-retriever"]:
        return cmd_serve_retriever(argv[1:])
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # argparse leaves train's KEY=VALUE overrides that follow an option (--import M steps=2) unparsed
        if args.command == "train" and all("=" in e and not e.startswith("-") for e in extra):
            args.overrides = [*args.overrides, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.func(args)
    except BrokenPipeError:  # `densegym list | head`: the reader left; no traceback for that
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
