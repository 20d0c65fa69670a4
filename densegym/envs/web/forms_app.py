"""The WebForms app's routes (served by the same server as the shop, under ``/forms``).

Multi-page forms with server-side validation (errors listed in an alert and next to each field), dependent
fields (shown or given their options by another field's value, in the page's script and again in the server's
validation), date pickers (``<input type=date>``), a review page and, for some forms, a confirmation dialog
(an in-page modal ``<dialog>``). Every change of a field is saved as a draft in the session, which is where
the env reads per-field progress; ``window.__dgFlush()`` resolves when the page's pending saves are done.
"""

from __future__ import annotations

import html
import json
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from densegym.envs.web.forms import SCHEMAS, Schema, active, choices, validate

_E = html.escape
MAX_BODY = 65_536


def new_form_state() -> dict:
    return {"draft": {}, "done": [], "submitted": None, "attempts": 0}


def _field_html(f, values: dict[str, str], error: str | None) -> str:
    v = values.get(f.name, "")
    invalid = ' aria-invalid="true"' if error else ""
    err = f'<span id="err-{f.name}" class="error">{_E(error)}</span>' if error else ""
    hidden = "" if active(f, values) else " hidden"
    if f.kind == "select":
        opts = '<option value="">Choose...</option>' + "".join(
            f'<option value="{_E(c)}"{" selected" if c == v else ""}>{_E(c)}</option>' for c in choices(f, values))
        inner = f'<label for="f-{f.name}">{_E(f.label)}</label> <select id="f-{f.name}" name="{f.name}"{invalid}>{opts}</select>'
    elif f.kind == "radio":
        radios = "".join(
            f'<label><input type="radio" id="f-{f.name}-{k}" name="{f.name}" value="{_E(c)}"'
            f'{" checked" if c == v else ""}> {_E(c)}</label> ' for k, c in enumerate(f.choices))
        inner = f"<fieldset{invalid}><legend>{_E(f.label)}</legend>{radios}</fieldset>"
    elif f.kind == "checkbox":
        inner = (f'<label><input type="checkbox" id="f-{f.name}" name="{f.name}"{" checked" if v == "on" else ""}> '
                 f"{_E(f.label)}</label>")
    else:
        extra = ' min="1" max="6"' if f.kind == "number" else ""
        inner = (f'<label for="f-{f.name}">{_E(f.label)}</label> <input id="f-{f.name}" name="{f.name}" '
                 f'type="{f.kind}" value="{_E(v)}"{extra}{invalid}>')
    return f'<div id="wrap-{f.name}"{hidden}>{inner} {err}</div>'


_SCRIPT = """<script>
const FORM = document.getElementById('form'), DEPS = %s, BY = %s, DRAFT = %s;
let pending = Promise.resolve();
function values() {
  const o = {};
  for (const el of FORM.elements) {
    if (!el.name) continue;
    if (el.type === 'checkbox') o[el.name] = el.checked ? 'on' : '';
    else if (el.type === 'radio') { if (el.checked) o[el.name] = el.value; else if (!(el.name in o)) o[el.name] = ''; }
    else o[el.name] = el.value;
  }
  return o;
}
function refresh() {
  const v = values();
  for (const [name, [dep, val]] of Object.entries(DEPS)) document.getElementById('wrap-' + name).hidden = (v[dep] || '') !== val;
  for (const [name, [src, map]] of Object.entries(BY)) {
    const sel = document.getElementById('f-' + name), want = map[v[src] || ''] || [];
    const cur = [...sel.options].slice(1).map(o => o.value);
    if (cur.join('|') !== want.join('|')) {
      const keep = sel.value;
      sel.length = 1;
      for (const c of want) sel.add(new Option(c, c));
      sel.value = want.includes(keep) ? keep : '';
    }
  }
}
function save() {
  refresh();
  const body = JSON.stringify(values());
  pending = pending.then(() => fetch(DRAFT, {method: 'POST', headers: {'content-type': 'application/json'}, body}))
                   .catch(() => {});
}
FORM.addEventListener('input', save);
FORM.addEventListener('change', save);
window.__dgFlush = () => pending;
refresh();
</script>"""


def _steps(schema: Schema, state: dict, current: int) -> str:
    first_open = next((i for i in range(len(schema.pages)) if i not in state["done"]), len(schema.pages))
    items = []
    for i, (title, _) in enumerate(schema.pages):
        text = f"{i + 1}. {title}"
        cur = ' aria-current="step"' if i == current else ""
        items.append(f'<a id="step-{i + 1}" href="/forms/{schema.name}/{i + 1}"{cur}>{_E(text)}</a>'
                     if i <= first_open else f"<span>{_E(text)}</span>")
    review = (f'<a id="step-review" href="/forms/{schema.name}/review">Review</a>' if first_open == len(schema.pages)
              else "<span>Review</span>")
    return f'<nav aria-label="Steps">{" | ".join(items + [review])}</nav>'


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_E(title)}</title></head>"
                        f'<body><header><nav aria-label="Site"><a id="nav-forms" href="/forms">All forms</a></nav>'
                        f"</header><main>{body}</main></body></html>")


def form_routes(session_of) -> list[Route]:
    """The routes; ``session_of(request)`` gives the request's session (with a ``forms`` dict) or None."""

    def context(request: Request) -> tuple[Schema | None, dict | None]:
        s = session_of(request)
        schema = SCHEMAS.get(request.path_params.get("schema", ""))
        if s is None or schema is None:
            return schema, None
        return schema, s.forms.setdefault(schema.name, new_form_state())

    def missing() -> HTMLResponse:
        return _page("Not found", "<h1>No such form (or no session)</h1>")

    def render(schema: Schema, state: dict, i: int, errors: dict[str, str]) -> HTMLResponse:
        title, fields = schema.pages[i]
        values = state["draft"]
        alert = ('<div role="alert"><p>Please correct the following:</p><ul>'
                 + "".join(f"<li>{_E(m)}</li>" for m in errors.values()) + "</ul></div>") if errors else ""
        last = i == len(schema.pages) - 1
        body = (f"{_steps(schema, state, i)}<h1>{_E(schema.title)}: {_E(title)}</h1>{alert}"
                f'<form id="form" method="post" action="/forms/{schema.name}/{i + 1}" novalidate>'
                + "".join(_field_html(f, values, errors.get(f.name)) for f in fields)
                + f'<button id="next" type="submit">{"Continue to review" if last else "Next"}</button></form>'
                + _SCRIPT % (json.dumps({f.name: list(f.depends) for f in fields if f.depends}),
                             json.dumps({f.name: [f.choices_by[0], {k: list(v) for k, v in f.choices_by[1].items()}]
                                         for f in fields if f.choices_by}),
                             json.dumps(f"/forms/{schema.name}/draft")))
        return _page(f"{schema.title} - {title}", body)

    def page_no(request: Request, schema: Schema) -> int | None:
        raw = request.path_params.get("page", "")
        return int(raw) - 1 if raw.isdigit() and 1 <= int(raw) <= len(schema.pages) else None

    async def index(request: Request) -> Response:
        if session_of(request) is None:
            return missing()
        links = "".join(f'<li><a id="form-{s.name}" href="/forms/{s.name}/1">{_E(s.title)}</a></li>'
                        for s in SCHEMAS.values())
        return _page("Forms", f"<h1>Forms</h1><ul>{links}</ul>")

    async def form_page(request: Request) -> Response:
        schema, state = context(request)
        if state is None or (i := page_no(request, schema)) is None:
            return missing()
        if request.method == "GET":
            return render(schema, state, i, {})
        body = await request.body()
        posted = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()} if len(body) <= MAX_BODY else {}
        for f in schema.pages[i][1]:
            state["draft"][f.name] = posted.get(f.name, "")[:500]
        errors = validate(schema, i, state["draft"])
        if errors:
            if i in state["done"]:
                state["done"].remove(i)
            return render(schema, state, i, errors)
        if i not in state["done"]:
            state["done"].append(i)
            state["done"].sort()
        nxt = f"/forms/{schema.name}/{i + 2}" if i + 1 < len(schema.pages) else f"/forms/{schema.name}/review"
        return RedirectResponse(nxt, status_code=303)

    async def draft(request: Request) -> Response:
        schema, state = context(request)
        if state is None:
            return missing()
        body = await request.body()
        try:
            values = json.loads(body) if len(body) <= MAX_BODY else {}
        except ValueError:
            values = {}
        names = {f.name for f in schema.fields}
        if isinstance(values, dict):
            for k, v in values.items():
                if k in names and isinstance(v, str):
                    state["draft"][k] = v[:500]
        return Response(status_code=204)

    async def review(request: Request) -> Response:
        schema, state = context(request)
        if state is None:
            return missing()
        todo = [i for i in range(len(schema.pages)) if i not in state["done"]]
        if todo:
            return RedirectResponse(f"/forms/{schema.name}/{todo[0] + 1}", status_code=303)
        values = state["draft"]
        rows = "".join(f"<dt>{_E(f.label)}</dt><dd>{_E(values.get(f.name, '') or '-')}</dd>"
                       for f in schema.fields if active(f, values))
        submit = f'<form method="post" action="/forms/{schema.name}/submit">'
        if schema.confirm:
            actions = ('<button id="open-submit" type="button" onclick="document.getElementById(\'confirm\').showModal()">'
                       "Submit</button>"
                       f'<dialog id="confirm" aria-label="Confirm submission"><p>Submit the {_E(schema.title.lower())}?</p>'
                       f'{submit}<button id="confirm-submit" type="submit">Confirm</button></form>'
                       '<button id="cancel-submit" type="button" onclick="this.closest(\'dialog\').close()">Cancel</button>'
                       "</dialog>")
        else:
            actions = f'{submit}<button id="confirm-submit" type="submit">Submit</button></form>'
        body = f"{_steps(schema, state, len(schema.pages))}<h1>{_E(schema.title)}: Review</h1><dl>{rows}</dl>{actions}"
        return _page(f"{schema.title} - Review", body)

    async def submit(request: Request) -> Response:
        schema, state = context(request)
        if state is None:
            return missing()
        values = state["draft"]
        for i in range(len(schema.pages)):
            if i not in state["done"] or validate(schema, i, values):
                return RedirectResponse(f"/forms/{schema.name}/{i + 1}", status_code=303)
        state["attempts"] += 1
        state["submitted"] = {f.name: values.get(f.name, "") for f in schema.fields if active(f, values)}
        return RedirectResponse(f"/forms/{schema.name}/done", status_code=303)

    async def done(request: Request) -> Response:
        schema, state = context(request)
        if state is None:
            return missing()
        if state["submitted"] is None:
            return RedirectResponse(f"/forms/{schema.name}/1", status_code=303)
        return _page(f"{schema.title} - Submitted", f"<h1>Thank you</h1><p>Your {_E(schema.title.lower())} is submitted.</p>")

    return [Route("/forms", index), Route("/forms/{schema}/review", review),
            Route("/forms/{schema}/submit", submit, methods=["POST"]), Route("/forms/{schema}/done", done),
            Route("/forms/{schema}/draft", draft, methods=["POST"]),
            Route("/forms/{schema}/{page}", form_page, methods=["GET", "POST"])]
