import pytest

from stockroom.catalog import Catalog, Product
from stockroom.orders import Order
from stockroom import reports
from stockroom.stock import Warehouse


def setup():
    c = Catalog()
    c.add(Product("TOY-0001", "Ball", "toys", "2.00"))
    c.add(Product("TOY-0002", "Kite", "toys", "15.00"))
    c.add(Product("KIT-0001", "Pan", "kitchen", "20.00"))
    c.add(Product("KIT-0002", "Old Pot", "kitchen", "9.00", active=False))
    w = Warehouse()
    w.receive("TOY-0001", 40)
    w.receive("TOY-0002", 3)
    w.receive("KIT-0001", 4)
    w.receive("KIT-0002", 2)
    return c, w


def orders():
    o1 = Order(1)
    o1.add_line("TOY-0001", 12, "2.00")
    o1.add_line("KIT-0001", 1, "20.00")
    o1.place()
    o1.ship("TOY-0001")
    o1.ship("KIT-0001")
    o2 = Order(2)
    o2.add_line("TOY-0002", 2, "15.00")
    o2.add_line("TOY-0001", 1, "2.00")
    o2.place()
    o3 = Order(3)
    o3.add_line("KIT-0001", 9, "20.00")
    o4 = Order(4)
    o4.add_line("TOY-0002", 9, "15.00")
    o4.cancel()
    return [o1, o2, o3, o4]


def test_low_stock_default_threshold():
    c, w = setup()
    assert reports.low_stock(c, w) == [("TOY-0002", 3), ("KIT-0001", 4)]


def test_low_stock_threshold_exclusive():
    c, w = setup()
    assert reports.low_stock(c, w, threshold=4) == [("TOY-0002", 3)]


def test_low_stock_ties_by_sku():
    c, w = setup()
    w.receive("KIT-0001", 1)
    w.receive("TOY-0002", 2)
    assert reports.low_stock(c, w, threshold=6) == [("KIT-0001", 5), ("TOY-0002", 5)]


def test_low_stock_uses_available():
    c, w = setup()
    w.reserve("TOY-0001", 38)
    assert reports.low_stock(c, w)[0] == ("TOY-0001", 2)


def test_reorder_list():
    c, w = setup()
    w.set_reorder_point("TOY-0002", 5)
    w.set_reorder_point("TOY-0001", 5)
    assert reports.reorder_list(c, w) == [("TOY-0002", 10)]


def test_counted_orders():
    assert [o.number for o in reports.counted_orders(orders())] == [1, 2]


def test_sales_by_category():
    c, _ = setup()
    sales = reports.sales_by_category(c, orders())
    assert list(sales) == ["kitchen", "toys"]
    assert str(sales["toys"]) == "54.80"
    assert str(sales["kitchen"]) == "20.00"


def test_units_by_sku():
    assert reports.units_by_sku(orders()) == {"TOY-0001": 13, "KIT-0001": 1, "TOY-0002": 2}


def test_top_products_units():
    assert reports.top_products(orders(), n=2) == [("TOY-0001", 13), ("TOY-0002", 2)]


def test_top_products_ties_by_sku():
    top = reports.top_products(orders(), n=3)
    assert top[2] == ("KIT-0001", 1)


def test_top_products_revenue():
    top = reports.top_products(orders(), n=1, by="revenue")
    assert top[0][0] == "TOY-0002"
    assert str(top[0][1]) == "30.00"


def test_top_products_unknown():
    with pytest.raises(ValueError):
        reports.top_products(orders(), by="profit")


def test_stock_value_includes_inactive():
    c, w = setup()
    assert str(reports.stock_value(c, w)) == "223.00"


def test_fulfilment_rate():
    assert reports.fulfilment_rate(orders()) == 0.5


def test_fulfilment_rate_none():
    assert reports.fulfilment_rate([]) == 0.0
