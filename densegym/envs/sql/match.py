"""Execution match (the ``outcome``) and partial match (the ``progress`` potential) of two query results.

Execution match follows Spider's execution-accuracy semantics (the test-suite evaluation,
``exec_eval.result_eq``):

* the same number of columns, and the same multiset of rows: duplicates count;
* row order matters only when the gold query orders its result (a top-level ``ORDER BY``);
* column order does not matter: the prediction matches when some assignment of its columns does;
* NULL equals NULL (as Python's ``None == None`` does in Spider's evaluator);
* numbers compare by value across types: ``3 == 3.0 == Decimal("3")``, booleans are 0/1.

Numbers: integers and exact decimals (``int``, and ``Decimal`` from PostgreSQL's NUMERIC or DuckDB's DECIMAL)
compare exactly with each other (``1000000`` is not ``1000001``, and ``Decimal("0.33")`` is not
``Decimal("0.3333333333333333")``). Only when a float is involved do two numbers compare within
:data:`REL_TOL` (relative) or :data:`ABS_TOL` (absolute), whichever is larger; see their comment for why
these values: summation-order noise passes, a rounding a question could ask for does not.

Unordered matching is a true multiset match under that tolerance (a perfect bipartite matching of
prediction rows to gold rows, each pair equal cell by cell), so it is never stricter than ordered matching:
whatever matches in order also matches unordered. Columns are paired by per-column signatures first (the
same NULL count, the same multiset of strings, sorted numbers pairwise equal, and, when ordered, the same
column position by position), then only assignments consistent with every pair of columns already
assigned are compared in full, at most :data:`MAX_ASSIGNMENTS` of them. Every comparison takes an optional
``deadline`` (``time.monotonic()`` seconds) and raises :class:`MatchTimeout` past it: the env gives each step
one time budget and counts a comparison it cut short as not earned.

Where densegym differs from Spider's evaluator (``test-suite-sql-eval``), and why:

* Spider compares floats exactly. Three backends sum floats in different orders, so densegym needs a
  tolerance to give the gold query 1 everywhere; it is kept far below any rounding (``REL_TOL``).
* Spider reads order from the text (``'order by' in gold.lower()``, a subquery's ORDER BY included);
  densegym orders only when the gold query has a top-level ``ORDER BY`` (sqlglot), the rule stated above.
* Spider's test-suite evaluation removes ``DISTINCT`` from both queries before running them by default;
  densegym keeps it: a query that returns duplicates the question does not want is not the same answer.
* Spider's quick rejection compares cells as ``str(value) + str(type(value))``, which can tell ``1`` from
  ``1.0``; densegym compares ``1`` and ``1.0`` as equal (SQLite's dynamic typing and the backends' types
  make the same value arrive as either).
* Dates and times are compared as ISO-8601 strings (``backends.plain``), so a DATE from PostgreSQL or
  DuckDB equals the TEXT SQLite stores.
* A result cut short by the row or byte cap never matches (Spider has no caps).
* The databases disagree on where NULLs sort (PostgreSQL puts them first in a descending order, SQLite and
  DuckDB last), so an ordered result can legitimately differ by backend when its sort key has NULLs; the
  bundled ordered gold queries filter NULL sort keys out, and a user's own tasks should do the same.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

# Floats are equal within a relative 1e-9 (or an absolute 1e-12 near zero). Two correct queries on one
# backend differ only in the order in which they add and multiply doubles: n additions in another order
# differ by at most about n * 2**-53 ~ n * 1.1e-16 relative (for same-sign terms; in practice ~sqrt(n) * 1e-16),
# so 1e-9 covers ten million rows at the worst case. A rounding changes a value by up to half a unit in its
# last kept digit, and passes only when that is below 1e-9 of the value: ROUND(x, 2) only for |x| > 5e6,
# ROUND(x, 4) only for |x| > 5e4, ROUND(x, 0) only for |x| > 5e8, where the rounded digits are noise-level
# anyway (a relative 1e-6, the former value, let ROUND(x, 0) pass from 5e5 and ROUND(AVG(..), 4) near 2,000).
# The absolute term only serves results that cancel to (almost) zero; no rounding to 11 decimals or fewer
# fits in it.
REL_TOL, ABS_TOL = 1e-9, 1e-12
MAX_ASSIGNMENTS = 5040  # column assignments compared in full, after the signatures and pairwise checks
_CHECK_EVERY = 512  # rows between two deadline checks


class MatchTimeout(Exception):
    """The comparison ran past its deadline (the step's time budget); its outcome is unknown."""


def _check(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise MatchTimeout("the result comparison ran past the step's time budget")


# ---- cells --------------------------------------------------------------------------------------------


def _number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal))  # booleans are 0 and 1


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _float_of(value: Any) -> float | None:
    """A float itself, or an exact number as a float; ``None`` for an exact number beyond every float."""
    if isinstance(value, float):
        return value
    try:
        x = float(value)
    except OverflowError:
        return None
    return x if math.isfinite(x) else None


def _within(x: float, y: float) -> bool:
    if x == y:
        return True
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return False
    return abs(x - y) <= max(REL_TOL * max(abs(x), abs(y)), ABS_TOL)


def cells_equal(a: Any, b: Any) -> bool:
    """One cell against another (see the module docstring)."""
    if a is None or b is None:
        return a is None and b is None
    na, nb = _number(a), _number(b)
    if not (na and nb):
        return not (na or nb) and type(a) is type(b) and a == b
    if isinstance(a, float) or isinstance(b, float):
        x, y = _float_of(a), _float_of(b)
        return x is not None and y is not None and _within(x, y)
    return a == b  # integers and decimals: exactly


def _rows_equal(p: Sequence, g: Sequence) -> bool:
    return all(cells_equal(a, b) for a, b in zip(p, g))


# ---- row multisets ------------------------------------------------------------------------------------


def _coarse(row: Sequence) -> tuple:
    """What two equal rows must share exactly: NULLs and strings where they are, numbers somewhere."""
    return tuple(0 if v is None else (1, v) if isinstance(v, str) else 2 if _number(v) else (3, repr(v)) for v in row)


def _sort_key(value: Any) -> tuple:
    if _number(value):
        x = _as_float(value)
        return (1, 0.0) if math.isnan(x) else (0, x)
    return (2, 0.0)


def _max_flow_is_full(left: list[int], right: list[int], edges: list[list[int]], deadline: float | None) -> bool:
    """Whether a flow saturates every left and right node (capacities ``left``/``right``, edges unbounded):
    Dinic's algorithm on source -> left -> right -> sink."""
    nl, nr = len(left), len(right)
    source, sink, n = nl + nr, nl + nr + 1, nl + nr + 2
    graph: list[list[int]] = [[] for _ in range(n)]
    to: list[int] = []
    cap: list[int] = []

    def add(u: int, v: int, c: int) -> None:
        graph[u].append(len(to))
        to.append(v)
        cap.append(c)
        graph[v].append(len(to))
        to.append(u)
        cap.append(0)

    total = sum(left)
    # Greedy first: it nearly always fills everything, and then no flow search is needed.
    room = list(right)
    for i, js in enumerate(edges):
        need = left[i]
        for j in js:
            take = min(need, room[j])
            room[j] -= take
            need -= take
            if not need:
                break
        if need:
            break
    else:
        return True
    for i, c in enumerate(left):
        add(source, i, c)
    for j, c in enumerate(right):
        add(nl + j, sink, c)
    for i, js in enumerate(edges):
        for j in js:
            add(i, nl + j, total)
    flow = 0
    while True:
        _check(deadline)
        level = [-1] * n
        level[source] = 0
        queue = [source]
        for u in queue:
            for e in graph[u]:
                if cap[e] > 0 and level[to[e]] < 0:
                    level[to[e]] = level[u] + 1
                    queue.append(to[e])
        if level[sink] < 0:
            return flow == total
        pointer = [0] * n

        def push(u: int, limit: int) -> int:
            if u == sink:
                return limit
            while pointer[u] < len(graph[u]):
                e = graph[u][pointer[u]]
                v = to[e]
                if cap[e] > 0 and level[v] == level[u] + 1:
                    pushed = push(v, min(limit, cap[e]))
                    if pushed:
                        cap[e] -= pushed
                        cap[e ^ 1] += pushed
                        return pushed
                pointer[u] += 1
            return 0

        while True:
            pushed = push(source, total)
            if not pushed:
                break
            flow += pushed
            _check(deadline)


def _group_matches(pred: list[tuple], gold: list[tuple], deadline: float | None) -> bool:
    """Rows sharing one coarse key (their NULLs and strings agree): a perfect matching under the tolerance."""
    numeric = [k for k, v in enumerate(gold[0]) if _number(v)]
    sp = sorted(pred, key=lambda r: tuple(_sort_key(r[k]) for k in numeric))
    sg = sorted(gold, key=lambda r: tuple(_sort_key(r[k]) for k in numeric))
    for start in range(0, len(sg), _CHECK_EVERY):
        _check(deadline)
        if not all(_rows_equal(p, g) for p, g in zip(sp[start:start + _CHECK_EVERY], sg[start:start + _CHECK_EVERY])):
            break
    else:
        return True  # sorted in the same order, pairwise equal: a matching
    if not numeric:
        return False
    # Near-ties within the tolerance can sort differently on the two sides: find a matching in earnest, on
    # the distinct rows with their counts (a NaN, unequal to itself, stays a row of its own: still sound).
    pcount, gcount = Counter(pred), Counter(gold)
    prows, grows = list(pcount), list(gcount)
    # Offer each prediction row the gold rows whose most varied numeric column is within the tolerance
    # window of its own (a binary search in the gold rows sorted by that column), verified cell by cell.
    _check(deadline)
    col = max(numeric, key=lambda k: len({r[k] for r in grows}))
    grows.sort(key=lambda r: _sort_key(r[col]))
    keys = [_sort_key(r[col]) for r in grows]
    edges = []
    for i, r in enumerate(prows):
        if i % 64 == 0:
            _check(deadline)
        x = _as_float(r[col])
        if math.isfinite(x):
            t = max(2 * REL_TOL * abs(x), 2 * ABS_TOL)
            lo, hi = bisect_left(keys, (0, x - t)), bisect_right(keys, (0, x + t))
        else:  # an infinity sorts among the numbers, a NaN after them
            lo, hi = bisect_left(keys, _sort_key(x)), bisect_right(keys, _sort_key(x))
        js = [j for j in range(lo, hi) if _rows_equal(r, grows[j])]
        if not js:
            return False
        edges.append(js)
    return _max_flow_is_full([pcount[r] for r in prows], [gcount[r] for r in grows], edges, deadline)


def _multiset_equal(pred: Sequence[tuple], gold: Sequence[tuple], deadline: float | None) -> bool:
    _check(deadline)
    if Counter(pred) == Counter(gold):
        return True  # exactly the same multiset (Python's == across int, float, Decimal; a NaN by identity)
    groups: dict[tuple, tuple[list, list]] = defaultdict(lambda: ([], []))
    for r in pred:
        groups[_coarse(r)][0].append(r)
    for r in gold:
        groups[_coarse(r)][1].append(r)
    if any(len(p) != len(g) for p, g in groups.values()):
        return False
    return all(_group_matches(p, g, deadline) for p, g in groups.values())


def _ordered_equal(pred: Sequence[tuple], gold: Sequence[tuple], deadline: float | None) -> bool:
    for start in range(0, len(gold), _CHECK_EVERY):
        _check(deadline)
        end = start + _CHECK_EVERY
        if not all(_rows_equal(p, g) for p, g in zip(pred[start:end], gold[start:end])):
            return False
    return True


def _rows_match(pred: Sequence[tuple], gold: Sequence[tuple], ordered: bool, deadline: float | None) -> bool:
    if len(pred) != len(gold):
        return False
    return _ordered_equal(pred, gold, deadline) if ordered else _multiset_equal(pred, gold, deadline)


# ---- columns ------------------------------------------------------------------------------------------


class _Column:
    """What any column equal to this one (as a multiset, under the tolerance) must share."""

    def __init__(self, values: list):
        self.values = values
        self.exact = tuple(values)
        nulls = sum(v is None for v in values)
        strings = Counter(v for v in values if isinstance(v, str))
        numbers = [_as_float(v) for v in values if _number(v)]
        special = Counter(str(x) for x in numbers if not math.isfinite(x))
        others = Counter(repr(v) for v in values if v is not None and not isinstance(v, str) and not _number(v))
        self.finite = sorted(x for x in numbers if math.isfinite(x))
        self.profile = (nulls, frozenset(strings.items()), frozenset(special.items()), frozenset(others.items()),
                        len(self.finite))

    def could_equal(self, other: _Column, ordered: bool) -> bool:
        if ordered:
            return all(cells_equal(a, b) for a, b in zip(self.values, other.values))
        if Counter(self.values) == Counter(other.values):
            return True
        if self.profile != other.profile:
            return False
        # Sorted pairing finds a tolerant matching of two number lists whenever one exists (the tolerance
        # window grows monotonically with the value); here integers are compared as floats, which only
        # admits more, so this stays a necessary condition.
        return all(_within(x, y) for x, y in zip(self.finite, other.finite))


def _assignments(candidates: list[list[int]], pred_class: list[int], gold_class: list[int], width: int,
                 consistent, deadline: float | None):
    """Injective maps gold column j -> prediction column among ``candidates[j]``, consistent pairwise.

    Identical prediction columns are interchangeable (only the first unused of a class is tried), and so
    are identical gold columns (their prediction classes must not decrease), so no map is tried twice in
    effect. Gold columns with fewer candidates are assigned first."""
    order = sorted(range(width), key=lambda j: len(candidates[j]))
    mapping: list[int | None] = [None] * width
    used: set[int] = set()

    def extend(depth: int):
        if depth == width:
            yield tuple(mapping)
            return
        j = order[depth]
        _check(deadline)
        tried_classes: set[int] = set()
        floor = max((pred_class[mapping[k]] for k in range(width)
                     if mapping[k] is not None and gold_class[k] == gold_class[j] and k < j), default=-1)
        for i in candidates[j]:
            if i in used or pred_class[i] in tried_classes or pred_class[i] < floor:
                continue
            tried_classes.add(pred_class[i])
            if not all(consistent(k, mapping[k], j, i) for k in range(width) if mapping[k] is not None):
                continue
            mapping[j] = i
            used.add(i)
            yield from extend(depth + 1)
            used.discard(i)
            mapping[j] = None

    yield from extend(0)


def results_match(pred: Sequence[tuple], gold: Sequence[tuple], *, ordered: bool = False,
                  deadline: float | None = None, stats: dict | None = None) -> bool:
    """Spider-style execution match of two results given as rows (see the module docstring).

    ``deadline``: raise :class:`MatchTimeout` past it. ``stats``: a dict that receives ``assignments``, the
    number of column assignments compared row by row in full."""
    _check(deadline)
    if stats is not None:
        stats["assignments"] = 0
    if len(pred) != len(gold):
        return False
    if not gold:
        return True  # both empty; Spider does not compare column counts of empty results either
    width = len(gold[0])
    if any(len(r) != width for r in pred) or any(len(r) != width for r in gold):
        return False
    if ordered and all(p == g for p, g in zip(pred, gold)):
        return True  # the same rows, exactly, in the same order
    if not ordered and Counter(pred) == Counter(gold):
        return True  # the same multiset of rows, exactly
    _check(deadline)
    gcols = [_Column([r[j] for r in gold]) for j in range(width)]
    _check(deadline)
    pcols = [_Column([r[i] for r in pred]) for i in range(width)]
    candidates = []
    for j in range(width):
        _check(deadline)
        candidates.append([i for i in range(width) if pcols[i].could_equal(gcols[j], ordered)])
        if not candidates[-1]:
            return False

    def klass(cols: list[_Column]) -> list[int]:
        first: dict[tuple, int] = {}
        return [first.setdefault(c.exact, i) for i, c in enumerate(cols)]

    pred_class, gold_class = klass(pcols), klass(gcols)
    pair_cache: dict[tuple[int, int, int, int], bool] = {}

    def consistent(j1: int, i1: int, j2: int, i2: int) -> bool:
        """Two gold columns and the two prediction columns assigned to them match as a pair."""
        if ordered:
            return True  # each column already equals its candidate position by position
        key = (j1, i1, j2, i2)
        if key not in pair_cache:
            pair_cache[key] = _multiset_equal([(r[i1], r[i2]) for r in pred], [(r[j1], r[j2]) for r in gold],
                                              deadline)
        return pair_cache[key]

    tried: set[tuple] = set()

    def compare(mapping: tuple) -> bool:
        tried.add(mapping)
        if stats is not None:
            stats["assignments"] = len(tried)
        if ordered:
            return True  # every gold column equals its assigned column position by position: the rows do too
        permuted = pred if mapping == tuple(range(width)) else [tuple(r[i] for i in mapping) for r in pred]
        return _multiset_equal(permuted, gold, deadline)

    # The first assignment the signatures allow is compared at once (usually the only one); further ones
    # only if they also pass the pairwise checks.
    first = next(_assignments(candidates, pred_class, gold_class, width, lambda *_: True, deadline), None)
    if first is None:
        return False
    if compare(first):
        return True
    for mapping in _assignments(candidates, pred_class, gold_class, width, consistent, deadline):
        if mapping in tried:
            continue
        if len(tried) >= MAX_ASSIGNMENTS:
            return False
        if compare(mapping):
            return True
    return False


# ---- partial match ------------------------------------------------------------------------------------


def _key(value: Any) -> Any:
    """A hashable key for partial credit: exact for integers, decimals and strings, floats to 10 digits."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if _number(value):
        x = _as_float(value)
        if not math.isfinite(x):
            return str(x)
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(f"{x:.10g}")
        return int(x) if x == int(x) and abs(x) < 2**53 else float(f"{x:.10g}")
    return repr(value)


def _f1(pred: Counter, gold: Counter) -> float:
    if not pred and not gold:
        return 1.0
    common = sum((pred & gold).values())
    if common == 0:
        return 0.0
    p, r = common / sum(pred.values()), common / sum(gold.values())
    return 2 * p * r / (p + r)


def partial_match(pred: Sequence[tuple], gold: Sequence[tuple], *, ordered: bool = False,
                  deadline: float | None = None, matched: bool | None = None) -> float:
    """How close ``pred`` is to ``gold``, in ``[0, 1]``; exactly 1 iff :func:`results_match`.

    Half of the score is column recovery (each gold column paired with the prediction column whose values
    overlap it most, as a multiset F1, divided by the larger column count so that extra columns cost), half
    is row recovery (multiset F1 of the rows projected onto the paired columns). Both are capped at 0.99
    unless the results match, so the potential reaches 1 only for a correct result. ``matched``: the
    caller's :func:`results_match` of the same results, if it has one; ``deadline`` as there.
    """
    if matched is None:
        matched = results_match(pred, gold, ordered=ordered, deadline=deadline)
    if matched:
        return 1.0
    if not pred or not gold:
        return 0.0
    gw, pw = len(gold[0]), len(pred[0])
    gold_cols = []
    for j in range(gw):
        _check(deadline)
        gold_cols.append(Counter(_key(r[j]) for r in gold))
    pred_cols = []
    for i in range(pw):
        _check(deadline)
        pred_cols.append(Counter(_key(r[i]) for r in pred))
    scored = []
    for j in range(gw):
        for i in range(pw):
            _check(deadline)
            scored.append((_f1(pred_cols[i], gold_cols[j]), j, i))
    scored.sort(reverse=True)
    pairs, used, paired_gold, col_total = [], set(), set(), 0.0
    for score, j, i in scored:
        if j in paired_gold or i in used or score == 0.0:
            continue
        paired_gold.add(j)
        used.add(i)
        pairs.append((j, i))
        col_total += score
    col_score = col_total / max(gw, pw)
    if not pairs:
        return 0.0
    pairs.sort()
    _check(deadline)
    gold_rows = Counter(tuple(_key(r[j]) for j, _ in pairs) for r in gold)
    pred_rows = Counter(tuple(_key(r[i]) for _, i in pairs) for r in pred)
    row_score = _f1(pred_rows, gold_rows) * len(pairs) / gw
    return min(0.99, 0.5 * col_score + 0.5 * row_score)
