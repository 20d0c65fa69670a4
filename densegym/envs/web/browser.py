"""Chromium through Playwright: one browser per worker process, a fresh context per episode.

:class:`BrowserHost` runs Playwright's asyncio API on an event loop of its own thread, so envs on any thread
(an EnvPool worker steps slots on several) share one browser and step concurrently. The browser is launched
in its own process group, which is written to the worker's leftovers ledger. :class:`Tab` is one episode's
context and page: every request to another origin (and to the control paths) is aborted, service workers,
web sockets and downloads are refused, dialogs are dismissed, pop-up windows closed, file pickers ignored, and
each is reported in the next observation. The observation is Chromium's accessibility tree as text with
BrowserGym-style bids (``data-bid`` attributes injected into the DOM).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import uuid
from typing import Any, Awaitable
from urllib.parse import urljoin, urlsplit

from densegym import leftovers
from densegym.envs.base import ActionError, squash
from densegym.envs.web.actions import Action

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--disable-extensions", "--mute-audio"]
INSTALL = "apt-get install chromium (Debian) and pip install 'densegym[web]'"


def chromium_path() -> str | None:
    """The Chromium binary: ``$DENSEGYM_CHROMIUM``, else ``chromium`` / ``chromium-browser`` on PATH."""
    path = os.environ.get("DENSEGYM_CHROMIUM")
    if path:
        return path if os.path.exists(path) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _processes_with(tag: str) -> list[tuple[int, int]]:
    """``(pid, pgid)`` of every process whose command line holds ``tag``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if tag.encode() not in fh.read():
                    continue
            found.append((int(entry), os.getpgid(int(entry))))
        except OSError:
            continue
    return found


class BrowserHost:
    """One Chromium per process, driven from a private event-loop thread; :meth:`run` submits a coroutine."""

    def __init__(self, executable: str | None = None, launch_timeout_s: float = 60.0):
        self.tag = f"--densegym-web={uuid.uuid4().hex}"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="densegym-web-browser", daemon=True)
        self.thread.start()
        self._tokens: list[int | None] = []
        self.pw: Any = None
        self.browser: Any = None
        try:
            self.run(self._launch(executable or chromium_path()), launch_timeout_s)
        except BaseException:
            self.close()
            raise
        groups = {pgid for pid, pgid in _processes_with(self.tag) if pgid == pid and pgid != os.getpgrp()}
        self.process_groups = sorted(groups)
        self._tokens = [leftovers.own("process_group", g) for g in self.process_groups]

    async def _launch(self, executable: str | None) -> None:
        from playwright.async_api import async_playwright

        self.pw = await async_playwright().start()
        self.browser = await self.pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS + [self.tag],
                                                     handle_sigint=False, handle_sigterm=False, handle_sighup=False)

    def run(self, coro: Awaitable, timeout_s: float) -> Any:
        """Run ``coro`` on the browser's loop and wait for it (``TimeoutError`` past ``timeout_s``)."""
        if not self.thread.is_alive():
            if hasattr(coro, "close"):
                coro.close()  # never scheduled: no "never awaited" warning
            raise RuntimeError("the browser host is closed")
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout_s)
        except TimeoutError:
            fut.cancel()
            raise

    @property
    def connected(self) -> bool:
        return self.browser is not None and self.browser.is_connected()

    def close(self) -> None:
        async def shutdown() -> None:
            if self.browser is not None:
                await self.browser.close()
            if self.pw is not None:
                await self.pw.stop()

        if self.thread.is_alive():
            try:
                self.run(shutdown(), 20.0)
            except Exception:
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
        for pid, _ in _processes_with(self.tag):  # whatever did not exit with the browser
            try:
                os.killpg(pid, 9) if os.getpgid(pid) == pid else os.kill(pid, 9)
            except OSError:
                pass
        for token in self._tokens:
            leftovers.release(token)
        self._tokens = []
        self.browser = self.pw = None


# ---- the accessibility tree as text -----------------------------------------------------------------------------

_INJECT_BIDS = """() => {
  let n = window.__dgNextBid || 0;
  const root = document.documentElement;
  if (!root) return n;
  for (const el of [root, ...root.querySelectorAll('*')]) {
    if (!el.hasAttribute('data-bid')) el.setAttribute('data-bid', String(n++));
  }
  window.__dgNextBid = n;
  return n;
}"""
# installed in every document before its scripts: counts the page's fetch / XHR calls in flight and notes the
# time of the last DOM mutation once the document is parsed (the bids' own attributes aside), which
# :data:`_SETTLE` waits on
_SETTLE_WATCH = """(() => {
  if (window.__dgSettle) return;
  const s = window.__dgSettle = {inflight: 0, last: performance.now()};
  const done = () => { s.inflight = Math.max(0, s.inflight - 1); s.last = performance.now(); };
  new MutationObserver(records => {  // the parser's own insertions are the page arriving, not a later change
    if (document.readyState === 'loading') return;
    if (records.some(r => r.attributeName !== 'data-bid')) s.last = performance.now();
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  const fetch0 = window.fetch;
  if (fetch0) window.fetch = function (...args) {
    s.inflight++;
    let p;
    try { p = fetch0.apply(this, args); } catch (e) { done(); throw e; }
    p.then(done, done);
    return p;
  };
  const send0 = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (...args) {
    s.inflight++;
    this.addEventListener('loadend', done, {once: true});
    try { return send0.apply(this, args); } catch (e) { done(); throw e; }
  };
})();"""
# resolves once nothing is in flight and the DOM has been quiet for ``quiet`` ms (true), or at ``limit`` ms (false)
_SETTLE = """([quiet, limit]) => new Promise(resolve => {
  const s = window.__dgSettle, t0 = performance.now();
  if (!s) return resolve(true);
  const tick = () => {
    const now = performance.now(), idle = now - s.last;
    if (s.inflight === 0 && idle >= quiet) return resolve(true);
    if (now - t0 >= limit) return resolve(false);
    setTimeout(tick, Math.max(5, Math.min(quiet - idle, limit - (now - t0), 25)));
  };
  tick();
})"""
SETTLE_QUIET_MS = 50  # the DOM's quiet window after an action (and after the page's last fetch / XHR ended)

_SKIP_ROLES = {"generic", "none", "presentation", "InlineTextBox", "LineBreak", "ignored"}
_VALUE_ROLES = {"textbox", "searchbox", "combobox", "spinbutton", "slider", "ListBox", "listbox", "Date", "DateTime",
                "InputTime"}
_OPAQUE_ROLES = {"Date", "DateTime", "InputTime"}
_SHOWN_PROPS = ("focused", "checked", "pressed", "selected", "expanded", "disabled", "required", "invalid")


def _bids_by_backend(node: dict, out: dict[int, str]) -> None:
    attrs = node.get("attributes") or []
    for k in range(0, len(attrs) - 1, 2):
        if attrs[k] == "data-bid":
            out[node["backendNodeId"]] = attrs[k + 1]
            break
    for child in node.get("children") or ():
        _bids_by_backend(child, out)


def _value(field: Any) -> str:
    if not field:
        return ""
    v = field.get("value")
    return "" if v is None else str(v)


def render_axtree(nodes: list[dict], bids: dict[int, str], max_lines: int = 2000) -> str:
    """BrowserGym-like text: ``[bid] role 'name' props`` lines, indented by depth; static text without a bid."""
    by_id = {n["nodeId"]: n for n in nodes}
    lines: list[str] = []
    if not nodes:
        return ""
    stack: list[tuple[dict, int, str]] = [(nodes[0], 0, "")]
    while stack and len(lines) < max_lines:
        node, depth, parent_name = stack.pop()
        role = _value(node.get("role"))
        name = _value(node.get("name")).strip()
        nxt = depth
        if role == "StaticText":
            if name and name != parent_name:
                lines.append("  " * depth + f"StaticText {name!r}")
            continue
        if not node.get("ignored") and role not in _SKIP_ROLES or (role == "generic" and name):
            bid = bids.get(node.get("backendDOMNodeId", -1))
            head = f"[{bid}] " if bid is not None and role != "RootWebArea" else ""
            extra = []
            value = _value(node.get("value"))
            if value and role in _VALUE_ROLES:
                extra.append(f"value={value!r}")
            for prop in node.get("properties") or ():
                pname, pval = prop.get("name"), (prop.get("value") or {}).get("value")
                if pname in _SHOWN_PROPS and pval not in (False, "false", None, "mixed") or (pname == "checked" and pval == "mixed"):
                    extra.append(pname if pval in (True, "true") else f"{pname}={pval}")
                elif pname == "url" and role == "link" and pval:
                    extra.append(f"url={urlsplit(str(pval)).path or '/'}")
            lines.append("  " * depth + f"{head}{role}" + (f" {name!r}" if name else "") + (", " + ", ".join(extra) if extra else ""))
            nxt = depth + 1
            parent_name = name
            if role in _OPAQUE_ROLES:  # a date picker's inner spin buttons say less than its value
                continue
        for child in reversed(node.get("childIds") or ()):
            c = by_id.get(child)
            if c is not None:
                stack.append((c, nxt, parent_name))
    if stack:
        lines.append("[... the page is longer: scroll or search to see the rest ...]")
    return "\n".join(lines)


# ---- one episode's context and page ------------------------------------------------------------------------------


class Tab:
    """One episode's browser context and page on an app at ``origin`` with session cookie ``sid``."""

    def __init__(self, host: BrowserHost, origin: str, cookies: dict[str, str], action_timeout_s: float = 5.0,
                 step_timeout_s: float = 15.0, viewport: tuple[int, int] = (1280, 720), guard_proxy: bool = True):
        self.host, self.origin, self.cookies = host, origin.rstrip("/"), dict(cookies)
        self.guard_proxy = guard_proxy  # the origin is a bundled app that refuses to proxy elsewhere (app.OriginGuard)
        self.action_ms = int(action_timeout_s * 1000)
        self.step_timeout_s = float(step_timeout_s)
        self.viewport = viewport
        self.context: Any = None
        self.page: Any = None
        self.events: list[str] = []
        self.blocked: list[str] = []
        self.last_good_url = self.origin + "/"
        self.url = ""
        self.title = ""
        self.tree = ""

    # lifecycle -------------------------------------------------------------------------------------------------
    def open(self, path: str = "/") -> None:
        self.host.run(self._open(path), self.step_timeout_s + 30)

    async def _new_context(self) -> None:
        browser = self.host.browser
        # with a bundled app, every connection goes to the app itself, loopback too (no implicit bypass): the app
        # refuses anything that is not itself (app.OriginGuard); route interception below applies in every case
        proxy = {"proxy": {"server": self.origin, "bypass": "<-loopback>"}} if self.guard_proxy else {}
        self.context = await browser.new_context(
            viewport={"width": self.viewport[0], "height": self.viewport[1]}, accept_downloads=False,
            service_workers="block", java_script_enabled=True, locale="en-US", timezone_id="UTC", **proxy)
        self.context.set_default_timeout(self.action_ms)
        await self.context.add_init_script(_SETTLE_WATCH)
        if self.cookies:
            await self.context.add_cookies([{"name": k, "value": v, "url": self.origin} for k, v in self.cookies.items()])
        await self.context.route("**/*", self._route)
        try:
            await self.context.route_web_socket("**/*", self._web_socket)
        except AttributeError:  # pragma: no cover - an old Playwright
            pass
        self.context.on("page", self._on_page)
        self.page = await self.context.new_page()
        self._watch(self.page)

    def _watch(self, page: Any) -> None:
        page.on("dialog", self._on_dialog)
        page.on("filechooser", self._on_file_chooser)
        page.on("download", self._on_download)

    async def _open(self, path: str) -> None:
        await self._new_context()
        await self.page.goto(self.origin + path, wait_until="load", timeout=self.action_ms * 3)
        await self._settle(self.action_ms / 1000)
        self.events.clear()
        await self._observe()

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        return (f"{parts.scheme}://{parts.netloc}" == self.origin and not parts.path.startswith("/__dg")
                and parts.scheme == "http")

    async def _route(self, route: Any) -> None:
        url = route.request.url
        if self.allowed(url):
            await route.continue_()
        else:
            self.blocked.append(url)
            if len(self.blocked) <= 3:
                self.events.append(f"a request to {squash(url, 80)} was blocked (only this site is reachable)")
            await route.abort("blockedbyclient")

    async def _web_socket(self, ws: Any) -> None:
        self.events.append(f"a web socket to {squash(ws.url, 80)} was refused")
        await ws.close()

    async def _on_dialog(self, dialog: Any) -> None:
        self.events.append(f"a {dialog.type} dialog said {squash(dialog.message, 120)!r}; it was dismissed")
        try:
            await dialog.dismiss()
        except Exception:
            pass

    async def _on_page(self, page: Any) -> None:
        if self.page is None or page is self.page:  # the episode's own page (its event may come either side of new_page)
            return
        self.events.append("the page tried to open a new window; it was closed")
        try:
            await page.close()
        except Exception:
            pass

    async def _on_file_chooser(self, chooser: Any) -> None:
        self.events.append("a file picker opened; uploading files is not supported here")

    async def _on_download(self, download: Any) -> None:
        self.events.append("a download started; downloads are not allowed and it was cancelled")
        try:
            await download.cancel()
        except Exception:
            pass

    def close(self) -> None:
        if self.context is not None and self.host.thread.is_alive():
            try:
                self.host.run(self.context.close(), 10.0)
            except Exception:
                pass
        self.context = self.page = None

    # stepping ---------------------------------------------------------------------------------------------------
    def check(self, action: Action) -> None:
        """Refuse an action that cannot apply (before anything changes): unknown bids, other origins."""
        if action.name == "goto":
            url = urljoin(self.origin + "/", action.args[0].strip())
            if not self.allowed(url):
                raise ActionError(f"goto only reaches this site ({self.origin}); {squash(action.args[0], 80)!r} is "
                                  "elsewhere")
        elif action.args and action.name in ("click", "hover", "fill", "select_option", "press"):
            bid = action.args[0]
            try:
                count = self.host.run(self.page.locator(f'[data-bid="{bid}"]').count(), min(2.0, self.step_timeout_s))
            except TimeoutError:
                return  # the page does not answer: the action will time out and the page be reopened
            except Exception:
                count = 0
            if count == 0:
                raise ActionError(f"no element has bid {bid!r} on this page; use a [number] from the latest "
                                  "accessibility tree")

    def act(self, action: Action) -> str | None:
        """Perform ``action`` and observe the page; returns the action's error (None when it worked). A page that
        does not answer within the step's time limit is closed and the app reopened where it last worked."""
        self.events.clear()
        try:
            return self.host.run(self._act_and_observe(action), self.step_timeout_s)
        except TimeoutError:
            error = (f"the page did not respond within {self.step_timeout_s:g} s (a script kept it busy); "
                     "it was closed and reopened")
            self.host.run(self._recover(), 60.0)
            return error

    async def _act_and_observe(self, action: Action) -> str | None:
        error = None
        start = asyncio.get_running_loop().time()
        try:
            await self._dispatch(action)
        except Exception as exc:  # Playwright's errors (a timeout, an element that is not editable, ...)
            error = squash(str(exc).split("\n")[0].replace("Locator.", "").replace("Page.", ""), 300)
        try:
            await self.page.wait_for_load_state("load", timeout=self.action_ms)
            # an app's saves in flight (WebForms' drafts): the server state the rewards read includes them
            await self.page.evaluate("() => window.__dgFlush ? window.__dgFlush() : null")
        except Exception:
            pass
        # at most the action's time limit, and half of what the step has left (the rest is for reading the page)
        elapsed = asyncio.get_running_loop().time() - start
        await self._settle(min(self.action_ms / 1000, (self.step_timeout_s - elapsed) / 2))
        await self._observe()
        return error

    async def _settle(self, limit_s: float) -> bool:
        """Wait until the page has settled: none of its fetch / XHR calls in flight and no DOM change for
        :data:`SETTLE_QUIET_MS` (no wait when it already has). A page that never settles (a timer that keeps
        changing it, a request that never ends) is read as it is at ``limit_s``; a navigation under way is
        waited for once. True when it settled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, limit_s)
        for _ in range(2):
            left = deadline - loop.time()
            if left <= 0:
                return False
            try:
                # the page's own timer ends the wait; the outer one is for a page too busy to run it
                return bool(await asyncio.wait_for(
                    self.page.evaluate(_SETTLE, [SETTLE_QUIET_MS, int(left * 1000)]), left + 0.25))
            except asyncio.TimeoutError:
                return False
            except Exception:  # the document went away under the wait (a navigation): once more on the new one
                try:
                    await self.page.wait_for_load_state("load", timeout=max(1, int((deadline - loop.time()) * 1000)))
                except Exception:
                    return False
        return False

    async def _dispatch(self, action: Action) -> None:
        name, args = action.name, action.args
        page = self.page
        if name == "goto":
            await page.goto(urljoin(self.origin + "/", args[0].strip()), wait_until="load")
        elif name == "go_back":
            await page.go_back(wait_until="load")
        elif name == "scroll":
            await page.mouse.wheel(args[0], args[1])
        elif name == "noop":
            pass
        else:
            loc = page.locator(f'[data-bid="{args[0]}"]').first
            tag = await loc.evaluate("e => e.tagName", timeout=self.action_ms)
            if tag == "OPTION" and name in ("click", "select_option"):  # an option of a closed <select>: choose it
                value = await loc.evaluate("e => e.value")
                await page.locator(f'[data-bid="{args[0]}"] >> xpath=ancestor::select[1]').select_option(value)
                return
            if name in ("click", "hover", "fill", "press") and not await loc.is_visible():
                raise ActionError(f"the element [{args[0]}] is not visible (scroll, or open what holds it, first)")
            if name == "click":
                await loc.click()
            elif name == "hover":
                await loc.hover()
            elif name == "fill":
                await loc.fill(args[1])
            elif name == "select_option":
                try:
                    await loc.select_option(label=args[1])
                except Exception:
                    await loc.select_option(args[1])
            elif name == "press":
                await loc.press(args[1])

    async def _observe(self) -> None:
        """Read the page; a navigation under way (a redirect, a script) is waited for and the read retried."""
        for attempt in range(4):
            try:
                await self._read_page()
                return
            except Exception as exc:
                if attempt == 3 or self.page.is_closed():
                    self.url, self.title = self.page.url, ""
                    self.tree = f"(the page could not be read: {squash(str(exc), 200)}; try noop())"
                    return
                try:
                    await self.page.wait_for_load_state("load", timeout=self.action_ms)
                except Exception:
                    pass

    async def _read_page(self) -> None:
        page = self.page
        await page.evaluate(_INJECT_BIDS)
        cdp = await self.context.new_cdp_session(page)
        try:
            doc = await cdp.send("DOM.getDocument", {"depth": -1, "pierce": False})
            tree = await cdp.send("Accessibility.getFullAXTree")
        finally:
            await cdp.detach()
        bids: dict[int, str] = {}
        _bids_by_backend(doc["root"], bids)
        self.tree = render_axtree(tree.get("nodes", []), bids)
        self.url = page.url
        self.title = await page.title()
        if self.allowed(self.url):
            self.last_good_url = self.url

    async def _recover(self) -> None:
        """Replace a page that stopped answering: a new context (the session cookie again), at the app's home."""
        old = self.context
        self.context = self.page = None
        try:
            await asyncio.wait_for(old.close(), 10.0)
        except Exception:
            pass
        await self._new_context()
        try:
            await self.page.goto(self.origin + "/", wait_until="load", timeout=self.action_ms * 3)
            await self._observe()
        except Exception as exc:
            self.url, self.title, self.tree = self.page.url, "", f"(the page could not be loaded: {exc})"

    def bid_of(self, selector: str) -> str | None:
        """The bid of the first element matching a CSS selector (the oracle's view of the page), or None."""
        async def find() -> str | None:
            loc = self.page.locator(selector)
            if await loc.count() == 0:
                return None
            return await loc.first.get_attribute("data-bid")

        return self.host.run(find(), self.step_timeout_s)

    def visible(self, selector: str) -> bool:
        async def check() -> bool:
            loc = self.page.locator(selector)
            return await loc.count() > 0 and await loc.first.is_visible()

        return self.host.run(check(), self.step_timeout_s)

    def input_value(self, selector: str) -> str | None:
        async def read() -> str | None:
            loc = self.page.locator(selector)
            if await loc.count() == 0:
                return None
            return await loc.first.input_value()

        return self.host.run(read(), self.step_timeout_s)

    def content(self) -> str:
        """The page's HTML as it is now."""
        return self.host.run(self.page.content(), self.step_timeout_s)

    def screenshot(self) -> bytes:
        return self.host.run(self.page.screenshot(type="png"), self.step_timeout_s)
