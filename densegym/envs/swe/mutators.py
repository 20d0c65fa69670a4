"""Procedural bug injection in the manner of SWE-smith: small AST-located rewrites of a module's source.

A mutator finds candidate sites in a module and proposes, for each, one replacement of a span of the
original text. Only that span changes, so the bug's diff is a line or a few and the rest of the file keeps its
formatting (a patch an agent reads should look like a human's slip, not a reformatted file). Every proposal
is checked to compile; whether it is a *bug* (some test notices it) is taskgen's job.

Sites in docstrings, type annotations, ``__repr__`` and ``if __name__ == "__main__":`` blocks are skipped:
changes there are either invisible to tests or not the kind of bug an issue would be filed about.
"""

from __future__ import annotations

import ast
import bisect
import io
import random
import re
import tokenize
from dataclasses import dataclass

_SKIPPED_FUNCTIONS = {"__repr__"}
_SYMMETRIC_CALLS = {"max", "min", "print", "set", "frozenset", "hash", "id", "zip"}


@dataclass(frozen=True)
class Mutation:
    """One proposed rewrite: replace ``source[start:end]`` with ``replacement``.

    ``line`` is the 1-based line of the mutated node and ``function`` the qualified name of the enclosing
    function ("Ledger.post"), or None at module level: taskgen's metadata and its variety rules use both.
    """

    mutator: str
    line: int
    function: str | None
    start: int
    end: int
    replacement: str

    def apply(self, source: str) -> str:
        return source[: self.start] + self.replacement + source[self.end:]


def apply_mutations(source: str, mutations: list[Mutation]) -> str:
    """``source`` with several non-overlapping mutations applied (ValueError if two overlap)."""
    ordered = sorted(mutations, key=lambda m: m.start)
    for first, second in zip(ordered, ordered[1:]):
        if first.end > second.start:
            raise ValueError(f"overlapping mutations at lines {first.line} and {second.line}")
    for mutation in reversed(ordered):
        source = mutation.apply(source)
    return source


class _Module:
    """A parsed module with what the mutators share: char offsets of nodes, tokens, skipped nodes, scopes."""

    def __init__(self, source: str):
        self.source = source
        self.tree = ast.parse(source)
        self.lines = source.split("\n")
        self.line_starts = [0]
        for line in self.lines[:-1]:
            self.line_starts.append(self.line_starts[-1] + len(line) + 1)
        self.tokens: list[tuple[int, int, str]] = []  # (start offset, end offset, string) of OP and NAME tokens
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.OP, tokenize.NAME):
                self.tokens.append((self.offset_chars(*tok.start), self.offset_chars(*tok.end), tok.string))
        self.token_starts = [t[0] for t in self.tokens]
        self.skipped: set[int] = set()
        self.function_of: dict[int, str | None] = {}
        self.qualname: dict[int, str] = {}
        self.parent: dict[int, ast.AST] = {}
        self._scan(self.tree, "", None, False)

    def offset_chars(self, lineno: int, col: int) -> int:
        return self.line_starts[lineno - 1] + col

    def start(self, node: ast.AST) -> int:
        line = self.lines[node.lineno - 1]
        return self.offset_chars(node.lineno, len(line.encode()[: node.col_offset].decode()))

    def end(self, node: ast.AST) -> int:
        line = self.lines[node.end_lineno - 1]
        return self.offset_chars(node.end_lineno, len(line.encode()[: node.end_col_offset].decode()))

    def text(self, node: ast.AST) -> str:
        return self.source[self.start(node): self.end(node)]

    def token_between(self, start: int, end: int, strings: set[str]) -> tuple[int, int, str] | None:
        """The first OP/NAME token in [start, end) spelled as one of ``strings`` (comments never match)."""
        for tok in self.tokens[bisect.bisect_left(self.token_starts, start):]:
            if tok[0] >= end:
                return None
            if tok[2] in strings:
                return tok
        return None

    def _scan(self, node: ast.AST, scope: str, function: str | None, skipped: bool) -> None:
        """Record each node's enclosing function, its parent, and whether it lies in a skipped region."""
        self.function_of[id(node)] = function
        skipped = skipped or _is_main_guard(node)
        if skipped:
            self.skipped.add(id(node))
        children_skipped: set[int] = set()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            skipped = skipped or node.name in _SKIPPED_FUNCTIONS
            arguments = node.args
            for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg,
                        arguments.kwarg]:
                if arg is not None and arg.annotation is not None:
                    children_skipped.add(id(arg.annotation))
            if node.returns is not None:
                children_skipped.add(id(node.returns))
        if isinstance(node, ast.AnnAssign):
            children_skipped.add(id(node.annotation))
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                children_skipped.add(id(first))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope = f"{scope}.{node.name}" if scope else node.name
            self.qualname[id(node)] = scope
            if not isinstance(node, ast.ClassDef):
                function = scope
        for child in ast.iter_child_nodes(node):
            self.parent[id(child)] = node
            self._scan(child, scope, function, skipped or id(child) in children_skipped)

    def nodes(self, *types: type) -> list[ast.AST]:
        """The nodes of the given types outside skipped regions, in source order."""
        found = [n for n in ast.walk(self.tree) if isinstance(n, types) and id(n) not in self.skipped
                 and hasattr(n, "lineno")]
        return sorted(found, key=lambda n: (n.lineno, n.col_offset))

    def function(self, node: ast.AST) -> str | None:
        """The qualified name of the innermost function around ``node`` ("Ledger.post"); None at module level."""
        return self.function_of.get(id(node))

    def whole_lines(self, first: ast.AST, last: ast.AST) -> tuple[int, int] | None:
        """The span of the full lines holding statements ``first``..``last`` (with their newline), or None if
        other code shares those lines (``a = 1; b = 2``) so that removing them would not be a clean line edit."""
        begin = self.line_starts[first.lineno - 1]
        if self.source[begin: self.start(first)].strip():
            return None
        end = self.end(last)
        rest = self.lines[last.end_lineno - 1][end - self.line_starts[last.end_lineno - 1]:]
        if rest.strip() and not rest.strip().startswith("#"):
            return None
        end = self.line_starts[last.end_lineno - 1] + len(self.lines[last.end_lineno - 1])
        return begin, min(end + 1, len(self.source))

    def mutation(self, name: str, node: ast.AST, start: int, end: int, replacement: str) -> Mutation:
        return Mutation(name, node.lineno, self.function(node), start, end, replacement)


def _is_main_guard(node: ast.AST) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    parts = [node.test.left, *node.test.comparators]
    return any(isinstance(p, ast.Name) and p.id == "__name__" for p in parts) and any(
        isinstance(p, ast.Constant) and p.value == "__main__" for p in parts)


def _is_int(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _is_stringish(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)))


def _signed_int(node: ast.AST) -> int | None:
    """The value of an int literal or of ``-literal``; None for anything else."""
    if _is_int(node):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and _is_int(node.operand):
        return -node.operand.value
    return None


def _str_literal(value: str, like: str) -> str | None:
    """A literal for ``value`` in the quote style of the literal ``like``; None for prefixed/triple literals."""
    if not like or like[0] not in "'\"" or like[:3] in ("'''", '"""'):
        return None
    text = repr(value)
    quote = like[0]
    if text[0] != quote and quote not in value and "\\" not in text[1:-1].replace("\\'", "").replace('\\"', ""):
        text = quote + text[1:-1].replace("\\'", "'").replace('\\"', '"') + quote
    return text


class Mutator:
    """A kind of bug. Subclasses set ``name`` and yield mutations from ``propose``."""

    name = ""

    def propose(self, module: _Module) -> list[Mutation]:
        raise NotImplementedError

    def mutations(self, source: str, module: _Module | None = None) -> list[Mutation]:
        """This mutator's valid mutations of ``source`` (each compiles and changes the text): sorted, unique.

        Every proposal replaces a node with a different one, so a changed text is a changed AST; compiling
        (in C, without building Python AST objects) is what keeps checking hundreds of proposals cheap."""
        module = module or _Module(source)
        seen, valid = set(), []
        for mutation in self.propose(module):
            key = (mutation.start, mutation.end, mutation.replacement)
            if key in seen or source[mutation.start: mutation.end] == mutation.replacement:
                continue
            seen.add(key)
            try:
                compile(mutation.apply(source), "<mutant>", "exec", dont_inherit=True)
            except (SyntaxError, ValueError):
                continue
            valid.append(mutation)
        return sorted(valid, key=lambda m: (m.start, m.end, m.replacement))

    def mutate(self, source: str, rng: random.Random) -> tuple[str, Mutation] | None:
        """One mutation drawn with ``rng`` and the mutated source, or None if there is no site."""
        options = self.mutations(source)
        if not options:
            return None
        chosen = rng.choice(options)
        return chosen.apply(source), chosen


class _OperatorSwap(Mutator):
    """Replace an operator token between two operands, per a fixed table of plausible slips."""

    table: dict[type, list[type]] = {}
    symbols: dict[type, str] = {}

    def operands(self, module: _Module) -> list[tuple[ast.AST, ast.AST, ast.AST, type]]:
        """(node, left operand, right operand, operator type) for each site."""
        raise NotImplementedError

    def propose(self, module: _Module) -> list[Mutation]:
        out = []
        for node, left, right, op in self.operands(module):
            symbol = self.symbols[op]
            tok = module.token_between(module.end(left), module.start(right), {symbol, symbol + "="})
            if tok is None:
                continue
            for other in self.table.get(op, []):
                spelled = self.symbols[other]
                if tok[2].endswith("=") and isinstance(node, ast.AugAssign):
                    spelled += "="
                out.append(module.mutation(self.name, node, tok[0], tok[1], spelled))
        return out


class ChangedComparison(_OperatorSwap):
    """``<`` <-> ``<=``, ``>`` <-> ``>=``, ``==`` <-> ``!=``, ``in`` <-> ``not in``, ``is`` <-> ``is not``."""

    name = "changed_comparison"
    table = {ast.Lt: [ast.LtE, ast.Gt], ast.LtE: [ast.Lt], ast.Gt: [ast.GtE, ast.Lt], ast.GtE: [ast.Gt],
             ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq], ast.In: [ast.NotIn], ast.NotIn: [ast.In],
             ast.Is: [ast.IsNot], ast.IsNot: [ast.Is]}
    symbols = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
               ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}

    def operands(self, module):
        out = []
        for node in module.nodes(ast.Compare):
            parts = [node.left, *node.comparators]
            out += [(node, parts[i], parts[i + 1], type(op)) for i, op in enumerate(node.ops)]
        return out

    def propose(self, module):
        # 'not in' and 'is not' are two tokens: replace from the first token to the end of the last.
        out = []
        for node, left, right, op in self.operands(module):
            begin, end = module.end(left), module.start(right)
            words = self.symbols[op].split()
            first = module.token_between(begin, end, {words[0]})
            last = module.token_between(first[1] if first else begin, end, {words[-1]}) if len(words) > 1 else first
            if first is None or last is None:
                continue
            for other in self.table[op]:
                out.append(module.mutation(self.name, node, first[0], last[1], self.symbols[other]))
        return out


class ChangedArithmetic(_OperatorSwap):
    """``+`` <-> ``-``, ``*`` <-> ``//``, ``/`` -> ``//``, ``%`` -> ``//`` (also in ``+=`` and friends)."""

    name = "changed_arithmetic"
    table = {ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.FloorDiv], ast.FloorDiv: [ast.Mult, ast.Div],
             ast.Div: [ast.FloorDiv, ast.Mult], ast.Mod: [ast.FloorDiv]}
    symbols = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//", ast.Div: "/", ast.Mod: "%"}

    def operands(self, module):
        out = []
        for node in module.nodes(ast.BinOp, ast.AugAssign):
            left, right = (node.left, node.right) if isinstance(node, ast.BinOp) else (node.target, node.value)
            if type(node.op) in self.table and not _is_stringish(left) and not _is_stringish(right):
                out.append((node, left, right, type(node.op)))
        return out


class ChangedBoolean(Mutator):
    """``and`` <-> ``or`` between two operands of a boolean expression."""

    name = "changed_boolean"

    def propose(self, module):
        out = []
        for node in module.nodes(ast.BoolOp):
            word, other = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
            for left, right in zip(node.values, node.values[1:]):
                tok = module.token_between(module.end(left), module.start(right), {word})
                if tok is not None:
                    out.append(module.mutation(self.name, node, tok[0], tok[1], other))
        return out


class NegatedCondition(Mutator):
    """``if x:`` -> ``if not x:`` and ``if not x:`` -> ``if x:`` (also ``elif`` and conditional expressions).

    ``while`` tests are left alone: negating one mostly yields a loop that never ends, not a bug to report."""

    name = "negated_condition"

    def propose(self, module):
        out = []
        for node in module.nodes(ast.If, ast.IfExp):
            test = node.test
            start, end = module.start(test), module.end(test)
            if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
                text = module.text(test.operand)
                if isinstance(test.operand, (ast.BoolOp, ast.IfExp, ast.NamedExpr, ast.Lambda)) \
                        or isinstance(node, ast.IfExp):
                    text = f"({text})"
                out.append(module.mutation(self.name, node, start, end, text))
            else:
                text = module.text(test)
                needs_parens = isinstance(test, (ast.BoolOp, ast.IfExp, ast.NamedExpr, ast.Lambda))
                out.append(module.mutation(self.name, node, start, end, f"not ({text})" if needs_parens
                                           else f"not {text}"))
        return out


def _structural_constants(module: _Module) -> set[int]:
    """Ids of int literals owned by other mutators (slices, indexes, defaults) or meaningless to change."""
    owned: set[int] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Subscript):
            owned.update(id(n) for n in ast.walk(node.slice))
        elif isinstance(node, ast.arguments):
            for default in [*node.defaults, *node.kw_defaults]:
                if default is not None:
                    owned.update(id(n) for n in ast.walk(default))
    return owned


class ChangedConstant(Mutator):
    """An int literal ``n`` -> ``n + 1`` or ``n - 1`` (``0`` <-> ``1``)."""

    name = "changed_constant"

    def propose(self, module):
        owned = _structural_constants(module)
        out = []
        for node in module.nodes(ast.Constant):
            if not _is_int(node) or id(node) in owned:
                continue
            options = [1] if node.value == 0 else [node.value + 1, node.value - 1]
            for value in options:
                out.append(module.mutation(self.name, node, module.start(node), module.end(node), str(value)))
        return out


class OffByOne(Mutator):
    """Slice bounds and indexes off by one: ``a[1:]`` -> ``a[2:]``, ``a[:-1]`` -> ``a[:]``, ``a[0]`` -> ``a[1]``."""

    name = "off_by_one"

    def propose(self, module):
        out = []
        for node in module.nodes(ast.Subscript):
            bounds = [node.slice.lower, node.slice.upper] if isinstance(node.slice, ast.Slice) else [node.slice]
            for bound in bounds:
                value = _signed_int(bound) if bound is not None else None
                if value is None:
                    continue
                for new in (value + 1, value - 1):
                    if isinstance(node.slice, ast.Slice) and new == 0:
                        text = ""  # a[:0] would be an empty slice; a dropped bound is the plausible slip
                    else:
                        text = str(new)
                    out.append(module.mutation(self.name, node, module.start(bound), module.end(bound), text))
        return out


class SwappedArguments(Mutator):
    """Two adjacent positional arguments of a call exchanged: ``f(a, b)`` -> ``f(b, a)``."""

    name = "swapped_arguments"

    def propose(self, module):
        out = []
        for node in module.nodes(ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id in _SYMMETRIC_CALLS:
                continue
            args = node.args
            for first, second in zip(args, args[1:]):
                if isinstance(first, ast.Starred) or isinstance(second, ast.Starred):
                    continue
                a, b = module.text(first), module.text(second)
                if a == b:
                    continue
                between = module.source[module.end(first): module.start(second)]
                out.append(module.mutation(self.name, node, module.start(first), module.end(second),
                                           b + between + a))
        return out


class WrongDefault(Mutator):
    """A parameter's default changed: ints +-1, bools flipped, separators and short strings altered."""

    name = "wrong_default"

    def propose(self, module):
        out = []
        for node in module.nodes(ast.FunctionDef, ast.AsyncFunctionDef):
            if node.name in _SKIPPED_FUNCTIONS:
                continue
            for default in [*node.args.defaults, *node.args.kw_defaults]:
                if default is None:
                    continue
                for text in _other_values(module, default):
                    out.append(Mutation(self.name, default.lineno, module.qualname[id(node)],
                                        module.start(default), module.end(default), text))
        return out


_SEPARATORS = {",": ";", ";": ",", ":": ";", "-": "_", "_": "-", "/": "\\", ".": ",", "|": "/", " ": "",
               "\n": " ", "\t": " ", "=": ":", ", ": ",", "": " "}


def _other_string(value: str) -> str | None:
    """A plausible wrong variant of a string constant: another separator, or a key with a slip in it."""
    if value in _SEPARATORS:
        return _SEPARATORS[value]
    if len(value) > 40 or "\n" in value:
        return None
    if value.isidentifier() or re.fullmatch(r"[\w.-]+", value):
        return value[:-1] if len(value) > 3 else value + "s"
    return value.strip() if value != value.strip() else None


def _other_values(module: _Module, node: ast.AST) -> list[str]:
    """Replacement texts for a literal default value."""
    value = _signed_int(node)
    if value is not None:
        return ["1" if value == 0 else str(value + 1)]
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return [str(not node.value)]
    if isinstance(node, ast.Constant) and type(node.value) is float:
        return [repr(node.value * 2 if node.value else 1.0)]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        other = _other_string(node.value)
        literal = _str_literal(other, module.text(node)) if other is not None else None
        return [literal] if literal else []
    return []


class _StatementRemoval(Mutator):
    """Shared by the mutators that delete whole statements: keep the enclosing block non-empty."""

    @staticmethod
    def removal(module: _Module, body: list[ast.stmt], first: int, last: int) -> tuple[int, int, str] | None:
        """The span and replacement that delete ``body[first..last]``; 'pass' if the block would be empty."""
        span = module.whole_lines(body[first], body[last])
        if span is None:
            return None
        if len(body) > last - first + 1:
            return span[0], span[1], ""
        indent = module.lines[body[first].lineno - 1][: body[first].col_offset]
        return span[0], span[1], indent + "pass\n"


def _bodies(module: _Module):
    """Each statement list (body, orelse, finalbody, handlers' bodies) with its owner, outside skipped code."""
    for node in ast.walk(module.tree):
        if id(node) in module.skipped:
            continue
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                yield node, field, body


class RemovedBranch(_StatementRemoval):
    """A guard dropped: an ``if`` without ``else`` removed, or an ``if``'s ``else``/``elif`` part removed."""

    name = "removed_branch"

    def propose(self, module):
        out = []
        for _owner, _field, body in _bodies(module):
            for index, stmt in enumerate(body):
                if not isinstance(stmt, ast.If) or id(stmt) in module.skipped or _is_main_guard(stmt):
                    continue
                if not stmt.orelse:
                    removal = self.removal(module, body, index, index)
                    if removal:
                        out.append(module.mutation(self.name, stmt, *removal))
                    continue
                out += self._drop_else(module, stmt)
        return out

    def _drop_else(self, module: _Module, stmt: ast.If) -> list[Mutation]:
        """Delete the lines from the ``else:``/``elif`` keyword to the end of the if statement."""
        first, last = stmt.orelse[0], stmt.orelse[-1]
        keyword_line = None
        if isinstance(first, ast.If) and module.lines[first.lineno - 1].lstrip().startswith("elif"):
            keyword_line = first.lineno
        else:
            for number in range(first.lineno - 1, stmt.body[-1].end_lineno, -1):
                if re.fullmatch(r"\s*else\s*:\s*(#.*)?", module.lines[number - 1]):
                    keyword_line = number
                    break
        span = module.whole_lines(last, last)
        if keyword_line is None or span is None:
            return []
        begin = module.line_starts[keyword_line - 1]
        return [Mutation(self.name, keyword_line, module.function(stmt), begin, span[1], "")]


class RemovedCall(_StatementRemoval):
    """A call statement dropped: ``items.sort()``, ``self._validate(x)``, ``seen.add(key)``."""

    name = "removed_call"

    def propose(self, module):
        out = []
        for _owner, _field, body in _bodies(module):
            for index, stmt in enumerate(body):
                if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and id(stmt) not in module.skipped:
                    func = stmt.value.func
                    if isinstance(func, ast.Name) and func.id == "print":
                        continue
                    removal = self.removal(module, body, index, index)
                    if removal:
                        out.append(module.mutation(self.name, stmt, *removal))
        return out


def _names(node: ast.AST) -> tuple[set[str], set[str]]:
    """(names written, names read) by a simple statement; attributes count by their dotted text."""
    written, read = set(), set()
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Name, ast.Attribute)):
            key = ast.unparse(sub)
            (written if isinstance(sub.ctx, (ast.Store, ast.Del)) else read).add(key)
    if isinstance(node, ast.AugAssign):
        read.add(ast.unparse(node.target))
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute):
        written.add(ast.unparse(node.value.func.value))  # a method call may change its receiver
    return written, read


class SwappedStatements(Mutator):
    """Two adjacent simple statements exchanged, where their order matters (one writes what the other uses)."""

    name = "swapped_statements"
    _SIMPLE = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr)

    def propose(self, module):
        out = []
        for _owner, _field, body in _bodies(module):
            for first, second in zip(body, body[1:]):
                if not (isinstance(first, self._SIMPLE) and isinstance(second, self._SIMPLE)):
                    continue
                if id(first) in module.skipped or isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                    continue
                w1, r1 = _names(first)
                w2, r2 = _names(second)
                if not (w1 & (r2 | w2) or w2 & r1):
                    continue
                span1, span2 = module.whole_lines(first, first), module.whole_lines(second, second)
                if span1 is None or span2 is None or span1[1] != span2[0]:
                    continue
                a, b = module.source[span1[0]: span1[1]], module.source[span2[0]: span2[1]]
                if not b.endswith("\n"):
                    a, b = a[:-1], b + "\n"
                out.append(module.mutation(self.name, first, span1[0], span2[1], b + a))
        return out


class ChangedReturn(Mutator):
    """``return value`` -> bare ``return``, and an early ``return True``/``False`` flipped."""

    name = "changed_return"

    def propose(self, module):
        out = []
        for node in module.nodes(ast.Return):
            value = node.value
            if value is None or (isinstance(value, ast.Constant) and value.value is None):
                continue
            if isinstance(value, ast.Constant) and isinstance(value.value, bool):
                out.append(module.mutation(self.name, node, module.start(value), module.end(value),
                                           str(not value.value)))
            else:
                out.append(module.mutation(self.name, node, module.start(node), module.end(node), "return"))
        return out


_STRING_METHODS = {"split", "rsplit", "join", "get", "startswith", "endswith", "replace", "strip", "rstrip",
                   "lstrip", "partition", "rpartition", "pop", "setdefault", "count", "find", "index"}


class ChangedString(Mutator):
    """A string used as a key or separator changed: ``d["debit"]``, ``line.split(",")``, ``", ".join(xs)``."""

    name = "changed_string"

    def propose(self, module):
        out = []
        for node in self._sites(module):
            other = _other_string(node.value)
            literal = _str_literal(other, module.text(node)) if other is not None else None
            if literal:
                out.append(module.mutation(self.name, node, module.start(node), module.end(node), literal))
        return out

    @staticmethod
    def _sites(module: _Module) -> list[ast.Constant]:
        found = []
        for node in module.nodes(ast.Subscript, ast.Call, ast.Dict):
            if isinstance(node, ast.Subscript):
                candidates = [node.slice]
            elif isinstance(node, ast.Dict):
                candidates = [k for k in node.keys if k is not None]
            elif isinstance(node.func, ast.Attribute) and node.func.attr in _STRING_METHODS:
                candidates = [*node.args[:1], node.func.value] if node.func.attr == "join" else node.args[:2]
            else:
                candidates = []
            found += [c for c in candidates if isinstance(c, ast.Constant) and isinstance(c.value, str)]
        return found


MUTATORS: tuple[Mutator, ...] = (
    ChangedComparison(), ChangedArithmetic(), ChangedBoolean(), NegatedCondition(), ChangedConstant(),
    OffByOne(), SwappedArguments(), WrongDefault(), RemovedBranch(), RemovedCall(), SwappedStatements(),
    ChangedReturn(), ChangedString(),
)
BY_NAME = {mutator.name: mutator for mutator in MUTATORS}


def all_mutations(source: str) -> dict[str, list[Mutation]]:
    """Every mutator's valid mutations of ``source``, by mutator name (mutators with none left out)."""
    module = _Module(source)
    found = {mutator.name: mutator.mutations(source, module) for mutator in MUTATORS}
    return {name: mutations for name, mutations in found.items() if mutations}
