import pytest

from stockroom.stock import StockError, Warehouse


def stocked():
    w = Warehouse()
    w.receive("A", 10)
    w.receive("B", 3)
    return w


def test_receive_returns_new_total():
    w = stocked()
    assert w.name == "main"
    assert w.receive("A", 5) == 15


def test_receive_nonpositive():
    with pytest.raises(StockError):
        stocked().receive("A", 0)


def test_unknown_sku_is_zero():
    w = Warehouse()
    assert w.on_hand("X") == 0
    assert w.available("X") == 0


def test_reserve_reduces_available():
    w = stocked()
    w.reserve("A", 4)
    assert w.available("A") == 6
    assert w.on_hand("A") == 10
    assert w.reserved("A") == 4


def test_reserve_all_available():
    w = stocked()
    w.reserve("B", 3)
    assert w.available("B") == 0


def test_reserve_too_many():
    w = stocked()
    with pytest.raises(StockError):
        w.reserve("B", 4)


def test_reserve_nonpositive():
    with pytest.raises(StockError):
        stocked().reserve("A", -1)


def test_release():
    w = stocked()
    w.reserve("A", 4)
    w.release("A", 3)
    assert w.reserved("A") == 1


def test_release_too_many():
    w = stocked()
    w.reserve("A", 2)
    with pytest.raises(StockError):
        w.release("A", 3)


def test_release_all_clears_entry():
    w = stocked()
    w.reserve("A", 2)
    w.release("A", 2)
    assert w.skus() == ["A", "B"]
    assert w.reserved("A") == 0


def test_ship():
    w = stocked()
    w.reserve("A", 4)
    w.ship("A", 3)
    assert w.on_hand("A") == 7
    assert w.reserved("A") == 1
    assert w.available("A") == 6


def test_ship_unreserved():
    with pytest.raises(StockError):
        stocked().ship("A", 1)


def test_adjust():
    w = stocked()
    assert w.adjust("A", -4) == 6


def test_adjust_below_reserved():
    w = stocked()
    w.reserve("B", 2)
    with pytest.raises(StockError):
        w.adjust("B", -2)


def test_adjust_to_reserved_ok():
    w = stocked()
    w.reserve("B", 2)
    assert w.adjust("B", -1) == 2


def test_needs_reorder_without_point():
    assert not stocked().needs_reorder("A")


def test_needs_reorder_at_point():
    w = stocked()
    w.set_reorder_point("B", 3)
    assert w.needs_reorder("B")


def test_needs_reorder_above_point():
    w = stocked()
    w.set_reorder_point("A", 9)
    assert not w.needs_reorder("A")


def test_reorder_quantity_default():
    w = stocked()
    w.set_reorder_point("B", 4)
    assert w.reorder_quantity("B") == 8


def test_reorder_quantity_explicit():
    w = stocked()
    w.set_reorder_point("B", 4, qty=5)
    assert w.reorder_quantity("B") == 5


def test_reorder_quantity_covers_shortfall():
    w = stocked()
    w.set_reorder_point("B", 10, qty=2)
    assert w.reorder_quantity("B") == 8


def test_reorder_quantity_not_needed():
    w = stocked()
    w.set_reorder_point("A", 2)
    assert w.reorder_quantity("A") == 0


def test_negative_reorder_point():
    with pytest.raises(StockError):
        stocked().set_reorder_point("A", -1)


def test_total_units():
    assert stocked().total_units() == 13


def test_transfer():
    w = stocked()
    other = Warehouse("north")
    w.transfer(other, "A", 4)
    assert w.on_hand("A") == 6
    assert other.on_hand("A") == 4


def test_transfer_respects_reservations():
    w = stocked()
    w.reserve("B", 2)
    with pytest.raises(StockError):
        w.transfer(Warehouse(), "B", 2)
