import pytest

from stockroom.orders import Order, OrderError, OrderLine
from stockroom.stock import Warehouse


def draft():
    o = Order(1, "ann")
    o.add_line("A", 2, "3.00")
    o.add_line("B", 1, "10.00")
    return o


def warehouse():
    w = Warehouse()
    w.receive("A", 5)
    w.receive("B", 5)
    return w


def test_new_order_is_draft():
    assert Order(7).state == "draft"


def test_order_line_rejects_zero():
    with pytest.raises(OrderError):
        OrderLine("A", 0, 1)


def test_order_line_total_discounted():
    assert str(OrderLine("A", 10, "1.00").total()) == "9.50"


def test_add_line_merges_same_price():
    o = draft()
    o.add_line("A", 3, "3.00")
    assert len(o.lines) == 2
    assert o.line_for("A").qty == 5


def test_add_line_different_price_new_line():
    o = draft()
    o.add_line("A", 1, "2.50")
    assert len(o.lines) == 3


def test_item_count():
    assert draft().item_count() == 3


def test_total():
    assert str(draft().total()) == "16.00"


def test_remove_line():
    o = draft()
    assert o.remove_line("A") == 1
    assert o.item_count() == 1


def test_line_for_missing():
    with pytest.raises(OrderError):
        draft().line_for("Z")


def test_place_empty_order():
    with pytest.raises(OrderError):
        Order(1).place()


def test_place_reserves_stock():
    w = warehouse()
    o = draft()
    o.place(w)
    assert o.state == "placed"
    assert w.available("A") == 3


def test_place_insufficient_stock_reserves_nothing():
    w = warehouse()
    o = draft()
    o.add_line("B", 5, "10.00")
    with pytest.raises(OrderError):
        o.place(w)
    assert w.reserved("A") == 0
    assert o.state == "draft"


def test_place_twice():
    o = draft()
    o.place()
    with pytest.raises(OrderError):
        o.place()


def test_edit_after_place_rejected():
    o = draft()
    o.place()
    with pytest.raises(OrderError):
        o.add_line("C", 1, 1)
    with pytest.raises(OrderError):
        o.remove_line("A")


def test_ship_all_of_line_partial_order():
    o = draft()
    o.place()
    o.ship("A")
    assert o.state == "partially_shipped"
    assert o.line_for("A").outstanding == 0


def test_ship_everything():
    o = draft()
    o.place()
    o.ship("A", 1)
    o.ship("A", 1)
    o.ship("B")
    assert o.state == "shipped"
    assert o.history == ["draft", "placed", "partially_shipped", "partially_shipped", "shipped"]


def test_ship_too_many():
    o = draft()
    o.place()
    with pytest.raises(OrderError):
        o.ship("A", 3)


def test_ship_zero():
    o = draft()
    o.place()
    with pytest.raises(OrderError):
        o.ship("A", 0)


def test_ship_draft_rejected():
    with pytest.raises(OrderError):
        draft().ship("A")


def test_ship_updates_warehouse():
    w = warehouse()
    o = draft()
    o.place(w)
    o.ship("A", 1, warehouse=w)
    assert w.on_hand("A") == 4
    assert w.reserved("A") == 1


def test_cancel_draft():
    o = draft()
    o.cancel()
    assert o.state == "cancelled"
    assert not o.is_open()


def test_cancel_placed_releases():
    w = warehouse()
    o = draft()
    o.place(w)
    o.cancel(w)
    assert w.available("A") == 5
    assert w.available("B") == 5


def test_cancel_partial_rejected():
    o = draft()
    o.place()
    o.ship("A")
    with pytest.raises(OrderError):
        o.cancel()


def test_cancel_twice_rejected():
    o = draft()
    o.cancel()
    with pytest.raises(OrderError):
        o.cancel()


def test_shipped_fraction():
    o = draft()
    o.place()
    o.ship("A", 1)
    assert o.shipped_fraction() == pytest.approx(1 / 3)


def test_shipped_fraction_empty():
    assert Order(1).shipped_fraction() == 0.0


def test_is_open():
    o = draft()
    assert o.is_open()
    o.place()
    o.ship("A")
    assert o.is_open()
    o.ship("B")
    assert not o.is_open()
