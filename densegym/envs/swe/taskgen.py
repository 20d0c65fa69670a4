"""Generate and validate SWE-v0's bundled task set: injected bugs that a project's own tests catch.

For each project (a repository root holding a package and ``tests/``) the clean suite must pass. Candidate
bugs -- one mutation, two in one file, or two or three across two files -- are drawn deterministically from
the seed and kept only when the suite, run on a temporary copy, has at least one failing and one passing test:
those become FAIL_TO_PASS and PASS_TO_PASS. An issue text is written from what the first failing test shows
(the call, its input, what came back, what was expected), as a user would report it: no paths, test names,
line numbers or the mutated code.

    python -m densegym.envs.swe.taskgen --projects densegym/envs/swe/projects \\
        --out densegym/envs/swe/data/tasks.jsonl --per-project 60 --seed 0 --jobs 2
"""

from __future__ import annotations

import argparse
import ast
import builtins
import collections
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from densegym.envs.swe.mutators import Mutation, all_mutations, apply_mutations
from densegym.envs.swe.patches import apply_patch, make_patch

SKIPPED_NAMES = {"__pycache__", "PROJECT_READY"}
PER_TEST_LIMIT_S = 5  # CPU seconds: a single test running longer is a mutation-made infinite loop
_LOOKAHEAD = 4  # candidates in flight or queued while validating

# A pytest plugin (loaded with -p in the child) that writes each test's outcome and, for failures, what the
# issue writer needs: the exception, its message (pytest's assertion explanation included), the line of the
# test file it surfaced at and the parametrize values. A test that uses more than its CPU time (a mutation that
# loops forever) ends the run at once; CPU time, not wall time, so that a busy machine never turns a slow but
# valid candidate into a timeout (and the task file stays the same from run to run).
_PLUGIN = '''
import json, os, resource, signal
import pytest

_outcomes, _details, _errors = {}, {}, []
_LIMIT = float(os.environ["DENSEGYM_SWE_TEST_LIMIT"])
_SUITE_LIMIT = int(os.environ["DENSEGYM_SWE_SUITE_LIMIT"])
resource.setrlimit(resource.RLIMIT_CPU, (_SUITE_LIMIT, _SUITE_LIMIT + 1))
signal.signal(signal.SIGPROF, lambda *_: os._exit(86))


def pytest_collectreport(report):
    if report.failed:
        _errors.append(report.nodeid or "<session>")


def pytest_runtest_setup(item):
    signal.setitimer(signal.ITIMER_PROF, _LIMIT)


def pytest_runtest_teardown(item):
    signal.setitimer(signal.ITIMER_PROF, 0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.excinfo is not None and item.nodeid not in _details:
        line = None
        for entry in reversed(call.excinfo.traceback):
            if str(entry.path) == str(item.path):
                line = entry.lineno + 1
                break
        callspec = getattr(item, "callspec", None)
        _details[item.nodeid] = {
            "when": call.when,
            "type": call.excinfo.type.__name__,
            "message": str(call.excinfo.value)[:2000],
            "line": line,
            "function": getattr(item, "originalname", None) or item.name,
            "cls": item.cls.__name__ if item.cls is not None else None,
            "params": {k: repr(v) for k, v in callspec.params.items()} if callspec is not None else {},
        }


def pytest_runtest_logreport(report):
    if report.failed:
        _outcomes[report.nodeid] = "failed"
    elif _outcomes.get(report.nodeid) != "failed" and (report.when == "call" or report.skipped):
        _outcomes[report.nodeid] = report.outcome


def pytest_sessionfinish(session):
    with open(os.environ["DENSEGYM_SWE_REPORT"], "w") as f:
        json.dump({"outcomes": _outcomes, "details": _details, "collection_errors": _errors}, f)
'''


class TaskGenError(RuntimeError):
    """A project that cannot be used: unreadable, no tests, or a clean suite that does not pass."""


@dataclass
class SuiteResult:
    """One run of a project's suite: each test's outcome, failure details, and what went wrong as a whole."""

    outcomes: dict[str, str] = field(default_factory=dict)
    details: dict[str, dict] = field(default_factory=dict)
    collection_errors: list[str] = field(default_factory=list)
    timed_out: bool = False

    @property
    def failed(self) -> list[str]:
        return sorted(t for t, o in self.outcomes.items() if o == "failed")

    @property
    def passed(self) -> list[str]:
        return sorted(t for t, o in self.outcomes.items() if o == "passed")


def read_project(root: str | Path) -> dict[str, str]:
    """Every text file under ``root`` (relative posix path -> text), without caches and hidden files."""
    root = Path(root)
    files = {}
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if not path.is_file() or any(p in SKIPPED_NAMES or p.startswith(".") or p.endswith(".pyc") for p in parts):
            continue
        files["/".join(parts)] = path.read_text(encoding="utf-8")
    return files


def write_tree(files: dict[str, str], root: Path) -> None:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def run_suite(files: dict[str, str], timeout_s: float = 30) -> SuiteResult:
    """Run the project's suite on a temporary copy of ``files`` in a minimal environment.

    ``timeout_s`` is CPU time (the kernel ends the run past it; each test gets at most PER_TEST_LIMIT_S), with
    four times that in wall time as a last resort for a run that blocks. The child gets its own process group
    so that it is killed with everything it started; a run that leaves no report counts as timed out."""
    with tempfile.TemporaryDirectory(prefix="densegym-swe-") as tmp:
        repo, plugin_dir, report = Path(tmp, "repo"), Path(tmp, "plugin"), Path(tmp, "report.json")
        write_tree(files, repo)
        plugin_dir.mkdir()
        (plugin_dir / "_densegym_swe_report.py").write_text(_PLUGIN)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": tmp,
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "PYTHONPATH": str(plugin_dir),
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "DENSEGYM_SWE_REPORT": str(report),
            "DENSEGYM_SWE_TEST_LIMIT": str(min(PER_TEST_LIMIT_S, timeout_s)),
            "DENSEGYM_SWE_SUITE_LIMIT": str(math.ceil(timeout_s)),
        }
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "_densegym_swe_report",
                   "--rootdir", str(repo), "tests"]
        proc = subprocess.Popen(command, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            proc.wait(timeout=4 * timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return SuiteResult(timed_out=True)
        if not report.exists():
            return SuiteResult(timed_out=True)
        data = json.loads(report.read_text())
        return SuiteResult(data["outcomes"], data["details"], data["collection_errors"])


# --- candidates ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    """A bug: mutations as (file, mutation) pairs, at most one per site, in file then position order."""

    mutations: tuple[tuple[str, Mutation], ...]

    def files(self) -> list[str]:
        return sorted({f for f, _ in self.mutations})

    def apply(self, clean: dict[str, str]) -> dict[str, str]:
        buggy = dict(clean)
        for path in self.files():
            buggy[path] = apply_mutations(clean[path], [m for f, m in self.mutations if f == path])
        return buggy

    def functions(self) -> tuple:
        return tuple(sorted((f, m.function or "") for f, m in self.mutations))

    def difficulty(self, n_failing: int) -> int:
        if len(self.mutations) == 1:
            return 1 if n_failing >= 3 else 2
        if len(self.files()) == 1:
            return 3
        return 4 if len(self.mutations) == 2 else 5


def _single_candidates(sites: dict[str, dict[str, list[Mutation]]], rng: random.Random) -> Iterator[Candidate]:
    """Single mutations, cycling through the mutators and favouring functions drawn least so far (variety)."""
    pools = collections.defaultdict(list)
    for path in sorted(sites):
        for name, mutations in sorted(sites[path].items()):
            pools[name] += [(path, m) for m in mutations]
    used = collections.Counter()
    names = sorted(pools)
    rng.shuffle(names)
    while names:
        for name in list(names):
            pool = pools[name]
            if not pool:
                names.remove(name)
                continue
            least = min(used[(p, m.function)] for p, m in pool)
            options = [i for i, (p, m) in enumerate(pool) if used[(p, m.function)] == least]
            path, mutation = pool.pop(rng.choice(options))
            used[(path, mutation.function)] += 1
            yield Candidate(((path, mutation),))


def _overlaps(chosen: list[tuple[str, Mutation]]) -> bool:
    spans = sorted((f, m.start, m.end) for f, m in chosen)
    return any(a[0] == b[0] and a[2] > b[1] for a, b in zip(spans, spans[1:]))


def _combined_candidates(pool: list[Candidate], same_file: bool, rng: random.Random,
                         attempts: int = 400) -> Iterator[Candidate]:
    """Bugs combining validated single mutations in different functions: two in one file, or two or three
    spread over two files (so each part of the bug breaks some test on its own)."""
    by_file = collections.defaultdict(list)
    for candidate in pool:
        path, mutation = candidate.mutations[0]
        by_file[path].append(mutation)
    files = sorted(f for f in by_file if len(by_file[f]) >= (2 if same_file else 1))
    for _ in range(attempts):
        if same_file:
            if not files:
                return
            path = rng.choice(files)
            chosen = [(path, m) for m in rng.sample(by_file[path], 2)]
        else:
            if len(files) < 2:
                return
            first, second = rng.sample(files, 2)
            chosen = [(first, rng.choice(by_file[first])), (second, rng.choice(by_file[second]))]
            if rng.random() < 0.4 and len(by_file[first]) >= 2:
                chosen.append((first, rng.choice(by_file[first])))
        if len({(f, m.function) for f, m in chosen}) < len(chosen) or _overlaps(chosen):
            continue
        yield Candidate(tuple(sorted(chosen, key=lambda fm: (fm[0], fm[1].start))))


def _evaluate(candidates: Iterable[Candidate], run: Callable[[Candidate], SuiteResult],
              accept: Callable[[Candidate, SuiteResult], None], done: Callable[[], bool], jobs: int) -> None:
    """Run candidates' suites ``jobs`` at a time but hand the results to ``accept`` in candidate order, so the
    kept set does not depend on ``jobs`` or on timing; stop drawing once ``done()``. The look-ahead is fixed
    (not ``jobs``-dependent) since the candidates drawn but not used are gone from ``candidates`` after."""
    iterator = iter(candidates)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        pending = collections.deque()

        def fill():
            while len(pending) < _LOOKAHEAD:
                candidate = next(iterator, None)
                if candidate is None:
                    return
                pending.append((candidate, pool.submit(run, candidate)))

        fill()
        while pending and not done():
            candidate, future = pending.popleft()
            accept(candidate, future.result())
            fill()
        for _, future in pending:
            future.cancel()


# --- issue text ---------------------------------------------------------------------------------------------

_TITLES = {
    "value": ["`{name}` returns the wrong value", "Unexpected result from `{name}`", "Wrong output from {name}()",
              "{name} gives {got_short} instead of {expected_short}"],
    "truth": ["`{name}` gives the wrong answer", "Unexpected result from `{name}`", "{name}() check is wrong"],
    "raises": ["`{name}` raises {exc}", "{exc} from {name}()", "Crash in `{name}`"],
    "no_raise": ["`{name}` accepts input it should reject", "{name}() does not raise {expected_exc}",
                 "No error from `{name}` on bad input"],
    "other": ["Problem with `{name}`", "`{name}` does not behave as documented"],
    "unnamed": ["Unexpected result", "Wrong value returned", "This does not behave as documented"],
}
_BODIES = {
    "value": ["`{expr}` returns `{got}`, but I expected `{expected}`.",
              "When I call `{expr}` I get `{got}`; as I read the documentation it should be `{expected}`.",
              "I expected `{expected}` from `{expr}`, but it returns `{got}`."],
    "value_after": ["After `{context}`, `{expr}` is `{got}`, but I expected `{expected}`.",
                    "I run `{context}` and then `{expr}` is `{got}`; it should be `{expected}`."],
    "value_unknown": ["`{expr}` does not return `{expected}` as I expected.",
                      "`{expr}` should be `{expected}`, but it is not."],
    "truth": ["`{expr}` is `{got}`, but it should be `{expected}`.",
              "I expected `{expr}` to be `{expected}`; I get `{got}`."],
    "raises": ["`{expr}` raises `{exc}: {msg}`. I expected {expectation}.",
               "Calling `{expr}` fails with `{exc}` ({msg}); I expected {expectation}."],
    "raises_nomsg": ["`{expr}` raises `{exc}`. I expected {expectation}.",
                     "Calling `{expr}` fails with `{exc}`; I expected {expectation}."],
    "no_raise": ["`{expr}` should raise `{expected_exc}`, but it returns normally.",
                 "I expected `{expr}` to fail with `{expected_exc}`; it doesn't raise anything."],
    "other": ["The snippet below fails with `{exc}`; it should run without error."],
}
_BUILTINS = set(dir(builtins))
_REPRO = ["To reproduce:", "Minimal reproduction:", "Steps to reproduce:", "Here is a small example:"]
_ALSO = ["I also noticed a second problem:", "Possibly related:", "Another thing that looks wrong:", "Also:"]


def _innermost_statement(function: ast.AST, line: int) -> ast.stmt | None:
    found = [n for n in ast.walk(function) if isinstance(n, ast.stmt) and n is not function
             and n.lineno <= line <= n.end_lineno]
    return min(found, key=lambda n: n.end_lineno - n.lineno, default=None)


def _find_test(tree: ast.Module, name: str, cls: str | None) -> ast.FunctionDef | None:
    scope = tree.body
    if cls is not None:
        scope = next((n.body for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls), [])
    return next((n for n in scope if isinstance(n, ast.FunctionDef) and n.name == name), None)


def _is_fixture(node: ast.FunctionDef) -> bool:
    return any("fixture" in ast.unparse(d) for d in node.decorator_list)


def _segment(source: str, node: ast.AST) -> str:
    return textwrap.dedent(ast.get_source_segment(source, node, padded=True))


def _used_names(text: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name)}


def _callee(node: ast.AST) -> str | None:
    """The name of the outermost call in ``node`` that is not a builtin (``str(f(x))`` -> ``f``)."""
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
        name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)
        if name is not None and not (isinstance(call.func, ast.Name) and name in _BUILTINS):
            return name
    return None


def _short(text: str, limit: int = 160) -> str | None:
    """``text`` if short, on one line, not cut by pytest ('...') and free of memory addresses (they would
    make the file vary between runs)."""
    if text is None or len(text) > limit or "\n" in text or " at 0x" in text or "..." in text:
        return None
    return text


class _Snippet:
    """A reproduction script assembled from a failing test: its imports, the helpers and fixtures it uses,
    its parameters as assignments, and its statements up to the one that fails (the assertion turned into a
    print with the expectation as a comment)."""

    def __init__(self, source: str, tree: ast.Module, test: ast.FunctionDef, detail: dict):
        self.source, self.tree, self.test, self.detail = source, tree, test, detail

    def setup(self) -> list[str] | None:
        """Assignments standing in for the test's arguments; None if one cannot be provided."""
        lines = []
        fixtures = {n.name: n for n in self.tree.body if isinstance(n, ast.FunctionDef) and _is_fixture(n)}
        for arg in self.test.args.args:
            name = arg.arg
            if name == "self":
                continue
            if name in self.detail["params"]:
                value = self.detail["params"][name]
                if _short(value, 300) is None:
                    return None
                try:
                    ast.parse(value, mode="eval")
                except SyntaxError:
                    return None
                lines.append(f"{name} = {value}")
            elif name == "tmp_path":
                lines += ["import pathlib", "import tempfile", "tmp_path = pathlib.Path(tempfile.mkdtemp())"]
            elif name in fixtures and not fixtures[name].args.args and isinstance(fixtures[name].body[-1], ast.Return):
                fixture = fixtures[name]
                lines += [_segment(self.source, s).rstrip() for s in fixture.body[:-1]
                          if not isinstance(s, ast.Expr) or not isinstance(getattr(s, "value", None), ast.Constant)]
                lines.append(f"{name} = {ast.get_source_segment(self.source, fixture.body[-1].value)}")
            else:
                return None
        return lines

    def build(self, last: str, upto: ast.stmt | None) -> str | None:
        """The script: the test's statements before ``upto`` (all of them if None), then ``last``."""
        setup = self.setup()
        if setup is None:
            return None
        body = []
        for stmt in self.test.body:
            if upto is not None and stmt.lineno >= upto.lineno:
                break
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue
            body.append(_segment(self.source, stmt).rstrip())
        main = "\n".join(setup + body + [last])
        try:
            needed = _used_names(main)
        except SyntaxError:
            return None
        added = True
        definitions = [n for n in self.tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Assign))
                       and not (isinstance(n, ast.FunctionDef) and (n.name.startswith("test") or _is_fixture(n)))]
        chosen: set[int] = set()
        while added:
            added = False
            for node in definitions:
                names = {node.name} if not isinstance(node, ast.Assign) else {
                    t.id for t in node.targets if isinstance(t, ast.Name)}
                if id(node) not in chosen and names & needed:
                    chosen.add(id(node))
                    needed |= _used_names(_segment(self.source, node))
                    added = True
        helpers = [_segment(self.source, n).rstrip() for n in definitions if id(n) in chosen]
        imports = []
        for node in self.tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a for a in node.names if (a.asname or a.name).split(".")[0] in needed]
                if names:
                    kept = ast.ImportFrom(node.module, names, node.level) if isinstance(node, ast.ImportFrom) \
                        else ast.Import(names)
                    imports.append(ast.unparse(kept))
        parts = ["\n".join(imports)] if imports else []
        parts += ["\n\n".join(helpers)] if helpers else []
        parts.append(main)
        return "\n\n".join(parts)


def _analyse(statement: ast.stmt, source: str, detail: dict, context: ast.stmt | None) -> tuple[str, dict, str]:
    """(kind, fields for the templates, the snippet's last line) from the failing statement and exception;
    ``context`` is the test's last earlier statement with a call, named when the failing one has none."""
    exc, message = detail["type"], detail["message"]
    first_line = message.split("\n")[0]
    text = _segment(source, statement).strip()
    context_text = _segment(source, context).strip() if context is not None else None
    fields = {"exc": exc, "msg": _short(first_line, 200), "context": _short(context_text, 120),
              "name": _callee(statement) or (_callee(context) if context is not None else None)}
    if isinstance(statement, ast.With) and "pytest.raises" in ast.unparse(statement.items[0].context_expr):
        expected_exc = ast.unparse(statement.items[0].context_expr.args[0]) \
            if statement.items[0].context_expr.args else "an error"
        call = _segment(source, statement.body[0]).strip() if statement.body else text
        fields.update(expr=call.split("\n")[0], expected_exc=expected_exc, name=_callee(statement.body[0]))
        last = f"{call}  # expected: raises {expected_exc}"
        if exc == "Failed" and "DID NOT RAISE" in message:
            return "no_raise", fields, last
        return "raises", dict(fields, expectation=f"`{expected_exc}`"), last
    if isinstance(statement, ast.Assert):
        test = statement.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            left = ast.get_source_segment(source, test.left)
            right = ast.get_source_segment(source, test.comparators[0])
            fields.update(expr=left, expected=right, name=_callee(test.left) or fields["name"])
            if exc != "AssertionError":
                return "raises", dict(fields, expectation=f"`{right}`"), f"print({left})  # expected: {right}"
            if isinstance(test.ops[0], ast.Eq):
                shown = first_line[len("assert "):] if first_line.startswith("assert ") else ""
                got, value = shown.split(" == ") if shown.count(" == ") == 1 else (None, None)
                if isinstance(test.comparators[0], ast.Name):  # a parameter or local: show its value
                    right = detail["params"].get(right) or _short(value) or right
                    fields["expected"] = right
                fields.update(got=_short(got), got_short=_short(got, 40), expected_short=_short(right, 40))
                has_call = _callee(test.left) is not None
                kind = "value" if has_call or not fields["context"] else "value_after"
                return kind, fields, f"print({left})  # expected: {right}"
            op = ast.unparse(test).split(ast.unparse(test.left), 1)[1].split(ast.unparse(test.comparators[0]))[0]
            fields.update(expr=f"{left} {op.strip()} {right}", got="False", expected="True")
            return "truth", fields, f"print({left} {op.strip()} {right})  # expected: True"
        negated = isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)
        inner = ast.get_source_segment(source, test.operand if negated else test)
        fields.update(expr=inner, got=str(negated), expected=str(not negated), name=_callee(test) or fields["name"])
        if exc != "AssertionError":
            return "raises", dict(fields, expectation=f"`{not negated}`"), f"print({inner})  # expected: {not negated}"
        return "truth", fields, f"print({inner})  # expected: {not negated}"
    fields.update(expr=text.split("\n")[0], expectation="it to work")
    if exc == "AssertionError":
        return "other", fields, text
    return "raises", fields, text


def _forbidden(text: str, banned: list[str]) -> bool:
    """Whether an issue text gives away what it must not: paths, test names, line numbers, the changed code."""
    if re.search(r"\.py\b|\btest_\w*|\blines? \d+|mutat|densegym-swe-", text, re.IGNORECASE):
        return True  # (the last: a temporary copy's path, which would also make the file vary between runs)
    return any(b in text for b in banned)


def _report(files: dict[str, str], nodeid: str, detail: dict, rng: random.Random) -> tuple[str, str, str] | None:
    """(title, description, reproduction script) for the failure of ``nodeid``, or None when the test's
    failure cannot be turned into one (no line in the test file, arguments a script cannot provide)."""
    path = nodeid.split("::")[0]
    source = files.get(path)
    if source is None or detail.get("line") is None:
        return None
    tree = ast.parse(source)
    test = _find_test(tree, detail["function"], detail["cls"])
    statement = _innermost_statement(test, detail["line"]) if test is not None else None
    if statement is None:
        return None
    top = next(s for s in test.body if s.lineno <= statement.lineno <= s.end_lineno)
    earlier = [s for s in test.body if s.end_lineno < top.lineno and _callee(s) is not None]
    kind, fields, last = _analyse(statement, source, detail, earlier[-1] if earlier else None)
    if top is not statement:  # the failure is inside a loop or block: show that block whole
        last = _segment(source, top).strip()
    snippet = _Snippet(source, tree, test, detail).build(last, top)
    if snippet is None:
        return None
    if kind in ("value", "value_after") and fields.get("got") is None:
        kind = "value_unknown"
    if kind == "raises" and fields.get("msg") is None:
        kind = "raises_nomsg"
    title_kind = {"value_unknown": "value", "value_after": "value", "raises_nomsg": "raises"}.get(kind, kind)
    if fields["name"] is None:
        title_kind = "unnamed"
    titles = [t for t in _TITLES[title_kind] if "{got_short}" not in t or (fields.get("got_short")
                                                                            and fields.get("expected_short"))]
    return rng.choice(titles).format(**fields), rng.choice(_BODIES[kind]).format(**fields), snippet


def _changed_lines(patch: str) -> list[str]:
    """The code on the lines a patch removes or adds (long enough to be telling), for the issue check."""
    out = []
    for line in patch.split("\n"):
        if line[:1] in "+-" and not line.startswith(("+++", "---")):
            code = line[1:].strip()
            if len(code) >= 10:
                out.append(code)
    return out


def make_issue(files: dict[str, str], result: SuiteResult, bug_patch: str, groups: list[list[str]],
               rng: random.Random) -> str | None:
    """The issue for a bug: one symptom per group of failing tests (one group per mutation of a combined
    bug, so that each part of it is reported), each from the first test of its group that yields a clean
    report; None if the first group yields none."""
    banned = _changed_lines(bug_patch)
    parts: list[tuple[str, str, str]] = []
    used: set[str] = set()
    for group in groups:
        for nodeid in group:
            detail = result.details.get(nodeid)
            if nodeid in used or detail is None:
                continue
            try:
                part = _report(files, nodeid, detail, rng)
            except (SyntaxError, KeyError, IndexError, ValueError, AttributeError):
                part = None
            if part is not None and not _forbidden("\n".join(part), banned) \
                    and all(part[2] != p[2] for p in parts):
                parts.append(part)
                used.add(nodeid)
                break
        if not parts:
            return None
    title, body, snippet = parts[0]
    issue = f"{title}\n\n{body}\n\n{rng.choice(_REPRO)}\n\n```python\n{snippet}\n```\n"
    for _, body, snippet in parts[1:]:
        issue += f"\n{rng.choice(_ALSO)} {body}\n\n```python\n{snippet}\n```\n"
    return issue


# --- generation ---------------------------------------------------------------------------------------------

@dataclass
class ProjectStats:
    candidates: int = 0
    valid: int = 0
    kept: int = 0
    rejected: collections.Counter = field(default_factory=collections.Counter)


class ProjectGenerator:
    """The tasks of one project: the clean suite checked, candidates drawn, validated and deduplicated."""

    def __init__(self, root: Path, seed: int, timeout_s: float, jobs: int, progress: Callable[[int], None]):
        self.root, self.name = root, root.name
        self.timeout_s, self.jobs, self.progress = timeout_s, jobs, progress
        self.rng = random.Random(f"{seed}:{self.name}")
        self.clean = read_project(root)
        self.modules = sorted(p for p in self.clean if p.startswith(f"{self.name}/") and p.endswith(".py"))
        self.sites = {p: all_mutations(self.clean[p]) for p in self.modules}
        self.sites = {p: s for p, s in self.sites.items() if s}
        self.tasks: list[dict] = []
        self.pool: list[Candidate] = []  # valid single mutations, for the combined bugs
        self.single_failures: dict[tuple[str, Mutation], list[str]] = {}  # what each of them breaks alone
        self.seen_patches: set[str] = set()
        self.seen_failures: set[tuple] = set()
        self.stats = ProjectStats()

    def check_clean(self) -> None:
        result = run_suite(self.clean, self.timeout_s)
        if result.timed_out or result.collection_errors or result.failed or not result.passed:
            problems = result.failed + result.collection_errors + (["(timed out)"] if result.timed_out else [])
            raise TaskGenError(f"project {self.name}: the clean suite must pass; failing: {problems or '(no tests)'}")
        self.clean_tests = set(result.outcomes)

    def _run(self, candidate: Candidate) -> SuiteResult:
        return run_suite(candidate.apply(self.clean), self.timeout_s)

    def _accept(self, candidate: Candidate, result: SuiteResult, target: int) -> None:
        stats = self.stats
        stats.candidates += 1
        if result.timed_out:
            stats.rejected["timeout"] += 1
            return
        if result.collection_errors:
            stats.rejected["collection error"] += 1
            return
        failed, passed = result.failed, result.passed
        if not failed:
            stats.rejected["no test fails"] += 1
            return
        if not passed:
            stats.rejected["no test passes"] += 1
            return
        stats.valid += 1
        buggy = candidate.apply(self.clean)
        patch = make_patch(self.clean, buggy)
        if patch in self.seen_patches:
            stats.rejected["duplicate patch"] += 1
            return
        self.seen_patches.add(patch)
        if len(candidate.mutations) == 1:
            self.pool.append(candidate)
            self.single_failures[candidate.mutations[0]] = failed
        failure_key = (candidate.functions(), tuple(failed))
        if failure_key in self.seen_failures:
            stats.rejected["duplicate failures"] += 1
            return
        if len(self.tasks) >= target:
            return
        groups = [[t for t in self.single_failures.get(part, failed) if t in failed] for part in candidate.mutations]
        issue = make_issue(buggy, result, patch, groups, random.Random(patch))
        if issue is None:
            stats.rejected["no issue text"] += 1
            return
        self.seen_failures.add(failure_key)
        self.tasks.append({
            "project": self.name,
            "bug_patch": patch,
            "fail_to_pass": failed,
            "pass_to_pass": passed,
            "issue": issue,
            "difficulty": candidate.difficulty(len(failed)),
            "mutations": [{"file": f, "mutator": m.mutator, "function": m.function, "line": m.line}
                          for f, m in candidate.mutations],
        })
        stats.kept += 1
        self.progress(1)

    def _phase(self, candidates: Iterable[Candidate], target: int) -> None:
        if len(self.tasks) < target:
            _evaluate(candidates, self._run, lambda c, r: self._accept(c, r, target),
                      lambda: len(self.tasks) >= target, self.jobs)

    def generate(self, count: int) -> None:
        """Up to ``count`` tasks: about 60% single mutations, 20% two in one file, 20% across two files."""
        self.check_clean()
        self.singles = _single_candidates(self.sites, self.rng)
        n_single = round(count * 0.6)
        self._phase(_limited(self.singles, 4 * n_single), n_single)
        self._phase(_combined_candidates(list(self.pool), True, self.rng), n_single + round(count * 0.2))
        self._phase(_combined_candidates(list(self.pool), False, self.rng), count)
        self.extend(count)  # fill any shortfall with single mutations

    def extend(self, count: int) -> None:
        """More single-mutation tasks, up to ``count`` in all (to make up for another project's shortfall)."""
        self._phase(_limited(self.singles, 3 * (count - len(self.tasks))), count)

    def numbered(self) -> list[dict]:
        return [_ordered(dict(task, task_id=f"{self.name}-{number:04d}")) for number, task in enumerate(self.tasks, 1)]


def _limited(iterator: Iterator[Candidate], n: int) -> Iterator[Candidate]:
    for _, candidate in zip(range(n), iterator):
        yield candidate


_KEYS = ("task_id", "project", "bug_patch", "fail_to_pass", "pass_to_pass", "issue", "difficulty", "mutations")


def _ordered(task: dict) -> dict:
    return {key: task[key] for key in _KEYS}


def find_projects(root: Path) -> list[Path]:
    """The project roots under ``root``: directories holding a package of their name and a tests/ folder."""
    return sorted(p for p in root.iterdir() if (p / p.name / "__init__.py").is_file() and (p / "tests").is_dir())


def validate_task(project_files: dict[str, str], task: dict, timeout_s: float = 30) -> tuple[bool, bool]:
    """Re-check a task: (FAIL_TO_PASS tests fail with the bug and pass with the gold patch,
    PASS_TO_PASS tests pass both with the bug and with the gold patch)."""
    buggy = apply_patch(project_files, task["bug_patch"])
    fixed = apply_patch(buggy, make_patch(buggy, project_files))
    with_bug, with_gold = run_suite(buggy, timeout_s), run_suite(fixed, timeout_s)
    f2p_ok = all(with_bug.outcomes.get(t) == "failed" and with_gold.outcomes.get(t) == "passed"
                 for t in task["fail_to_pass"])
    p2p_ok = all(with_bug.outcomes.get(t) == "passed" and with_gold.outcomes.get(t) == "passed"
                 for t in task["pass_to_pass"])
    return f2p_ok, p2p_ok


def summarize(tasks: list[dict], stats: dict[str, ProjectStats], seconds: float) -> str:
    per_project = collections.Counter(t["project"] for t in tasks)
    per_difficulty = collections.Counter(t["difficulty"] for t in tasks)
    per_mutator = collections.Counter(m["mutator"] for t in tasks for m in t["mutations"])
    candidates = sum(s.candidates for s in stats.values())
    rejected = sum((s.rejected for s in stats.values()), collections.Counter())
    lines = [f"{len(tasks)} tasks in {seconds:.0f} s; {candidates} candidates run, "
             f"{sum(s.valid for s in stats.values())} valid, kept {len(tasks) / max(candidates, 1):.0%}",
             "per project: " + ", ".join(f"{p} {n}" for p, n in sorted(per_project.items())),
             "per difficulty: " + ", ".join(f"{d}: {n}" for d, n in sorted(per_difficulty.items())),
             "per mutator: " + ", ".join(f"{m} {n}" for m, n in per_mutator.most_common()),
             "rejected: " + ", ".join(f"{r} {n}" for r, n in rejected.most_common())]
    return "\n".join(lines)


def generate(projects: list[Path], per_project: int, seed: int, jobs: int = 2, timeout_s: float = 30,
             progress: Callable[[int], None] = lambda n: None) -> tuple[list[dict], dict[str, ProjectStats]]:
    """The task set for ``projects`` (sorted by task_id) and each project's statistics. A project that yields
    fewer than ``per_project`` tasks is made up for by the others, in order, so the total stays the same."""
    generators = []
    for root in projects:
        generator = ProjectGenerator(root, seed, timeout_s, jobs, progress)
        generator.generate(per_project)
        generators.append(generator)
    shortfall = sum(max(0, per_project - len(g.tasks)) for g in generators)
    for generator in generators:
        if shortfall > 0 and len(generator.tasks) >= per_project:
            before = len(generator.tasks)
            generator.extend(before + shortfall)
            shortfall -= len(generator.tasks) - before
    tasks = [task for generator in generators for task in generator.numbered()]
    return sorted(tasks, key=lambda t: t["task_id"]), {g.name: g.stats for g in generators}


def write_jsonl(tasks: list[dict], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tasks), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m densegym.envs.swe.taskgen", description=__doc__.split("\n")[0])
    parser.add_argument("--projects", type=Path, required=True, help="folder holding the project roots")
    parser.add_argument("--out", type=Path, required=True, help="the JSONL file to write")
    parser.add_argument("--per-project", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="suites run at once")
    parser.add_argument("--timeout", type=float, default=30, help="CPU seconds one suite run may take")
    parser.add_argument("--only", nargs="*", help="project names (default: every project found)")
    args = parser.parse_args(argv)
    from tqdm import tqdm

    projects = [p for p in find_projects(args.projects) if not args.only or p.name in args.only]
    if not projects:
        parser.error(f"no projects under {args.projects}")
    start = time.monotonic()
    with tqdm(total=args.per_project * len(projects), unit="task", desc="swe tasks") as bar:
        try:
            tasks, stats = generate(projects, args.per_project, args.seed, args.jobs, args.timeout, bar.update)
        except TaskGenError as exc:
            bar.close()
            print(f"error: {exc}", file=sys.stderr)
            return 1
    write_jsonl(tasks, args.out)
    print(summarize(tasks, stats, time.monotonic() - start))
    for name, project_stats in stats.items():
        if project_stats.kept < args.per_project:
            print(f"note: {name} yielded {project_stats.kept} tasks (< {args.per_project}); the others made up for it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
