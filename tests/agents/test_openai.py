"""OpenAIAgent against real HTTP servers on 127.0.0.1: the tiny model behind densegym's OpenAI-compatible
server, and the same server with faults injected (a 500 then success, a client error, a hang, a closed port).

The fault handlers are stand-ins for a misbehaving server and are used for those error paths only; every
successful answer comes from the real model.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.request

import pytest

pytest.importorskip("torch", reason="needs the train extra: pip install 'densegym[train]'")
pytest.importorskip("transformers", reason="needs the train extra: pip install 'densegym[train]'")

from densegym.agents import AgentError, OpenAIAgent  # noqa: E402
from densegym.agents.hf import HFAgent  # noqa: E402
from densegym.agents.serve import ChatHandler, ChatServer  # noqa: E402

TOL = 1e-4


@pytest.fixture(scope="module")
def hf_agent(tiny_model, tiny_tokenizer):
    return HFAgent(tiny_model, tiny_tokenizer, max_new_tokens=12)


def serve(hf_agent, handler=ChatHandler):
    return ChatServer(hf_agent, model_name="tiny", handler=handler)


@pytest.fixture
def server(hf_agent):
    with serve(hf_agent) as s:
        yield s


def test_completions_come_from_the_model_with_matching_logprobs(server, hf_agent, sokoban_conversations):
    agent = OpenAIAgent(server.url, "tiny", max_new_tokens=12, seed=3, return_token_ids=True, max_concurrency=2)
    outs = agent.act(sokoban_conversations)
    assert len(outs) == len(sokoban_conversations)
    for o, conv in zip(outs, sokoban_conversations):
        assert o.prompt_ids == hf_agent.prompt_ids(conv)
        assert 1 <= len(o.action_ids) == len(o.action_logprobs) <= 12
        assert o.text == hf_agent.tokenizer.decode(o.action_ids, skip_special_tokens=True)
    recomputed = hf_agent.logprobs([o.prompt_ids for o in outs], [o.action_ids for o in outs])
    gaps = [abs(a - b) for o, r in zip(outs, recomputed) for a, b in zip(o.action_logprobs, r, strict=True)]
    assert max(gaps) < TOL
    # the same seed asks the server for the same samples
    again = OpenAIAgent(server.url, "tiny", max_new_tokens=12, seed=3).act(sokoban_conversations)
    assert [o.text for o in again] == [o.text for o in outs]
    # without token ids (plain OpenAI schema) the log-probs still arrive, the ids do not
    assert again[0].action_ids is None and again[0].prompt_ids is None
    assert again[0].action_logprobs == pytest.approx(outs[0].action_logprobs, abs=TOL)
    # with vLLM's return_tokens_as_token_ids alone, the ids are read from the "token_id:N" logprob tokens
    as_tokens = OpenAIAgent(
        server.url, "tiny", max_new_tokens=12, seed=3, extra_body={"return_tokens_as_token_ids": True}
    )
    assert [o.action_ids for o in as_tokens.act(sokoban_conversations)] == [o.action_ids for o in outs]
    group = OpenAIAgent(server.url, "tiny", max_new_tokens=6, seed=3).act([sokoban_conversations[0]] * 3)
    assert len({o.text for o in group}) == 3, "a GRPO group of one prompt gets independent samples"


def test_models_endpoint_and_bare_base_url(server):
    with urllib.request.urlopen(server.url + "/models", timeout=5) as r:
        assert json.load(r)["data"][0]["id"] == "tiny"
    bare = server.url.removesuffix("/v1")
    agent = OpenAIAgent(bare, "tiny", max_new_tokens=4, logprobs=False)
    assert agent.base_url == server.url
    [out] = agent.act([[{"role": "user", "content": "<action>up</action>"}]])
    assert isinstance(out.text, str) and out.action_logprobs is None


class FailingFirst(ChatHandler):
    """Answers the first ``failures`` chat requests with ``status`` (HTTP 503 by default), then serves normally."""

    failures = 1
    status = 503
    reply_headers: dict[str, str] = {}
    lock = threading.Lock()
    seen = 0

    def do_POST(self):  # noqa: N802
        with self.lock:
            type(self).seen += 1
            failing = type(self).seen <= self.failures
        if failing:
            self.read_json()
            self.send_error_json(self.status, "the model worker crashed (injected)", self.reply_headers)
        else:
            super().do_POST()


class RateLimitedFirst(FailingFirst):
    """A 429 once, asking the client to wait 10 ms (``retry-after-ms``, which the openai client honours)."""

    status = 429
    reply_headers = {"retry-after-ms": "10"}


class AlwaysFailing(FailingFirst):
    """Every chat request answers HTTP 500."""

    failures = 10**9
    status = 500


@pytest.mark.parametrize("handler", [FailingFirst, RateLimitedFirst])
def test_server_errors_are_retried_then_succeed(hf_agent, handler):
    handler.seen = 0
    with serve(hf_agent, handler) as s:
        with OpenAIAgent(s.url, "tiny", max_new_tokens=4, max_retries=3) as agent:
            [out] = agent.act([[{"role": "user", "content": "hi"}]])
    assert handler.seen == 2, "one failed attempt, then one that succeeded"
    assert out.action_logprobs is not None and 1 <= len(out.action_logprobs) <= 4


def test_server_errors_past_retries_give_the_status_and_the_servers_message(hf_agent):
    AlwaysFailing.seen = 0
    with serve(hf_agent, AlwaysFailing) as s:
        agent = OpenAIAgent(s.url, "tiny", max_new_tokens=4, max_retries=1)
        with pytest.raises(AgentError) as caught:
            agent.act([[{"role": "user", "content": "hi"}]])
        agent.close()
    message = str(caught.value)
    assert re.search(r"HTTP 500 from http://127\.0\.0\.1:\d+/v1: the model worker crashed \(injected\)", message)
    assert "gave up after 2 attempts" in message and "\n" not in message, message
    assert AlwaysFailing.seen == 2


class Counting(ChatHandler):
    """The real server, counting the chat requests it gets."""

    seen = 0

    def do_POST(self):  # noqa: N802
        type(self).seen += 1
        super().do_POST()


def test_client_errors_fail_at_once_with_the_servers_message(hf_agent):
    Counting.seen = 0
    with serve(hf_agent, Counting) as s:
        bad_role = OpenAIAgent(s.url, "tiny", max_retries=5)
        with pytest.raises(AgentError, match=r"HTTP 400 .*each message needs a role"):
            bad_role.act([[{"role": "robot", "content": "hi"}]])
        assert Counting.seen == 1, "a 400 is not retried"
        wrong_model = OpenAIAgent(s.url, "gpt-9", max_retries=5)
        with pytest.raises(AgentError, match=r"HTTP 404 .*The model `gpt-9` does not exist"):
            wrong_model.act([[{"role": "user", "content": "hi"}]])
        assert Counting.seen == 2
        hot = OpenAIAgent(s.url, "tiny", temperature=-1.0, max_retries=5)
        with pytest.raises(AgentError, match=r"HTTP 400 .*temperature >= 0"):
            hot.act([[{"role": "user", "content": "hi"}]])
        assert Counting.seen == 3


class Hanging(ChatHandler):
    """Reads the request and never answers (until the test releases it at teardown)."""

    release = threading.Event()
    seen = 0

    def do_POST(self):  # noqa: N802
        type(self).seen += 1
        self.read_json()
        self.release.wait(timeout=30)  # bounded: the fixture sets it; this is a backstop


def test_a_hanging_server_times_out_into_an_agent_error(hf_agent):
    Hanging.seen = 0
    Hanging.release.clear()
    s = serve(hf_agent, Hanging).start()
    try:
        agent = OpenAIAgent(s.url, "tiny", timeout=0.3, max_retries=1)
        with pytest.raises(AgentError, match=r"no answer .* within timeout=0.3s.*2 attempts"):
            agent.act([[{"role": "user", "content": "hi"}]])
        assert Hanging.seen == 2, "a timeout is retried once, then given up"
    finally:
        Hanging.release.set()
        s.stop()


def test_a_closed_port_is_a_clear_connection_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    agent = OpenAIAgent(f"http://127.0.0.1:{port}/v1", "tiny", max_retries=2, timeout=2)
    with pytest.raises(AgentError, match=r"cannot reach http://127.0.0.1:\d+/v1: Connection refused.*3 attempts"):
        agent.act([[{"role": "user", "content": "hi"}]])


class Recording(ChatHandler):
    """The real server, recording each chat request's client port and Authorization header."""

    requests: list[tuple[int, str | None]] = []

    def do_POST(self):  # noqa: N802
        type(self).requests.append((self.client_address[1], self.headers.get("Authorization")))
        super().do_POST()


def test_connections_are_kept_open_and_the_api_key_is_sent(hf_agent):
    Recording.requests = []
    with serve(hf_agent, Recording) as s:
        with OpenAIAgent(s.url, "tiny", api_key="sk-test", max_new_tokens=2, max_concurrency=1) as agent:
            for i in range(3):
                [out] = agent.act([[{"role": "user", "content": f"turn {i}"}]])
                assert out.action_logprobs
        # after close() the next call opens a new connection (and a new event loop)
        agent.act([[{"role": "user", "content": "again"}]])
        agent.close()
    ports = [port for port, _ in Recording.requests]
    assert len(ports) == 4 and len(set(ports[:3])) == 1, f"one kept-alive connection for the first three: {ports}"
    assert ports[3] != ports[0]
    assert {auth for _, auth in Recording.requests} == {"Bearer sk-test"}


class Slow(ChatHandler):
    """The real server, recording how many requests it holds at once (each is held a little longer).

    A request stops counting just before its answer is written: the client can only start its next
    request after reading that answer, so the count never overlaps the client's own hand-over.
    """

    lock = threading.Lock()
    inflight = 0
    peak = 0

    def do_POST(self):  # noqa: N802
        with self.lock:
            type(self).inflight += 1
            type(self).peak = max(type(self).peak, type(self).inflight)
        time.sleep(0.05)
        super().do_POST()

    def send_json(self, status, payload, headers=None):
        with self.lock:
            type(self).inflight -= 1
        super().send_json(status, payload, headers)


def test_concurrency_is_limited(hf_agent):
    Slow.inflight = Slow.peak = 0
    with serve(hf_agent, Slow) as s:
        agent = OpenAIAgent(s.url, "tiny", max_new_tokens=3, max_concurrency=2, seed=0)
        outs = agent.act([[{"role": "user", "content": f"turn {i}"}] for i in range(6)])
    assert len(outs) == 6 and all(o.action_logprobs for o in outs)
    assert 1 <= Slow.peak <= 2


def test_one_failed_conversation_fails_the_call_and_names_it(server):
    agent = OpenAIAgent(server.url, "tiny", max_new_tokens=3, max_retries=0)
    convs = [[{"role": "user", "content": "fine"}], [{"role": "nobody", "content": "bad"}]]
    with pytest.raises(AgentError, match=r"1 of 2 requests failed; conversation 1: HTTP 400"):
        agent.act(convs)


def test_bad_configuration_is_rejected():
    with pytest.raises(ValueError, match="base_url"):
        OpenAIAgent("127.0.0.1:8000", "m")
    with pytest.raises(ValueError, match="max_concurrency"):
        OpenAIAgent("http://127.0.0.1:8000/v1", "m", max_concurrency=0)


def test_serve_command_answers_an_openai_agent():
    """``python -m densegym.agents.serve --port 0`` in its own process, queried over HTTP, then stopped."""
    import re
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "densegym.agents.serve", "--port", "0", "--device", "cpu"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        lines = []
        for _ in range(50):  # bounded: warnings may precede the banner
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("serving"):
                break
        match = re.search(r"at (http://127\.0\.0\.1:\d+/v1)", lines[-1] if lines else "")
        assert match, "".join(lines)
        [out] = OpenAIAgent(match.group(1), "tiny", max_new_tokens=4, seed=0, timeout=30).act(
            [[{"role": "user", "content": "<action>up</action>"}]]
        )
        assert out.action_logprobs and all(lp <= 0 for lp in out.action_logprobs)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
