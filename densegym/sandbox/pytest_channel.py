"""A pytest plugin that streams each test's verdict to the parent over a private, authenticated channel.

It is copied into the test run's directory (read-only there) and loaded with ``-p``, so it needs nothing
but the standard library: the same file serves any sandbox, a container too. It is imported before any
code under test, and at that moment it takes its two secrets out of the environment:

* ``DENSEGYM_CHANNEL_FD``: the write end of a pipe whose read end only the parent holds;
* ``DENSEGYM_CHANNEL_KEY``: the key of an HMAC that signs every record.

Each record is one JSON line ``{"seq", "ev", ..., "mac"}``, written the moment pytest reports, so a
verdict never depends on a file the code under test could rewrite, nor on anything it prints, and
anything it writes after the session's ``finish`` record is visible as such. ``densegym.sandbox.verdict``
reads and cross-checks the records.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os

import pytest

# Bound now, before the code under test can replace them.
_write, _environ_pop, _dumps, _hmac_new, _sha256 = os.write, os.environ.pop, json.dumps, hmac.new, hashlib.sha256
_fd = int(_environ_pop("DENSEGYM_CHANNEL_FD", "-1"))
_key = _environ_pop("DENSEGYM_CHANNEL_KEY", "").encode()
_seq = [0]
_MAX_TEXT = 6000


def _send(ev: str, **fields) -> None:
    if _fd < 0:
        return
    record = {"seq": _seq[0], "ev": ev, **fields}
    _seq[0] += 1
    body = _dumps(record, sort_keys=True, separators=(",", ":"))
    mac = _hmac_new(_key, body.encode(), _sha256).hexdigest()
    line = (body[:-1] + ',"mac":"' + mac + '"}\n').encode()
    view = memoryview(line)
    while view:
        view = view[_write(_fd, view) :]


def _name(nodeid: str) -> str:
    return nodeid.rsplit("::", 1)[-1]


def _text(report) -> str:
    parts = [report.longreprtext or ""]
    for title, content in getattr(report, "sections", ()):
        parts.append(f"{'-' * 10} {title} {'-' * 10}\n{content}")
    text = "\n".join(p for p in parts if p)
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "\n[... cut ...]"


_send("start")


def pytest_collection_finish(session) -> None:
    _send("collected", tests=[_name(item.nodeid) for item in session.items], nodes=[item.nodeid for item in session.items])


def pytest_collectreport(report) -> None:
    if report.failed:
        _send("collect_error", text=_text(report))


def pytest_runtest_logreport(report) -> None:
    # The call phase carries the verdict; a failed setup or teardown fails the test too.
    if report.when == "call" or report.outcome != "passed":
        _send("report", test=_name(report.nodeid), node=report.nodeid, when=report.when, outcome=report.outcome, text=_text(report) if report.failed else "")


@pytest.hookimpl(trylast=True)  # after every other plugin had its say
def pytest_sessionfinish(session, exitstatus) -> None:
    _send("finish", exitstatus=int(session.exitstatus))

