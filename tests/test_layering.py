"""The layering of docs/architecture.md, tested: lower layers never import the trainers or the CLI, and every
module imports alone in a fresh interpreter (a module of a missing extra fails with the ImportError that names
the extra)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "densegym"
TASK_REPOSITORIES = PACKAGE / "envs" / "swe" / "projects"  # the SWE tasks' code, package data: not densegym's
LOWER = ("envs", "rewards", "sandbox", "agents", "trajectory.py", "envpool.py", "raypool.py", "rollout.py",
         "groupmath.py", "leftovers.py", "evaluate.py")  # fmt: skip
UPPER = ("densegym.trainers", "densegym.cli")


def _modules() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__main__.py" or TASK_REPOSITORIES in path.parents:  # the CLI program; task repositories
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def _lower_files() -> list[Path]:
    files = []
    for name in LOWER:
        path = PACKAGE / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return [f for f in files if TASK_REPOSITORIES not in f.parents]


def _imported(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):  # function-level (lazy) imports too
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_lower_layers_never_import_trainers_or_cli():
    offenders = []
    for path in _lower_files():
        for name in _imported(ast.parse(path.read_text())):
            if any(name == up or name.startswith(up + ".") for up in UPPER):
                offenders.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert offenders == []


_PROBE = """
import importlib, json, sys
try:
    importlib.import_module({module!r})
    error = None
except ImportError as exc:
    error = str(exc)
print(json.dumps({{"error": error, "loaded": sorted(m for m in sys.modules if m.startswith("densegym"))}}))
"""


def _import_alone(module: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _PROBE.format(module=module)], capture_output=True, text=True,
                          timeout=300, cwd=PACKAGE.parent)  # fmt: skip
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}", "loaded": [], "crash": True}
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def alone() -> dict[str, dict]:
    modules = _modules()
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(modules, pool.map(_import_alone, modules)))


def test_every_module_imports_alone_in_a_fresh_interpreter(alone):
    failures = {}
    for module, result in alone.items():
        error = result["error"]
        if error is None:
            continue
        # A module of an extra that is not installed may fail, but only with the message naming the extra.
        if result.get("crash") or "pip install 'densegym[" not in error:
            failures[module] = error
    assert failures == {}


def test_lower_modules_load_no_trainer_or_cli_code(alone):
    lower = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts) for p in _lower_files()}
    lower = {m.removesuffix(".__init__") for m in lower}
    leaked = {m: [x for x in r["loaded"] if x.startswith(UPPER)] for m, r in alone.items() if m in lower}
    assert {m: x for m, x in leaked.items() if x} == {}
