"""``densegym/SWE-v0``: resolve an issue in a real repository; the repository's own tests are the judge."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from densegym import resources
from densegym.envs.base import ActionError, StepOutcome, TextEnv, squash
from densegym.envs.swe import actions
from densegym.envs.swe.actions import Command
from densegym.envs.swe.grading import potentials, resolved, run_hidden_tests
from densegym.envs.swe.patches import make_patch
from densegym.envs.swe.rewards import LEVELS, LevelReward, LocalizationReward, RegressionPenalty, SWEView, TestsProgress
from densegym.envs.swe.runtime import EpisodeExecutor, RuntimeFailure, open_runtime
from densegym.envs.swe.task import (
    SWETask,
    bundled_task,
    bundled_task_ids,
    is_test_path,
    load_swebench_jsonl,
)
from densegym.rewards import FormatReward, OutcomeReward, RewardSet
from densegym.sandbox import Limits, PathEscape
from densegym.sandbox.verdict import NodeVerdict

_MAX_VIEW_LINES = 200
_MAX_FIND_HITS = 60
# the hidden run's result for (task id, content hash of the repository's non-test files): same code, same verdict
_RUNS = resources.cache("swe.test_runs", maxsize=8192)


class SWEEnv(TextEnv):
    """Resolve a GitHub-style issue in a real Python repository; every turn is checked against real test runs.

    ## Description

    The repository is one of six small but real Python projects bundled with densegym (ledger, textkit,
    calendrical, routeplan, stockroom, tablekit: several modules and a real pytest suite each) into which
    procedural AST mutators injected a bug, kept only when running the suite proved it (>= 1 test fails,
    >= 1 passes, all pass without it); or a SWE-bench / SWE-Gym instance in the user's own image. The agent
    reads an issue written as a user would (no file, no line), explores with a shell and an editor, edits,
    and submits. Commands run in a sandbox: a Docker container per episode (network none, memory / CPU /
    process limits, read-only root) or the local bubblewrap executor.

    ## Actions

    ``action_format="tools"`` (default): one ``<action>`` block whose first line is ``bash`` (the command
    follows), ``view PATH [START [END]]``, ``str_replace PATH`` (then a ``<<<<<<< SEARCH`` / ``=======`` /
    ``>>>>>>> REPLACE`` block), ``insert PATH LINE``, ``create PATH``, ``undo_edit PATH``, ``find TEXT`` or
    ``submit``. ``action_format="bash"``: mini-swe-agent's format, one ```` ```bash ```` block per reply, and
    ``echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT`` submits. Paths are relative to the repository root;
    absolute paths, ``..``, symlinks and hidden files are refused with a message and nothing changes.

    ## Observations

    Text. ``reset``: the instructions, the issue, the repository's files and the action format. Each step:
    the command's output (cut at ``max_output_chars``, with its exit status), a file with line numbers, the
    edit's result, or the search hits.

    ## Rewards

    See ``rewards.py``. Components (unweighted in ``info["reward_components"]``):

    | component | meaning | range | default weight |
    |---|---|---|---|
    | ``tests`` | potential-based change in the fraction of FAIL_TO_PASS tests passing (re-run after a change) | ``[-1, 1]`` | 1.0 |
    | ``regression`` | minus the change in the fraction of PASS_TO_PASS tests failing | ``[-1, 1]`` | 0.5 |
    | ``localization`` | the first edit to the repository lands in files the gold patch touches | ``{0, 1}`` | 0.2 |
    | ``format`` | 0 valid action, -1 otherwise | ``{-1, 0}`` | 0.1 |
    | ``outcome`` | every FAIL_TO_PASS and PASS_TO_PASS test passes at ``submit`` | ``{0, 1}`` | 1.0 |
    | ``level`` | G-RA outcome level at the end: 0 no submit, 1 empty patch, 2 tests fail, 3 tests pass | ``[0, 3]`` | 0.0 |

    The hidden run uses the pristine tests and no conftest or pytest configuration of the agent's, and its
    verdict is streamed, signed and checked against canary tests (``densegym.sandbox.verdict``): a run that
    forges results counts every test as failing (``info["swe"]["tampered"]``). ``info["swe"]`` also holds
    ``tests_run``, ``f2p_passing``, ``p2p_failing``, ``first_edit``, ``level``, ``executor`` and
    ``isolated``. ``info["privileged"]`` holds the gold patch and the test ids.

    ## Starting state

    A bundled task (``bundled_task_ids()``: ``<project>-NNNN``, 300+), picked by the seed among ``projects``
    and ``difficulty`` (1-5, from the number of mutations and files), or ``options={"task": id}``.

    ## Episode end

    Terminated by ``submit``: success when every FAIL_TO_PASS and PASS_TO_PASS test passes. Truncated after
    ``max_turns``. An executor that fails (the Docker daemon went away) ends the episode with
    ``info["failed"]`` so that a trainer drops it.

    ## Arguments

    * ``executor``: ``"auto"`` (Docker when a daemon and the sandbox image are there, else local),
      ``"docker"`` or ``"local"`` (bubblewrap, which must be installed unless ``unsafe_local=True``).
    * ``tasks``: ``None`` (the bundled set), a SWE-bench-format JSONL path (Docker only: each instance runs
      in its image, whose repository at ``image_root``, ``"/testbed"``, is copied into the workspace), or a
      list of :class:`SWETask`. ``projects``, ``difficulty``: filters of the bundled set.
    * ``action_format`` (``"tools"`` or ``"bash"``), ``command_timeout_s`` (30), ``test_timeout_s`` (60),
      ``max_output_chars`` (8,000), ``warm_pool`` (2: started containers kept ready per image),
      ``docker_memory`` (``"1g"``), ``docker_cpus`` (1.0), ``unsafe_local`` (False).
    * ``max_turns`` (40), ``rewards``, ``render_mode`` (``"ansi"``).

    ## Version history

    * v0: initial release.
    """

    supports_snapshot = True
    has_oracle = True
    default_max_turns = 40

    def __init__(
        self,
        *,
        executor: str = "auto",
        tasks: str | Sequence[SWETask] | None = None,
        image_root: str = "/testbed",
        projects: Sequence[str] | None = None,
        difficulty: int | Sequence[int] | None = None,
        action_format: str = "tools",
        command_timeout_s: float = 30.0,
        test_timeout_s: float = 60.0,
        max_output_chars: int = 8000,
        warm_pool: int = 2,
        docker_memory: str = "1g",
        docker_cpus: float = 1.0,
        unsafe_local: bool = False,
        max_turns: int | None = None,
        rewards: dict[str, Any] | None = None,
        render_mode: str | None = None,
    ):
        if action_format not in ("tools", "bash"):
            raise ValueError(f"action_format must be 'tools' or 'bash', got {action_format!r}")
        self.action_format = action_format
        self._tasks: dict[str, SWETask] = {}
        if isinstance(tasks, str):
            self._tasks = {t.task_id: t for t in load_swebench_jsonl(tasks, image_root=image_root)}
            self.task_ids = list(self._tasks)
        elif tasks is not None:
            self._tasks = {t.task_id: t for t in tasks}
            self.task_ids = list(self._tasks)
        else:
            levels = (difficulty,) if isinstance(difficulty, int) else difficulty
            self.task_ids = bundled_task_ids(projects, levels)
        if not self.task_ids:
            raise ValueError("no SWE task matches the given tasks, projects and difficulty")
        self.command_limits = Limits(timeout_s=float(command_timeout_s), max_output_bytes=256 * 1024)
        self.test_limits = Limits(timeout_s=float(test_timeout_s), max_output_bytes=1 << 20)
        self.max_output_chars = int(max_output_chars)
        # Checked now, so that a machine without Docker or bubblewrap fails at make(), not at the first reset.
        self.runtime = open_runtime(executor, unsafe_local=unsafe_local, warm_pool=int(warm_pool),
                                    memory=docker_memory, cpus=float(docker_cpus), limits=self.command_limits)  # fmt: skip
        super().__init__(max_turns=max_turns, rewards=rewards, render_mode=render_mode)
        self.executor: EpisodeExecutor | None = None
        self._history: dict[str, list[str]] = {}
        self._view = SWEView(0.0, 0.0, False, "")
        self._first_edit: dict[str, Any] | None = None
        self._files: dict[str, str] = {}
        self._source = ""
        self._written: tuple[str, str] = ("", "")

    # ---- tasks --------------------------------------------------------------------------------

    def default_rewards(self) -> RewardSet:
        return RewardSet(
            {
                "tests": (TestsProgress(), 1.0),
                "regression": (RegressionPenalty(), 0.5),
                "localization": (LocalizationReward(), 0.2),
                "format": (FormatReward(0.0, -1.0), 0.1),
                "outcome": (OutcomeReward((0.0, 1.0)), 1.0),
                "level": (LevelReward(), 0.0),
            }
        )

    def sample_task(self, rng: np.random.Generator) -> SWETask:
        return self.resolve_task(self.task_ids[int(rng.integers(len(self.task_ids)))])

    def resolve_task(self, spec: Any) -> SWETask:
        if isinstance(spec, SWETask):
            return spec
        if spec in self._tasks:
            return self._tasks[spec]
        if self._tasks:
            raise ValueError(f"unknown task {spec!r}; this env's tasks: {', '.join(self.task_ids[:5])} ...")
        return bundled_task(str(spec))

    def task_id(self, task: SWETask) -> str:
        return task.task_id

    def privileged(self) -> dict[str, Any] | None:
        if self.task is None:
            return None
        return {"gold_patch": self.task.gold_patch, "fail_to_pass": list(self.task.fail_to_pass),
                "pass_to_pass": list(self.task.pass_to_pass)}  # fmt: skip

    def action_help(self) -> str:
        return actions.BASH_HELP if self.action_format == "bash" else actions.TOOLS_HELP

    # ---- the episode --------------------------------------------------------------------------

    def start(self, task: SWETask) -> str:
        if self.executor is not None:
            self.executor.close(later=True)  # the last episode's container goes off the reset's path
            self.executor = None
        self.executor = self.runtime.open(task)
        task = self.executor.task  # a SWE-bench task learns its files from its image here
        self.task = task
        self._files = dict(task.files)
        self._history = {}
        self._first_edit = None
        # No run at reset: by the task's definition (validated when it was made) every FAIL_TO_PASS test fails
        # and every PASS_TO_PASS test passes on the repository as given.
        self._view = SWEView(0.0, 0.0, False, _digest(self._files))
        self._source = self._source_digest(self._files)
        tree = "\n".join(sorted(self._files))
        return (
            f"You are working in the repository of the Python project {task.project!r}, at its root. A user "
            f"filed this issue:\n\n<issue>\n{task.issue.strip()}\n</issue>\n\n"
            "Change the repository's code so that the issue is resolved without breaking anything else, then "
            "submit. Run the tests with `python3 -m pytest -q` through bash; hidden tests decide the outcome, "
            "and editing the tests does not change them.\n\n"
            f"Files:\n{tree}\n\n{self.action_help()}"
        )

    def parse_action(self, text: str) -> Command:
        if self.action_format == "bash":
            return actions.parse_bash_only(text)
        return actions.parse(text, self.action_tag)

    def apply_action(self, cmd: Command) -> StepOutcome:
        try:
            return self._apply(cmd)
        except RuntimeFailure as exc:
            # The sandbox itself failed (not the agent): end the episode as failed, so that it is not trained on.
            return StepOutcome(f"The environment failed: {exc}", terminated=True,
                               info={"failed": str(exc), "swe": self._info()})  # fmt: skip

    def _apply(self, cmd: Command) -> StepOutcome:
        assert self.executor is not None
        if cmd.name == "submit":
            return self._submit()
        if cmd.name == "bash":
            result = self.executor.run(["bash", "-c", cmd.body], limits=self.command_limits)
            if self.action_format == "bash" and result.output.lstrip().startswith(actions.SUBMIT_SENTINEL):
                return self._submit()
            obs = self._command_text(result)
        elif cmd.name == "view":
            return StepOutcome(self._view_path(cmd), info={"swe": self._info({"tests_run": False})})
        elif cmd.name == "find":
            return StepOutcome(self._find(cmd.body), info={"swe": self._info({"tests_run": False})})
        else:
            obs = self._edit(cmd)
            path, text = self._written  # the one file the editor changed: no need to re-read the rest
            return StepOutcome(obs, info={"swe": self._after_change({**self._files, path: text})})
        return StepOutcome(obs, info={"swe": self._after_change()})

    # ---- commands -----------------------------------------------------------------------------

    def _command_text(self, result) -> str:
        out = result.output
        if len(out) > self.max_output_chars:
            half = self.max_output_chars // 2
            out = f"{out[:half]}\n[... {len(out) - 2 * half:,} characters cut ...]\n{out[-half:]}"
        if result.timed_out:
            status = f"[timed out after {self.command_limits.timeout_s:g} s; the command and its processes were killed]"
        elif result.output_truncated:
            status = "[output over the limit: the command was stopped]"
        else:
            status = f"[exit code {result.returncode}]"
        return f"{out.rstrip()}\n{status}" if out.strip() else status

    def _read(self, path: str) -> str:
        if path in self._files:  # the repository as last read (after every command and edit)
            return self._files[path]
        try:
            return self.executor.read(path)
        except PathEscape as exc:
            raise ActionError(str(exc)) from None
        except FileNotFoundError:
            raise ActionError(f"no file {squash(path)!r} in the repository; `find` or `bash ls` lists files") from None
        except UnicodeDecodeError:
            raise ActionError(f"{squash(path)!r} is not a text file") from None

    def _view_path(self, cmd: Command) -> str:
        files = sorted(self._files)
        prefix = cmd.path.strip().rstrip("/")
        if prefix in ("", "."):
            return "\n".join(files)
        if prefix not in self._files:
            under = [f for f in files if f.startswith(prefix + "/")]
            if under:
                return "\n".join(under)
        lines = self._read(cmd.path).split("\n")
        start = max(cmd.start or 1, 1)
        end = min(cmd.end or len(lines), len(lines), start + _MAX_VIEW_LINES - 1)
        if start > len(lines):
            raise ActionError(f"{squash(cmd.path)!r} has {len(lines)} lines; START is {start}")
        body = "\n".join(f"{n:>5}  {lines[n - 1]}" for n in range(start, end + 1))
        more = f"\n[lines {end + 1}-{len(lines)} not shown: view {cmd.path} {end + 1}]" if end < len(lines) else ""
        return body + more

    def _find(self, needle: str) -> str:
        hits = []
        for path, text in sorted(self._files.items()):
            if needle in path:
                hits.append(path)
            hits += [f"{path}:{n}: {line.strip()[:160]}" for n, line in enumerate(text.split("\n"), 1) if needle in line]
            if len(hits) > _MAX_FIND_HITS:
                break
        if not hits:
            return f"no file name or line contains {squash(needle)!r}"
        more = "\n[more hits not shown: search for something more specific]" if len(hits) > _MAX_FIND_HITS else ""
        return "\n".join(hits[:_MAX_FIND_HITS]) + more

    def _edit(self, cmd: Command) -> str:
        ex = self.executor
        if cmd.name == "undo_edit":
            stack = self._history.get(cmd.path)
            if not stack:
                raise ActionError(f"no edit of {squash(cmd.path)!r} to undo")
            self._write(cmd.path, stack[-1])
            stack.pop()
            return f"The last edit of {cmd.path} was undone."
        if cmd.name == "create":
            try:
                exists = cmd.path in self._files or ex.exists(cmd.path)
            except PathEscape as exc:
                raise ActionError(str(exc)) from None
            if exists:
                raise ActionError(f"{squash(cmd.path)!r} exists already; change it with str_replace or insert")
            self._write(cmd.path, cmd.body, record=None)
            return f"Created {cmd.path} ({len(cmd.body.splitlines())} lines)."
        text = self._read(cmd.path)
        if cmd.name == "insert":
            lines = text.split("\n")
            if cmd.start > len(lines):
                raise ActionError(f"{squash(cmd.path)!r} has {len(lines)} lines; insert after line 0 to {len(lines)}")
            new_lines = cmd.body[:-1].split("\n") if cmd.body.endswith("\n") else cmd.body.split("\n")
            new = "\n".join(lines[: cmd.start] + new_lines + lines[cmd.start :])
            self._write(cmd.path, new, record=text)
            return f"Inserted {len(new_lines)} line(s) after line {cmd.start} of {cmd.path}:\n{self._context(new, cmd.start + 1)}"
        count = text.count(cmd.old)
        if count == 0:
            raise ActionError(f"the SEARCH text does not occur in {squash(cmd.path)!r}: quote it exactly, whitespace "
                              "included (view the file first)")  # fmt: skip
        if count > 1:
            raise ActionError(f"the SEARCH text occurs {count} times in {squash(cmd.path)!r}: include more lines "
                              "so that it is unique")  # fmt: skip
        new = text.replace(cmd.old, cmd.body, 1)
        self._write(cmd.path, new, record=text)
        line = text[: text.index(cmd.old)].count("\n") + 1
        return f"Edited {cmd.path}:\n{self._context(new, line)}"

    def _write(self, path: str, text: str, record: str | None = None) -> None:
        try:
            self._written = (self.executor.write(path, text), text)
        except PathEscape as exc:
            raise ActionError(str(exc)) from None
        if record is not None:
            self._history.setdefault(path, []).append(record)

    @staticmethod
    def _context(text: str, line: int, around: int = 4) -> str:
        lines = text.split("\n")
        lo, hi = max(line - around, 1), min(line + around, len(lines))
        return "\n".join(f"{n:>5}  {lines[n - 1]}" for n in range(lo, hi + 1))

    # ---- state and tests ----------------------------------------------------------------------

    def _after_change(self, files: dict[str, str] | None = None) -> dict[str, Any]:
        """The repository after a command (re-read) or an edit (``files``); if it changed, run the hidden
        tests again (cached by content)."""
        files = self.executor.snapshot() if files is None else files
        info: dict[str, Any] = {"tests_run": False}
        if files == self._files:
            return self._info(info)
        changed = sorted(p for p in set(files) | set(self._files) if files.get(p) != self._files.get(p))
        originals = [p for p in changed if p in self.task.files]
        if self._first_edit is None and originals:
            gold = set(self.task.gold_files)
            self._first_edit = {"files": originals, "in_gold": all(p in gold for p in originals)}
            info["first_edit"] = self._first_edit
        self._files = files
        source, verdict = self._source_digest(files), None
        if source != self._source:  # only the code under test matters: the tests run from pristine copies
            verdict = self._hidden_run(files)
            self._source = source
        info["tests_run"] = verdict is not None
        phi, psi = potentials(self.task, verdict) if verdict is not None else (self._view.phi, self._view.psi)
        self._view = SWEView(phi, psi, True, _digest(files))
        return self._info(info, verdict)

    def _info(self, info: dict[str, Any] | None = None, verdict: NodeVerdict | None = None) -> dict[str, Any]:
        info = dict(info or {})
        t = self.task
        info["f2p_passing"] = round(self._view.phi * len(t.fail_to_pass))
        info["p2p_failing"] = round(self._view.psi * len(t.pass_to_pass))
        if verdict is not None and verdict.tampered:
            info["tampered"] = list(verdict.reasons)
        info["executor"] = self.runtime.name
        info["isolated"] = bool(self.executor.isolated) if self.executor is not None else False
        return info

    def _source_digest(self, files: Mapping[str, str]) -> str:
        return _digest({p: t for p, t in files.items() if not is_test_path(p)})

    def _hidden_run(self, files: Mapping[str, str]) -> NodeVerdict:
        """The hidden tests on the repository as it is (cached by the content of the code under test)."""
        key = (self.task.task_id, self._source_digest(files))
        cached = _RUNS.get(key)
        if cached is None:
            cached = run_hidden_tests(self.executor, self.task, self.test_limits, files=files,
                                      conftest=self.runtime.trusts_conftest(self.task))  # fmt: skip
            _RUNS.put(key, cached)
        return cached

    def _submit(self) -> StepOutcome:
        files = self.executor.snapshot()
        info = self._after_change() if files != self._files else self._info()
        patch = self.patch()
        verdict = _RUNS.get((self.task.task_id, self._source))
        solved = verdict is not None and resolved(self.task, verdict)
        if not patch:
            level = LEVELS["empty_patch"]
        else:
            level = LEVELS["tests_pass"] if solved else LEVELS["tests_fail"]
        info["level"] = level
        info["patch_lines"] = patch.count("\n")
        note = "all hidden tests pass" if solved else "the hidden tests do not all pass"
        return StepOutcome(f"Submitted a patch of {patch.count(chr(10))} lines: {note}.", terminated=True,
                           success=solved, outcome=float(solved), info={"swe": info})  # fmt: skip

    def patch(self) -> str:
        """The agent's patch so far: the diff of the repository's non-test files from the task's."""
        before = {p: t for p, t in self.task.files.items() if not is_test_path(p)}
        now = {p: t for p, t in self._files.items() if not is_test_path(p)}
        return make_patch(before, now)

    def state_view(self) -> SWEView:
        return self._view

    def anchor(self) -> str:
        return f"{self.task.task_id if self.task else ''}:{self._view.digest}"

    def save_state(self) -> Any:
        return (self.executor.snapshot(), {k: list(v) for k, v in self._history.items()}, self._view,
                self._first_edit, dict(self._files), self._source)  # fmt: skip

    def load_state(self, state: Any) -> None:
        files, history, view, first_edit, known, source = state
        self.executor.restore(files)
        self._history = {k: list(v) for k, v in history.items()}
        self._view, self._first_edit, self._files, self._source = view, first_edit, dict(known), source

    # ---- oracle and rendering -----------------------------------------------------------------

    def oracle_action(self) -> str:
        """Apply the gold patch, one file per turn (each file rewritten whole from its current text), then
        submit."""
        fixed = self.task.fixed_files()
        for path in sorted(set(fixed) | set(self._files)):
            if is_test_path(path) or fixed.get(path) == self._files.get(path):
                continue
            if self.action_format == "bash":
                if path not in fixed:
                    return f"```bash\nrm -f -- '{path}'\n```"
                return f"```bash\ncat > '{path}' <<'DENSEGYM_ORACLE_EOF'\n{fixed[path]}DENSEGYM_ORACLE_EOF\n```" \
                    if fixed[path].endswith("\n") else f"```bash\nprintf '%s' {_shell_quote(fixed[path])} > '{path}'\n```"
            if path not in self._files:
                return f"<action>create {path}\n{fixed[path]}</action>"
            if path not in fixed:
                return f"<action>bash\nrm -f -- '{path}'</action>"
            old = self._files[path]
            return (f"<action>str_replace {path}\n<<<<<<< SEARCH\n{old}{'' if old.endswith(chr(10)) else chr(10)}"
                    f"=======\n{fixed[path]}{'' if fixed[path].endswith(chr(10)) else chr(10)}>>>>>>> REPLACE\n</action>")  # fmt: skip
        if self.action_format == "bash":
            return f"```bash\necho {actions.SUBMIT_SENTINEL}\n```"
        return "<action>submit</action>"

    def random_action(self, rng: np.random.Generator) -> str:
        """A random well-formed action: look at a file, search, list, or submit (a lower baseline)."""
        files = sorted(self._files) or ["README.md"]
        path = files[int(rng.integers(len(files)))]
        choice = int(rng.integers(4))
        if self.action_format == "bash":
            command = (f"cat {path}", "ls -R", f"grep -n def {path}", f"echo {actions.SUBMIT_SENTINEL}")[choice]
            return f"```bash\n{command}\n```"
        return ("<action>view {0}</action>", "<action>find def </action>", "<action>bash\nls</action>",
                "<action>submit</action>")[choice].format(path)  # fmt: skip

    def render_text(self) -> str:
        return f"{self.task.task_id}: tests {self._view.phi:.2f} of FAIL_TO_PASS, {self._view.psi:.2f} PASS_TO_PASS failing\n{self.patch()}"

    def close(self) -> None:
        if self.executor is not None:
            self.executor.close()
            self.executor = None
        super().close()


def _digest(files: Mapping[str, str]) -> str:
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.encode() + b"\0" + files[path].encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()[:16]


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
