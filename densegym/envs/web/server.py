"""The app server: the bundled apps on uvicorn in a background process on 127.0.0.1, one per worker.

:class:`AppServer` starts ``python -m densegym.envs.web.server`` in its own session (process group), which
binds a free port, prints it and serves; the group is written to the worker's leftovers ledger, so that a
killed worker's pool removes it, and the child also exits when its parent dies. The env talks to the
server's control endpoints (``/__dg/...``) with a per-server secret that only the parent knows.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time

from densegym import leftovers

SECRET_ENV = "DENSEGYM_WEB_SECRET"


class ServerError(RuntimeError):
    pass


class AppServer:
    """One app server process. ``origin`` is ``http://127.0.0.1:PORT``; :meth:`control` calls its control API."""

    def __init__(self, seed: int = 0, size: int = 1200, lab: bool = False, start_timeout_s: float = 60.0):
        self.secret = secrets.token_urlsafe(24)
        env = dict(os.environ, **{SECRET_ENV: self.secret})
        cmd = [sys.executable, "-m", "densegym.envs.web.server", str(int(seed)), str(int(size)), "1" if lab else "0",
               str(os.getpid())]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, start_new_session=True)
        self._token = leftovers.own("process_group", self.proc.pid)
        self._lock = threading.Lock()
        port = self._read_port(start_timeout_s)
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"

    def _read_port(self, timeout_s: float) -> int:
        result: list[bytes] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout_s)
        line = result[0].decode().strip() if result else ""
        if not line.isdigit():
            self.close()
            err = self.proc.stderr.read().decode(errors="replace")[-2000:] if self.proc.stderr else ""
            raise ServerError(f"the web app server did not start within {timeout_s:.0f} s: {err or line!r}")
        threading.Thread(target=self._drain, daemon=True).start()
        return int(line)

    def _drain(self) -> None:
        for stream in (self.proc.stdout, self.proc.stderr):
            try:
                while stream and stream.read(65536):
                    pass
            except (OSError, ValueError):
                return

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def control(self, method: str, path: str, timeout_s: float = 10.0) -> dict:
        """A JSON call to a control endpoint (``/__dg/...``) with the secret."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout_s)
        try:
            conn.request(method, path, headers={"x-dg-secret": self.secret, "content-length": "0"})
            resp = conn.getresponse()
            body = resp.read()
        except OSError as exc:
            raise ServerError(f"the web app server did not answer {method} {path}: {exc}") from exc
        finally:
            conn.close()
        if resp.status != 200:
            raise ServerError(f"{method} {path}: HTTP {resp.status} {body[:200]!r}")
        return json.loads(body)

    def new_session(self) -> str:
        return self.control("POST", "/__dg/session")["sid"]

    def state(self, sid: str) -> dict:
        return self.control("GET", f"/__dg/state/{sid}")

    def end_session(self, sid: str) -> None:
        try:
            self.control("DELETE", f"/__dg/session/{sid}", timeout_s=2.0)
        except ServerError:
            pass

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(3)
            except (OSError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                self.proc.wait(5)
        leftovers.release(self._token)
        self._token = None


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def main(argv: list[str]) -> None:
    import socket

    import uvicorn

    from densegym.envs.web.app import build_app

    seed, size, lab, parent = int(argv[0]), int(argv[1]), argv[2] == "1", int(argv[3])
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    app = build_app(os.environ.pop(SECRET_ENV), seed, size, lab, port=sock.getsockname()[1])
    sys.stdout.write(f"{sock.getsockname()[1]}\n")
    sys.stdout.flush()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1,
                            http="h11")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1:])
