"""Each mutator's rewrite on real code: what it changes, that only that span changes, and what it skips."""

import ast
import difflib
import random
from pathlib import Path

import pytest

from densegym.envs.swe.mutators import BY_NAME, MUTATORS, all_mutations, apply_mutations

SAMPLE = '''"""A sample module: a docstring with < and + and "key" that no mutator may touch."""

LIMIT = 10


def total(items, sep=",", scale=2, strict=False):
    """Sum the items; < and == here are prose."""
    if not items:
        return 0
    result = 0
    for item in items:
        if item < LIMIT and item != 3:
            result += item * scale
        elif item >= 100:
            result = result - item // 2
        else:
            result = result + 1
    parts = sep.join(str(i) for i in items[1:])
    record = {"sum": result}
    record["sum"] = record["sum"] + len(parts[:-1])
    items.sort()
    count = len(items)
    count = count + 1
    return pow(record["sum"], count)


class Box:
    def __init__(self, x: int = 5):
        self.x = x

    def __repr__(self):
        return f"Box({self.x + 1})"

    def ok(self) -> bool:
        if self.x > 0:
            return True
        return False


if __name__ == "__main__":
    print(total([1, 2]) + 1)
'''


DEF = 'def total(items, sep=",", scale=2, strict=False):'


def rewrites(name):
    """(removed lines, added lines) of each of the mutator's mutations of SAMPLE."""
    out = []
    for mutation in BY_NAME[name].mutations(SAMPLE):
        new = mutation.apply(SAMPLE)
        diff = list(difflib.unified_diff(SAMPLE.splitlines(), new.splitlines(), lineterm="", n=0))[2:]
        removed = [d[1:].strip() for d in diff if d.startswith("-")]
        out.append((removed, [d[1:].strip() for d in diff if d.startswith("+")]))
    return out


@pytest.mark.parametrize("name, before, after", [
    ("changed_comparison", "if item < LIMIT and item != 3:", "if item <= LIMIT and item != 3:"),
    ("changed_comparison", "if item < LIMIT and item != 3:", "if item < LIMIT and item == 3:"),
    ("changed_arithmetic", "result += item * scale", "result -= item * scale"),
    ("changed_arithmetic", "result += item * scale", "result += item // scale"),
    ("changed_arithmetic", "result = result - item // 2", "result = result + item // 2"),
    ("changed_boolean", "if item < LIMIT and item != 3:", "if item < LIMIT or item != 3:"),
    ("negated_condition", "if not items:", "if items:"),
    ("negated_condition", "if self.x > 0:", "if not self.x > 0:"),
    ("negated_condition", "if item < LIMIT and item != 3:", "if not (item < LIMIT and item != 3):"),
    ("changed_constant", "result = 0", "result = 1"),
    ("changed_constant", "LIMIT = 10", "LIMIT = 11"),
    ("off_by_one", "parts = sep.join(str(i) for i in items[1:])", "parts = sep.join(str(i) for i in items[2:])"),
    ("off_by_one", "parts = sep.join(str(i) for i in items[1:])", "parts = sep.join(str(i) for i in items[:])"),
    ("off_by_one", 'record["sum"] = record["sum"] + len(parts[:-1])', 'record["sum"] = record["sum"] + len(parts[:])'),
    ("swapped_arguments", 'return pow(record["sum"], count)', 'return pow(count, record["sum"])'),
    ("wrong_default", DEF, 'def total(items, sep=";", scale=2, strict=False):'),
    ("wrong_default", DEF, 'def total(items, sep=",", scale=3, strict=False):'),
    ("wrong_default", DEF, 'def total(items, sep=",", scale=2, strict=True):'),
    ("changed_return", "return True", "return False"),
    ("changed_string", 'record = {"sum": result}', 'record = {"sums": result}'),
])
def test_concrete_rewrite(name, before, after):
    assert ([before], [after]) in rewrites(name)


def test_removed_branch_drops_guard_and_else():
    found = rewrites("removed_branch")
    assert (["if not items:", "return 0"], []) in found
    assert (["else:", "result = result + 1"], []) in found
    assert (["elif item >= 100:", "result = result - item // 2", "else:", "result = result + 1"], []) in found


def test_removed_call_statement():
    assert (["items.sort()"], []) in rewrites("removed_call")


def test_swapped_statements_only_when_order_matters():
    results = [m.apply(SAMPLE) for m in BY_NAME["swapped_statements"].mutations(SAMPLE)]
    assert SAMPLE.replace("    count = len(items)\n    count = count + 1\n",
                          "    count = count + 1\n    count = len(items)\n") in results
    # these two touch different names: swapping them changes nothing, so it is not proposed
    assert not any("    items.sort()\n    record" in r for r in results)


def test_skipped_regions_never_mutated():
    lines = SAMPLE.splitlines()
    skipped = {i + 1 for i, line in enumerate(lines) if '"""' in line or "__main__" in line or "Box(" in line
               or "print(total" in line or "-> bool" in line}
    for mutator in MUTATORS:
        for mutation in mutator.mutations(SAMPLE):
            new = mutation.apply(SAMPLE).splitlines()
            changed = {i + 1 for i, (a, b) in enumerate(zip(lines, new)) if a != b}
            if len(new) == len(lines):
                assert not changed & skipped, (mutator.name, mutation)
            assert "Box({self.x + 1})" in mutation.apply(SAMPLE)
            assert 'print(total([1, 2]) + 1)' in mutation.apply(SAMPLE)
            assert "x: int =" in mutation.apply(SAMPLE) and "-> bool:" in mutation.apply(SAMPLE)


def test_every_mutator_has_sites_in_the_sample():
    assert set(all_mutations(SAMPLE)) == set(BY_NAME)


def test_function_names_and_lines():
    mutation = next(m for m in BY_NAME["changed_return"].mutations(SAMPLE) if m.replacement == "False")
    assert (mutation.function, mutation.line) == ("Box.ok", SAMPLE.splitlines().index("            return True") + 1)
    default = BY_NAME["wrong_default"].mutations(SAMPLE)[0]
    assert default.function == "total"


def test_mutate_is_deterministic():
    draws = [BY_NAME["changed_comparison"].mutate(SAMPLE, random.Random(7)) for _ in range(2)]
    assert draws[0] == draws[1] and draws[0] is not None


def test_two_mutations_in_one_file_and_overlap_refused():
    comparison = BY_NAME["changed_comparison"].mutations(SAMPLE)[0]
    removal = next(m for m in BY_NAME["removed_call"].mutations(SAMPLE))
    both = apply_mutations(SAMPLE, [removal, comparison])
    assert both == comparison.apply(removal.apply(SAMPLE)) or both == removal.apply(comparison.apply(SAMPLE))
    ast.parse(both)
    with pytest.raises(ValueError, match="overlapping"):
        apply_mutations(SAMPLE, [comparison, comparison])


def real_modules():
    """The bundled projects' modules, or this repository's own swe modules before those land."""
    root = Path(__file__).resolve().parents[3] / "densegym" / "envs" / "swe"
    found = sorted(p for p in (root / "projects").glob("*/*/*.py") if p.parent.name != "tests")
    return found or sorted(root.glob("*.py"))


def test_real_code_parses_and_diffs_are_small():
    for path in real_modules()[:4]:
        source = path.read_text()
        original = ast.dump(ast.parse(source))
        for name, mutations in all_mutations(source).items():
            for mutation in random.Random(name).sample(mutations, min(3, len(mutations))):
                new = mutation.apply(source)
                assert ast.dump(ast.parse(new)) != original
                diff = [d for d in difflib.unified_diff(source.splitlines(), new.splitlines(), lineterm="", n=0)
                        if d[:1] in "+-" and not d.startswith(("+++", "---"))]
                assert 1 <= len(diff) <= 24, (path, name, diff)
                before, after = source.splitlines(), new.splitlines()
                assert before[: mutation.line - 1] == after[: mutation.line - 1] or name == "swapped_statements"
