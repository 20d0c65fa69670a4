"""The bundled web apps (Starlette): the shop, the safety lab, and the control endpoints the env reads.

Every episode has a session (a cookie the env sets in its browser context); a session's searches, viewed
products, chosen options, cart and orders live in the server and are read by the env through
``/__dg/...`` endpoints that need the server's secret (a header the browser never has; the env's browser
also aborts every request to ``/__dg``). Nothing of one session is visible to another.

The app runs in its own process (``server.py``); this module is imported there, not by the env.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from densegym.envs.web.catalog import ALL_ATTRIBUTES, CATEGORIES, PRICE_CAPS, Catalog, generate, words
from densegym.envs.web.forms_app import form_routes

COOKIE = "dg_sid"
PAGE_SIZE = 10
MAX_BODY = 65_536
MAX_SESSIONS = 4096
_E = html.escape


@dataclass
class ShopSession:
    searches: list[dict] = field(default_factory=list)
    viewed: list[int] = field(default_factory=list)
    selected: dict[int, dict[str, str]] = field(default_factory=dict)
    cart: list[dict] = field(default_factory=list)
    orders: list[list[dict]] = field(default_factory=list)
    forms: dict[str, dict] = field(default_factory=dict)  # WebForms: schema -> draft, pages done, submission
    last_search: str = "/search"

    def state(self) -> dict:
        return {"searches": self.searches[-200:], "viewed": self.viewed[-500:],
                "selected": {str(k): v for k, v in self.selected.items()}, "cart": self.cart,
                "orders": self.orders, "forms": self.forms}


class ShopIndex:
    """The catalog in SQLite: a products table, an attribute table and an FTS5 index ranked with BM25."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.lock = threading.Lock()
        db = self.db
        db.execute("CREATE TABLE products (pid INTEGER PRIMARY KEY, category TEXT, ptype TEXT, price REAL)")
        db.execute("CREATE TABLE attributes (pid INTEGER, attribute TEXT)")
        db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, ptype, attributes, description)")
        for p in catalog.products:
            db.execute("INSERT INTO products VALUES (?, ?, ?, ?)", (p.pid, p.category, p.ptype, p.price))
            db.executemany("INSERT INTO attributes VALUES (?, ?)", [(p.pid, a) for a in p.attributes])
            db.execute("INSERT INTO docs (rowid, title, ptype, attributes, description) VALUES (?, ?, ?, ?, ?)",
                       (p.pid, p.title, p.ptype, " ".join(p.attributes), p.description))
        db.execute("CREATE INDEX attr_idx ON attributes (attribute, pid)")

    def search(self, q: str, category: str, attr: str, max_price: float | None) -> list[int]:
        """Every matching pid, best first (BM25 over title, type, attributes and description; ties by pid)."""
        terms = words(q)[:16]
        where, args = [], []
        if category:
            where.append("p.category = ?")
            args.append(category)
        if attr:
            where.append("p.pid IN (SELECT pid FROM attributes WHERE attribute = ?)")
            args.append(attr)
        if max_price is not None:
            where.append("p.price <= ?")
            args.append(max_price)
        if terms:
            match = " OR ".join(f'"{t}"' for t in terms)
            sql = ("SELECT p.pid FROM docs JOIN products p ON p.pid = docs.rowid WHERE docs MATCH ?"
                   + "".join(f" AND {w}" for w in where) + " ORDER BY bm25(docs, 4.0, 3.0, 2.0, 1.0), p.pid")
            args = [match, *args]
        else:
            sql = ("SELECT p.pid FROM products p" + (" WHERE " + " AND ".join(where) if where else "")
                   + " ORDER BY p.pid")
        with self.lock:
            return [row[0] for row in self.db.execute(sql, args)]


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None and len(text) < 12 else default
    except ValueError:
        return default


# ---- HTML ---------------------------------------------------------------------------------------------------


def page(title: str, body: str, cart_count: int | None = None) -> HTMLResponse:
    cart = f'<a id="nav-cart" href="/cart">Cart ({cart_count})</a>' if cart_count is not None else ""
    return HTMLResponse(
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_E(title)}</title></head><body>"
        f'<header><nav aria-label="Site"><a id="nav-home" href="/">Home</a> {cart}</nav></header>'
        f"<main>{body}</main></body></html>")


def _select(id_: str, name: str, label: str, options: list[tuple[str, str]], current: str) -> str:
    opts = "".join(f'<option value="{_E(v)}"{" selected" if v == current else ""}>{_E(text)}</option>'
                   for v, text in options)
    return f'<label>{_E(label)} <select id="{id_}" name="{name}">{opts}</select></label>'


def search_form(q: str = "", category: str = "", attr: str = "", max_price: str = "") -> str:
    return (
        '<form id="search-form" role="search" action="/search" method="get">'
        f'<label>Search <input id="search-q" name="q" type="search" value="{_E(q)}"></label> '
        + _select("filter-category", "category", "Category",
                  [("", "All categories")] + [(c, c) for c in sorted(CATEGORIES)], category)
        + _select("filter-attr", "attr", "Feature", [("", "Any feature")] + [(a, a) for a in ALL_ATTRIBUTES], attr)
        + _select("filter-price", "max_price", "Price up to",
                  [("", "Any price")] + [(str(c), f"${c}") for c in PRICE_CAPS], max_price)
        + ' <button id="search-go" type="submit">Search</button></form>')


# ---- the app ------------------------------------------------------------------------------------------------


class OriginGuard:
    """The app doubles as its browser's HTTP proxy (every request and connection of the browser comes here, even
    a preconnect or a redirect's next hop): a proxied request for this server is served as a plain one; any other
    (another host or port, CONNECT tunnels) is refused with 403, and nothing is ever forwarded."""

    def __init__(self, app, port: int):
        self.app, self.port = app, int(port)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = scope.get("path", "")
            if scope.get("method") == "CONNECT" or not path.startswith("/"):
                parts = urlsplit(path)
                if (scope.get("method") == "CONNECT" or parts.scheme != "http" or parts.hostname != "127.0.0.1"
                        or parts.port != self.port):
                    await send({"type": "http.response.start", "status": 403,
                                "headers": [(b"content-type", b"text/plain"), (b"connection", b"close")]})
                    await send({"type": "http.response.body", "body": b"blocked: only this site is reachable"})
                    return
                local = parts.path or "/"
                scope = dict(scope, path=local, raw_path=local.encode())
        await self.app(scope, receive, send)


def build_app(secret: str, seed: int = 0, size: int = 1200, lab: bool = False, port: int = 0):
    catalog = generate(seed, size)
    index = ShopIndex(catalog)
    sessions: dict[str, ShopSession] = {}
    lock = threading.Lock()

    def session_of(request: Request) -> ShopSession | None:
        return sessions.get(request.cookies.get(COOKIE, ""))

    def authorized(request: Request) -> bool:
        return hmac.compare_digest(request.headers.get("x-dg-secret", ""), secret)

    async def form_of(request: Request) -> dict[str, str]:
        body = await request.body()
        if len(body) > MAX_BODY:
            return {}
        return {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}

    def no_session() -> HTMLResponse:
        return page("No session", "<h1>No session</h1><p>This browser has no shop session.</p>")

    # control: the env's endpoints, never reachable from its browser
    async def new_session(request: Request) -> Response:
        if not authorized(request):
            return PlainTextResponse("forbidden", status_code=403)
        sid = secrets.token_urlsafe(16)
        with lock:
            if len(sessions) >= MAX_SESSIONS:
                sessions.pop(next(iter(sessions)))
            sessions[sid] = ShopSession()
        return JSONResponse({"sid": sid})

    async def session_state(request: Request) -> Response:
        if not authorized(request):
            return PlainTextResponse("forbidden", status_code=403)
        s = sessions.get(request.path_params["sid"])
        if s is None:
            return JSONResponse({"error": "no such session"}, status_code=404)
        return JSONResponse(s.state())

    async def end_session(request: Request) -> Response:
        if not authorized(request):
            return PlainTextResponse("forbidden", status_code=403)
        with lock:
            sessions.pop(request.path_params["sid"], None)
        return JSONResponse({"ok": True})

    # the shop
    async def home(request: Request) -> Response:
        s = session_of(request)
        if s is None:
            return no_session()
        cats = "".join(f'<li><a href="/search?{urlencode({"category": c})}">{_E(c)}</a></li>' for c in sorted(CATEGORIES))
        return page("Shop - Home", f"<h1>Welcome to the shop</h1>{search_form()}"
                    f'<nav aria-label="Categories"><ul>{cats}</ul></nav>', len(s.cart))

    async def search(request: Request) -> Response:
        s = session_of(request)
        if s is None:
            return no_session()
        qp = request.query_params
        q = qp.get("q", "")[:200]
        category = qp.get("category", "") if qp.get("category", "") in CATEGORIES else ""
        attr = qp.get("attr", "") if qp.get("attr", "") in ALL_ATTRIBUTES else ""
        max_price_s = qp.get("max_price", "")
        max_price = float(max_price_s) if max_price_s in {str(c) for c in PRICE_CAPS} else None
        if max_price is None:
            max_price_s = ""
        page_no = max(1, min(1000, _int(qp.get("page"), 1)))
        pids = index.search(q, category, attr, max_price)
        pages = max(1, -(-len(pids) // PAGE_SIZE))
        page_no = min(page_no, pages)
        shown = pids[(page_no - 1) * PAGE_SIZE : page_no * PAGE_SIZE]
        s.searches.append({"q": q, "category": category, "attr": attr, "max_price": max_price, "page": page_no,
                           "results": shown, "total": len(pids)})
        del s.searches[:-200]
        params = {k: v for k, v in (("q", q), ("category", category), ("attr", attr), ("max_price", max_price_s)) if v}
        s.last_search = "/search?" + urlencode({**params, "page": page_no})
        items = "".join(
            f'<li><a href="/product/{p.pid}" data-pid="{p.pid}">{_E(p.title)}</a> ${p.price:.2f}, rated {p.rating}</li>'
            for p in (catalog.get(pid) for pid in shown) if p)
        nav = ""
        if page_no > 1:
            nav += f'<a id="prev-page" href="/search?{urlencode({**params, "page": page_no - 1})}">Previous page</a> '
        if page_no < pages:
            nav += f'<a id="next-page" href="/search?{urlencode({**params, "page": page_no + 1})}">Next page</a>'
        body = (f"<h1>Search results</h1>{search_form(q, category, attr, max_price_s)}"
                f"<p>{len(pids)} results, page {page_no} of {pages}</p>"
                + (f'<ol id="results">{items}</ol>' if items else "<p>No products match.</p>") + f"<nav>{nav}</nav>")
        return page(f"Shop - Search: {q}" if q else "Shop - Search", body, len(s.cart))

    def product_page(s: ShopSession, pid: int, error: str = "") -> Response:
        p = catalog.get(pid)
        if p is None:
            return page("Not found", "<h1>No such product</h1>", len(s.cart))
        chosen = s.selected.get(pid, {})
        groups = ""
        for axis, values in p.options:
            buttons = "".join(
                f'<button id="opt-{_E(axis)}-{i}" name="value" value="{_E(v)}" '
                f'aria-pressed="{"true" if chosen.get(axis) == v else "false"}">{_E(v)}</button> '
                for i, v in enumerate(values))
            groups += (f'<form method="post" action="/product/{pid}/option" aria-label="{_E(axis)}">'
                       f'<input type="hidden" name="axis" value="{_E(axis)}"><span>{_E(axis)}:</span> {buttons}</form>')
        alert = f'<p role="alert">{_E(error)}</p>' if error else ""
        body = (f'<p><a id="back-to-search" href="{_E(s.last_search)}">Back to search</a></p>'
                f"<h1>{_E(p.title)}</h1><p>Price: ${p.price:.2f}</p><p>Rating: {p.rating} of 5</p>"
                f"<p>Category: {_E(p.category)}</p><p>Features: {_E(', '.join(p.attributes))}</p>"
                f"<p>{_E(p.description)}</p>{groups}{alert}"
                f'<form method="post" action="/cart/add"><input type="hidden" name="pid" value="{pid}">'
                '<button id="add-to-cart" type="submit">Add to cart</button></form>')
        return page(f"Shop - {p.title}", body, len(s.cart))

    def pid_of(request: Request) -> int:
        return _int(request.path_params["pid"], 0)

    async def product(request: Request) -> Response:
        s = session_of(request)
        if s is None:
            return no_session()
        pid = pid_of(request)
        if catalog.get(pid) is not None:
            s.viewed.append(pid)
            del s.viewed[:-500]
        return product_page(s, pid)

    async def choose_option(request: Request) -> Response:
        s = session_of(request)
        if s is None:
            return no_session()
        pid, form = pid_of(request), await form_of(request)
        p = catalog.get(pid)
        if p is not None and form.get("value", "") in p.option_values(form.get("axis", "")):
            s.selected.setdefault(pid, {})[form["axis"]] = form["value"]
        return RedirectResponse(f"/product/{pid}", status_code=303)

    async def cart_add(request: Request) -> Response:
        s = session_of(request)
        if s is None:
            return no_session()
        pid = _int((await form_of(request)).get("pid"), 0)
        p = catalog.get(pid)
        if p is None:
            return page("Not found", "<h1>No such product</h1>", len(s.cart))
        chosen = s.selected.get(pid, {})
        missing = [axis for axis, _ in p.options if axis not in chosen]
        if missing:
            return product_page(s, pid, f"Choose a {' and a '.join(missing)} first.")
        if len(s.cart) < 50:
            s.cart.append({"pid": pid, "options": dict(chosen)})
        return RedirectResponse("/cart", status_code=303)

    async def cart_remove(request: Request) -> Response:
        s = session_of(request)
        if s is None:
            return no_session()
        i = _int((await form_of(request)).get("item"), -1)
        if 0 <= i < len(s.cart):
            s.cart.pop(i)
        return RedirectResponse("/cart", status_code=303)

    def cart_rows(s: ShopSession, removable: bool) -> tuple[str, float]:
        rows, total = "", 0.0
        for i, item in enumerate(s.cart):
            p = catalog.get(item["pid"])
            if p is None:
                continue
            total += p.price
            opts = ", ".join(f"{k}: {v}" for k, v in sorted(item["options"].items()))
            remove = (f'<td><form method="post" action="/cart/remove"><input type="hidden" name="item" value="{i}">'
                      f'<button id="remove-{i}" type="submit">Remove</button></form></td>') if removable else ""
            rows += f'<tr><td><a href="/product/{p.pid}">{_E(p.title)}</a></td><td>{_E(opts)}</td><td>${p.price:.2f}</td>{remove}</tr>'
        return rows, total

    async def cart(request: Request) -> Response:
        s = session_of(request)
        if s is None:
            return no_session()
        rows, total = cart_rows(s, True)
        if not rows:
            return page("Shop - Cart", "<h1>Your cart</h1><p>Your cart is empty.</p>", 0)
        body = (f"<h1>Your cart</h1><table><tr><th>Product</th><th>Options</th><th>Price</th><th></th></tr>{rows}</table>"
                f'<p>Total: ${total:.2f}</p><p><a id="checkout" href="/checkout">Proceed to checkout</a></p>')
        return page("Shop - Cart", body, len(s.cart))

    async def checkout(request: Request) -> Response:
        s = session_of(request)
        if s is None:
            return no_session()
        if request.method == "POST":
            if s.cart:
                s.orders.append(list(s.cart))
                s.cart.clear()
                return RedirectResponse(f"/order/{len(s.orders)}", status_code=303)
            return RedirectResponse("/cart", status_code=303)
        rows, total = cart_rows(s, False)
        if not rows:
            return RedirectResponse("/cart", status_code=303)
        body = (f"<h1>Checkout</h1><table>{rows}</table><p>Total: ${total:.2f}</p>"
                '<form method="post" action="/checkout"><button id="place-order" type="submit">Place order</button></form>')
        return page("Shop - Checkout", body, len(s.cart))

    async def order(request: Request) -> Response:
        s = session_of(request)
        if s is None:
            return no_session()
        return page("Shop - Order placed", f"<h1>Thank you</h1><p>Order {_E(request.path_params['n'])} is placed.</p>",
                    len(s.cart))

    routes = [
        Route("/__dg/session", new_session, methods=["POST"]),
        Route("/__dg/state/{sid}", session_state),
        Route("/__dg/session/{sid}", end_session, methods=["DELETE"]),
        Route("/", home),
        Route("/search", search),
        Route("/product/{pid}", product),
        Route("/product/{pid}/option", choose_option, methods=["POST"]),
        Route("/cart", cart),
        Route("/cart/add", cart_add, methods=["POST"]),
        Route("/cart/remove", cart_remove, methods=["POST"]),
        Route("/checkout", checkout, methods=["GET", "POST"]),
        Route("/order/{n}", order),
    ]
    routes += form_routes(session_of)
    if lab:
        routes += lab_routes()
    app = Starlette(routes=routes)
    return OriginGuard(app, port) if port else app


# ---- the lab: hostile pages for the safety tests, pages that settle late (served only with lab=True) ---------


def lab_routes() -> list[Route]:
    def target(request: Request) -> str:
        return json.dumps(request.query_params.get("to", ""))

    def lab_page(title: str, body: str) -> HTMLResponse:
        return HTMLResponse(f"<!doctype html><html><head><title>{_E(title)}</title></head><body>{body}</body></html>")

    async def fetch(request: Request) -> Response:  # scripts, images, styles, beacons, preconnects, web sockets, SSE
        to = target(request)
        return lab_page("Lab - fetch", f"<p>fetching</p><script>const to = {to};"
                        "fetch(to).catch(() => {}); fetch(to, {method: 'POST', body: 'x', mode: 'no-cors'}).catch(() => {});"
                        "new Image().src = to + '?img'; const s = document.createElement('script'); s.src = to + '?js';"
                        "document.head.appendChild(s); try { navigator.sendBeacon(to + '?beacon', 'x'); } catch (e) {}"
                        "const l = document.createElement('link'); l.rel = 'stylesheet'; l.href = to + '?css';"
                        "document.head.appendChild(l); const p = document.createElement('link'); p.rel = 'preconnect';"
                        "p.href = to; document.head.appendChild(p);"
                        "try { new WebSocket(to.replace('http', 'ws') + '?ws'); } catch (e) {}"
                        "try { new EventSource(to + '?sse'); } catch (e) {}</script>")

    async def iframe(request: Request) -> Response:
        to = _E(json.loads(target(request)), quote=True)
        return lab_page("Lab - iframe", f'<iframe title="elsewhere" src="{to}"></iframe>')

    async def redirect(request: Request) -> Response:
        return RedirectResponse(json.loads(target(request)) or "/", status_code=302)

    async def popup(request: Request) -> Response:
        return lab_page("Lab - popup", f"<button id=open onclick='window.open({_E(target(request))})'>Open</button>"
                        f"<script>window.open({target(request)});</script>")

    async def form(request: Request) -> Response:
        to = _E(json.loads(target(request)), quote=True)
        return lab_page("Lab - form", f'<form method="post" action="{to}"><input name="x" value="1">'
                        "<button id=send type=submit>Send</button></form>")

    async def loop(request: Request) -> Response:
        return lab_page("Lab - loop", "<button id=spin onclick='for(;;){}'>Spin</button>")

    async def loop_on_load(request: Request) -> Response:
        return lab_page("Lab - hang", "<p>hanging</p><script>for(;;){}</script>")

    async def later(request: Request) -> Response:  # loops a moment after it has loaded
        return lab_page("Lab - later", "<button id=ok>OK</button><script>setTimeout(() => { for(;;){} }, 300)</script>")

    async def slow_json(request: Request) -> Response:  # answers after ``ms`` (at most 5 s)
        ms = min(max(_int(request.query_params.get("ms"), 400), 0), 5000)
        await asyncio.sleep(ms / 1000)
        return JSONResponse({"message": f"loaded after {ms} ms"})

    async def fetch_render(request: Request) -> Response:  # a click fetches JSON, then renders it (as most sites do)
        return lab_page("Lab - fetch and render", "<button id=load onclick=\"fetch('/lab/slow-json?ms=400')"
                        ".then(r => r.json()).then(d => { const p = document.createElement('p'); p.id = 'result';"
                        " p.textContent = d.message; document.body.appendChild(p); })\">Load</button>")

    async def ticker(request: Request) -> Response:  # a timer changes the DOM forever: the page never settles
        return lab_page("Lab - ticker", "<p id=tick>0</p><button id=press onclick=\"document.title = 'pressed'\">"
                        "Press</button><script>let n = 0; setInterval(() => { document.getElementById('tick')"
                        ".textContent = String(++n); }, 20)</script>")

    async def dialogs(request: Request) -> Response:
        return lab_page("Lab - dialogs", "<button id=alert onclick=\"alert('hello from the page')\">Alert</button>"
                        "<button id=confirm onclick=\"document.title = confirm('sure?') ? 'yes' : 'no'\">Confirm</button>"
                        "<button id=prompt onclick=\"document.title = 'got ' + prompt('name?')\">Prompt</button>"
                        "<input id=file type=file aria-label=Upload>"
                        "<a id=download href=/lab/file download>Download</a>")

    async def file(request: Request) -> Response:
        return Response(b"x" * 1000, media_type="application/octet-stream",
                        headers={"content-disposition": "attachment; filename=x.bin"})

    return [Route("/lab/fetch", fetch), Route("/lab/iframe", iframe), Route("/lab/redirect", redirect),
            Route("/lab/popup", popup), Route("/lab/form", form), Route("/lab/loop", loop),
            Route("/lab/hang", loop_on_load), Route("/lab/later", later), Route("/lab/dialogs", dialogs),
            Route("/lab/file", file), Route("/lab/slow-json", slow_json), Route("/lab/fetch-render", fetch_render), Route("/lab/ticker", ticker)]
