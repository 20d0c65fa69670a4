"""A minimal OpenAI-compatible chat server around an :class:`~densegym.agents.hf.HFAgent` (standard library).

For tests and demos on one machine: it lets :class:`~densegym.agents.openai_compat.OpenAIAgent` talk to
a real HTTP server that answers with a real model (the tiny offline one) without vLLM or a GPU. It serves
``GET /v1/models`` and ``POST /v1/chat/completions`` (``max_tokens`` / ``max_completion_tokens``,
``temperature``, ``top_p``, ``seed``, ``logprobs``, and vLLM's ``return_token_ids`` and
``return_tokens_as_token_ids``). Requests are answered one at a time (a lock around the model); it is
not a production server::

    with ChatServer(HFAgent(model, tokenizer), model_name="tiny") as server:
        agent = OpenAIAgent(server.url, "tiny")
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from densegym.agents.base import AgentError

ROLES = ("system", "user", "assistant")


class RequestError(Exception):
    """A client error: answered with ``status`` and an OpenAI-style error body."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class ChatHandler(BaseHTTPRequestHandler):
    """Answers one HTTP request; ``self.server`` is the :class:`ChatServer`. Subclass to inject faults."""

    protocol_version = "HTTP/1.1"
    server: ChatServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (quiet: tests read their own output)
        pass

    def send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def send_error_json(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        kind = "invalid_request_error" if status < 500 else "server_error"
        self.send_json(status, {"error": {"message": message, "type": kind, "code": status}}, headers)

    def read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            data = json.loads(self.rfile.read(length) or b"null")
        except ValueError as e:
            raise RequestError(400, f"the body is not JSON: {e}") from None
        if not isinstance(data, dict):
            raise RequestError(400, "the body must be a JSON object")
        return data

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/") == "/v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": self.server.model_name, "object": "model"}]})
        else:
            self.send_error_json(404, f"no route {self.path}")

    def do_POST(self) -> None:  # noqa: N802
        if self.path.rstrip("/") != "/v1/chat/completions":
            self.send_error_json(404, f"no route {self.path}")
            return
        try:
            payload = self.server.complete(self.read_json())
        except RequestError as e:
            self.send_error_json(e.status, str(e))
        except AgentError as e:
            self.send_error_json(400, str(e))
        except Exception as e:  # noqa: BLE001  (a client gets a clear 500, not a dropped connection)
            self.send_error_json(500, f"internal error: {e!r}")
        else:
            self.send_json(200, payload)


class ChatServer(ThreadingHTTPServer):
    """Serves ``agent`` (an ``HFAgent``) on ``host:port`` (port 0: any free port) from a background thread.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. ``url`` is the ``base_url`` for
    :class:`~densegym.agents.openai_compat.OpenAIAgent`.
    """

    daemon_threads = True

    def __init__(
        self,
        agent: Any,
        model_name: str = "tiny",
        host: str = "127.0.0.1",
        port: int = 0,
        handler: type[ChatHandler] = ChatHandler,
    ):
        super().__init__((host, port), handler)
        self.agent = agent
        self.model_name = model_name
        self._model_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> ChatServer:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.server_close()

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---- the endpoint -------------------------------------------------------------------------

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        """The chat-completion response for one request body (raises :class:`RequestError`)."""
        if request.get("model", self.model_name) != self.model_name:
            raise RequestError(404, f"The model `{request.get('model')}` does not exist; this server has "
                                    f"`{self.model_name}`")
        messages = request.get("messages")
        if not isinstance(messages, list) or not messages:
            raise RequestError(400, "messages must be a non-empty list")
        for m in messages:
            if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
                raise RequestError(400, f"each message needs a role in {ROLES} and string content; got {m!r}")
        if int(request.get("n", 1)) != 1:
            raise RequestError(400, "only n=1 is supported")
        try:
            max_tokens = int(request.get("max_completion_tokens") or request.get("max_tokens") or 256)
            temperature = float(request.get("temperature", 1.0))
            top_p = float(request.get("top_p", 1.0))
            seed = request.get("seed")
            seed = None if seed is None else int(seed)
        except (TypeError, ValueError) as e:
            raise RequestError(400, f"bad sampling parameter: {e}") from None
        if max_tokens < 1 or temperature < 0 or not 0 < top_p <= 1:
            raise RequestError(400, "need max_tokens >= 1, temperature >= 0 and 0 < top_p <= 1")
        with self._model_lock:
            [out] = self.agent.act(
                [messages], max_new_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed
            )
        tokenizer = self.agent.tokenizer
        stopped = bool(out.action_ids) and out.action_ids[-1] in self.agent.stop_token_ids
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": out.text},
            "finish_reason": "stop" if stopped else "length",
            "logprobs": None,
        }
        if request.get("logprobs"):
            as_ids = bool(request.get("return_tokens_as_token_ids"))
            choice["logprobs"] = {
                "content": [
                    {
                        "token": f"token_id:{t}" if as_ids else tokenizer.decode([t]),
                        "logprob": lp,
                        "bytes": list(tokenizer.decode([t]).encode()),
                        "top_logprobs": [],
                    }
                    for t, lp in zip(out.action_ids, out.action_logprobs)
                ]
            }
        response: dict[str, Any] = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model_name,
            "choices": [choice],
            "usage": {
                "prompt_tokens": len(out.prompt_ids),
                "completion_tokens": len(out.action_ids),
                "total_tokens": len(out.prompt_ids) + len(out.action_ids),
            },
        }
        if request.get("return_token_ids"):
            response["prompt_token_ids"] = out.prompt_ids
            choice["token_ids"] = out.action_ids
        return response


def main(argv: list[str] | None = None) -> None:
    """``python -m densegym.agents.serve [MODEL_DIR]``: serve a local model (default: the tiny offline one)."""
    import argparse

    from densegym.agents.hf import HFAgent

    parser = argparse.ArgumentParser(
        prog="python -m densegym.agents.serve",
        description="Serve a local transformers model on an OpenAI-compatible /v1/chat/completions endpoint.",
    )
    parser.add_argument("model", nargs="?", help="a model directory; default: build the tiny offline model")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--name", default=None, help="the model name clients send (default: tiny or the dir name)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    args = parser.parse_args(argv)
    if args.model:
        agent = HFAgent.from_pretrained(args.model, device=args.device)
        name = args.name or args.model.rstrip("/").rsplit("/", 1)[-1]
    else:
        from densegym.models import build_tiny_model, build_tiny_tokenizer

        tokenizer = build_tiny_tokenizer()
        agent = HFAgent(build_tiny_model(tokenizer), tokenizer)
        name = args.name or "tiny"
    server = ChatServer(agent, model_name=name, host=args.host, port=args.port)
    print(f"serving {name!r} at {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
