"""``OpenAIAgent``: any OpenAI-compatible chat server (vLLM serve, SGLang, TGI, llama.cpp, OpenAI itself).

Built on the ``openai`` client library (the ``openai`` extra: ``pip install 'densegym[openai]'``): its
``AsyncOpenAI`` client sends the requests, keeps the connections open between them, and retries what may
pass (HTTP 408, 409, 429 and 5xx, refused or reset connections, timeouts) up to ``max_retries`` times with
exponential backoff and jitter, honouring ``Retry-After``. Other HTTP errors (400, 401, 404, 422 ...) fail at
once. Either way the caller gets an :class:`AgentError` with a one-line reason: the status and the server's
own message, or why the server could not be reached.

One ``POST {base_url}/chat/completions`` per conversation; the conversations of an ``act`` call are sent
concurrently, at most ``max_concurrency`` in flight per agent (an ``asyncio.Semaphore`` shared by concurrent
``act`` calls; a request keeps its place while its retries wait). The client runs on the agent's own event
loop, in a background thread, so ``act`` is an ordinary blocking call; ``close()`` (or ``with``) ends it.

Tokens: with ``logprobs=True`` (the default) the server is asked for ``logprobs`` and ``action_logprobs``
holds its per-token numbers as returned (vLLM: the raw policy at temperature 1, as
:class:`~densegym.agents.hf.HFAgent`). Token ids are not part of the OpenAI schema; with
``return_token_ids=True`` the vLLM extensions ``return_token_ids`` and ``return_tokens_as_token_ids`` are
requested (as ``extra_body``) and ``prompt_ids`` / ``action_ids`` are filled from ``prompt_token_ids``,
``choices[0].token_ids`` or ``token_id:N`` logprob tokens, whichever the server returns: the response is read
as the server's JSON, so fields outside the OpenAI schema are kept. A server that returns none leaves them
``None``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import urllib.parse
from collections.abc import Coroutine, Sequence
from typing import Any

from densegym.agents.base import AgentError, AgentOutput, Conversation

INSTALL_HINT = "pip install 'densegym[openai]'"

# Sent as the client's own arguments; every other key of request_body() goes in extra_body.
_STANDARD = ("max_tokens", "temperature", "top_p", "n", "seed", "logprobs")
_RETRIED = frozenset({408, 409, 429})  # and every 5xx: what the openai client retries


def _import_openai() -> Any:
    try:
        import openai
    except ImportError as exc:
        raise ImportError(
            f"OpenAIAgent (openai:URL#MODEL) needs the openai client library, which is not installed: {INSTALL_HINT}"
        ) from exc
    return openai


def server_message(body: bytes, limit: int = 500) -> str:
    """The error text of an OpenAI-style error body (``{"error": {"message": ...}}``, vLLM's
    ``{"message": ...}``), or the body itself, shortened, on one line."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return " ".join(text[:limit].split()) or "(empty body)"
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict) and error.get("message"):
            return " ".join(str(error["message"])[:limit].split())
        if isinstance(error, str):
            return " ".join(error[:limit].split())
    return " ".join(text[:limit].split())


def _as_ids(values: Any) -> list[int] | None:
    if isinstance(values, list) and all(isinstance(v, int) for v in values):
        return values
    return None


def _connection_reason(exc: BaseException) -> str:
    """Why a connection failed, as specific as the exception chain tells: the operating system's reason
    ("Connection refused") when there is one, else the transport's message."""
    chain, seen = [], set()
    current: BaseException | None = exc.__cause__ or exc.__context__ or exc
    while current is not None and id(current) not in seen and len(chain) < 16:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    for item in reversed(chain):
        if isinstance(item, OSError) and isinstance(item.errno, int):  # a name lookup's errno is negative
            return os.strerror(item.errno) if item.errno > 0 else str(item.strerror or item)
    first = chain[0]
    return " ".join(str(first).split()) or type(first).__name__


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    """The agent's background thread (a function, not a method: the thread holds no reference to the agent)."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.close()


class OpenAIAgent:
    """Acts through an OpenAI-compatible ``/v1/chat/completions`` endpoint.

    ``base_url`` is what the ``openai`` client takes, e.g. ``http://127.0.0.1:8000/v1`` (a bare
    ``http://host:port`` gets ``/v1``). ``api_key`` is sent as a bearer token (``"EMPTY"``, vLLM's
    convention, when none is given: a local server needs none). ``timeout`` bounds each connect and each read
    of one attempt, in seconds; ``max_retries`` is the number of retries after the first attempt.
    ``seed`` makes requests reproducible on servers that honour it: request ``i`` of call ``k`` carries a seed
    derived from ``(seed, k, i)``, so identical conversations in one batch (a GRPO group) still get independent
    samples. ``extra_body`` is merged into every request (``{"top_k": 20}``, ``{"chat_template_kwargs":
    {...}}``). ``max_new_tokens`` (the name the other agents use) is sent as ``max_tokens``, which vLLM, SGLang,
    TGI and llama.cpp all accept.

    Raises ``ImportError`` naming ``pip install 'densegym[openai]'`` when the ``openai`` library is missing.
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
        system_prompt: str | None = None,
        extra_body: dict[str, Any] | None = None,
    ):
        if max_concurrency < 1 or max_retries < 0 or timeout <= 0:
            raise ValueError("need max_concurrency >= 1, max_retries >= 0 and timeout > 0")
        parsed = urllib.parse.urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"base_url must be an http(s) URL like http://127.0.0.1:8000/v1, got {base_url!r}")
        self._openai = _import_openai()
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
        self.system_prompt = system_prompt
        self.extra_body = dict(extra_body or {})
        self._calls = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None
        self._slots: asyncio.Semaphore | None = None

    # ---- the client and its event loop --------------------------------------------------------

    def _start(self) -> asyncio.AbstractEventLoop:
        """The agent's event loop, started (with its client) on first use."""
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=_run_loop, args=(loop,), name="openai-agent", daemon=True).start()
                self._client = self._openai.AsyncOpenAI(
                    base_url=self.base_url,
                    api_key=self.api_key or "EMPTY",
                    max_retries=self.max_retries,
                    timeout=self.timeout,
                )
                self._slots = asyncio.Semaphore(self.max_concurrency)
                self._loop = loop
            return self._loop

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._start()).result()

    def close(self) -> None:
        """Close the client's connections and end the agent's event loop (the next call starts them again)."""
        with self._lock:
            loop, client = self._loop, self._client
            self._loop = self._client = self._slots = None
        if loop is None or loop.is_closed():
            return
        try:
            asyncio.run_coroutine_threadsafe(client.close(), loop).result(timeout=10)
        except Exception:  # noqa: BLE001 - closing is best effort; the loop ends regardless
            pass
        loop.call_soon_threadsafe(loop.stop)

    def __enter__(self) -> OpenAIAgent:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:  # at interpreter exit the daemon thread simply ends; a closed loop has nothing to stop
            loop = getattr(self, "_loop", None)
            if loop is not None and not sys.is_finalizing():
                loop.call_soon_threadsafe(loop.stop)
        except Exception:  # noqa: BLE001
            pass

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

    def _failure(self, exc: Exception) -> AgentError:
        """A one-line :class:`AgentError` for what the openai client raised."""
        openai = self._openai
        request = getattr(exc, "request", None)
        try:  # the client numbers its retries in a header of each attempt
            attempts = int(request.headers.get("x-stainless-retry-count", "0")) + 1
        except (AttributeError, TypeError, ValueError):
            attempts = None
        status = getattr(exc, "status_code", None)
        if isinstance(exc, openai.APIStatusError):
            response = exc.response
            try:
                detail = server_message(response.content)
            except Exception:  # noqa: BLE001 - a body that never arrived
                detail = "(no body)"
            message = f"HTTP {status} from {self.base_url}: {detail}"
            if attempts is None:
                attempts = self.max_retries + 1 if (status in _RETRIED or status >= 500) else 1
        elif isinstance(exc, openai.APITimeoutError):
            message = f"no answer from {self.base_url} within timeout={self.timeout:g}s"
        elif isinstance(exc, openai.APIConnectionError):
            message = f"cannot reach {self.base_url}: {_connection_reason(exc)}"
        else:
            return AgentError(f"{self.base_url}: {type(exc).__name__}: {' '.join(str(exc).split())}")
        if attempts is None:
            attempts = self.max_retries + 1
        if attempts > 1:
            message += f" (gave up after {attempts} attempts)"
        return AgentError(message)

    async def _complete(self, conversation: Conversation, seed: int | None) -> AgentOutput:
        body = self.request_body(conversation, seed)
        arguments = {"model": body.pop("model"), "messages": body.pop("messages")}
        arguments.update({key: body.pop(key) for key in _STANDARD if key in body})
        assert self._slots is not None and self._client is not None
        async with self._slots:
            try:
                raw = await self._client.chat.completions.with_raw_response.create(**arguments, extra_body=body)
            except self._openai.OpenAIError as exc:
                raise self._failure(exc) from None
        content = raw.http_response.content
        try:
            data = json.loads(content)
            if not isinstance(data, dict):
                raise TypeError(type(data).__name__)
        except (ValueError, TypeError):
            raise AgentError(f"{self.base_url} answered with something not a JSON object: {content[:200]!r}") from None
        return self.parse_response(data)

    def complete(self, conversation: Conversation, seed: int | None = None) -> AgentOutput:
        """One conversation, with retries; raises :class:`AgentError` when it failed."""
        return self._run(self._complete(conversation, seed))

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

    async def _act(self, conversations: Sequence[Conversation], seeds: list[int | None]) -> list[AgentOutput]:
        results = await asyncio.gather(*(self._complete(c, s) for c, s in zip(conversations, seeds)),
                                       return_exceptions=True)
        errors = [(i, r) for i, r in enumerate(results) if isinstance(r, BaseException)]
        if errors:
            i, first = errors[0]
            if not isinstance(first, AgentError):
                raise first
            raise AgentError(f"{len(errors)} of {len(conversations)} requests failed; conversation {i}: {first}")
        return list(results)

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
        return self._run(self._act(list(conversations), seeds))
