"""Refuse package code that could tamper with the hidden test run.

The hidden tests import the agent's package into pytest's own process, so code in the package could
rewrite pytest's verdicts instead of fixing the bug (reward hacking). The test run already ignores
``conftest.py`` files and third-party plugins; this guard refuses, at edit time, the imports and
attributes such code needs. It is a bar to raise, not a proof: the domains' real code needs none of them,
and the verdict does not rely on it (``densegym.sandbox.verdict`` catches a forgery that gets past it).
"""

from __future__ import annotations

import ast

FORBIDDEN_MODULES = frozenset({
    "pytest", "_pytest", "unittest", "atexit", "builtins", "ctypes", "gc", "inspect", "importlib",
    "subprocess", "signal", "multiprocessing", "threading", "faulthandler", "sysconfig", "site", "runpy",
    "weakref", "_weakref", "traceback", "linecache", "tracemalloc", "_thread", "posix", "pty", "mmap",
})  # fmt: skip
FORBIDDEN_ATTRIBUTES = frozenset({
    ("sys", "modules"), ("sys", "settrace"), ("sys", "setprofile"), ("sys", "exit"), ("sys", "meta_path"),
    ("sys", "path_hooks"), ("sys", "excepthook"), ("os", "_exit"), ("os", "kill"), ("os", "fork"),
    ("os", "system"), ("os", "execv"), ("os", "execve"), ("os", "popen"),
})  # fmt: skip
FORBIDDEN_NAMES = frozenset({"__builtins__", "__import__", "exec", "eval", "compile", "globals", "breakpoint", "vars"})
# Introspection that reaches pytest's objects without importing it: frames, globals of other modules,
# the class hierarchy, finalizers. Refused on any object.
FORBIDDEN_ANY_ATTRIBUTES = frozenset({
    "_getframe", "f_back", "f_globals", "f_locals", "f_builtins", "tb_frame", "gi_frame", "cr_frame", "ag_frame",
    "__globals__", "__closure__", "__code__", "__subclasses__", "__bases__", "__mro__", "__base__",
    "__builtins__", "__loader__", "__spec__", "__del__", "_exit", "modules",
})  # fmt: skip


def tamper_findings(source: str) -> list[str]:
    """What in ``source`` the guard refuses (empty when it is fine or does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []  # the parse check of the safety envelope deals with it
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in FORBIDDEN_MODULES:
            found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.ImportFrom) and node.module in ("sys", "os"):
            found += [f"from {node.module} import {a.name}" for a in node.names if (node.module, a.name) in FORBIDDEN_ATTRIBUTES]
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ANY_ATTRIBUTES:
            found.append(f".{node.attr}")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) in FORBIDDEN_ATTRIBUTES:
                found.append(f"{node.value.id}.{node.attr}")
        elif isinstance(node, ast.FunctionDef) and node.name == "__del__":
            found.append("def __del__")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            found.append(node.id)
    return sorted(set(found))
