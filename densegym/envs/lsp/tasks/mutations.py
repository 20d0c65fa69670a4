"""Mutation operators that inject one real defect each into a package's sources.

Every operator finds its candidate sites structurally (Python's ``ast``), picks one with the caller's
RNG, and splices the change into the source text (so formatting and comments survive). Each returns the
:class:`Defect` it promises: the file and 0-based line where the checker will report it and the
pyright rule it will report, or ``rule=None`` for a logic bug that only the hidden tests reveal.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Files = dict[str, str]


@dataclass(frozen=True)
class Defect:
    op: str
    file: str
    line: int  # 0-based, where the checker reports it (the mutated line for logic bugs)
    rule: str | None  # the pyright rule the checker must report; None: only tests reveal it
    note: str

    def as_dict(self) -> dict:
        return {"op": self.op, "file": self.file, "line": self.line, "rule": self.rule, "note": self.note}


@dataclass(frozen=True)
class Site:
    file: str
    line: int  # 1-based ast line of the change
    col: int
    end_line: int
    end_col: int
    replacement: str
    report_line: int  # 0-based line of the promised diagnostic
    report_file: str
    note: str


def _offset(text: str, line: int, col: int) -> int:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts[line - 1] + col


def splice(files: Files, site: Site) -> Files:
    text = files[site.file]
    a, b = _offset(text, site.line, site.col), _offset(text, site.end_line, site.end_col)
    out = dict(files)
    out[site.file] = text[:a] + site.replacement + text[b:]
    return out


def typo(name: str, taken: set[str]) -> str:
    """A plausible misspelling of ``name`` that is not already an identifier in the package."""
    for i in range(len(name) // 2, len(name) - 1):
        candidate = name[:i] + name[i + 1 :]
        if candidate not in taken and candidate.isidentifier() and not candidate.startswith("_"):
            return candidate
    return name + "x"


# ---- package facts --------------------------------------------------------------------------


class Package:
    """What the operators need to know about the package: parsed modules and their top-level functions."""

    def __init__(self, files: Files):
        self.files = files
        self.trees = {rel: ast.parse(text) for rel, text in files.items() if rel.endswith(".py")}
        self.names = {n.id for t in self.trees.values() for n in ast.walk(t) if isinstance(n, ast.Name)}
        self.names |= {n.attr for t in self.trees.values() for n in ast.walk(t) if isinstance(n, ast.Attribute)}
        self.functions: dict[str, tuple[str, ast.FunctionDef]] = {}
        for rel, tree in self.trees.items():
            for node in tree.body:
                if isinstance(node, ast.FunctionDef):
                    self.functions[node.name] = (rel, node)

    def module_of(self, rel: str) -> str:
        return rel[:-3].replace("/", ".").removesuffix(".__init__")

    def functions_visible_in(self, rel: str) -> dict[str, ast.FunctionDef]:
        """Package functions callable by bare name in ``rel``: its own and those it imports."""
        out = {name: fn for name, (where, fn) in self.functions.items() if where == rel}
        for node in ast.walk(self.trees[rel]):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    hit = self.functions.get(alias.name)
                    if hit and self.module_of(hit[0]) == node.module and alias.asname is None:
                        out[alias.name] = hit[1]
        return out

    def calls(self) -> list[tuple[str, ast.Call, ast.FunctionDef]]:
        out = []
        for rel, tree in self.trees.items():
            visible = self.functions_visible_in(rel)
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in visible:
                    fn = visible[node.func.id]
                    simple = not (fn.args.vararg or fn.args.kwarg or fn.args.kwonlyargs or fn.args.defaults)
                    if simple and not node.keywords and len(node.args) == len(fn.args.args) and node.args:
                        if not any(isinstance(a, ast.Starred) for a in node.args):
                            out.append((rel, node, fn))
        return out


def _functions(tree: ast.AST) -> list[ast.FunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]


# ---- operators: each returns every candidate site -------------------------------------------


def undefined_name_sites(pkg: Package) -> list[Site]:
    sites = []
    for rel, tree in pkg.trees.items():
        for fn in _functions(tree):
            params = {a.arg for a in fn.args.args} - {"self"}
            assigned = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            local = params | assigned
            for node in ast.walk(fn):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in local and len(node.id) >= 4:
                    new = typo(node.id, pkg.names)
                    sites.append(Site(rel, node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, new,
                                      node.lineno - 1, rel, f"{node.id!r} misspelt as {new!r} in {fn.name}()"))  # fmt: skip
    return sites


def wrong_arg_count_sites(pkg: Package) -> list[Site]:
    sites = []
    for rel, call, fn in pkg.calls():
        if len(call.args) >= 2:
            prev, last = call.args[-2], call.args[-1]
            site = Site(rel, prev.end_lineno, prev.end_col_offset, last.end_lineno, last.end_col_offset, "",
                        call.lineno - 1, rel, f"call of {fn.name}() lost its last argument")  # fmt: skip
        else:
            only = call.args[0]
            site = Site(rel, only.lineno, only.col_offset, only.end_lineno, only.end_col_offset, "",
                        call.lineno - 1, rel, f"call of {fn.name}() lost its argument")  # fmt: skip
        sites.append(site)
    return sites


def wrong_attribute_sites(pkg: Package) -> list[Site]:
    sites = []
    for rel, tree in pkg.trees.items():
        for cls in [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]:
            init = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
            if init is None:
                continue
            attrs = {
                t.attr for n in ast.walk(init) if isinstance(n, (ast.Assign, ast.AnnAssign))
                for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
            }  # fmt: skip
            for method in [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name != "__init__"]:
                for node in ast.walk(method):
                    if (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and node.attr in attrs
                            and isinstance(node.value, ast.Name) and node.value.id == "self"):  # fmt: skip
                        new = typo(node.attr, pkg.names)
                        # The attribute name starts right after "self."
                        col = node.value.end_col_offset + 1
                        sites.append(Site(rel, node.end_lineno, col, node.end_lineno, node.end_col_offset, new,
                                          node.lineno - 1, rel, f"self.{node.attr} misspelt as self.{new} in {cls.name}.{method.name}()"))  # fmt: skip
    return sites


_WRAP = {"int": "str({})", "float": "str({})", "str": "len({})"}


def type_mismatch_sites(pkg: Package) -> list[Site]:
    sites = []
    for rel, call, fn in pkg.calls():
        for arg, param in zip(call.args, fn.args.args):
            ann = param.annotation
            if isinstance(ann, ast.Name) and ann.id in _WRAP and arg.lineno == arg.end_lineno:
                src = ast.get_source_segment(pkg.files[rel], arg)
                new = _WRAP[ann.id].format(src)
                sites.append(Site(rel, arg.lineno, arg.col_offset, arg.end_lineno, arg.end_col_offset, new,
                                  arg.lineno - 1, rel, f"argument {param.arg} of {fn.name}() given {new}"))  # fmt: skip
    return sites


def bad_import_sites(pkg: Package) -> list[Site]:
    sites = []
    for rel, tree in pkg.trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if not any(pkg.module_of(r) == node.module for r in pkg.trees):
                    continue  # only the package's own modules: the standard library is not ours to break
                line = pkg.files[rel].splitlines()[node.lineno - 1]
                for alias in node.names:
                    col = line.find(alias.name, line.find(" import ") + 8)
                    new = typo(alias.name, pkg.names)
                    sites.append(Site(rel, node.lineno, col, node.lineno, col + len(alias.name), new,
                                      node.lineno - 1, rel, f"import of {alias.name} from {node.module} misspelt as {new}"))  # fmt: skip
    return sites


def renamed_symbol_sites(pkg: Package) -> list[Site]:
    """A function renamed where it is defined (and in its own module), its importers left behind.

    Returned as one Site per (function, first importing module); ``apply`` renames the definition.
    """
    sites = []
    for name, (home, fn) in pkg.functions.items():
        for rel, tree in pkg.trees.items():
            if rel == home:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module == pkg.module_of(home):
                    if any(a.name == name for a in node.names):
                        sites.append(Site(home, fn.lineno, 0, fn.lineno, 0, f"{name}_value", node.lineno - 1, rel,
                                          f"{name}() renamed to {name}_value() in {home}; {rel} still imports {name}"))  # fmt: skip
                        break
    return sites


def rename_definition(files: Files, home: str, old: str, new: str) -> Files:
    """Rename ``old`` to ``new`` at its definition and every bare-name use in its own module."""
    text = files[home]
    tree = ast.parse(text)
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == old:
            line = text.splitlines()[node.lineno - 1]
            col = line.index("def " + old) + 4
            spans.append((node.lineno, col, col + len(old)))
        elif isinstance(node, ast.Name) and node.id == old:
            spans.append((node.lineno, node.col_offset, node.end_col_offset))
    for line, a, b in sorted(spans, reverse=True):
        off = _offset(text, line, 0)
        text = text[: off + a] + new + text[off + b :]
    return {**files, home: text}


# ---- the registry ---------------------------------------------------------------------------

SiteFinder = Callable[[Package], list[Site]]


@dataclass(frozen=True)
class Operator:
    name: str
    rule: str | None
    find: SiteFinder | None


OPERATORS: dict[str, Operator] = {
    "undefined_name": Operator("undefined_name", "reportUndefinedVariable", undefined_name_sites),
    "wrong_arg_count": Operator("wrong_arg_count", "reportCallIssue", wrong_arg_count_sites),
    "wrong_attribute": Operator("wrong_attribute", "reportAttributeAccessIssue", wrong_attribute_sites),
    "type_mismatch": Operator("type_mismatch", "reportArgumentType", type_mismatch_sites),
    "bad_import": Operator("bad_import", "reportAttributeAccessIssue", bad_import_sites),
    "renamed_symbol": Operator("renamed_symbol", "reportAttributeAccessIssue", renamed_symbol_sites),
    "logic": Operator("logic", None, None),
}
STATIC_OPERATORS = tuple(name for name, op in OPERATORS.items() if op.rule is not None)


def mutate(
    files: Files,
    op_name: str,
    rng: np.random.Generator,
    logic: tuple[tuple[str, str, str], ...] = (),
    avoid: frozenset[tuple[str, int]] = frozenset(),
) -> tuple[Files, Defect] | None:
    """Apply one ``op_name`` defect at an RNG-chosen site not on an ``avoid`` (file, 0-based line)."""
    op = OPERATORS[op_name]
    if op.find is None:
        choices = [(f, old, new) for f, old, new in logic if f in files and files[f].count(old) == 1]
        choices = [c for c in choices if (c[0], files[c[0]][: files[c[0]].index(c[1])].count("\n")) not in avoid]
        if not choices:
            return None
        f, old, new = choices[int(rng.integers(len(choices)))]
        line = files[f][: files[f].index(old)].count("\n")
        return {**files, f: files[f].replace(old, new)}, Defect("logic", f, line, None, f"logic bug in {f}")
    pkg = Package(files)
    sites = [s for s in op.find(pkg) if (s.file, s.line - 1) not in avoid and (s.report_file, s.report_line) not in avoid]
    if not sites:
        return None
    site = sites[int(rng.integers(len(sites)))]
    if op_name == "renamed_symbol":
        old = site.note.split("()")[0]
        out = rename_definition(files, site.file, old, site.replacement)
    else:
        out = splice(files, site)
    return out, Defect(op_name, site.report_file, site.report_line, op.rule, site.note)
