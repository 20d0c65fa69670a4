"""WebForms-v0: the schemas' validation and tasks, and (with real Chromium) the oracle, validation errors,
dependent fields, dialogs and isolated sessions."""

from __future__ import annotations

import pytest

from tests.envs.web.conftest import need_web_extra

need_web_extra()

from densegym.envs.web.forms import SCHEMAS, form_score, make_form_goal, parse_form_task_id, validate  # noqa: E402


def test_every_goal_passes_the_server_validation():
    for name, schema in SCHEMAS.items():
        for seed in range(30):
            goal = make_form_goal(name, seed)
            values = dict(goal.values)
            assert all(validate(schema, i, values) == {} for i in range(len(schema.pages))), (goal, values)
            assert make_form_goal(name, seed) == goal and parse_form_task_id(goal.task_id) == (name, seed)
            assert form_score(goal, values) == 1.0 and form_score(goal, None) == 0.0


def test_validation_rules():
    booking, appointment = SCHEMAS["booking"], SCHEMAS["appointment"]
    errors = validate(booking, 0, {"trip_type": "round trip", "origin": "Oslo", "destination": "Oslo",
                                   "depart": "2026-03-10", "return_date": "2026-03-01"})
    assert errors == {"destination": "From and To must differ.",
                      "return_date": "Return date cannot be before the departure date."}
    assert "return_date" not in validate(booking, 0, {"trip_type": "one way"})  # hidden: not validated
    assert validate(booking, 0, {"depart": "2025-12-31"})["depart"] == "Departure date cannot be before 2026-01-05."
    assert validate(booking, 1, {"email": "nope", "passengers": "9"})["email"] == "Enter a valid email address."
    assert validate(appointment, 0, {"date": "2026-01-10"})["date"] == "Appointments are on weekdays only."
    assert "doctor" in validate(appointment, 0, {"department": "Cardiology", "doctor": "Dr. Lena Berg"})


def test_bad_task_id():
    with pytest.raises(ValueError, match="forms:SCHEMA:TASK_SEED"):
        parse_form_task_id("forms:nope:1")


@pytest.fixture
def make_forms(make_env):
    return lambda **kwargs: make_env(forms=True, **kwargs)


def solve(env, max_steps=40):
    total, info = 0.0, {}
    for _ in range(max_steps):
        obs, _, terminated, truncated, info = env.step(env.oracle_action())
        total += info["reward_components"]["subgoals"]
        if terminated or truncated:
            break
    return total, info, obs


@pytest.mark.parametrize("task", ["forms:booking:1", "forms:settings:2", "forms:appointment:3"])
def test_oracle_submits_every_form_right(make_forms, task):
    env = make_forms()
    env.reset(options={"task": task})
    phi0 = env.state_view().progress
    total, info, obs = solve(env)
    assert info["outcome"] == 1.0 and info["success"], obs[:400]
    assert total == pytest.approx(1.0 - phi0)
    assert "Form submitted (score 1.00)" in obs and "Thank you" in obs


def test_validation_errors_dependent_fields_and_the_dialog(make_forms):
    env = make_forms()
    obs, _ = env.reset(options={"task": "forms:booking:1"})
    assert "Return date" not in obs  # shown only for round trips
    obs, _, _, _, info = env.step(f'<action>click("{env.tab.bid_of("#next")}")</action>')
    assert info["action_valid"] and "Please correct the following" in obs and "From is required." in obs
    assert env.state_view().pages == (False, False)
    obs, *_ = env.step(f'<action>click("{env.tab.bid_of("#f-trip_type-1")}")</action>')
    assert "Return date" in obs
    # the settings form: the time zones follow the region
    env.reset(options={"task": "forms:settings:0"})
    obs, *_ = env.step(f'<action>select_option("{env.tab.bid_of("#f-region")}", "Asia")</action>')
    assert "option 'Asia/Tokyo'" in obs and "Europe/Berlin" not in obs
    assert env._form()["draft"]["region"] == "Asia"  # saved as a draft on the server
    # a confirmation dialog that is cancelled submits nothing; the oracle then finishes
    env.reset(options={"task": "forms:appointment:3"})
    while "review" not in env._path():
        env.step(env.oracle_action())
    env.step(f'<action>click("{env.tab.bid_of("#open-submit")}")</action>')
    obs, _, terminated, _, _ = env.step(f'<action>click("{env.tab.bid_of("#cancel-submit")}")</action>')
    assert not terminated and env._form()["submitted"] is None and "dialog" not in obs.split("Accessibility tree")[1]
    _, info, _ = solve(env)
    assert info["outcome"] == 1.0


def test_concurrent_form_sessions_are_separate(make_forms):
    a, b = make_forms(), make_forms()
    a.reset(options={"task": "forms:booking:5"})
    b.reset(options={"task": "forms:booking:5"})
    for _ in range(3):
        a.step(a.oracle_action())
    assert a._form()["draft"] and b._form()["draft"] == {}
    assert b.state_view() != a.state_view()


def test_forms_random_actions_never_crash_and_same_seed_same_rewards(make_forms):
    import numpy as np

    env = make_forms()
    rng = np.random.default_rng(1)
    env.reset(seed=3)
    for _ in range(12):
        obs, reward, terminated, truncated, info = env.step(env.random_action(rng))
        assert isinstance(obs, str) and np.isfinite(reward)
        if terminated or truncated:
            break
    runs = []
    for _ in range(2):
        env.reset(seed=8)
        rewards = []
        for _ in range(40):
            _, reward, terminated, truncated, info = env.step(env.oracle_action())
            rewards.append((reward, info["anchor"]))
            if terminated or truncated:
                break
        runs.append(rewards)
    assert runs[0] == runs[1] and info["outcome"] == 1.0
