"""Execution match (the ``outcome``) and partial match (the ``progress`` potential) of two query results.

Execution match follows Spider's execution-accuracy semantics (the test-suite evaluation,
``exec_eval.result_eq``):

* the same number of columns, and the same multiset of rows: duplicates count;
* row order matters only when the gold query orders its result (a top-level ``ORDER BY``);
* column order does not matter: the prediction matches when some permutation of its columns does;
* NULL equals NULL (as Python's ``None == None`` does in Spider's evaluator);
* numbers compare by value across types (``3 == 3.0``; booleans are 0/1; PostgreSQL's NUMERIC arrives as a
  float), and floats within a relative tolerance of ``1e-6`` (absolute ``1e-9`` near zero) are equal.

Where densegym differs from Spider, and why:

* Spider compares floats exactly. Three backends sum floats in different orders, so densegym needs a
  tolerance to give the gold query 1 everywhere; ``1e-6`` is far below any rounding a question asks for.
* Dates and times are compared as ISO-8601 strings (``backends.plain``), so a DATE from PostgreSQL or
  DuckDB equals the TEXT SQLite stores.
* A result cut short by the row or byte cap never matches (Spider has no caps).
* The databases disagree on where NULLs sort (PostgreSQL puts them first in a descending order, SQLite and
  DuckDB last), so an ordered result can legitimately differ by backend when its sort key has NULLs; the
  bundled ordered gold queries filter NULL sort keys out, and a user's own tasks should do the same.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from itertools import permutations
from typing import Any

REL_TOL, ABS_TOL = 1e-6, 1e-9
_MAX_PERMUTATIONS = 5040  # 7 columns; beyond that only column assignments consistent per column are tried


def _key(value: Any) -> Any:
    """A hashable, order-comparable key that equal values share (numbers rounded to the tolerance)."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return (1, str(value))
        if value == int(value) and abs(value) < 2**53:
            return (2, int(value))
        return (2, float(f"{value:.6g}"))
    return (3, str(value))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _close(a: Any, b: Any) -> bool:
    if _number(a) and _number(b):
        return a == b or math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return _key(a) == _key(b)


def _rows_equal(pred: Sequence[tuple], gold: Sequence[tuple], ordered: bool) -> bool:
    if len(pred) != len(gold):
        return False
    if not ordered:
        pred = sorted(pred, key=lambda r: tuple(_key(v) for v in r))
        gold = sorted(gold, key=lambda r: tuple(_key(v) for v in r))
    return all(all(_close(a, b) for a, b in zip(p, g)) for p, g in zip(pred, gold))


def _column_signature(rows: Sequence[tuple], i: int) -> Counter:
    return Counter(_key(r[i]) for r in rows)


def _candidate_mappings(pred: Sequence[tuple], gold: Sequence[tuple], width: int):
    """Permutations ``m`` (gold column j <- pred column m[j]) whose columns agree as multisets."""
    gold_sigs = [_column_signature(gold, j) for j in range(width)]
    pred_sigs = [_column_signature(pred, i) for i in range(width)]
    options = [[i for i in range(width) if pred_sigs[i] == gold_sigs[j]] for j in range(width)]
    if any(not o for o in options):
        # A float column whose rounded keys straddle a boundary; fall back to every permutation if few.
        if width <= 7:
            yield from permutations(range(width))
        return

    def extend(j: int, used: tuple[int, ...]):
        if j == width:
            yield used
            return
        for i in options[j]:
            if i not in used:
                yield from extend(j + 1, used + (i,))

    for count, mapping in enumerate(extend(0, ())):
        if count >= _MAX_PERMUTATIONS:
            return
        yield mapping


def results_match(pred: Sequence[tuple], gold: Sequence[tuple], *, ordered: bool = False) -> bool:
    """Spider-style execution match of two results given as rows (see the module docstring)."""
    if len(pred) != len(gold):
        return False
    if not gold:
        return True  # both empty; Spider does not compare column counts of empty results either
    width = len(gold[0])
    if len(pred[0]) != width:
        return False
    if _rows_equal(pred, gold, ordered):
        return True
    for mapping in _candidate_mappings(pred, gold, width):
        if mapping == tuple(range(width)):
            continue
        if _rows_equal([tuple(r[i] for i in mapping) for r in pred], gold, ordered):
            return True
    return False


def _f1(pred: Counter, gold: Counter) -> float:
    if not pred and not gold:
        return 1.0
    common = sum((pred & gold).values())
    if common == 0:
        return 0.0
    p, r = common / sum(pred.values()), common / sum(gold.values())
    return 2 * p * r / (p + r)


def partial_match(pred: Sequence[tuple], gold: Sequence[tuple], *, ordered: bool = False) -> float:
    """How close ``pred`` is to ``gold``, in ``[0, 1]``; exactly 1 iff :func:`results_match`.

    Half of the score is column recovery (each gold column paired with the prediction column whose values
    overlap it most, as a multiset F1, divided by the larger column count so that extra columns cost), half
    is row recovery (multiset F1 of the rows projected onto the paired columns). Both are capped at 0.99
    unless the results match, so the potential reaches 1 only for a correct result.
    """
    if results_match(pred, gold, ordered=ordered):
        return 1.0
    if not pred or not gold:
        return 0.0
    gw, pw = len(gold[0]), len(pred[0])
    gold_cols = [_column_signature(gold, j) for j in range(gw)]
    pred_cols = [_column_signature(pred, i) for i in range(pw)]
    pairs, used, col_total = [], set(), 0.0
    scored = sorted(((_f1(pred_cols[i], gold_cols[j]), j, i) for j in range(gw) for i in range(pw)), reverse=True)
    paired_gold = set()
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
    gold_rows = Counter(tuple(_key(r[j]) for j, _ in pairs) for r in gold)
    pred_rows = Counter(tuple(_key(r[i]) for _, i in pairs) for r in pred)
    row_score = _f1(pred_rows, gold_rows) * len(pairs) / gw
    return min(0.99, 0.5 * col_score + 0.5 * row_score)
