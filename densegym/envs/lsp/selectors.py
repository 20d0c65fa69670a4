"""Selectors: how an action names a place in the workspace, resolved with a confidence ``alpha``.

Accepted forms (lines and columns are 1-based, as editors show them):

| selector | selects | alpha |
|---|---|---|
| ``pkg/mod.py`` | the whole file | 1 |
| ``pkg/mod.py:12`` / ``pkg/mod.py:12-20`` | whole lines | 1 |
| ``pkg/mod.py@L12:C5`` | a cursor position | 1 |
| ``pkg/mod.py@R(12,5->12,9)`` | a character range (end exclusive) | 1 |
| ``py://pkg.mod#Class.method`` (``:def`` / ``:body`` / ``:sig``) | a symbol, found structurally | 1 |
| ``ast://[module=pkg.mod]/[class=Class]/[def=method]`` | the same symbol as an AST path | 1 |
| ``anchor://pkg/mod.py#"snippet"`` (optional ``?line=N``) | a content anchor, relocated by fuzzy matching | Eq. 3.1 |

Content anchors follow Lanser-CLI: an exact, unique occurrence scores 1.0; otherwise windows of the
file with as many lines as the snippet are scored ``0.5 s_ast + 0.2 s_module + 0.2 J_token + 0.1 s_prox``
(``J_token``: Jaccard of winnowed 7-gram fingerprints, window 4; ``s_ast``: similarity of the Python token
streams; ``s_module``: the file named; ``s_prox``: closeness to the ``?line=`` hint). Ties break on
(file, range). Below ``tau`` the selector is refused with the best candidates as evidence.
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import tokenize
import zlib
from dataclasses import dataclass, field
from urllib.parse import unquote

from densegym.envs.base import ActionError, squash
from densegym.sandbox import PathEscape, Workspace

SELECTOR_WEIGHTS = (0.5, 0.2, 0.2, 0.1)  # s_ast, s_module, J_token, s_prox (Eq. 3.1)
WINNOW_K, WINNOW_W = 7, 4


@dataclass(frozen=True)
class Resolved:
    """A selection: ``text[start:end]`` of ``path``, its cursor ``point`` and the confidence ``alpha``."""

    path: str
    start: int
    end: int
    point: int
    alpha: float
    kind: str
    canonical: str
    alternatives: tuple[dict, ...] = field(default=())

    def as_dict(self) -> dict:
        return {"path": self.path, "start": self.start, "end": self.end, "alpha": round(self.alpha, 6),
                "kind": self.kind, "canonical": self.canonical, "alternatives": list(self.alternatives)}  # fmt: skip


_LINES = re.compile(r"^(?P<path>[^@:#]+):(?P<a>\d+)(?:-(?P<b>\d+))?$")
_CURSOR = re.compile(r"^(?P<path>[^@#]+)@L(?P<l>\d+):C(?P<c>\d+)$")
_RANGE = re.compile(r"^(?P<path>[^@#]+)@R\((?P<l1>\d+),(?P<c1>\d+)->(?P<l2>\d+),(?P<c2>\d+)\)$")
_SYMBOL = re.compile(r"^py://(?P<module>[A-Za-z_][\w.]*)#(?P<qual>[A-Za-z_][\w.]*)(?::(?P<role>def|body|sig))?$")
_ANCHOR = re.compile(r'^anchor://(?P<path>[^#]+)#(?P<snippet>.+?)(?:\?line=(?P<line>\d+))?$', re.S)


def line_offsets(text: str) -> list[int]:
    out = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            out.append(i + 1)
    return out


def _line_span(text: str, first: int, last: int) -> tuple[int, int]:
    """Offsets covering 1-based lines first..last, including the last line's newline."""
    starts = line_offsets(text)
    n = len(starts) if not text.endswith("\n") else len(starts) - 1
    if not 1 <= first <= last or first > max(n, 1):
        raise ActionError(f"line range {first}-{last} is outside the file's {n} lines")
    last = min(last, n)
    end = starts[last] if last < len(starts) else len(text)
    return starts[first - 1], end


def _point(text: str, line: int, col: int) -> int:
    starts = line_offsets(text)
    if not 1 <= line <= len(starts):
        raise ActionError(f"line {line} is outside the file's {len(starts)} lines")
    start = starts[line - 1]
    end = starts[line] - 1 if line < len(starts) else len(text)
    if not 1 <= col <= end - start + 1:
        raise ActionError(f"column {col} is outside line {line}, which has {end - start} characters")
    return start + col - 1


class SelectorResolver:
    def __init__(self, workspace: Workspace, tau: float = 0.6):
        self.ws = workspace
        self.tau = float(tau)

    def _read(self, path: str) -> tuple[str, str]:
        try:
            rel = self.ws.relpath(path)
            return rel, self.ws.read(rel)
        except PathEscape as exc:
            raise ActionError(str(exc)) from None
        except FileNotFoundError as exc:
            raise ActionError(f"{exc.args[0]}; files: {', '.join(self.ws.files('.py'))}") from None

    def resolve(self, selector: str, *, allow_missing_file: bool = False) -> Resolved:
        sel = selector.strip()
        if not sel:
            raise ActionError("missing selector")
        if m := _SYMBOL.match(sel):
            return self._symbol(m["module"], m["qual"], m["role"] or "def")
        if sel.startswith("ast://"):
            module, qual = _ast_path(sel)
            return self._symbol(module, qual, "def")
        if sel.startswith("anchor://"):
            m = _ANCHOR.match(sel)
            if not m:
                raise ActionError('an anchor looks like anchor://pkg/mod.py#"snippet" (optional ?line=N)')
            return self._anchor(m["path"], m["snippet"], int(m["line"]) if m["line"] else None)
        if sel.startswith("py://"):
            raise ActionError("a symbol selector looks like py://package.module#Class.method (optional :def, :body or :sig)")
        if m := _RANGE.match(sel):
            rel, text = self._read(m["path"])
            a = _point(text, int(m["l1"]), int(m["c1"]))
            b = _point(text, int(m["l2"]), int(m["c2"]))
            if b < a:
                raise ActionError("the range ends before it starts")
            return Resolved(rel, a, b, a, 1.0, "range", f"{rel}@R({m['l1']},{m['c1']}->{m['l2']},{m['c2']})")
        if m := _CURSOR.match(sel):
            rel, text = self._read(m["path"])
            p = _point(text, int(m["l"]), int(m["c"]))
            return Resolved(rel, p, p, p, 1.0, "cursor", f"{rel}@L{m['l']}:C{m['c']}")
        if m := _LINES.match(sel):
            rel, text = self._read(m["path"])
            a = int(m["a"])
            b = int(m["b"] or a)
            start, end = _line_span(text, a, b)
            return Resolved(rel, start, end, start, 1.0, "lines", f"{rel}:{a}-{b}")
        if allow_missing_file:
            try:
                rel = self.ws.relpath(sel)
            except PathEscape as exc:
                raise ActionError(str(exc)) from None
            if not self.ws.exists(rel):
                return Resolved(rel, 0, 0, 0, 1.0, "new-file", rel)
        rel, text = self._read(sel)
        return Resolved(rel, 0, len(text), 0, 1.0, "file", rel)

    # ---- symbols ------------------------------------------------------------------------------

    def _symbol(self, module: str, qual: str, role: str) -> Resolved:
        base = module.replace(".", "/")
        rel = next((c for c in (base + ".py", base + "/__init__.py") if self.ws.exists(c)), None)
        if rel is None:
            raise ActionError(f"E/NOT_FOUND: no module {module!r}; modules: {', '.join(self._modules())}")
        text = self.ws.read(rel)
        try:
            tree = ast.parse(text)
        except SyntaxError as exc:
            raise ActionError(f"{rel} does not parse (line {exc.lineno}), so symbols cannot be found in it; "
                              "select lines instead") from None  # fmt: skip
        node = _find_qualname(tree, qual.split("."))
        if node is None:
            names = _qualnames(tree)
            close = difflib.get_close_matches(qual, names, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; symbols: {', '.join(names[:20])}"
            raise ActionError(f"E/NOT_FOUND: no symbol {qual!r} in {rel}{hint}")
        first = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
        if role == "def":
            start, end = _line_span(text, first, node.end_lineno)
        elif role == "sig":
            body_line = node.body[0].lineno if hasattr(node, "body") else node.lineno
            start, end = _line_span(text, first, max(first, body_line - 1))
        else:
            if not hasattr(node, "body"):
                raise ActionError(f"{qual} has no body")
            start, end = _line_span(text, node.body[0].lineno, node.end_lineno)
        point = _name_offset(text, node)
        return Resolved(rel, start, end, point, 1.0, "symbol", f"py://{module}#{qual}:{role}")

    def _modules(self) -> list[str]:
        return [f[:-3].replace("/", ".").removesuffix(".__init__") for f in self.ws.files(".py")]

    # ---- content anchors ----------------------------------------------------------------------

    def _anchor(self, path: str, snippet: str, line_hint: int | None) -> Resolved:
        rel, text = self._read(path)
        snippet = unquote(snippet.strip())
        if len(snippet) >= 2 and snippet[0] == snippet[-1] == '"':
            snippet = snippet[1:-1]
        if not snippet.strip():
            raise ActionError("the anchor's snippet is empty")
        canonical = f'anchor://{rel}#"{squash(snippet, 40)}"'
        exact = [m.start() for m in re.finditer(re.escape(snippet), text)]
        if len(exact) == 1:
            a = exact[0]
            return Resolved(rel, a, a + len(snippet), _first_word(text, a), 1.0, "anchor", canonical)
        starts = line_offsets(text)
        n_lines = snippet.strip("\n").count("\n") + 1
        total = len(starts)
        candidates = []
        for i in range(max(total - n_lines + 1, 1)):
            a = starts[i]
            b = starts[i + n_lines] if i + n_lines < total else len(text)
            window = text[a:b]
            if not window.strip():
                continue
            score = anchor_score(snippet, window, line_hint, i + 1, same_module=True)
            candidates.append((score, i + 1, a, b))
        if len(exact) > 1:
            # Several exact hits: the text is right but the place is not; alpha says how unsure we are.
            candidates = [(1.0 / len(exact), text[: a].count("\n") + 1, a, a + len(snippet)) for a in exact]
        if not candidates:
            raise ActionError(f"E/NOT_FOUND: the anchor matches nothing in {rel}")
        candidates.sort(key=lambda c: (-c[0], c[1]))
        best = candidates[0]
        evidence = tuple({"line": c[1], "score": round(c[0], 4)} for c in candidates[1:4])
        if best[0] < self.tau:
            shown = ", ".join(f"line {c[1]} (score {c[0]:.2f})" for c in candidates[:3])
            raise ActionError(f"E/AMBIGUOUS: the best match for the anchor scores {best[0]:.2f} < {self.tau}; "
                              f"candidates: {shown}. Quote the code exactly or select lines.")  # fmt: skip
        # A fuzzy match selects whole lines; keep their indentation and final newline out of the selection
        # so that an edit's body, written like the snippet, lands with the file's layout.
        a, b = best[2], best[3]
        while a < b and text[a] in " \t":
            a += 1
        if b > a and text[b - 1] == "\n":
            b -= 1
        return Resolved(rel, a, b, _first_word(text, a), best[0], "anchor", canonical, evidence)


_AST_STEP = re.compile(r"\[(module|class|def)=([A-Za-z_][\w.]*)\]")


def _ast_path(sel: str) -> tuple[str, str]:
    """``ast://[module=pkg.mod]/[class=Cart]/[def=total]`` -> (``pkg.mod``, ``Cart.total``)."""
    steps = sel[len("ast://") :].split("/")
    parsed = [_AST_STEP.fullmatch(step) for step in steps]
    if not parsed or not all(parsed) or parsed[0][1] != "module" or len(parsed) < 2 or any(m[1] == "module" for m in parsed[1:]):
        raise ActionError("an AST path looks like ast://[module=pkg.mod]/[class=Name]/[def=name]")
    return parsed[0][2], ".".join(m[2] for m in parsed[1:])


def _find_qualname(tree: ast.AST, parts: list[str]) -> ast.AST | None:
    scope = tree
    node = None
    for part in parts:
        node = next((n for n in getattr(scope, "body", []) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == part), None)  # fmt: skip
        if node is None:
            return None
        scope = node
    return node


def _qualnames(tree: ast.AST, prefix: str = "") -> list[str]:
    out = []
    for n in getattr(tree, "body", []):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.append(prefix + n.name)
            if isinstance(n, ast.ClassDef):
                out.extend(_qualnames(n, prefix + n.name + "."))
    return out


def _name_offset(text: str, node: ast.AST) -> int:
    starts = line_offsets(text)
    line = text[starts[node.lineno - 1] :].split("\n", 1)[0]
    keyword = "class " if isinstance(node, ast.ClassDef) else "def "
    col = line.find(keyword + node.name)
    col = col + len(keyword) if col >= 0 else node.col_offset
    return starts[node.lineno - 1] + col


def _first_word(text: str, offset: int) -> int:
    m = re.compile(r"[A-Za-z_]").search(text, offset)
    return m.start() if m else offset


# ---- scoring (Eq. 3.1) ----------------------------------------------------------------------


def winnow(text: str, k: int = WINNOW_K, w: int = WINNOW_W) -> set[int]:
    """Winnowing fingerprints (Schleimer et al. 2003) of whitespace-normalised ``text``."""
    norm = " ".join(text.split())
    grams = [zlib.crc32(norm[i : i + k].encode()) for i in range(max(len(norm) - k + 1, 1))]
    if len(grams) <= w:
        return set(grams)
    prints = set()
    for i in range(len(grams) - w + 1):
        window = grams[i : i + w]
        low = min(window)
        prints.add(low)
    return prints


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _tokens(text: str) -> list[str]:
    try:
        toks = tokenize.generate_tokens(io.StringIO(text).readline)
        return [t.string for t in toks if t.type in (tokenize.NAME, tokenize.OP, tokenize.NUMBER, tokenize.STRING)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return re.findall(r"\w+|[^\w\s]", text)


def anchor_score(snippet: str, window: str, line_hint: int | None, line: int, *, same_module: bool) -> float:
    s_ast = difflib.SequenceMatcher(None, _tokens(snippet), _tokens(window), autojunk=False).ratio()
    s_module = 1.0 if same_module else 0.0
    j_token = jaccard(winnow(snippet), winnow(window))
    s_prox = 1.0 if line_hint is None else 1.0 / (1.0 + abs(line - line_hint) / 10.0)
    w = SELECTOR_WEIGHTS
    return w[0] * s_ast + w[1] * s_module + w[2] * j_token + w[3] * s_prox
