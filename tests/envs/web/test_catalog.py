"""The generated catalog, its WebShop-style goals and WebShop's purchase score."""

from __future__ import annotations

import pytest

from tests.envs.web.conftest import need_web_extra

need_web_extra()

from densegym.envs.web.catalog import generate, make_goal, matches, parse_task_id, score  # noqa: E402


def test_catalog_is_large_and_seeded():
    a, b, c = generate(0, 1200), generate(0, 1200), generate(1, 1200)
    assert len(a) == 1200 and [p.pid for p in a.products] == list(range(1, 1201))
    assert a == b and a.products != c.products
    assert len({p.title for p in a.products}) > 500
    for p in a.products[:50]:
        assert 2 <= len(p.attributes) <= 4 and p.price > 0 and all(len(v) >= 2 for _, v in p.options)


def test_goal_target_scores_one_and_others_less():
    catalog = generate(0, 1200)
    for seed in range(20):
        goal = make_goal(catalog, seed)
        target = catalog.get(goal.target)
        assert matches(goal, target)
        assert score(goal, target, dict(goal.options)) == 1.0
        axis, value = goal.options[0]
        wrong = next(v for v in target.option_values(axis) if v != value)
        assert score(goal, target, {**dict(goal.options), axis: wrong}) < 1.0
        other = next(p for p in catalog.products if p.category != goal.category)
        assert 0.0 <= score(goal, other, dict(goal.options)) <= 0.1
        assert score(goal, None, {}) == 0.0
        assert parse_task_id(goal.task_id) == (0, 1200, seed) and make_goal(catalog, seed) == goal


def test_bad_task_id():
    with pytest.raises(ValueError, match="shop:CATALOG_SEED"):
        parse_task_id("nope")
