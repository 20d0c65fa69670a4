"""Execution match (Spider semantics, with densegym's documented differences) and the partial-match potential."""

from __future__ import annotations

import pytest

from densegym.envs.sql.match import partial_match, results_match

GOLD = [(1, "a", 2.5), (2, "b", None), (2, "b", None)]

EQUIVALENT = [
    ("same rows, other order", [(2, "b", None), (1, "a", 2.5), (2, "b", None)], False),
    ("columns reordered", [("a", 2.5, 1), ("b", None, 2), ("b", None, 2)], False),
    ("columns and rows reordered", [(None, "b", 2), (2.5, "a", 1), (None, "b", 2)], False),
    ("int vs float", [(1.0, "a", 2.5), (2.0, "b", None), (2, "b", None)], False),
    ("float within tolerance", [(1, "a", 2.5000000001), (2, "b", None), (2, "b", None)], False),
    ("ordered, same order", [(1, "a", 2.5), (2, "b", None), (2, "b", None)], True),
    ("ordered, columns reordered", [("a", 1, 2.5), ("b", 2, None), ("b", 2, None)], True),
]

DIFFERENT = [
    ("a duplicate dropped", [(1, "a", 2.5), (2, "b", None)], False),
    ("a duplicate added", GOLD + [(1, "a", 2.5)], False),
    ("NULL is not 0", [(1, "a", 2.5), (2, "b", 0), (2, "b", None)], False),
    ("NULL is not 'NULL'", [(1, "a", 2.5), (2, "b", "NULL"), (2, "b", None)], False),
    ("float outside tolerance", [(1, "a", 2.51), (2, "b", None), (2, "b", None)], False),
    ("an extra column", [(1, "a", 2.5, 0), (2, "b", None, 0), (2, "b", None, 0)], False),
    ("a missing column", [(1, "a"), (2, "b"), (2, "b")], False),
    ("ordered, other order", [(2, "b", None), (1, "a", 2.5), (2, "b", None)], True),
    ("string case matters", [(1, "A", 2.5), (2, "b", None), (2, "b", None)], False),
    ("'1' is not 1", [("1", "a", 2.5), (2, "b", None), (2, "b", None)], False),
    ("values swapped between rows", [(1, "b", 2.5), (2, "a", None), (2, "b", None)], False),
]


@pytest.mark.parametrize("name, pred, ordered", EQUIVALENT, ids=[c[0] for c in EQUIVALENT])
def test_equivalent_results_match(name, pred, ordered):
    assert results_match(pred, GOLD, ordered=ordered)
    assert partial_match(pred, GOLD, ordered=ordered) == 1.0


@pytest.mark.parametrize("name, pred, ordered", DIFFERENT, ids=[c[0] for c in DIFFERENT])
def test_different_results_do_not_match(name, pred, ordered):
    assert not results_match(pred, GOLD, ordered=ordered)
    assert 0.0 <= partial_match(pred, GOLD, ordered=ordered) < 1.0


def test_empty_results_and_single_values():
    assert results_match([], [])
    assert not results_match([], [(1,)]) and not results_match([(1,)], [])
    assert results_match([(3,)], [(3.0,)]) and not results_match([(3,)], [(4,)])
    assert results_match([(0.1 + 0.2,)], [(0.3,)])  # summed in another order by another database


def test_a_permutation_that_only_works_for_some_rows_is_rejected():
    gold = [(1, 1), (1, 2)]
    assert results_match([(1, 1), (2, 1)], gold)  # swap the columns: equal
    assert not results_match([(1, 1), (2, 2)], gold)


def test_partial_match_grows_as_the_result_gets_closer():
    gold = [(i, f"n{i}") for i in range(10)]
    wrong = [(99, "zz")]
    one_column = [(i,) for i in range(10)]
    half_rows = gold[:5]
    scores = [partial_match(p, gold) for p in (wrong, one_column, half_rows, gold)]
    assert scores == sorted(scores) and len(set(scores)) == 4
    assert scores[0] == 0.0 and scores[-1] == 1.0 and scores[-2] < 0.99 + 1e-12
