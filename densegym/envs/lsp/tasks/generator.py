"""Tasks: a bundled domain package with defects injected by mutation operators.

A task id ``lsp:<domain>:d<difficulty>:<index>`` reproduces the task from the id alone. Difficulty is
the number and kind of defects:

| difficulty | defects |
|---|---|
| 1 | one defect; the operator cycles with the index through all seven operators |
| 2 | two: a checker-visible one, plus a cross-module one (a renamed symbol, a bad import) or a logic bug |
| 3 | three: two different checker-visible ones plus a logic bug that only the tests reveal |
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from densegym.envs.lsp.tasks.domains import DOMAINS, Domain
from densegym.envs.lsp.tasks.mutations import OPERATORS, STATIC_OPERATORS, Defect, mutate

DIFFICULTIES = (1, 2, 3)
CROSS_MODULE = ("renamed_symbol", "bad_import")
TASKS_PER_LEVEL = 20
_ORDER = tuple(OPERATORS)  # difficulty 1 cycles through these


@dataclass(frozen=True)
class LspTask:
    id: str
    domain: str
    difficulty: int
    files: dict[str, str] = field(repr=False)  # the defective package the agent starts from
    gold: dict[str, str] = field(repr=False)  # the original package
    tests: str = field(repr=False)  # the hidden pytest suite
    defects: tuple[Defect, ...] = ()

    @property
    def package(self) -> str:
        return self.domain

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for rel in sorted(self.files):
            h.update(rel.encode() + b"\0" + self.files[rel].encode() + b"\0")
        return h.hexdigest()


def task_id(domain: str, difficulty: int, index: int) -> str:
    return f"lsp:{domain}:d{difficulty}:{index}"


def parse_task_id(tid: str) -> tuple[str, int, int]:
    try:
        prefix, domain, level, index = tid.split(":")
        if prefix != "lsp" or domain not in DOMAINS or not level.startswith("d"):
            raise ValueError
        difficulty, idx = int(level[1:]), int(index)
        if difficulty not in DIFFICULTIES or idx < 0:
            raise ValueError
        return domain, difficulty, idx
    except ValueError:
        raise ValueError(
            f"unknown LSP task {tid!r}: ids look like 'lsp:<domain>:d<1-3>:<index>', domains: {', '.join(DOMAINS)}"
        ) from None


def _plan(difficulty: int, index: int, rng: np.random.Generator) -> list[str]:
    static = list(STATIC_OPERATORS)
    if difficulty == 1:
        return [_ORDER[index % len(_ORDER)]]
    if difficulty == 2:
        return [static[int(rng.integers(4))], ["renamed_symbol", "bad_import", "logic"][int(rng.integers(3))]]
    first, second = rng.choice(len(static), size=2, replace=False)
    return [static[int(first)], static[int(second)], "logic"]


@lru_cache(maxsize=1024)
def generate(tid: str) -> LspTask:
    domain_name, difficulty, index = parse_task_id(tid)
    domain: Domain = DOMAINS[domain_name]
    seed = int.from_bytes(hashlib.sha256(tid.encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    files = dict(domain.files)
    defects: list[Defect] = []
    touched: set[tuple[str, int]] = set()
    # Cross-module defects go first: an import broken after a call was mutated would hide that call's
    # defect (the callee becomes unknown), while the operators that come later see the broken import.
    plan = sorted(_plan(difficulty, index, rng), key=lambda op: op not in CROSS_MODULE)
    for op in plan:
        # An operator without a free site falls back to the others, in a fixed order.
        for candidate in [op, *[o for o in _ORDER if o != op]]:
            result = mutate(files, candidate, rng, domain.logic, frozenset(touched))
            if result is not None:
                files, defect = result
                defects.append(defect)
                touched.add((defect.file, defect.line))
                break
    return LspTask(tid, domain_name, difficulty, files, dict(domain.files), domain.tests, tuple(defects))


@lru_cache(maxsize=1)
def catalog() -> tuple[str, ...]:
    """Every bundled task id whose defective package is distinct from all earlier ones (at least 300)."""
    seen: set[str] = set()
    out = []
    for domain in DOMAINS:
        for difficulty in DIFFICULTIES:
            for index in range(TASKS_PER_LEVEL):
                task = generate(task_id(domain, difficulty, index))
                if task.digest not in seen:
                    seen.add(task.digest)
                    out.append(task.id)
    return tuple(out)
