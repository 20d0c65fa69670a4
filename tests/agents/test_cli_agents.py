"""``densegym rollout`` / ``densegym eval`` with model agents, end to end in a subprocess, and agent specs.

The model is the tiny offline one, saved to disk and loaded by the command line itself (``hf:DIR``) or served
on 127.0.0.1 by densegym's OpenAI-compatible server in this process (``openai:URL#tiny``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from densegym.agents import OracleAgent, RandomAgent
from densegym.agents.spec import make_agent
from densegym.evaluate import episode_tokens
from densegym.trajectory import read_jsonl
from tests.helpers import require

ENV = "densegym/Sokoban-small-v0"
HAS_MODEL_LIBS = all(importlib.util.find_spec(m) for m in ("torch", "transformers"))


def need_model_libs() -> None:
    require(HAS_MODEL_LIBS, "torch and transformers", "pip install 'densegym[train]'")


def densegym(*args: str) -> subprocess.CompletedProcess:
    # one torch thread: the tiny model is faster on one, and the env workers need the other core
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run(
        [sys.executable, "-m", "densegym", *args], capture_output=True, text=True, timeout=180, env=env
    )


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    need_model_libs()
    from densegym.models import save_tiny

    return save_tiny(tmp_path_factory.mktemp("tiny") / "model")


def test_hf_rollout_writes_token_ids_and_the_models_logprobs(tiny_dir, tmp_path):
    out = tmp_path / "hf.jsonl"
    stdout = ok(densegym("rollout", ENV, "--agent", f"hf:{tiny_dir}", "--device", "cpu", "--episodes", "2",
                         "--group-size", "2", "--max-turns", "2", "--max-new-tokens", "8", "--out", str(out),
                         "--json"))
    summary = json.loads(stdout.strip().splitlines()[-1])
    trajs = list(read_jsonl(out))
    assert len(trajs) == 4 and summary["episodes"] == 4
    assert [t.seed for t in trajs] == [0, 0, 1, 1], "written in task order, each task played twice"
    assert trajs[0].task_id == trajs[1].task_id != trajs[2].task_id == trajs[3].task_id
    assert all(t.meta["agent"] == f"hf:{tiny_dir}" and len(t.turns) == 2 and t.truncated for t in trajs)
    turns = [u for t in trajs for u in t.turns]
    assert all(u.prompt_ids and 1 <= len(u.action_ids) <= 8 for u in turns)
    assert all(len(u.action_logprobs) == len(u.action_ids) for u in turns)
    assert summary["tokens"] == pytest.approx(sum(episode_tokens(t) for t in trajs) / 4)
    assert f"hf:{tiny_dir}" in stdout and "tokens" in stdout.splitlines()[1]

    # the recorded numbers are the saved model's own: recompute them teacher-forced in this process
    from densegym.agents.hf import HFAgent

    agent = HFAgent.from_pretrained(tiny_dir, device="cpu")
    again = agent.logprobs([u.prompt_ids for u in turns], [u.action_ids for u in turns])
    for u, recomputed in zip(turns, again):
        assert recomputed == pytest.approx(u.action_logprobs, abs=1e-4)
    # the prompt is the chat-templated first observation (full context: turn 2 also holds turn 1)
    assert turns[0].prompt_ids == agent.prompt_ids([{"role": "user", "content": turns[0].observation}])


@pytest.fixture(scope="module")
def chat_server():
    """densegym's OpenAI-compatible server on 127.0.0.1 answering with the tiny model."""
    need_model_libs()
    from densegym.agents.hf import HFAgent
    from densegym.agents.serve import ChatServer
    from densegym.models import build_tiny_model, build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer()
    with ChatServer(HFAgent(build_tiny_model(tokenizer), tokenizer), model_name="tiny") as server:
        assert server.url.startswith("http://127.0.0.1:")
        yield server


def test_eval_openai_against_a_local_server_matches_its_jsonl(chat_server, tmp_path):
    report_file, out = tmp_path / "eval.json", tmp_path / "eval.jsonl"
    stdout = ok(densegym("eval", ENV, "--agent", f"openai:{chat_server.url}#tiny", "--episodes", "3",
                         "--max-turns", "2", "--max-new-tokens", "6", "--context", "last_k:1",
                         "--json", str(report_file), "--out", str(out)))
    report = json.loads(report_file.read_text())
    assert {"env_id", "agent", "episodes", "success", "turns", "reward", "components", "tokens", "failed",
            "seconds", "seed", "group_size", "max_turns", "context"} <= set(report)
    trajs = list(read_jsonl(out))
    assert report["episodes"] == len(trajs) == 3 and report["failed"] == 0
    assert report["context"] == "last_k:1" and report["max_turns"] == 2
    assert report["success"] == sum(t.success for t in trajs) / 3
    assert report["turns"] == pytest.approx(sum(len(t.turns) for t in trajs) / 3)
    assert report["reward"] == pytest.approx(sum(t.total_reward for t in trajs) / 3)
    for name, value in report["components"].items():
        assert value == pytest.approx(sum(t.component_sums()[name] for t in trajs) / 3)
    # no token ids were asked for: the server's log-probs count the tokens
    assert all(u.action_ids is None and u.action_logprobs for t in trajs for u in t.turns)
    tokens = sum(len(u.action_logprobs) for t in trajs for u in t.turns) / 3
    assert report["tokens"] == pytest.approx(tokens) and 2 <= tokens <= 12
    assert f"wrote the metrics to {report_file}" in stdout
    row = next(line.split() for line in stdout.splitlines() if line.startswith("openai:"))
    assert row[1] == "3" and float(row[2]) == pytest.approx(report["success"], abs=1e-3)


def test_openai_rollout_with_token_ids_and_the_model_flag(chat_server, tmp_path):
    out = tmp_path / "ids.jsonl"
    ok(densegym("rollout", ENV, "--agent", f"openai:{chat_server.url}", "--model", "tiny", "--return-token-ids",
                "--episodes", "1", "--group-size", "2", "--max-turns", "1", "--max-new-tokens", "5",
                "--out", str(out)))
    trajs = list(read_jsonl(out))
    assert len(trajs) == 2 and trajs[0].task_id == trajs[1].task_id
    for u in (t.turns[0] for t in trajs):
        assert u.prompt_ids and 1 <= len(u.action_ids) <= 5 and len(u.action_logprobs) == len(u.action_ids)
    # the ids are the server model's own tokens: its tokenizer renders the same prompt
    assert trajs[0].turns[0].prompt_ids == chat_server.agent.prompt_ids(
        [{"role": "user", "content": trajs[0].turns[0].observation}])


def test_vllm_spec_without_vllm_names_the_extra():
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed: the missing-extra message cannot be seen here")
    proc = densegym("rollout", ENV, "--agent", "vllm:/models/some-model", "--episodes", "1")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "pip install 'densegym[vllm]'" in proc.stderr


def test_eval_of_the_oracle_and_its_json(tmp_path):
    report_file = tmp_path / "oracle.json"
    stdout = ok(densegym("eval", ENV, "--episodes", "3", "--seed", "5", "--json", str(report_file)))
    report = json.loads(report_file.read_text())
    assert report["agent"] == "oracle" and report["seed"] == 5 and report["episodes"] == 3
    assert report["success"] == 1.0 and report["tokens"] is None and report["failed"] == 0
    assert report["components"]["progress"] == pytest.approx(1.0)
    assert report["turns"] >= 1
    assert "tokens" not in stdout, "no tokens column for an agent that reports none"


@pytest.mark.parametrize(
    "args, message",
    [
        (("--agent", "gpt-4"), "unknown agent"),
        (("--agent", "hf:"), "needs a target"),
        (("--agent", "llama:/models/x"), "unknown agent kind 'llama'"),
        (("--agent", "openai:http://127.0.0.1:9/v1"), "needs a model name"),
        (("--agent", "openai:http://127.0.0.1:9/v1#a", "--model", "b"), "named twice"),
        (("--agent", "oracle", "--temperature", "0.5"), "takes only a seed, not temperature"),
        (("--agent", "openai:http://127.0.0.1:9/v1#m", "--device", "cpu"), "option not accepted"),
        (("--context", "last_k:x"), "last_k:K"),
    ],
)
def test_bad_agent_specs_exit_2_with_the_accepted_forms(args, message):
    proc = densegym("rollout", ENV, "--episodes", "1", *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    if "--agent" in args and "--context" not in args:
        assert "accepted forms: oracle, random, hf:PATH, openai:URL#MODEL" in proc.stderr


def test_a_missing_model_dir_exits_2_naming_it(tmp_path):
    need_model_libs()
    missing = tmp_path / "no-model-here"
    proc = densegym("eval", ENV, "--agent", f"hf:{missing}", "--episodes", "1")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert str(missing) in proc.stderr


def test_an_unreachable_server_exits_with_its_error_not_a_traceback(tmp_path):
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = densegym("rollout", ENV, "--agent", f"openai:http://127.0.0.1:{port}/v1#m", "--episodes", "1",
                    "--out", str(tmp_path / "none.jsonl"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "the agent failed" in proc.stderr and f"cannot reach http://127.0.0.1:{port}/v1" in proc.stderr


def test_make_agent_forms():
    assert isinstance(make_agent("oracle"), OracleAgent)
    random_agent = make_agent("random", seed=3, temperature=None)  # None options are dropped
    assert isinstance(random_agent, RandomAgent)
    assert random_agent.rng.integers(10**9) == RandomAgent(3).rng.integers(10**9)
    agent = make_agent("openai:http://127.0.0.1:8000/v1#Qwen/Qwen3-0.6B", temperature=0.0, max_new_tokens=16)
    assert (agent.base_url, agent.model, agent.temperature, agent.max_new_tokens) == (
        "http://127.0.0.1:8000/v1", "Qwen/Qwen3-0.6B", 0.0, 16)
    same = make_agent("openai:http://127.0.0.1:8000", model="Qwen/Qwen3-0.6B")
    assert (same.base_url, same.model) == ("http://127.0.0.1:8000/v1", "Qwen/Qwen3-0.6B")
    with pytest.raises(ValueError, match="http"):
        make_agent("openai:ftp://host#m")


def test_hf_spec_loads_the_saved_model(tiny_dir):
    agent = make_agent(f"hf:{tiny_dir}", device="cpu", temperature=0.0, max_new_tokens=5, seed=1)
    assert (type(agent).__name__, agent.temperature, agent.max_new_tokens, agent.seed) == ("HFAgent", 0.0, 5, 1)
    assert str(agent.device) == "cpu"
