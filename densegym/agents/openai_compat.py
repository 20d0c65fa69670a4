"""``OpenAIAgent``: any OpenAI-compatible chat server (vLLM serve, SGLang, TGI, llama.cpp, OpenAI itself).

Standard library only (``urllib`` + a thread pool), so it adds no dependency to the core package.

One ``POST {base_url}/chat/completions`` per conversation, at most ``max_concurrency`` in flight per agent
(shared by concurrent ``act`` calls). Failures that may pass (HTTP 408, 409, 425, 429 and 5xx, refused or
reset connections, timeouts) are retried up to ``max_retries`` times with exponential backoff and full
jitter, honouring ``Retry-After``; other HTTP errors (400, 401, 404, 422 ...) fail at once. Either way the
caller gets an :class:`AgentError` that carries the server's own message.

Tokens: with ``logprobs=True`` (the default) the server is asked for ``logprobs`` and
``action_logprobs`` holds its per-token numbers as returned (vLLM: the raw policy at temperature 1, as
:class:`~densegym.agents.hf.HFAgent`). Token ids are not part of the OpenAI schema; with
``return_token_ids=True`` the vLLM extensions ``return_token_ids`` and ``return_tokens_as_token_ids`` are
requested and ``prompt_ids`` / ``action_ids`` are filled from ``prompt_token_ids``, ``choices[0].token_ids``
or ``token_id:N`` logprob tokens, whichever the server returns. A server that returns none leaves them
``None``.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from densegym.agents.base import AgentError, AgentOutput, Conversation

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class _Retryable(Exception):
    """A failure worth another attempt; ``retry_after`` is the server's hint in seconds, if any."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def server_message(body: bytes, limit: int = 500) -> str:
    """The error text of an OpenAI-style error body (``{"error": {"message": ...}}``, vLLM's
    ``{"message": ...}``), or the body itself, shortened."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:limit] or "(empty body)"
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:limit]
        if isinstance(error, str):
            return error[:limit]
    return text[:limit]


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:  # an HTTP date: fall back to our own backoff
        return None


def _as_ids(values: Any) -> list[int] | None:
    if isinstance(values, list) and all(isinstance(v, int) for v in values):
        return values
    return None


class OpenAIAgent:
    """Acts through an OpenAI-compatible ``/v1/chat/completions`` endpoint.

    ``base_url`` is what the ``openai`` client takes, e.g. ``http://127.0.0.1:8000/v1`` (a bare
    ``http://host:port`` gets ``/v1``). ``api_key`` is sent as a bearer token when given. ``timeout`` bounds
    each connect and each read of one attempt, in seconds. ``seed`` makes requests reproducible on servers
    that honour it: request ``i`` of call ``k`` carries a seed derived from ``(seed, k, i)``, so identical
    conversations in one batch (a GRPO group) still get independent samples. ``extra_body`` is merged into
    every request (``{"top_k": 20}``, ``{"chat_template_kwargs": {...}}``). ``max_new_tokens`` (the name
    the other agents use) is sent as ``max_tokens``, which vLLM, SGLang, TGI and llama.cpp all accept.
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int | None = None,
        logprobs: bool = True,
        return_token_ids: bool = False,
        max_concurrency: int = 8,
        max_retries: int = 3,
        timeout: float = 60.0,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        system_prompt: str | None = None,
        extra_body: dict[str, Any] | None = None,
    ):
        if max_concurrency < 1 or max_retries < 0 or timeout <= 0:
            raise ValueError("need max_concurrency >= 1, max_retries >= 0 and timeout > 0")
        parsed = urllib.parse.urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"base_url must be an http(s) URL like http://127.0.0.1:8000/v1, got {base_url!r}")
        base = base_url.rstrip("/")
        self.base_url = base if parsed.path.strip("/") else base + "/v1"
        self.model = model
        self.api_key = api_key
        self.max_new_tokens = int(max_new_tokens)
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.seed = seed
        self.logprobs = bool(logprobs)
        self.return_token_ids = bool(return_token_ids)
        self.max_concurrency = int(max_concurrency)
        self.max_retries = int(max_retries)
        self.timeout = float(timeout)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.system_prompt = system_prompt
        self.extra_body = dict(extra_body or {})
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self._calls = 0
        self._lock = threading.Lock()

    # ---- requests -----------------------------------------------------------------------------

    def request_body(self, conversation: Conversation, seed: int | None = None) -> dict[str, Any]:
        """The JSON body sent for one conversation."""
        messages = [{"role": m["role"], "content": m["content"]} for m in conversation]
        if self.system_prompt and (not messages or messages[0]["role"] != "system"):
            messages.insert(0, {"role": "system", "content": self.system_prompt})
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "n": 1,
        }
        if seed is not None:
            body["seed"] = seed
        if self.logprobs:
            body["logprobs"] = True
        if self.return_token_ids:
            body["return_token_ids"] = True
            body["return_tokens_as_token_ids"] = True
        body.update(self.extra_body)
        return body

    def _post_once(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(
            self.base_url + "/chat/completions", data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            try:
                detail = e.read() or b""
            except (OSError, http.client.HTTPException):  # the error body itself timed out or broke off
                detail = b""
            message = f"HTTP {e.code} from {self.base_url}: {server_message(detail)}"
            if e.code in RETRY_STATUS or e.code >= 500:
                raise _Retryable(message, _retry_after(e.headers)) from None
            raise AgentError(message) from None
        except (TimeoutError, socket.timeout) as e:
            raise _Retryable(f"no answer from {self.base_url} within timeout={self.timeout}s ({e})") from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, (TimeoutError, socket.timeout)):
                raise _Retryable(f"no answer from {self.base_url} within timeout={self.timeout}s") from None
            raise _Retryable(f"cannot reach {self.base_url}: {e.reason}") from None
        except (ConnectionError, http.client.HTTPException) as e:
            raise _Retryable(f"connection to {self.base_url} failed: {e!r}") from None
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise TypeError(type(data).__name__)
            return data
        except (ValueError, TypeError):
            raise AgentError(f"{self.base_url} answered with something not a JSON object: {raw[:200]!r}") from None

    def complete(self, conversation: Conversation, seed: int | None = None) -> AgentOutput:
        """One conversation, with retries; raises :class:`AgentError` when every attempt failed."""
        body = self.request_body(conversation, seed)
        last: _Retryable | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                # full jitter: a crowd of clients does not retry in lockstep
                delay = random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))
                if last is not None and last.retry_after is not None:
                    delay = min(self.max_backoff, last.retry_after)
                time.sleep(delay)
            try:
                with self._slots:
                    data = self._post_once(body)
            except _Retryable as e:
                last = e
                continue
            return self.parse_response(data)
        attempts = self.max_retries + 1
        raise AgentError(f"{last} (gave up after {attempts} attempt{'s' if attempts > 1 else ''})")

    def parse_response(self, data: dict[str, Any]) -> AgentOutput:
        """An :class:`AgentOutput` from a chat-completion JSON object (first choice)."""
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise AgentError(f"{self.base_url} answered without choices: {json.dumps(data)[:300]}")
        choice = choices[0]
        text = (choice.get("message") or {}).get("content") or ""
        content = (choice.get("logprobs") or {}).get("content") or None
        numbers = [c.get("logprob") if isinstance(c, dict) else None for c in content or ()]
        complete = bool(numbers) and all(isinstance(x, (int, float)) for x in numbers)
        logprobs = [float(x) for x in numbers] if complete else None
        action_ids = _as_ids(choice.get("token_ids"))
        if action_ids is None and logprobs and all(str(c.get("token", "")).startswith("token_id:") for c in content):
            action_ids = [int(c["token"].split(":", 1)[1]) for c in content]
        if action_ids is not None and logprobs is not None and len(action_ids) != len(logprobs):
            logprobs = None  # misaligned numbers would poison a trainer; better none
        return AgentOutput(text, _as_ids(data.get("prompt_token_ids")), action_ids, logprobs)

    # ---- acting -------------------------------------------------------------------------------

    def act(self, conversations: Sequence[Conversation]) -> list[AgentOutput]:
        """One output per conversation, in order; :class:`AgentError` if any conversation failed."""
        if not conversations:
            return []
        with self._lock:
            call = self._calls
            self._calls += 1
        seeds = [
            None if self.seed is None else (self.seed * 1_000_003 + call * 10_007 + i) % 2**31
            for i in range(len(conversations))
        ]
        workers = min(self.max_concurrency, len(conversations))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai-agent") as pool:
            futures = [pool.submit(self.complete, c, s) for c, s in zip(conversations, seeds)]
            errors = [(i, f.exception()) for i, f in enumerate(futures) if f.exception() is not None]
        if errors:
            i, first = errors[0]
            raise AgentError(f"{len(errors)} of {len(conversations)} requests failed; conversation {i}: {first}")
        return [f.result() for f in futures]
