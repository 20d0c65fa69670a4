"""The Search-R1 retrieval API: densegym's server over a real bm25s index, the HTTP client against it, and the
env when the server is down, slow or answers nonsense (a clear observation, the episode failed, no hang)."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request

import pytest

from densegym.envs.search.remote import HTTPRetriever, serve_retriever
from densegym.envs.search.retrievers import RetrieverError


@pytest.fixture
def local(env):
    """The small world's bm25s retriever, served on a free local port."""
    with serve_retriever(env.retriever) as server:
        yield env, server


def _post(url, payload):
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_server_speaks_the_search_r1_api(local):
    env, server = local
    query = env.resolve_task(0).oracle_queries[0]
    status, body = _post(server.url, {"queries": [query, "nothing here at all"], "topk": 2, "return_scores": True})
    assert status == 200 and len(body["result"]) == 2
    first = body["result"][0][0]
    assert set(first) == {"document", "score"} and first["document"]["contents"].startswith(f'"{query}"\n')
    status, body = _post(server.url, {"queries": [query], "topk": 2})
    assert status == 200 and set(body["result"][0][0]) == {"id", "contents"}  # without scores: documents alone
    status, body = _post(server.url, {"query": query, "topk": 3, "return_scores": True})  # SkyRL-gym's request
    assert status == 200 and len(body["result"]) == 1 and body["result"][0][0]["document"]["id"] == env.resolve_task(0).gold_docs[0]
    for bad in ({"queries": 7}, {"queries": [1, 2]}, {"queries": ["q"], "topk": -3}, [1], {"other": "key"}):
        status, body = _post(server.url, bad)
        assert status == 400 and body["error"]
    status, body = _post(server.url.replace("/retrieve", "/other"), {"queries": ["q"]})
    assert status == 404


def test_the_client_returns_what_the_local_retriever_returns(local):
    env, server = local
    client = HTTPRetriever(server.url.removesuffix("/retrieve"))  # the base URL works too
    queries = [env.resolve_task(i).question for i in range(8)]
    remote, direct = client.search(queries, 5), env.retriever.search(queries, 5)
    assert [[h.doc_id for h in row] for row in remote] == [[h.doc_id for h in row] for row in direct]
    assert remote[0][0].title == direct[0][0].title and remote[0][0].text == direct[0][0].text
    assert remote[0][0].score == pytest.approx(direct[0][0].score)
    client.close()


def test_the_env_over_the_http_retriever_plays_the_oracle(local, make_env):
    _, server = local
    env = make_env(retriever=server.url)
    env.reset(options={"task": 2})
    while True:
        _, _, term, trunc, info = env.step(env.oracle_action())
        if term or trunc:
            break
    assert info["f1"] == 1.0 and "failed" not in info


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_server_that_is_down_fails_the_episode_with_a_clear_message(make_env):
    url = f"http://127.0.0.1:{_free_port()}/retrieve"  # nothing listens there
    env = make_env(retriever=HTTPRetriever(url, timeout=5, retries=1))
    env.reset(options={"task": 0})
    obs, reward, term, trunc, info = env.step("<search>anything</search>")
    assert term and not trunc and "Search failed" in obs and "is not reachable" in obs and url in obs
    assert info["failed"].startswith("retriever:") and info["outcome"] == 0.0 and not info["success"]
    assert info["action_valid"] and info["reward_components"]["format"] == 0.0  # not the agent's fault


class _Slow:
    """A real retriever behind a gate: each search waits until the test opens it (an error-path stand-in for a
    server that stalls)."""

    def __init__(self, inner):
        self.inner, self.gate = inner, threading.Event()

    def search(self, queries, k):
        self.gate.wait(60)
        return self.inner.search(queries, k)


def test_a_slow_server_times_out_instead_of_hanging(env, make_env):
    slow = _Slow(env.retriever)
    with serve_retriever(slow) as server:
        try:
            other = make_env(retriever=HTTPRetriever(server.url, timeout=0.5))
            other.reset(options={"task": 1})
            started = time.monotonic()
            obs, _, term, _, info = other.step("<search>anything</search>")
            waited = time.monotonic() - started
            assert term and "did not answer within 0.5 s" in obs and info["failed"]
            assert waited < 30  # bounded by the client's deadline, not by the stalled server (60 s)
        finally:
            slow.gate.set()


def test_a_server_that_answers_nonsense_or_errors():
    class Broken:  # error-path stand-ins for a broken server-side retriever
        def search(self, queries, k):
            raise MemoryError("index gone")

    class Short:
        def search(self, queries, k):
            return []

    with serve_retriever(Broken()) as server:
        with pytest.raises(RetrieverError, match="HTTP 500: .*MemoryError: index gone"):
            HTTPRetriever(server.url, timeout=5).search(["q"], 3)
    with serve_retriever(Short()) as server:
        with pytest.raises(RetrieverError, match="one entry per query"):
            HTTPRetriever(server.url, timeout=5).search(["q"], 3)
    with pytest.raises(ValueError, match="not an http"):
        HTTPRetriever("ftp://example.org")


@pytest.mark.parametrize("command", [["densegym", "serve-retriever"], ["densegym.envs.search.remote"]])
def test_serve_retriever_command_serves_a_world_until_stopped(search_cache, command):
    import subprocess
    import sys

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", *command, "--num-docs", "3000", "--port", str(port), "--cache-dir", str(search_cache)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving bm25 over Corpus(") and f"127.0.0.1:{port}/retrieve" in line
        hits = HTTPRetriever(f"http://127.0.0.1:{port}", timeout=10).search(["Upper", "Lower"], 2)
        assert len(hits) == 2 and all(len(row) == 2 for row in hits)
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) is not None
