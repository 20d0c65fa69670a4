"""``densegym/LSPCode-v0``: fix a defective Python package with a real language server at hand."""

from __future__ import annotations

import ast
import difflib
from typing import Any

import numpy as np

from densegym import resources
from densegym.envs.base import ActionError, StepOutcome, TextEnv
from densegym.envs.lsp import actions
from densegym.envs.lsp.actions import Command
from densegym.envs.lsp.bundles import content_hash, hover_fact, location_facts, make_bundle
from densegym.envs.lsp.client import ServerFailure
from densegym.envs.lsp.guard import tamper_findings
from densegym.envs.lsp.positions import from_lsp, normalise_newlines, to_lsp
from densegym.envs.lsp.rewards import (
    AmbiguityReward,
    DiagnosticsReward,
    LspView,
    SafetyReward,
    TestsProgress,
    weighted_count,
)
from densegym.envs.lsp.selectors import Resolved, SelectorResolver
from densegym.envs.lsp.session import CONFIG_FILE, ServerSession, checker_config
from densegym.envs.lsp.tasks import DOMAINS, LspTask, catalog, generate, parse_task_id
from densegym.envs.lsp.testrun import TestRun, run_hidden_tests
from densegym.rewards import FormatReward, OutcomeReward, RewardSet
from densegym.sandbox import Limits, LocalExecutor, PathEscape, Workspace

_SHOWN_DIAGNOSTICS = 15
_MAX_VIEW_LINES = 300
_TEST_OUTPUT_CHARS = 4000
# the hidden tests' run on each task as given, by (task digest, tests hash): see _initial_run
_INITIAL_RUNS = resources.cache("lsp.initial_runs", maxsize=4096)


class LSPCodeEnv(TextEnv):
    """Repair a small multi-file Python package with a real language server, rewarded on every turn.

    ## Description

    The workspace is a generated package from one of six domains (inventory, ledger, textkit, geometry,
    planner, gradebook) into which mutation operators injected defects: an undefined name, a wrong
    argument count, a wrong attribute, a type mismatch, a bad import, a symbol renamed but not at its
    call sites, and logic bugs that only the hidden pytest suite reveals. A real language server
    (basedpyright by default, one long-lived process per env over stdio) analyses the workspace after
    every edit; its diagnostics, the sandboxed hidden tests and the safety checks of each edit are the
    reward signals (Lanser-CLI's process reward, docs/algorithms.md section 5).

    ## Actions

    Text; the env reads the last ``<action>...</action>`` block. The first line is a command:
    ``files``, ``view SEL``, ``edit SEL`` (the replacement text follows on the next lines),
    ``diagnostics [FILE]``, ``hover SEL``, ``definition SEL``, ``references SEL``,
    ``rename SEL NEW_NAME`` (through the server's prepareRename, where it has one, and rename),
    ``run_tests``, ``submit``.
    ``SEL`` is a selector (``selectors.py``): a file, a line range ``f.py:3-7``, a cursor ``f.py@L3:C5``,
    a range ``f.py@R(3,1->3,9)``, a symbol ``py://pkg.mod#Class.method[:def|body|sig]`` (or the AST path
    ``ast://[module=pkg.mod]/[class=Class]/[def=method]``) or a content anchor
    ``anchor://f.py#"code"`` relocated by winnowed fuzzy matching. Paths are relative to the workspace;
    absolute paths, ``..``, symlinks, hidden and protected files are refused with a message, and nothing
    changes. Edits stay inside the package directory, and package code may not import what could tamper
    with the hidden test run (pytest, atexit, ctypes ..., ``guard.py``).

    ## Observations

    Text. ``reset`` returns the instructions, the files, the initial diagnostics and how many hidden
    tests pass; each step returns the command's answer (file text with line numbers, the diagnostics
    after an edit, hover text, locations, the test summary).

    ## Rewards

    See ``rewards.py`` for the math. Components (unweighted in ``info["reward_components"]``):

    | component | meaning | range | default weight |
    |---|---|---|---|
    | ``diagnostics`` | ``D_{t-1} - D_t``, severity-weighted diagnostics dropped by this turn (language server) | ``[-50, 50]`` | 0.5 |
    | ``safety`` | ``S_t`` on edit/rename turns (else 0): the edit was jailed and atomic, files parse, no new errors elsewhere, no public symbol removed, prepareRename accepted | ``[0, 1]`` | 0.4 |
    | ``ambiguity`` | ``-(1 - alpha_t)``, the selector's confidence (Eq. 3.1) | ``[-1, 0]`` | 0.1 |
    | ``tests`` | potential-based change in the fraction of hidden tests passing, when tests run | ``[-1, 1]`` | 1.0 |
    | ``outcome`` | 1 when ``submit`` finds every hidden test passing and no checker error | ``{0, 1}`` | 1.0 |
    | ``format`` | 0 valid action, -1 otherwise | ``{-1, 0}`` | 0.1 |

    Every component is paid on the turn it happens (dense): with the default weights (0.5, 0.4, 0.1) the first
    three sum to Eq. 5.1 on every turn. Eq. 5.1 alone pays for deleting the code that carries a diagnostic;
    the protection is G-RA on finished trajectories, not in ``step()``: the ``gated`` trajectory transform
    with ``channels: [outcome, [diagnostics, safety]]``, ``thresholds: [1.0]`` (the bundled config
    ``lsp_gated``) zeroes both components on every turn of an episode that does not solve the task.
    ``info["lsp"]`` holds ``diag_count``, ``diag_delta``, ``safety_ok``, ``alpha_conf``,
    ``bundle_id`` (the content hash of the turn's normalised analysis bundle) and ``removed_symbols``.

    ## Starting state

    A task ``lsp:<domain>:d<difficulty>:<index>`` (``catalog()`` lists 300+), picked by the seed among
    ``difficulty`` / ``domains``, or by ``options={"task": id}``.

    ## Episode end

    Terminated by ``submit``: success when every hidden test passes and the checker reports no error
    (``require_clean=False``: tests only). Truncated after ``max_turns``.

    ## Arguments

    * ``server`` (``"basedpyright"``; ``"pyright"``, ``"pylsp"``: python-lsp-server, which reports almost
      nothing semantic, see ``servers.py``), ``checking_mode`` (``"standard"``; pyright family only),
      ``server_timeout_s`` (30), ``freshness`` (``"pull"``: pull diagnostics after each change;
      ``"push"``: wait for the published diagnostics of the new document version, ~200 ms slower with
      pyright's debounce, same diagnostics): the language server.
    * ``difficulty`` (None: all; an int or a tuple of ints), ``domains`` (None: all).
    * ``tau`` (0.6, the anchor confidence threshold),
      ``require_clean`` (True: success also needs zero checker errors).
    * ``test_timeout_s`` (30); ``use_bubblewrap`` (None or True: the hidden tests run inside bubblewrap,
      which must be installed, else the constructor raises ``IsolationUnavailable`` saying how to install
      it); ``unsafe_local`` (False; True runs the agent's code unisolated, with your privileges, when
      bubblewrap is missing: a warning says so and ``info["lsp"]["isolated"]`` is False); ``executor``
      (a ``LocalExecutor`` whose isolation and limits the hidden tests run under, instead of the two
      above; the workspace is the env's own, a host directory, since the language server reads it).
    * ``max_turns`` (30), ``rewards``, ``render_mode`` (``"ansi"``).

    ## Version history

    * v0: initial release (basedpyright 1.40.2). Since 2026-11-30 ``diagnostics`` and ``safety`` are dense by
      default and ``gate=`` is gone: G-RA is the ``gated`` trajectory transform (config ``lsp_gated``).
    """

    supports_snapshot = True
    has_oracle = True
    default_max_turns = 30

    def __init__(
        self,
        *,
        server: str = "basedpyright",
        checking_mode: str = "standard",
        difficulty: int | tuple[int, ...] | None = None,
        domains: tuple[str, ...] | None = None,
        tau: float = 0.6,
        test_timeout_s: float = 30.0,
        server_timeout_s: float = 30.0,
        freshness: str = "pull",
        require_clean: bool = True,
        use_bubblewrap: bool | None = None,
        unsafe_local: bool = False,
        executor: LocalExecutor | None = None,
        max_turns: int | None = None,
        rewards: dict[str, Any] | None = None,
        render_mode: str | None = None,
    ):
        self.server_name = server
        self.config_text = checker_config(checking_mode)
        self.checking_mode = checking_mode
        levels = (difficulty,) if isinstance(difficulty, int) else tuple(difficulty or (1, 2, 3))
        unknown = [d for d in (domains or ()) if d not in DOMAINS]
        if unknown:
            raise ValueError(f"unknown domains {unknown}; known: {', '.join(DOMAINS)}")
        self.task_ids = [
            t for t in catalog()
            if parse_task_id(t)[1] in levels and (not domains or parse_task_id(t)[0] in domains)
        ]  # fmt: skip
        if not self.task_ids:
            raise ValueError("no task matches the given difficulty and domains")
        self.tau = float(tau)
        self.server_timeout_s = float(server_timeout_s)
        self.freshness = freshness
        self.require_clean = bool(require_clean)
        self.test_limits = Limits(timeout_s=float(test_timeout_s), max_output_bytes=256 * 1024)
        # Checked now, so that a machine without isolation fails at make() and not at the first test run.
        self._isolation = executor or LocalExecutor(use_bubblewrap, unsafe_local=unsafe_local)
        self.executor: LocalExecutor = self._isolation
        super().__init__(max_turns=max_turns, rewards=rewards, render_mode=render_mode)
        self.ws: Workspace | None = None
        self.session: ServerSession | None = None
        self.last_bundle: dict[str, Any] | None = None
        self._diags: list[dict[str, Any]] = []
        self._view = LspView(0.0, 0.0, 0.0, 0, 0, "")
        self._public: frozenset[str] = frozenset()

    # ---- tasks --------------------------------------------------------------------------------

    def default_rewards(self) -> RewardSet:
        return RewardSet(
            {
                "diagnostics": (DiagnosticsReward(), 0.5),
                "safety": (SafetyReward(), 0.4),
                "ambiguity": (AmbiguityReward(), 0.1),
                "tests": (TestsProgress(), 1.0),
                "outcome": (OutcomeReward((0.0, 1.0)), 1.0),
                "format": (FormatReward(0.0, -1.0), 0.1),
            }
        )

    def sample_task(self, rng: np.random.Generator) -> LspTask:
        return generate(self.task_ids[int(rng.integers(len(self.task_ids)))])

    def resolve_task(self, spec: Any) -> LspTask:
        if isinstance(spec, LspTask):
            return spec
        if isinstance(spec, str):
            return generate(spec)
        raise ValueError(f"unknown LSP task {spec!r}: pass an id like 'lsp:inventory:d1:0' or an LspTask")

    def task_id(self, task: LspTask) -> str:
        return task.id

    # ---- lifetime -----------------------------------------------------------------------------

    def _ensure_started(self) -> None:
        if self.ws is None:
            self.ws = Workspace({CONFIG_FILE: self.config_text}, protected=(CONFIG_FILE,), prefix="densegym-lsp-")
            self.executor = self._isolation.with_workspace(self.ws)
            self.resolver = SelectorResolver(self.ws, self.tau)
        if self.session is None:
            self.session = ServerSession(self.ws, self.server_name, timeout_s=self.server_timeout_s, freshness=self.freshness)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None
        if self.ws is not None:
            self.ws.cleanup()
            self.ws = None
        super().close()

    def start(self, task: LspTask) -> str:
        self._ensure_started()
        self.ws.restore({**task.files, CONFIG_FILE: self.config_text})
        self.session.sync()
        self.session.take_restart_notes()
        self._diags = self.session.diagnostics()
        d = weighted_count(self._diags)
        run = self._initial_run()
        self._view = LspView(d, d, run.fraction, 0, 0, self.ws.digest(".py"))
        self._public = self._public_symbols()
        self.last_bundle = None
        files = "\n".join(f"  {f}" for f in self.ws.files(".py"))
        return (
            f"You are fixing the Python package `{task.package}` ({DOMAINS[task.domain].summary}). It has defects: "
            "some the language server reports, some only the hidden tests reveal. Make every hidden test pass "
            "and clear every error the checker reports, then submit. Do not delete code to silence the checker: that does not solve the task. "
            "Suppression comments (# type: ignore, # pyright: ...) are ignored by the checker here.\n"
            f"{actions.HELP}\nAn edit replaces exactly the selected text; to replace a function, select it as a "
            "symbol and give the whole new definition, indented as in the file.\n\n"
            f"Files:\n{files}\n\n{self._diagnostics_text(self._diags)}\n"
            f"Hidden tests passing now: {len(run.passed)} of {run.total}. You have {self.max_turns} turns."
        )

    # ---- state --------------------------------------------------------------------------------

    def state_view(self) -> LspView:
        return self._view

    def anchor(self) -> str:
        return f"{self._view.digest[:20]}:{self._view.phi:.4f}"

    def privileged(self) -> dict[str, Any] | None:
        if self.task is None:
            return None
        return {
            "gold_files": dict(self.task.gold),
            "defects": [d.as_dict() for d in self.task.defects],
            "diag_count": self._view.d,
            "tests_fraction": self._view.phi,
        }

    def save_state(self) -> dict[str, Any]:
        return {"files": self.ws.snapshot(".py"), "view": self._view, "diags": list(self._diags), "public": self._public}

    def load_state(self, state: dict[str, Any]) -> None:
        self.ws.restore(state["files"], ".py")
        self.session.sync()
        self._view, self._diags, self._public = state["view"], list(state["diags"]), state["public"]

    # ---- actions ------------------------------------------------------------------------------

    def action_help(self) -> str:
        return actions.HELP

    def parse_action(self, text: str) -> Command:
        return actions.parse(text, self.action_tag)

    def apply_action(self, cmd: Command) -> StepOutcome:
        handler = getattr(self, f"_do_{cmd.name}")
        try:
            result: StepOutcome = handler(cmd)
        except ServerFailure as exc:  # failed again right after a restart: report it, keep the env usable
            raise ActionError(f"the language server is unavailable ({exc}); try again") from None
        notes = self.session.take_restart_notes()
        if notes:
            result.observation = (
                f"[note] the language server failed ({notes[-1]}) and was restarted; the episode continues.\n"
                + result.observation
            )
            result.info.setdefault("lsp", {})["server_restarted"] = True
        return result

    def _resolve(self, selector: str, **kw: Any) -> Resolved:
        return self.resolver.resolve(selector, **kw)

    def _finish(self, cmd: Command, obs: str, facts: Any, resolved: Resolved | None = None, **lsp: Any) -> StepOutcome:
        request = {"command": cmd.name, "selector": cmd.selector, "newName": cmd.new_name,
                   "bodySha256": content_hash(cmd.body) if cmd.body else ""}  # fmt: skip
        bundle = make_bundle(
            request,
            facts,
            resolution={"resolved": resolved.as_dict()} if resolved else {},
            edits=lsp.pop("edits", None),
            environment={**self.session.environment, "checkingMode": self.checking_mode},
        )
        self.last_bundle = bundle
        info = {
            "lsp": {
                "diag_count": self._view.d,
                "safety_ok": lsp.pop("safety_ok", None),
                "alpha_conf": resolved.alpha if resolved else None,
                "isolated": self.executor.isolated,
                "bundle_id": bundle["bundleId"],
                **lsp,
            }
        }
        return StepOutcome(obs, info=info)

    # read-only commands

    def _do_files(self, cmd: Command) -> StepOutcome:
        files = self.ws.files(".py")
        return self._finish(cmd, "Files:\n" + "\n".join(f"  {f}" for f in files), files)

    def _do_view(self, cmd: Command) -> StepOutcome:
        sel = self._resolve(cmd.selector)
        text = self.ws.read(sel.path)
        first = text.count("\n", 0, sel.start) + 1
        chunk = text[text.rfind("\n", 0, sel.start) + 1 : sel.end] if sel.kind != "cursor" else text.split("\n")[first - 1]
        lines = chunk.split("\n")
        if lines and lines[-1] == "" and len(lines) > 1:
            lines.pop()
        more = ""
        if len(lines) > _MAX_VIEW_LINES:
            lines, more = lines[:_MAX_VIEW_LINES], f"\n[... {len(lines) - _MAX_VIEW_LINES} more lines; view a range]"
        shown = "\n".join(f"{first + i:4d} | {line}" for i, line in enumerate(lines))
        header = f"{sel.path} ({sel.canonical}" + (f", confidence {sel.alpha:.2f}" if sel.alpha < 1 else "") + ")"
        return self._finish(cmd, f"{header}\n{shown}{more}", {"text": chunk}, sel)

    def _do_diagnostics(self, cmd: Command) -> StepOutcome:
        diags = self._diags
        if cmd.selector:
            try:
                rel = self.ws.relpath(cmd.selector)
            except PathEscape as exc:
                raise ActionError(str(exc)) from None
            if not self.ws.exists(rel):
                raise ActionError(f"no file {rel!r}; files: {', '.join(self.ws.files('.py'))}")
            diags = [d for d in diags if d["file"] == rel]
        return self._finish(cmd, self._diagnostics_text(diags, limit=100), diags)

    def _lsp_position(self, sel: Resolved) -> tuple[str, int, int]:
        text = self.ws.read(sel.path)
        line, col = to_lsp(text, sel.point)
        return sel.path, line, col

    def _do_hover(self, cmd: Command) -> StepOutcome:
        sel = self._resolve(cmd.selector)
        rel, line, col = self._lsp_position(sel)
        fact = hover_fact(self.session.call(lambda c: c.hover(rel, line, col)))
        return self._finish(cmd, fact["text"] or "(the server has nothing to say about this position)", fact, sel)

    def _locations(self, cmd: Command, request: str) -> StepOutcome:
        sel = self._resolve(cmd.selector)
        rel, line, col = self._lsp_position(sel)
        found = self.session.call(lambda c: getattr(c, request)(rel, line, col))
        facts = location_facts(found, self.session.client.rel)
        if not facts:
            return self._finish(cmd, f"No {request} found at {sel.canonical}.", facts, sel)
        lines = []
        for f in facts[:100]:
            sl, sc = f["range"][0], f["range"][1]
            source = self._line_of(f["file"], sl)
            lines.append(f"  {f['file']}:{sl + 1}:{sc + 1}  {source}")
        extra = f"\n  [... {len(facts) - 100} more]" if len(facts) > 100 else ""
        return self._finish(cmd, f"{len(facts)} location(s) for {request}:\n" + "\n".join(lines) + extra, facts, sel)

    def _line_of(self, rel: str, line: int) -> str:
        if rel.startswith("<outside>") or not self.ws.exists(rel):
            return ""
        rows = self.ws.read(rel).split("\n")
        return rows[line].strip()[:120] if 0 <= line < len(rows) else ""

    def _do_definition(self, cmd: Command) -> StepOutcome:
        return self._locations(cmd, "definition")

    def _do_references(self, cmd: Command) -> StepOutcome:
        return self._locations(cmd, "references")

    # mutating commands

    def _do_edit(self, cmd: Command) -> StepOutcome:
        sel = self._resolve(cmd.selector, allow_missing_file=True)
        if not sel.path.endswith(".py"):
            raise ActionError(f"only Python files can be edited, not {sel.path!r}")
        old = self.ws.read(sel.path) if sel.kind != "new-file" else ""
        body = normalise_newlines(cmd.body)
        if sel.kind in ("lines", "symbol") and body and not body.endswith("\n") and sel.end > sel.start and old[sel.end - 1 : sel.end] == "\n":
            body += "\n"  # whole lines in, whole lines out
        new = old[: sel.start] + body + old[sel.end :]
        if new == old:
            raise ActionError("the edit changes nothing")
        return self._apply({sel.path: new}, cmd, sel)

    def _do_rename(self, cmd: Command) -> StepOutcome:
        sel = self._resolve(cmd.selector)
        rel, line, col = self._lsp_position(sel)
        text = self.ws.read(rel)
        if self.session.client.supports_prepare_rename:
            prepared = self.session.call(lambda c: c.prepare_rename(rel, line, col))
            if prepared is None:
                raise ActionError(f"E/PREPARE_RENAME: the server refuses to rename at {sel.canonical}: no renamable symbol there")
            name_range = prepared if hasattr(prepared, "start") else getattr(prepared, "range", None)
            old_name = (
                text[from_lsp(text, name_range.start.line, name_range.start.character) : from_lsp(text, name_range.end.line, name_range.end.character)]
                if name_range is not None
                else ""
            )
        else:  # a server without prepareRename (pylsp): its rename answer alone says whether there is a symbol
            old_name = _identifier_at(text, sel.point)
        edit = self.session.call(lambda c: c.rename(rel, line, col, cmd.new_name))
        changes = _workspace_edit_changes(edit)
        if not changes:
            raise ActionError(f"the server found nothing to rename at {sel.canonical}")
        new_texts = {}
        for uri, edits in changes.items():
            target = self.session.client.rel(uri)
            if target is None or not self.ws.exists(target):
                raise ActionError("E/JAIL: the rename would change files outside the workspace (a library symbol?)")
            text = self.ws.read(target)
            spans = sorted(((from_lsp(text, e.range.start.line, e.range.start.character),
                             from_lsp(text, e.range.end.line, e.range.end.character), e.new_text) for e in edits),
                           reverse=True)  # fmt: skip
            for a, b, new_text in spans:
                text = text[:a] + new_text + text[b:]
            new_texts[target] = text
        return self._apply(new_texts, cmd, sel, renamed={old_name: cmd.new_name})

    def _apply(self, new_texts: dict[str, str], cmd: Command, sel: Resolved, renamed: dict[str, str] | None = None) -> StepOutcome:
        """Write ``new_texts`` (all or nothing), re-analyse, and run the safety checks of S_t."""
        for rel, text in new_texts.items():
            if not rel.startswith(self.task.package + "/"):
                raise ActionError(f"only files of the package {self.task.package}/ can be edited, not {rel!r}")
            findings = tamper_findings(text)
            if findings:
                raise ActionError(f"E/FORBIDDEN: {rel} may not use {', '.join(findings)}: such code could tamper "
                                  "with the hidden test run. Fix the bug instead.")  # fmt: skip
        old_texts = {rel: (self.ws.read(rel) if self.ws.exists(rel) else None) for rel in new_texts}
        written = []
        try:
            for rel, text in sorted(new_texts.items()):
                self.ws.write(rel, text)
                written.append(rel)
        except (PathEscape, OSError) as exc:
            self._write_all({rel: old_texts[rel] for rel in written})  # a multi-file edit lands whole or not at all
            raise ActionError(f"E/APPLY: {exc}") from None
        before_diags, before = self._diags, self._view
        try:
            self.session.sync()
            self._diags = self.session.diagnostics()
        except ServerFailure:
            self._write_all(old_texts)  # no analysis, no edit: the turn changes nothing
            raise
        d = weighted_count(self._diags)

        parse_errors = [rel for rel, text in new_texts.items() if not _parses(text)]
        others_before = _errors_by_file(before_diags, exclude=new_texts)
        others_after = _errors_by_file(self._diags, exclude=new_texts)
        new_errors_elsewhere = sorted(f for f, n in others_after.items() if n > others_before.get(f, 0))
        public = self._public_symbols()
        renamed = renamed or {}
        removed = sorted(s for s in self._public - public if _renamed_form(s, renamed) not in public)
        safe = not parse_errors and not new_errors_elsewhere and not removed
        self._public = public
        self._view = LspView(d, before.d0, before.phi, before.edits + 1, before.safe_edits + int(safe), self.ws.digest(".py"))

        lines = []
        for rel in sorted(new_texts):
            diff = _diff_stats(old_texts[rel] or "", new_texts[rel])
            lines.append(f"{'Edited' if cmd.name == 'edit' else 'Renamed in'} {rel} ({diff}).")
        if parse_errors:
            lines.append(f"Warning: {', '.join(parse_errors)} no longer parse(s).")
        if new_errors_elsewhere:
            lines.append(f"Warning: new errors appeared in {', '.join(new_errors_elsewhere)}.")
        if removed:
            lines.append(f"Warning: public symbol(s) removed: {', '.join(removed)}.")
        lines.append(self._diagnostics_text(self._diags))
        diff_text = "".join(
            "".join(difflib.unified_diff((old_texts[r] or "").splitlines(True), new_texts[r].splitlines(True), r, r))
            for r in sorted(new_texts)
        )
        return self._finish(
            cmd, "\n".join(lines), self._diags, sel,
            safety_ok=safe, diag_delta=before.d - d, parse_errors=parse_errors,
            new_errors_elsewhere=new_errors_elsewhere, removed_symbols=removed,
            edits={"diff": diff_text},
        )  # fmt: skip

    def _write_all(self, texts: dict[str, str | None]) -> None:
        """Put files back as they were (``None``: the file did not exist)."""
        for rel, text in texts.items():
            if text is None:
                self.ws.resolve(rel).unlink(missing_ok=True)
            else:
                self.ws.write(rel, text)

    # tests

    def _initial_run(self) -> TestRun:
        """The hidden tests on the task as given; cached per task content, since GRPO-style groups reset
        the same task many times and a test run is most of a reset's cost."""
        key = (self.task.digest, content_hash(self.task.tests))
        run = _INITIAL_RUNS.get(key)
        if run is None:
            run = self._run_tests()
            if not (run.timed_out or run.output_truncated or run.tampered):  # a starved machine must not poison the cache
                _INITIAL_RUNS.put(key, run)
        return run

    def _run_tests(self) -> TestRun:
        return run_hidden_tests(self.executor, self.task.tests, self.test_limits)

    def _tests_text(self, run: TestRun) -> str:
        head = f"Hidden tests: {len(run.passed)} of {run.total} pass."
        if run.tampered:
            head += (" The run was tampered with, so it scores nothing: "
                     + "; ".join(run.reasons) + ". Fix the code; do not fight the test harness.")  # fmt: skip
        if run.timed_out:
            head += f" The run was stopped after {self.test_limits.timeout_s:.0f} s: every test counts as failed."
        if run.output_truncated:
            head += f" The run printed more than {self.test_limits.max_output_bytes:,} bytes and was stopped."
        output = run.text.strip()
        tail = output[-_TEST_OUTPUT_CHARS:]
        cut = "[... earlier output cut ...]\n" if len(output) > len(tail) else ""
        return f"{head}\n{cut}{tail}"

    def _do_run_tests(self, cmd: Command) -> StepOutcome:
        run = self._run_tests()
        self._view = self._view._replace(phi=run.fraction)
        out = self._finish(cmd, self._tests_text(run), {"passed": list(run.passed), "failed": list(run.failed)})
        out.info["lsp"]["tests_passed"] = len(run.passed)
        out.info["tampered"] = run.tampered
        return out

    def _do_submit(self, cmd: Command) -> StepOutcome:
        run = self._run_tests()
        self._view = self._view._replace(phi=run.fraction)
        errors = sum(d["severity"] == "error" for d in self._diags)
        # A defect no hidden test exercises is still a defect: success also needs a checker without errors.
        solved = run.all_passed and (errors == 0 or not self.require_clean)
        verdict = "Solved." if solved else (
            f"Not solved: {errors} checker error(s) remain." if run.all_passed else "Not solved: tests fail."
        )
        out = self._finish(cmd, f"Submitted. {verdict} " + self._tests_text(run),
                           {"passed": list(run.passed), "failed": list(run.failed), "errors": errors})  # fmt: skip
        out.terminated, out.success, out.outcome = True, solved, 1.0 if solved else 0.0
        out.info["lsp"]["tests_passed"] = len(run.passed)
        out.info["tampered"] = run.tampered
        return out

    # ---- helpers ------------------------------------------------------------------------------

    def _public_symbols(self) -> frozenset[str]:
        out = set()
        for rel in self.ws.files(".py"):
            module = rel[:-3].replace("/", ".")
            try:
                tree = ast.parse(self.ws.read(rel))
            except SyntaxError:
                out |= {s for s in self._public if s.startswith(module + ":")}  # unknown: assume unchanged
                continue
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                    out.add(f"{module}:{node.name}")
                    if isinstance(node, ast.ClassDef):
                        out |= {f"{module}:{node.name}.{m.name}" for m in node.body
                                if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and not m.name.startswith("_")}  # fmt: skip
        return frozenset(out)

    def _diagnostics_text(self, diags: list[dict[str, Any]], limit: int = _SHOWN_DIAGNOSTICS) -> str:
        if not diags:
            return "Diagnostics: none."
        counts = {s: sum(d["severity"] == s for d in diags) for s in ("error", "warning", "information")}
        head = "Diagnostics: " + ", ".join(f"{n} {s}(s)" for s, n in counts.items() if n)
        rows = [
            f"  {d['file']}:{d['range'][0] + 1}:{d['range'][1] + 1} {d['severity']} [{d['rule']}] {d['message'].splitlines()[0]}"
            for d in diags[:limit]
        ]
        more = [f"  [... {len(diags) - limit} more]"] if len(diags) > limit else []
        return "\n".join([head, *rows, *more])

    def render_text(self) -> str:
        if self.ws is None:
            return "(not started)"
        return f"Files: {', '.join(self.ws.files('.py'))}\n{self._diagnostics_text(self._diags)}\ntests passing: {self._view.phi:.2f}"

    def random_action(self, rng: np.random.Generator) -> str:
        files = self.ws.files(".py") if self.ws else ["pkg/mod.py"]
        choice = int(rng.integers(4))
        target = files[int(rng.integers(len(files)))]
        return ["<action>files</action>", f"<action>view {target}</action>",
                f"<action>diagnostics {target}</action>", "<action>run_tests</action>"][choice]  # fmt: skip

    def oracle_action(self) -> str:
        """Restore the first file that differs from the gold package; submit when none does."""
        for rel, gold in sorted(self.task.gold.items()):
            if not self.ws.exists(rel) or self.ws.read(rel) != gold:
                return f"<action>edit {rel}\n{gold}</action>"
        return "<action>submit</action>"


def _identifier_at(text: str, offset: int) -> str:
    start = end = offset
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    return text[start:end]


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
        return True
    except (SyntaxError, ValueError):
        return False


def _errors_by_file(diags: list[dict[str, Any]], exclude: dict[str, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in diags:
        if d["severity"] == "error" and d["file"] not in exclude:
            out[d["file"]] = out.get(d["file"], 0) + 1
    return out


def _renamed_form(symbol: str, renamed: dict[str, str]) -> str:
    module, _, qual = symbol.partition(":")
    parts = [renamed.get(p, p) for p in qual.split(".")]
    return f"{module}:{'.'.join(parts)}"


def _diff_stats(old: str, new: str) -> str:
    removed = added = 0
    for line in difflib.ndiff(old.splitlines(), new.splitlines()):
        if line.startswith("- "):
            removed += 1
        elif line.startswith("+ "):
            added += 1
    return f"+{added} -{removed} lines"


def _workspace_edit_changes(edit: Any) -> dict[str, list[Any]]:
    if edit is None:
        return {}
    out: dict[str, list[Any]] = {}
    for uri, edits in (edit.changes or {}).items():
        out.setdefault(uri, []).extend(edits)
    for doc in edit.document_changes or ():
        if hasattr(doc, "edits"):
            out.setdefault(doc.text_document.uri, []).extend(doc.edits)
        else:
            raise ActionError("the rename would create, move or delete files, which the env does not allow")
    return out


