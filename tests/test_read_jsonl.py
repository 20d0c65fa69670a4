"""`read_jsonl` says which line of which file is not a trajectory, and what is wrong with it."""

from __future__ import annotations

import json

import pytest

from densegym.trajectory import Trajectory, Turn, read_jsonl, write_jsonl


def record() -> dict:
    traj = Trajectory(env_id="densegym/Sokoban-v0", task_id="t0", seed=3, success=True, outcome=1.0,
                      turns=[Turn(observation="o", action="<action>up</action>", reward=0.5,
                                  components={"progress": 0.5}, action_ids=[1, 2], action_logprobs=[-0.1, -0.2])])
    return traj.to_dict()


def write(tmp_path, *lines: str):
    path = tmp_path / "t.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def problem(tmp_path, data) -> str:
    """The message for a file whose second line is ``data`` (the first is a good record)."""
    path = write(tmp_path, json.dumps(record()), json.dumps(data))
    with pytest.raises(ValueError) as info:
        list(read_jsonl(path))
    message = str(info.value)
    assert message.startswith(f"{path}:2: "), message
    return message.split(":2: ", 1)[1]


def test_a_good_file_reads_back(tmp_path):
    path = tmp_path / "t.jsonl"
    write_jsonl(path, [Trajectory(**{**record(), "turns": [Turn(**record()["turns"][0])]})])
    assert [t.to_dict() for t in read_jsonl(path)] == [record()]


@pytest.mark.parametrize("data, message", [
    ([1, 2], "a trajectory line is a JSON object, got list [1, 2]"),
    ("text", 'a trajectory line is a JSON object, got str "text"'),
    (None, "a trajectory line is a JSON object, got NoneType null"),
])
def test_lines_that_are_json_but_not_objects(tmp_path, data, message):
    assert problem(tmp_path, data) == message


def test_field_types_of_the_trajectory(tmp_path):
    assert problem(tmp_path, {**record(), "success": "yes"}) == "trajectory field 'success' must be true or false, got str \"yes\""
    assert problem(tmp_path, {**record(), "seed": 1.5}) == "trajectory field 'seed' must be an integer or null, got float 1.5"
    assert problem(tmp_path, {**record(), "turns": {}}).startswith("trajectory field 'turns' must be a list")
    assert problem(tmp_path, {**record(), "meta": []}) == "trajectory field 'meta' must be an object, got list []"
    assert problem(tmp_path, {k: v for k, v in record().items() if k != "task_id"}) == \
        "missing trajectory fields ['task_id']"
    assert problem(tmp_path, {**record(), "reward": 1}).startswith("unknown trajectory fields ['reward']; the fields are env_id, ")


def test_field_types_of_a_turn(tmp_path):
    def with_turn(**changes):
        data = record()
        data["turns"] = [{**data["turns"][0], **changes}]
        return data

    assert problem(tmp_path, with_turn(reward="1")) == "turn 0: turn field 'reward' must be a number, got str \"1\""
    assert problem(tmp_path, with_turn(components={"progress": "x"})).startswith(
        "turn 0: turn field 'components' must be an object of numbers")
    assert problem(tmp_path, with_turn(action_ids=[1, "2"])).startswith(
        "turn 0: turn field 'action_ids' must be a list of integers or null")
    assert problem(tmp_path, with_turn(action_valid=1)) == "turn 0: turn field 'action_valid' must be true or false, got int 1"
    data = record()
    data["turns"] = ["up"]
    assert problem(tmp_path, data) == 'turn 0: a turn is a JSON object, got str "up"'
    data["turns"] = [{"action": "up"}]
    assert problem(tmp_path, data) == "turn 0: missing turn fields ['components', 'observation', 'reward']"


def test_a_bad_json_line_names_its_line_and_the_error(tmp_path):
    path = write(tmp_path, json.dumps(record()), "{not json", json.dumps(record()))
    with pytest.raises(ValueError, match=rf"^{path}:2: not a JSON line \(Expecting property name .* at column 2\)$"):
        list(read_jsonl(path))
