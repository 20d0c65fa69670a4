"""Selector resolution: symbols, lines, cursors, ranges and fuzzy content anchors (Eq. 3.1)."""

from __future__ import annotations

import pytest

from tests.helpers import require_import

require_import("lsprotocol", "pip install 'densegym[lsp]'")

from densegym.envs.base import ActionError
from densegym.envs.lsp.selectors import SelectorResolver, anchor_score, jaccard, winnow
from densegym.sandbox import Workspace

SOURCE = '''"""Shop."""


class Cart:
    def __init__(self) -> None:
        self.items: list[int] = []

    def total(self) -> int:
        return sum(self.items)


def discount(price: int, rate: float) -> float:
    reduced = price * (1 - rate)
    return round(reduced, 2)


def tax(price: int) -> float:
    return price * 0.2
'''


@pytest.fixture(scope="module")
def resolver():
    with Workspace({"shop/cart.py": SOURCE, "shop/dup.py": "x = 1\nx = 1\n"}) as ws:
        yield SelectorResolver(ws)


def selected(resolver, sel):
    r = resolver.resolve(sel)
    return r, SOURCE[r.start : r.end] if r.path == "shop/cart.py" else None


def test_symbol_method(resolver):
    r, text = selected(resolver, "py://shop.cart#Cart.total")
    assert text == "    def total(self) -> int:\n        return sum(self.items)\n"
    assert r.alpha == 1.0 and SOURCE[r.point : r.point + 5] == "total"


def test_symbol_roles(resolver):
    assert selected(resolver, "py://shop.cart#discount:sig")[1] == "def discount(price: int, rate: float) -> float:\n"
    assert selected(resolver, "py://shop.cart#discount:body")[1].startswith("    reduced = ")


def test_unknown_symbol_suggests(resolver):
    with pytest.raises(ActionError, match="did you mean discount"):
        resolver.resolve("py://shop.cart#discont")
    with pytest.raises(ActionError, match="E/NOT_FOUND"):
        resolver.resolve("py://shop.nothere#x")


def test_lines_cursor_range(resolver):
    assert selected(resolver, "shop/cart.py:12-13")[1] == (
        "def discount(price: int, rate: float) -> float:\n    reduced = price * (1 - rate)\n"
    )
    r, _ = selected(resolver, "shop/cart.py@L12:C5")
    assert SOURCE[r.point : r.point + 8] == "discount"
    assert selected(resolver, "shop/cart.py@R(12,5->12,13)")[1] == "discount"
    with pytest.raises(ActionError):
        resolver.resolve("shop/cart.py:400")
    with pytest.raises(ActionError):
        resolver.resolve("shop/cart.py@L12:C500")


def test_exact_anchor(resolver):
    r, text = selected(resolver, 'anchor://shop/cart.py#"price * (1 - rate)"')
    assert text == "price * (1 - rate)" and r.alpha == 1.0


def test_fuzzy_anchor_relocates_with_lower_confidence(resolver):
    r, text = selected(resolver, 'anchor://shop/cart.py#"reduced = price*(1-rate)"')
    assert text == "reduced = price * (1 - rate)"
    assert 0.6 <= r.alpha < 1.0


def test_duplicate_anchor_is_ambiguous(resolver):
    with pytest.raises(ActionError, match="E/AMBIGUOUS"):
        resolver.resolve('anchor://shop/dup.py#"x = 1"')


def test_far_anchor_is_refused(resolver):
    with pytest.raises(ActionError, match="E/AMBIGUOUS"):
        resolver.resolve('anchor://shop/cart.py#"completely unrelated words here"')


@pytest.mark.parametrize("sel", ["../etc/passwd", "/etc/passwd", "anchor:///etc/passwd#x", "shop/../../x.py:1"])
def test_escapes_are_action_errors(resolver, sel):
    with pytest.raises(ActionError):
        resolver.resolve(sel)


def test_scoring_parts():
    assert jaccard(winnow("return price * 0.2"), winnow("return price * 0.2")) == 1.0
    assert anchor_score("a = 1", "a = 1\n", None, 1, same_module=True) == pytest.approx(1.0)
    near = anchor_score("x", "y", 10, 10, same_module=True)
    far = anchor_score("x", "y", 10, 90, same_module=True)
    assert near > far


def test_ast_path_is_the_same_symbol(resolver):
    a = resolver.resolve("ast://[module=shop.cart]/[class=Cart]/[def=total]")
    b = resolver.resolve("py://shop.cart#Cart.total")
    assert (a.path, a.start, a.end, a.point, a.alpha) == (b.path, b.start, b.end, b.point, 1.0)
    for bad in ("ast://[class=Cart]", "ast://[module=shop.cart]", "ast://[module=shop.cart]/[def=x]/[module=y]"):
        with pytest.raises(ActionError):
            resolver.resolve(bad)
