from decimal import Decimal

import pytest

from stockroom.pricing import (
    Coupon,
    PricingError,
    line_price,
    parse_coupon,
    price_order,
    split_evenly,
    tax,
    to_money,
    volume_discount_percent,
)


def test_to_money_rounds_half_up():
    assert str(to_money("2.345")) == "2.35"
    assert str(to_money("2.344")) == "2.34"
    assert str(to_money(1.1)) == "1.10"


@pytest.mark.parametrize("qty,percent", [(1, 0), (9, 0), (10, 5), (49, 5), (50, 10), (99, 10), (100, 15), (500, 15)])
def test_volume_discount_tiers(qty, percent):
    assert volume_discount_percent(qty) == percent


def test_volume_discount_custom_tiers():
    assert volume_discount_percent(3, tiers=((2, 20),)) == 20


def test_line_price_no_discount():
    assert str(line_price("1.99", 3)) == "5.97"


def test_line_price_with_discount():
    assert str(line_price("2.00", 10)) == "19.00"


def test_line_price_rounding():
    assert str(line_price("0.33", 50)) == "14.85"


def test_line_price_negative_qty():
    with pytest.raises(PricingError):
        line_price("1.00", -1)


def test_coupon_percent():
    assert str(Coupon("save10", percent=10).discount("25.55")) == "2.56"


def test_coupon_amount():
    assert str(Coupon("five", amount=5).discount("20")) == "5.00"


def test_coupon_amount_capped():
    assert str(Coupon("big", amount=50).discount("20.00")) == "20.00"


def test_coupon_min_subtotal():
    c = Coupon("min", amount=5, min_subtotal=30)
    assert str(c.discount("29.99")) == "0.00"
    assert str(c.discount("30.00")) == "5.00"


def test_coupon_both_kinds_rejected():
    with pytest.raises(PricingError):
        Coupon("x", percent=5, amount=5)


def test_coupon_percent_range():
    with pytest.raises(PricingError):
        Coupon("x", percent=101)
    assert str(Coupon("all", percent=100).discount("8.00")) == "8.00"


def test_coupon_negative_amount():
    with pytest.raises(PricingError):
        Coupon("x", amount=-1)


def test_parse_coupon_percent():
    c = parse_coupon("spring:15%")
    assert c.code == "SPRING"
    assert str(c.percent) == "15"


def test_parse_coupon_amount_with_minimum():
    c = parse_coupon("TENOFF:10.00@75")
    assert str(c.amount) == "10.00"
    assert str(c.min_subtotal) == "75"


def test_parse_coupon_bad():
    with pytest.raises(PricingError):
        parse_coupon("nocolon")


def test_tax():
    assert str(tax("19.99", 8.25)) == "1.65"


def test_price_order_basic():
    result = price_order([("2.00", 3), ("5.00", 1)], tax_rate=10)
    assert str(result["subtotal"]) == "11.00"
    assert str(result["tax"]) == "1.10"
    assert str(result["total"]) == "12.10"


def test_price_order_coupon_and_shipping():
    result = price_order([("10.00", 2)], coupon=Coupon("c", amount=5), tax_rate=5, shipping="4.99")
    assert str(result["discount"]) == "5.00"
    assert str(result["shipping"]) == "4.99"
    assert str(result["tax"]) == "1.00"
    assert str(result["total"]) == "20.99"


def test_price_order_free_shipping_threshold():
    result = price_order([("10.00", 5)], shipping=6, free_shipping_over=50)
    assert str(result["shipping"]) == "0.00"


def test_price_order_free_shipping_after_discount():
    result = price_order([("10.00", 5)], coupon=Coupon("c", amount=1), shipping=6, free_shipping_over=50)
    assert str(result["shipping"]) == "6.00"
    assert str(result["total"]) == "55.00"


def test_price_order_empty():
    assert price_order([])["total"] == Decimal("0")


def test_split_evenly():
    assert [str(x) for x in split_evenly("10.00", 3)] == ["3.34", "3.33", "3.33"]


def test_split_evenly_sums():
    assert sum(split_evenly("7.01", 4)) == Decimal("7.01")


def test_split_evenly_bad_parts():
    with pytest.raises(PricingError):
        split_evenly("1.00", 0)
