"""The hidden-test verdict under attack: code under test that forges results scores nothing (real pytest runs).

Each attack is written straight into the package, past the edit guard of the code families, to show that the
verdict holds when the guard does not: the guard is a first bar, these checks are the ones that count.
"""

from __future__ import annotations

import os
import random

import pytest

from densegym.envs.lsp.tasks import DOMAINS, generate
from densegym.sandbox import Limits, LocalExecutor, bubblewrap_path
from densegym.sandbox.verdict import prepare_suite, run_suite
from tests.helpers import require

TASK = "lsp:inventory:d3:1"  # defective: a bad import fails collection, so nothing passes honestly
LOGIC = "lsp:ledger:d1:6"  # one logic defect: some tests pass, some fail


@pytest.fixture(scope="module")
def executor():
    require(bubblewrap_path() is not None, "bubblewrap", "apt-get install bubblewrap")
    return LocalExecutor(use_bubblewrap=True, limits=Limits(timeout_s=20))


def run_files(executor, files: dict[str, str], suite):
    """``suite`` against ``files`` in a fresh workspace of ``executor``'s isolation."""
    scratch = executor.fork()
    try:
        for rel, text in files.items():
            scratch.write(rel, text)
        return run_suite(scratch, suite, executor.limits)
    finally:
        scratch.close()


def run(executor, files: dict[str, str], tests: str, canaries: int = 3, seed: int | None = None):
    return run_files(executor, files, prepare_suite(tests, canaries, random.Random(seed) if seed is not None else None))


def with_attack(task, code: str, module: str | None = None) -> dict[str, str]:
    """The task's defective package with ``code`` appended to one of its modules (imported by the tests)."""
    files = dict(task.files)
    module = module or f"{task.package}/__init__.py"
    files[module] = files[module] + "\n" + code
    return files


@pytest.fixture(scope="module")
def logic_task():
    task = generate(LOGIC)
    assert [d.op for d in task.defects] == ["logic"]
    return task


@pytest.fixture(scope="module")
def honest(executor, logic_task):
    verdict = run(executor, logic_task.files, logic_task.tests)
    assert not verdict.tampered and verdict.failed and verdict.passed  # the attacks below have something to forge
    return verdict


# ---- the suite ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_gold_passes_every_real_test_and_every_canary_fails(executor, domain):
    task = generate(f"lsp:{domain}:d1:0")
    verdict = run(executor, task.gold, task.tests)
    assert not verdict.tampered, verdict.reasons
    assert verdict.all_passed and verdict.total == len(prepare_suite(task.tests, 0).names)
    # With the canaries counted as real tests, exactly the canaries fail on the gold code.
    suite = prepare_suite(task.tests, 3, random.Random(1))
    assert len(suite.canaries) == 3
    as_real = type(suite)(suite.source, {**suite.names, **{c: c for c in suite.canaries}}, frozenset(), suite.line_map)
    both = run_files(executor, task.gold, as_real)
    assert set(both.failed) == set(suite.canaries)


def test_canaries_change_no_real_outcome_and_never_show(executor, logic_task, honest):
    plain = run(executor, logic_task.files, logic_task.tests, canaries=0)
    again = run(executor, logic_task.files, logic_task.tests, canaries=3, seed=7)
    assert plain.passed == honest.passed == again.passed and not again.tampered
    # The agent's view is the same whichever tests were canaries and whatever they were called.
    assert plain.text == honest.text == again.text
    suite = prepare_suite(logic_task.tests, 3, random.Random(7))
    assert not any(name in again.text for name in [*suite.canaries, *suite.names])
    assert "Hidden" not in again.text and f"{len(honest.failed)} failed, {len(honest.passed)} passed" in again.text


def test_suite_keeps_real_line_numbers(logic_task):
    suite = prepare_suite(logic_task.tests, 3, random.Random(3))
    original = logic_task.tests.split("\n")
    run_lines = suite.source.split("\n")
    for run_line, orig_line in suite.line_map.items():
        text = run_lines[run_line - 1]
        expected = original[orig_line - 1]
        assert text == expected or (text.startswith("def test_") and expected.startswith("def test_"))


# ---- the attacks ------------------------------------------------------------------------------------------


def assert_forgery_failed(verdict, honest, tampered: bool = True):
    assert set(verdict.passed) <= set(honest.passed), "a failing test was reported passing"
    assert not verdict.all_passed
    if tampered:
        assert verdict.tampered and verdict.reasons and verdict.passed == ()


def test_weakref_finalizer_rewriting_results_at_exit(executor, logic_task, honest):
    """The reviewed attack: a finalizer that, at interpreter exit, rewrites the result file with every test
    passing, and here also writes forged records into every pipe the process holds."""
    attack = '''
import os as _os, weakref as _weakref

class _Token:
    pass

_token = _Token()

def _forge():
    fake = '<testsuites><testsuite>' + ''.join('<testcase name="t%d"/>' % i for i in range(50)) + '</testsuite></testsuites>'
    for name in ('.report.xml', 'report.xml'):
        try:
            open(name, 'w').write(fake)
        except OSError:
            pass
    # every descriptor the process holds, whatever its number (the channel's is the parent's: high when the
    # parent has many files open)
    try:
        fds = [int(n) for n in _os.listdir('/proc/self/fd')]
    except OSError:
        fds = range(3, 4096)
    for fd in fds:
        if fd < 3:
            continue
        try:
            for seq in range(200):
                _os.write(fd, ('{"seq":%d,"ev":"report","test":"x","when":"call","outcome":"passed","mac":"0"}\\n' % seq).encode())
        except OSError:
            pass

_weakref.finalize(_token, _forge)
'''
    spare = [os.pipe() for _ in range(60)]  # the channel gets a high descriptor number, as in a busy parent
    try:
        verdict = run(executor, with_attack(logic_task, attack), logic_task.tests)
    finally:
        for r, w in spare:
            os.close(r)
            os.close(w)
    assert_forgery_failed(verdict, honest)


@pytest.mark.parametrize("exit_call", ["os._exit(0)", "sys.exit(0)"])
def test_exit_at_import(executor, logic_task, honest, exit_call):
    attack = f"import os, sys\n{exit_call}\n"
    verdict = run(executor, with_attack(logic_task, attack), logic_task.tests)
    assert verdict.passed == ()
    if exit_call == "os._exit(0)":  # the process ends with success and no session: that is a forgery
        assert verdict.tampered and any("without finishing" in r for r in verdict.reasons)


def test_exit_zero_at_interpreter_exit(executor, logic_task, honest):
    attack = "import atexit as _a, os as _o\n_a.register(lambda: _o._exit(0))\n"
    verdict = run(executor, with_attack(logic_task, attack), logic_task.tests)
    assert_forgery_failed(verdict, honest)
    assert any("exit status" in r or "success" in r for r in verdict.reasons)


def test_patching_pytest_reports_at_import(executor, logic_task, honest):
    """Every report turned into a pass from inside the process: the canaries pass too, which no honest run does."""
    attack = '''
import sys as _sys
_reports = _sys.modules["_pytest.reports"]
_original = _reports.TestReport.from_item_and_call.__func__

def _always_pass(cls, item, call):
    report = _original(cls, item, call)
    report.outcome = "passed"
    report.longrepr = None
    return report

_reports.TestReport.from_item_and_call = classmethod(_always_pass)
'''
    verdict = run(executor, with_attack(logic_task, attack, f"{logic_task.package}/accounts.py"), logic_task.tests)
    assert_forgery_failed(verdict, honest)
    assert any("known to fail" in r for r in verdict.reasons)


def test_patching_the_test_function_call(executor, logic_task, honest):
    attack = '''
import sys as _sys
_python = _sys.modules["_pytest.python"]
_python.Function.runtest = lambda self: None
'''
    verdict = run(executor, with_attack(logic_task, attack, f"{logic_task.package}/accounts.py"), logic_task.tests)
    assert_forgery_failed(verdict, honest)


def test_rewriting_the_hidden_test_file(executor, logic_task, honest):
    attack = '''
import glob as _glob
for _name in _glob.glob("test_*.py") + _glob.glob("_densegym*.py"):
    try:
        open(_name, "w").write("def test_ok():\\n    assert True\\n")
    except OSError:
        pass
'''
    verdict = run(executor, with_attack(logic_task, attack), logic_task.tests)
    assert verdict.passed == honest.passed and verdict.failed == honest.failed and not verdict.tampered


def test_printing_fake_pytest_output(executor, logic_task, honest):
    fake = "=" * 30 + " 12 passed in 0.05s " + "=" * 30
    attack = f"import sys as _s\nprint({fake!r})\nprint('............', file=_s.stderr)\n"
    verdict = run(executor, with_attack(logic_task, attack), logic_task.tests)
    assert verdict.passed == honest.passed and not verdict.tampered


def test_objects_that_equal_everything(executor):
    """``assert f(x) == expected`` passes for a result whose ``__eq__`` is always True; the canaries built
    from the same assertions pass as well, which gives the forgery away."""
    package = {
        "calc/__init__.py": (
            "class _Any:\n    def __eq__(self, other):\n        return True\n    def __ne__(self, other):\n"
            "        return False\n\n\ndef area(w, h):\n    return _Any()\n\n\ndef name(x):\n    return _Any()\n"
        )
    }
    tests = "from calc import area, name\n\n\n" + "\n\n".join(
        f"def test_case_{i}():\n    assert area({i}, 2) == {2 * i}\n    assert name({i}) == 'n{i}'\n" for i in range(6)
    )
    verdict = run(executor, package, tests)
    assert verdict.tampered and verdict.passed == ()
    honest = run(executor, {"calc/__init__.py": "def area(w, h):\n    return w * h\n\n\ndef name(x):\n    return f'n{x}'\n"}, tests)
    assert honest.all_passed and not honest.tampered


def test_a_crash_is_not_called_tampering(executor, logic_task):
    attack = "import os as _o, signal as _s\n_o.kill(_o.getpid(), _s.SIGKILL)\n"
    verdict = run(executor, with_attack(logic_task, attack), logic_task.tests)
    assert verdict.crashed and not verdict.tampered and verdict.passed == ()


def test_parametrized_tests_pass_only_when_every_case_passes(executor):
    package = {"calc/__init__.py": "def double(x):\n    return x * 2 if x < 3 else x * 3\n"}
    tests = (
        "import pytest\nfrom calc import double\n\n\n"
        "@pytest.mark.parametrize('x', [0, 1, 2])\ndef test_small(x):\n    assert double(x) == 2 * x\n\n\n"
        "@pytest.mark.parametrize('x', [1, 5])\ndef test_any(x):\n    assert double(x) == 2 * x\n\n\n"
        "def test_four():\n    assert double(2) == 4\n"
    )
    verdict = run(executor, package, tests)
    assert not verdict.tampered, verdict.reasons
    assert verdict.passed == ("test_four", "test_small") and verdict.failed == ("test_any",)
