"""A pytest verdict the code under test cannot forge: streamed, signed, cross-checked, with canaries.

Hidden tests import the agent's code into pytest's own process, so that code can do anything pytest can:
rewrite a report file at exit, patch pytest's hooks, exit early, print a fake summary, return objects that
equal everything. No single check stops all of it, so the verdict rests on three channels that must agree:

1. **The stream.** ``pytest_channel.py``, a plugin imported before any code under test, writes each test's
   result the moment pytest reports it, to a pipe only the parent reads, as records signed with a per-run
   key (HMAC-SHA256) and numbered. A report file, stdout and anything written after the session's last
   record count for nothing.
2. **The exit status.** pytest's exit code must be the one the stream's ``finish`` record announced, and
   a process that exits without finishing its session (``os._exit``, ``sys.exit`` at exit time) is caught.
3. **Canaries.** The suite is rewritten before the run: every test gets an opaque random name, and a few
   *canaries* join them: copies of real tests with one expected value changed, so that they fail for any
   honest code (the real test passes on the gold code, so its changed twin cannot). Their names, bodies and
   places look like the real tests', so a forger that flips failing tests to passing cannot tell which ones
   it must leave alone. A canary reported passing, or pytest reporting success at all, means tampering.

A run whose channels disagree scores nothing and says ``tampered`` with the reasons. What the agent is
shown is rebuilt from the stream: real tests only, under their real names and line numbers, so it never
learns which tests are canaries. The guard of the code families (which imports they refuse) is a first
bar; these checks hold when it is passed.

Limit, stated plainly: code that reads the test module in its own process and already knows the right
answers could tell a canary from its twin; code that knows the right answers can also just be right.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import json
import random
import re
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from densegym.sandbox.executor import ExecResult, Limits
from densegym.sandbox.protocol import Executor

PLUGIN_MODULE = "_densegym_channel"
PLUGIN_SOURCE = Path(__file__).with_name("pytest_channel.py")
KEY_VAR = "DENSEGYM_CHANNEL_KEY"
DEFAULT_CANARIES = 3


@dataclass(frozen=True)
class Suite:
    """A test module as it runs: opaque test names, canaries among the real tests."""

    source: str
    names: dict[str, str]  # run name -> real name, real tests only, in file order
    canaries: frozenset[str]  # run names of the tests that must fail
    line_map: dict[int, int] = field(repr=False)  # run line -> original line (real lines only)

    @property
    def real_names(self) -> list[str]:
        return list(self.names.values())


@dataclass(frozen=True)
class Verdict:
    passed: tuple[str, ...]  # real names
    failed: tuple[str, ...]
    total: int
    text: str  # what the agent may see: real tests only, real names
    tampered: bool
    reasons: tuple[str, ...]
    timed_out: bool
    output_truncated: bool
    crashed: bool  # killed by a signal (the memory or CPU limit) before finishing

    @property
    def fraction(self) -> float:
        return len(self.passed) / self.total if self.total else 0.0

    @property
    def all_passed(self) -> bool:
        return self.total > 0 and len(self.passed) == self.total


# ---- the suite ---------------------------------------------------------------------------------


def _opaque_name(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = "test_" + "".join(rng.choice(string.ascii_lowercase) for _ in range(10))
        if name not in taken:
            taken.add(name)
            return name


def _changed_constant(node: ast.Constant, rng: random.Random) -> str | None:
    """A literal that an honest result cannot equal when the original one does (far from it, odd-looking
    to no one)."""
    value = node.value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return repr(value + rng.choice((-1, 1)) * rng.randint(1_000, 99_999))
    if isinstance(value, float):
        return repr(round(value + rng.choice((-1, 1)) * (abs(value) + 1.0) * rng.uniform(3.0, 40.0), 2))
    if isinstance(value, str):
        return repr(value + "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 5))))
    return None


def _expected_literals(test: ast.expr) -> list[ast.Constant]:
    """The literals in ``assert X == <expected>``, where the expected value is a literal, ``pytest.approx``
    of one, or a list, tuple or set of them."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return []
    right = test.comparators[0]
    if isinstance(right, ast.Call) and isinstance(right.func, ast.Attribute) and right.func.attr == "approx" and right.args:
        right = right.args[0]
    if isinstance(right, (ast.List, ast.Tuple, ast.Set)):
        return [e for e in right.elts if isinstance(e, ast.Constant)]
    return [right] if isinstance(right, ast.Constant) else []


def _splice(lines: list[bytes], node: ast.AST, first: int, text: str) -> list[bytes]:
    """``lines`` (the function's, from line ``first``) with ``node``'s source replaced by ``text``."""
    if node.lineno != node.end_lineno:
        return []
    i = node.lineno - first
    out = list(lines)
    out[i] = out[i][: node.col_offset] + text.encode() + out[i][node.end_col_offset :]
    return out


def _rename(lines: list[bytes], fn: ast.FunctionDef, first: int, name: str) -> list[bytes]:
    i = fn.lineno - first
    out = list(lines)
    out[i] = re.sub(rb"\bdef\s+" + fn.name.encode() + rb"\b", b"def " + name.encode(), out[i], count=1)
    return out


def prepare_suite(source: str, canaries: int = DEFAULT_CANARIES, rng: random.Random | None = None) -> Suite:
    """Rename every top-level test to an opaque name and add up to ``canaries`` known-failing twins.

    A canary copies a test that asserts ``X == <int, float or str literal>`` (or ``pytest.approx`` of one)
    with that literal moved far away: wherever the original passes, the canary fails.
    """
    rng = rng or random.Random(secrets.randbits(64))
    tree = ast.parse(source)
    lines = source.encode().split(b"\n")
    tests = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test")]
    taken = {n.name for n in tests}
    spans = {}  # test -> (first line, lines)
    for fn in tests:
        first = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
        spans[fn.name] = (first, lines[first - 1 : fn.end_lineno])

    eligible = []
    for fn in tests:
        literals = [c for a in ast.walk(fn) if isinstance(a, ast.Assert) for c in _expected_literals(a.test)]
        literals = [c for c in literals if _changed_constant(c, random.Random(0)) is not None and c.lineno == c.end_lineno]
        if literals:
            eligible.append((fn, literals))
    chosen = rng.sample(eligible, min(canaries, len(eligible)))

    names: dict[str, str] = {}
    run_name = {fn.name: _opaque_name(rng, taken) for fn in tests}
    canary_blocks: dict[str, list[tuple[str, list[bytes]]]] = {}  # inserted before this real test
    canary_names = set()
    for fn, literals in chosen:
        first, body = spans[fn.name]
        literal = rng.choice(literals)
        body = _splice(body, literal, first, _changed_constant(literal, rng) or "")
        name = _opaque_name(rng, taken)
        canary_names.add(name)
        where = rng.choice(tests).name
        canary_blocks.setdefault(where, []).append((name, _rename(body, fn, first, name)))

    out: list[bytes] = []
    line_map: dict[int, int] = {}
    starts = {spans[fn.name][0]: fn for fn in tests}
    i = 1
    while i <= len(lines):
        fn = starts.get(i)
        if fn is not None:
            for _, block in canary_blocks.get(fn.name, ()):
                out += [*block, b"", b""]
            first, body = spans[fn.name]
            renamed = _rename(body, fn, first, run_name[fn.name])
            for k, line in enumerate(renamed):
                out.append(line)
                line_map[len(out)] = first + k
            names[run_name[fn.name]] = fn.name
            i = first + len(body)
            continue
        out.append(lines[i - 1])
        line_map[len(out)] = i
        i += 1
    return Suite(b"\n".join(out).decode(), names, frozenset(canary_names), line_map)


# ---- the run -----------------------------------------------------------------------------------


def run_suite(
    executor: Executor,
    suite: Suite,
    limits: Limits,
    test_file: str = "test_hidden.py",
    extra_args: tuple[str, ...] = (),
) -> Verdict:
    """Run ``suite`` with pytest in the executor's workspace (which holds the code under test, and which
    this writes the test module and the plugin into: give it a fork) and read its verdict."""
    plugin_file = f"{PLUGIN_MODULE}.py"
    executor.write(test_file, suite.source)
    executor.write(plugin_file, PLUGIN_SOURCE.read_text())
    key = secrets.token_hex(32)
    argv = [executor.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", PLUGIN_MODULE, "--tb=short",
            "--no-header", "--noconftest", *extra_args, test_file]  # fmt: skip
    # Third-party pytest plugins of the host (hypothesis, anyio ...) only slow the run down.
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", KEY_VAR: key}
    result = executor.run(argv, ".", env=env, limits=limits, channel=True, read_only=[test_file, plugin_file])
    return read_verdict(result, key.encode(), suite, test_file)


def _records(channel: bytes, key: bytes, finished_cleanly: bool) -> tuple[list[dict], list[str]]:
    records, problems = [], []
    lines = channel.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines and not finished_cleanly:
        lines.pop()  # a record cut by the kill
    for n, raw in enumerate(lines):
        try:
            record = json.loads(raw)
            mac = record.pop("mac")
        except (ValueError, KeyError, AttributeError, TypeError):
            problems.append(f"record {n} is not a record of the channel")
            continue
        body = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
        if not hmac.compare_digest(str(mac), hmac.new(key, body, hashlib.sha256).hexdigest()):
            problems.append(f"record {n} has a bad signature")
            continue
        if record.get("seq") != len(records):
            problems.append(f"record {n} is out of sequence")
            continue
        records.append(record)
    return records, problems


def read_verdict(result: ExecResult, key: bytes, suite: Suite, test_file: str = "test_hidden.py") -> Verdict:
    """Cross-check the stream, the exit status and the canaries; see the module docstring."""
    cut = result.timed_out or result.output_truncated
    # Killed by a signal: negative here, 128 + N through bubblewrap. Nothing passes then, so a forger gains
    # nothing by faking one.
    signalled = not cut and result.returncode is not None and not 0 <= result.returncode < 128
    records, reasons = _records(result.channel, key, finished_cleanly=not (cut or signalled))
    everyone = set(suite.names) | suite.canaries  # test functions; a parametrized one reports several items
    calls: dict[str, list[str]] = {}  # item -> outcomes of its call phase
    failed_phase: set[str] = set()  # functions with an item that failed in any phase
    texts: dict[str, str] = {}  # function -> its first failure's text
    collected: list[str] | None = None
    collect_errors: list[str] = []
    finish: dict | None = None
    crashed = signalled and not any(r.get("ev") == "finish" for r in records)
    for record in records:
        ev = record.get("ev")
        if finish is not None:
            reasons.append(f"a {ev!r} record came after the session finished")
            continue
        if ev == "collected":
            collected = [str(t) for t in record.get("tests") or []]
        elif ev == "collect_error":
            collect_errors.append(str(record.get("text", "")))
        elif ev == "report":
            item = str(record.get("test"))
            test = _function(item)
            if test not in everyone:
                reasons.append(f"a report for a test the suite does not have ({test})")
                continue
            if record.get("when") == "call":
                calls.setdefault(item, []).append(str(record.get("outcome")))
            if record.get("outcome") == "failed":
                failed_phase.add(test)
                texts.setdefault(test, str(record.get("text", "")))
        elif ev == "finish":
            finish = record
        elif ev != "start":
            reasons.append(f"an unknown record {ev!r}")

    called = {_function(i) for i in calls}
    failing_items = {_function(i) for i, outcomes in calls.items() if outcomes != ["passed"]}
    passing = called - failing_items - failed_phase
    reasons += [f"a test reported {len(o)} times" for o in calls.values() if len(o) > 1]
    if not (cut or crashed):
        if finish is None:
            reasons.append(f"pytest exited (code {result.returncode}) without finishing its session")
        else:
            status = finish.get("exitstatus")
            if status != result.returncode:
                reasons.append(f"pytest announced exit status {status} but the process exited with {result.returncode}")
            if not collect_errors:
                if collected is None or {_function(i) for i in collected} != everyone:
                    reasons.append("the run collected other tests than the suite's")
                elif set(calls) != set(collected):
                    reasons.append(f"{len(set(collected) - set(calls))} collected test(s) never reported")
            if result.returncode == 0 and suite.canaries:
                reasons.append("pytest reported success, which the suite's known-failing tests rule out")
    if passing & suite.canaries:
        reasons.append(f"{len(passing & suite.canaries)} test(s) known to fail were reported passing")

    tampered = bool(reasons)
    real = suite.real_names
    passed = () if (tampered or cut or crashed) else tuple(suite.names[t] for t in suite.names if t in passing)
    text = _agent_text(suite, called, passing, texts, collect_errors, result, test_file)
    return Verdict(
        passed=tuple(sorted(passed)),
        failed=tuple(sorted(set(real) - set(passed))),
        total=len(real),
        text=text,
        tampered=tampered,
        reasons=tuple(dict.fromkeys(reasons)),
        timed_out=result.timed_out,
        output_truncated=result.output_truncated,
        crashed=crashed,
    )


def _real_text(text: str, suite: Suite, test_file: str) -> str:
    """``text`` with run names and run line numbers turned back into the real ones."""
    if suite.names:
        text = re.sub("|".join(map(re.escape, suite.names)), lambda m: suite.names[m.group(0)], text)
    pattern = re.escape(test_file) + r":(\d+)"
    return re.sub(pattern, lambda m: f"{test_file}:{suite.line_map.get(int(m.group(1)), '?')}", text)


def _function(item: str) -> str:
    """The test function of a pytest item name (``test_x[case-1]`` -> ``test_x``)."""
    return item.split("[", 1)[0]


def _agent_text(suite: Suite, calls, passing, texts, collect_errors, result: ExecResult, test_file: str) -> str:
    parts = []
    progress = "".join(("." if t in passing else "F") for t in suite.names if t in calls)
    if progress:
        parts.append(progress)
    for t, real in suite.names.items():
        if t in texts:
            parts.append(f"{'_' * 20} {real} {'_' * 20}\n{_real_text(texts[t], suite, test_file)}")
    for err in collect_errors:
        parts.append(f"{'_' * 20} ERROR collecting {test_file} {'_' * 20}\n{_real_text(err, suite, test_file)}")
    if not calls and not collect_errors:  # it never got to a test: what it printed is all there is
        tail = result.output[-3000:]
        if not any(c in tail for c in suite.canaries):
            parts.append(_real_text(tail, suite, test_file).strip())
    parts += [f"FAILED {test_file}::{real}" for t, real in suite.names.items() if t in calls and t not in passing]
    n_pass = sum(t in passing for t in suite.names)
    n_fail = len(suite.names) - n_pass
    parts.append(f"{n_fail} failed, {n_pass} passed" if n_fail else f"{n_pass} passed")
    return "\n".join(p for p in parts if p)


# ---- a whole suite of test files (a repository's tests) ------------------------------------------------------


@dataclass(frozen=True)
class NodeVerdict:
    """The verdict of a run over several test files, per pytest node id (``tests/test_x.py::test_y[1]``), under
    the real names. The same three channels as :class:`Verdict` must agree, or nothing passes."""

    passed: frozenset[str]
    reported: frozenset[str]  # every real node that reported a call (passed or not)
    tampered: bool
    reasons: tuple[str, ...]
    timed_out: bool
    output_truncated: bool
    crashed: bool
    output: str = field(default="", repr=False)  # pytest's own output, for the logs (it may name canaries)

    def passing(self, nodes: Sequence[str]) -> int:
        return sum(n in self.passed for n in nodes)


def run_test_files(
    executor: Executor,
    tests: Mapping[str, str],
    limits: Limits,
    *,
    canaries_per_file: int = 2,
    rng: random.Random | None = None,
    conftest: bool = False,
    base: Mapping[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
) -> NodeVerdict:
    """Run the test modules ``tests`` (workspace path -> source) with pytest in the executor's workspace (give
    it a fork: this writes the modules, with opaque names and canaries, over what is there) and read the
    verdict per node id. The workspace's pytest configuration is replaced by an empty one and its conftest
    files are not loaded (``conftest=True`` loads them: only when the caller put pristine ones there), so
    only the code under test can act, and the checks catch what it forges. With ``base`` the workspace is
    first made exactly ``base`` plus the run's files, in one ``restore`` (one round trip in a container)."""
    rng = rng or random.Random(secrets.randbits(64))
    suites = {path: prepare_suite(source, canaries_per_file, rng) for path, source in sorted(tests.items())}
    plugin_file, ini_file = f"{PLUGIN_MODULE}.py", "pytest.ini"
    run_files = {**{p: s.source for p, s in suites.items()}, plugin_file: PLUGIN_SOURCE.read_text(), ini_file: "[pytest]\n"}
    if base is not None:
        executor.restore({**base, **run_files})
    else:
        for path, text in run_files.items():
            executor.write(path, text)
    key = secrets.token_hex(32)
    argv = [executor.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", PLUGIN_MODULE, "--tb=short",
            "--no-header", *([] if conftest else ["--noconftest"]), "-c", ini_file, "--rootdir", ".", *extra_args,
            *suites]  # fmt: skip
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", KEY_VAR: key}
    read_only = [*suites, plugin_file, ini_file]
    result = executor.run(argv, ".", env=env, limits=limits, channel=True, read_only=read_only)
    return read_node_verdict(result, key.encode(), suites)


def _real_node(node: str, suites: Mapping[str, Suite]) -> tuple[str, str]:
    """``(kind, real node id)`` of a run's node id: kind is ``"real"``, ``"canary"`` or ``"unknown"``."""
    path, sep, rest = node.partition("::")
    suite = suites.get(path)
    if suite is None or not sep:
        return "unknown", node
    fn, bracket, params = rest.partition("[")
    if fn in suite.canaries:
        return "canary", node
    if fn in suite.names:
        return "real", f"{path}::{suite.names[fn]}{bracket}{params}"
    return ("real", node) if "::" in fn else ("unknown", node)  # a method of a test class keeps its name


def read_node_verdict(result: ExecResult, key: bytes, suites: Mapping[str, Suite]) -> NodeVerdict:
    """Cross-check the stream, the exit status and the canaries of a :func:`run_test_files` run."""
    cut = result.timed_out or result.output_truncated
    signalled = not cut and result.returncode is not None and not 0 <= result.returncode < 128
    records, reasons = _records(result.channel, key, finished_cleanly=not (cut or signalled))
    calls: dict[str, list[str]] = {}  # run node -> outcomes of its call phase
    failed_phase: set[str] = set()
    finish: dict | None = None
    for record in records:
        ev = record.get("ev")
        if finish is not None:
            reasons.append(f"a {ev!r} record came after the session finished")
        elif ev == "report":
            node = str(record.get("node"))
            if _real_node(node, suites)[0] == "unknown":
                reasons.append(f"a report for a test the suite does not have ({node})")
                continue
            if record.get("when") == "call":
                calls.setdefault(node, []).append(str(record.get("outcome")))
            if record.get("outcome") == "failed":
                failed_phase.add(node)
        elif ev == "finish":
            finish = record
        elif ev not in ("start", "collected", "collect_error"):
            reasons.append(f"an unknown record {ev!r}")
    crashed = signalled and finish is None
    passing = {n for n, outcomes in calls.items() if outcomes == ["passed"] and n not in failed_phase}
    reasons += [f"a test reported {len(o)} times" for o in calls.values() if len(o) > 1]
    canaries = any(s.canaries for s in suites.values())
    if not (cut or crashed):
        if finish is None:
            reasons.append(f"pytest exited (code {result.returncode}) without finishing its session")
        elif finish.get("exitstatus") != result.returncode:
            reasons.append(f"pytest announced exit status {finish.get('exitstatus')} but the process exited with "
                           f"{result.returncode}")  # fmt: skip
        elif result.returncode == 0 and canaries:
            reasons.append("pytest reported success, which the suite's known-failing tests rule out")
    passed_canaries = [n for n in passing if _real_node(n, suites)[0] == "canary"]
    if passed_canaries:
        reasons.append(f"{len(passed_canaries)} test(s) known to fail were reported passing")
    tampered = bool(reasons)
    real = {n: _real_node(n, suites) for n in calls}
    reported = frozenset(r for kind, r in real.values() if kind == "real")
    passed = frozenset() if (tampered or cut or crashed) else frozenset(real[n][1] for n in passing if real[n][0] == "real")
    return NodeVerdict(passed, reported, tampered, tuple(dict.fromkeys(reasons)), result.timed_out,
                       result.output_truncated, crashed, result.output)  # fmt: skip
