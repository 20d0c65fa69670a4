"""The Search-R1 retrieval API, both ways: :class:`HTTPRetriever` (a client) and :func:`serve_retriever` (a server).

The API (Search-R1's ``retrieval_server.py``, also spoken by SkyRL's and verl-agent's search envs)::

    POST /retrieve   {"queries": ["...", ...], "topk": 3, "return_scores": true}
    -> {"result": [[{"document": {"id": "...", "contents": "\\"Title\\"\\ntext"}, "score": 1.5}, ...], ...]}

(without ``return_scores``, each result is the list of documents alone; SkyRL-gym's client sends
``{"query": "..."}``, one string, which the server also accepts). So a user with a wiki-18 e5 server
plugs it into ``SearchQAEnv(retriever="http://host:8000")``, and ``densegym serve-retriever`` (here:
:func:`main`) serves any densegym index to other gyms' search envs.

The client keeps its connections alive and never hangs: every request has one deadline (``timeout``, 10 s) for
connecting, sending and reading, after which it raises :class:`RetrieverError`, as it does for a refused
connection, an HTTP error or a malformed answer. Standard library only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import urllib.parse
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from densegym.envs.search.corpus import Document
from densegym.envs.search.retrievers import Hit, Retriever, RetrieverError

MAX_QUERIES = 1024  # per request, served
MAX_TOPK = 100
MAX_BODY = 8 << 20


class _HTTPStatus(Exception):
    def __init__(self, code: int, detail: str):
        super().__init__(code, detail)
        self.code, self.detail = code, detail


class HTTPRetriever:
    """A :class:`Retriever` over a Search-R1 retrieval server.

    Connections are kept alive (one per worker thread of the client) and reopened when the server closed them.
    Requests go straight to the server (no proxy).

    Args:
        url: ``http://host:port`` (``/retrieve`` is added) or the endpoint's full URL.
        timeout: seconds for a whole request, connection to last byte.
        retries: further attempts after a refused connection or a 5xx answer (never after a timeout).
    """

    def __init__(self, url: str, *, timeout: float = 10.0, retries: int = 0):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url if parsed.path not in ("", "/") else url.rstrip("/") + "/retrieve"
        self._https = parsed.scheme == "https"
        self._host, self._port = parsed.hostname, parsed.port
        self._path = urllib.parse.urlsplit(self.url).path or "/retrieve"
        self.timeout, self.retries = float(timeout), int(retries)
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="densegym-http-retriever")

    def __repr__(self) -> str:
        return f"HTTPRetriever({self.url!r})"

    def _post(self, body: bytes) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        for fresh in (False, True):
            conn = getattr(self._local, "conn", None)
            reused = conn is not None and not fresh
            if conn is None or fresh:
                if conn is not None:
                    conn.close()
                cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                conn = self._local.conn = cls(self._host, self._port, timeout=self.timeout)
            try:
                conn.request("POST", self._path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read(MAX_BODY * 8)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                self._local.conn = None
                if reused:  # the server closed an idle keep-alive connection: once more on a new one
                    continue
                raise
            except BaseException:
                conn.close()
                self._local.conn = None
                raise
            if response.status >= 400:
                raise _HTTPStatus(response.status, data[:300].decode("utf-8", "replace").strip())
            return json.loads(data)
        raise ConnectionResetError("the server closed the connection")  # pragma: no cover

    def search(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        body = json.dumps({"queries": list(queries), "topk": int(k), "return_scores": True}).encode()
        slow = f"the retrieval server at {self.url} did not answer within {self.timeout:g} s"
        for attempt in range(self.retries + 1):
            future = self._pool.submit(self._post, body)
            try:
                answer = future.result(timeout=self.timeout)
                break
            except FutureTimeout:
                future.cancel()
                raise RetrieverError(slow) from None
            except _HTTPStatus as exc:
                if exc.code < 500 or attempt == self.retries:
                    raise RetrieverError(f"the retrieval server at {self.url} answered HTTP {exc.code}: {exc.detail}") from None
            except TimeoutError:  # socket.timeout
                raise RetrieverError(slow) from None
            except ValueError as exc:
                raise RetrieverError(f"the retrieval server at {self.url} sent something that is not JSON ({exc})") from None
            except (OSError, http.client.HTTPException) as exc:
                if attempt == self.retries:
                    raise RetrieverError(f"the retrieval server at {self.url} is not reachable ({exc})") from None
        return _parse(answer, len(queries), self.url)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _parse(answer: Any, count: int, url: str) -> list[list[Hit]]:
    result = answer.get("result") if isinstance(answer, dict) else None
    if not isinstance(result, list) or len(result) != count:
        raise RetrieverError(f"the retrieval server at {url} answered no 'result' list with one entry per query")
    out = []
    for row in result:
        if not isinstance(row, list):
            raise RetrieverError(f"the retrieval server at {url} answered a result that is not a list")
        hits = []
        for n, item in enumerate(row):
            doc, score = (item.get("document"), item.get("score", 0.0)) if isinstance(item, dict) and "document" in item else (item, 0.0)
            if not isinstance(doc, dict):
                raise RetrieverError(f"the retrieval server at {url} answered a document that is not an object")
            doc_id = str(doc.get("id", doc.get("_id", n)))
            if "contents" in doc:
                d = Document.from_contents(doc_id, str(doc["contents"]))
            else:
                d = Document(doc_id, str(doc.get("title", "")), str(doc.get("text", "")))
            hits.append(Hit(d.id, d.title, d.text, float(score) if isinstance(score, (int, float)) else 0.0))
        out.append(hits)
    return out


# ---- the server -------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _RetrievalServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # a keep-alive client must not wait for a delayed ACK between header and body

    def log_message(self, format: str, *args: Any) -> None:  # quiet by default
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, code: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("", "/health"):
            self._send(200, {"status": "ok", "retriever": repr(self.server.retriever)})
        else:
            self._send(404, {"error": f"no such endpoint {self.path}; POST /retrieve"})

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/retrieve":
            self._send(404, {"error": f"no such endpoint {self.path}; POST /retrieve"})
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self._send(400, {"error": f"the body must be JSON of 1 to {MAX_BODY} bytes"})
            return
        try:
            request = json.loads(self.rfile.read(length))
        except ValueError as exc:
            self._send(400, {"error": f"the body is not JSON: {exc}"})
            return
        queries = request.get("queries", request.get("query")) if isinstance(request, dict) else None
        if isinstance(queries, str):  # SkyRL-gym's search tool sends one "query" string
            queries = [queries]
        if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries) or len(queries) > MAX_QUERIES:
            self._send(400, {"error": f"'queries' must be a list of at most {MAX_QUERIES} strings"})
            return
        topk = request.get("topk") or self.server.default_topk
        if not isinstance(topk, int) or isinstance(topk, bool) or topk < 1:
            self._send(400, {"error": "'topk' must be a positive integer"})
            return
        topk = min(topk, MAX_TOPK)
        try:
            results = self.server.retriever.search(queries, topk) if queries else []
        except Exception as exc:  # the server stays up; the client sees a 500 and its reason
            self._send(500, {"error": f"{type(exc).__name__}: {exc}"})
            return
        scores = bool(request.get("return_scores"))
        payload = []
        for hits in results:
            docs = [{"id": h.doc_id, "contents": Document(h.doc_id, h.title, h.text).contents()} for h in hits]
            payload.append([{"document": d, "score": h.score} for d, h in zip(docs, hits)] if scores else docs)
        self._send(200, {"result": payload})


class _RetrievalServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], retriever: Retriever, default_topk: int, verbose: bool):
        self.retriever, self.default_topk, self.verbose = retriever, default_topk, verbose
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that left before its answer (it timed out, say) is the client's business, not a server error."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


class RetrievalServer:
    """A running server (from :func:`serve_retriever`): ``url``, ``close()``; a context manager."""

    def __init__(self, httpd: _RetrievalServer, thread: threading.Thread | None):
        self.httpd, self.thread = httpd, thread
        host, port = httpd.server_address[:2]
        self.url = f"http://{host}:{port}/retrieve"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def __enter__(self) -> RetrievalServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def serve_retriever(retriever: Retriever, host: str = "127.0.0.1", port: int = 0, *, default_topk: int = 3,
                    background: bool = True, verbose: bool = False) -> RetrievalServer:  # fmt: skip
    """Serve ``retriever`` under the Search-R1 API at ``host:port`` (port 0: any free port).

    ``background=True`` runs it on a daemon thread and returns at once; otherwise it serves until interrupted."""
    httpd = _RetrievalServer((host, port), retriever, default_topk, verbose)
    if not background:
        server = RetrievalServer(httpd, None)
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            httpd.server_close()
        return server
    thread = threading.Thread(target=httpd.serve_forever, name="densegym-retrieval-server", daemon=True)
    thread.start()
    return RetrievalServer(httpd, thread)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="densegym serve-retriever",
                                               description="Serve a densegym index under the Search-R1 API (POST /retrieve).")  # fmt: skip
    parser.add_argument("--corpus", help="a corpus directory or a FlashRAG/BEIR corpus JSONL file (default: the generated world)")
    parser.add_argument("--num-docs", type=int, default=50_000, help="documents of the generated world (default 50,000)")
    parser.add_argument("--world-seed", type=int, default=0)
    parser.add_argument("--retriever", default="bm25", choices=("bm25", "dense", "hybrid"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--topk", type=int, default=3, help="the default topk of a request without one")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--verbose", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None, args: argparse.Namespace | None = None) -> int:
    """``densegym serve-retriever``: build or load the index, then serve it until interrupted."""
    from pathlib import Path

    from densegym.envs.search.env import world_corpus
    from densegym.envs.search.loaders import load_corpus

    args = args or build_parser().parse_args(argv)
    if args.corpus is None:
        corpus = world_corpus(args.num_docs, args.world_seed, args.cache_dir)
    elif Path(args.corpus).is_dir():
        from densegym.envs.search.retrievers import shared_corpus

        corpus = shared_corpus(args.corpus)
    else:
        corpus = load_corpus(args.corpus, args.cache_dir)
    index_cache = Path(args.cache_dir) / "index" if args.cache_dir else None
    if args.retriever == "bm25":
        from densegym.envs.search.retrievers import shared_bm25

        retriever: Retriever = shared_bm25(corpus, cache_dir=index_cache)
    else:
        from densegym.envs.search import dense

        retriever = (dense.shared_dense if args.retriever == "dense" else dense.shared_hybrid)(corpus, cache_dir=index_cache)
    server = serve_retriever(retriever, args.host, args.port, default_topk=args.topk, verbose=args.verbose)
    print(f"serving {args.retriever} over {corpus!r} at {server.url}", flush=True)  # once it listens
    try:
        while server.thread is not None and server.thread.is_alive():
            server.thread.join(timeout=1.0)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
