from decimal import Decimal

import pytest

from ledger.money import (Money, allocate, currency_places, format_amount, group_digits,
                          parse_amount, round_amount, to_decimal)


def test_currency_places_known():
    assert currency_places("JPY") == 0
    assert currency_places("kwd") == 3


def test_currency_places_default():
    assert currency_places("XYZ") == 2
    assert currency_places() == 2


def test_to_decimal_float_uses_repr():
    assert str(to_decimal(0.1)) == "0.1"


def test_to_decimal_int_and_decimal():
    assert str(to_decimal(7)) == "7"
    assert str(to_decimal(Decimal("1.50"))) == "1.50"


def test_to_decimal_string_separators():
    assert str(to_decimal(" 1_000.25 ")) == "1000.25"


def test_to_decimal_rejects_bad_values():
    with pytest.raises(ValueError):
        to_decimal("abc")
    with pytest.raises(ValueError):
        to_decimal("   ")
    with pytest.raises(TypeError):
        to_decimal(True)
    with pytest.raises(TypeError):
        to_decimal([1])


def test_round_half_up():
    assert str(round_amount("2.345")) == "2.35"
    assert str(round_amount("-2.345")) == "-2.35"


def test_round_half_even():
    assert str(round_amount("2.345", mode="half_even")) == "2.34"
    assert str(round_amount("2.355", mode="half_even")) == "2.36"


def test_round_down_and_places():
    assert str(round_amount("2.349", mode="down")) == "2.34"
    assert str(round_amount("2.5", places=0)) == "3"
    assert str(round_amount("1.23456", places=3)) == "1.235"


def test_round_errors():
    with pytest.raises(ValueError):
        round_amount("1", places=-1)
    with pytest.raises(ValueError):
        round_amount("1", mode="ceiling")


def test_group_digits():
    assert group_digits("1234567") == "1,234,567"
    assert group_digits("123456") == "123,456"
    assert group_digits("123") == "123"
    assert group_digits("1234", " ") == "1 234"
    assert group_digits("12345678", ".", 4) == "1234.5678"


def test_format_amount_basic():
    assert format_amount(Decimal("1234.5")) == "$1,234.50"
    assert format_amount(0) == "$0.00"


def test_format_amount_negative():
    assert format_amount(Decimal("-1234.5")) == "-$1,234.50"
    assert format_amount(Decimal("-3"), parens=True) == "($3.00)"


def test_format_amount_currencies():
    assert format_amount(1234567, "JPY") == "¥1,234,567"
    assert format_amount(Decimal("12.3456"), "KWD") == "12.346 KWD"
    assert format_amount(Decimal("9.99"), "EUR", symbol=False) == "9.99"


def test_format_amount_european_separators():
    assert format_amount(Decimal("1234567.891"), "EUR", thousands=".", point=",") == "€1.234.567,89"


def test_parse_amount_symbols_and_commas():
    assert str(parse_amount("$1,234.50")) == "1234.50"
    assert str(parse_amount("£7")) == "7"


def test_parse_amount_negative_forms():
    assert str(parse_amount("(12.00)")) == "-12.00"
    assert str(parse_amount("-$3.10")) == "-3.10"
    assert str(parse_amount("(-5)")) == "5"


def test_parse_amount_code_and_locale():
    assert str(parse_amount("12.346 KWD")) == "12.346"
    assert str(parse_amount("1.234,5", thousands=".", point=",")) == "1234.5"


def test_parse_amount_empty():
    with pytest.raises(ValueError):
        parse_amount("  ")


def test_parse_amount_rejects_malformed():
    with pytest.raises(ValueError):
        parse_amount("(12")
    with pytest.raises(ValueError):
        parse_amount("12.5 usd")


def test_allocate_even():
    assert [str(s) for s in allocate(Decimal("10"), [1, 1, 1])] == ["3.34", "3.33", "3.33"]


def test_allocate_weighted():
    assert [str(s) for s in allocate(Decimal("100"), [70, 20, 10])] == ["70.00", "20.00", "10.00"]
    assert [str(s) for s in allocate(Decimal("0.05"), [1, 3])] == ["0.02", "0.03"]


def test_allocate_negative_amount():
    assert [str(s) for s in allocate(Decimal("-10"), [1, 1, 1])] == ["-3.34", "-3.33", "-3.33"]


def test_allocate_zero_places():
    assert [str(s) for s in allocate(100, [1, 1, 1], places=0)] == ["34", "33", "33"]


def test_allocate_errors():
    with pytest.raises(ValueError):
        allocate(10, [])
    with pytest.raises(ValueError):
        allocate(10, [0, 0])
    with pytest.raises(ValueError):
        allocate(10, [2, -1])


def test_money_rounds_on_creation():
    assert str(Money("1.005")) == "1.01 USD"
    assert str(Money("12.6", "jpy")) == "13 JPY"


def test_money_arithmetic():
    assert str(Money("1.10") + Money("2.25")) == "3.35 USD"
    assert str(Money("1.10") - Money("2.25")) == "-1.15 USD"
    assert str(-Money("4")) == "-4.00 USD"
    assert str(Money("2.50") * 3) == "7.50 USD"
    assert str(2 * Money("0.333")) == "0.66 USD"


def test_money_currency_mismatch():
    with pytest.raises(ValueError):
        Money(1, "USD") + Money(1, "EUR")
    with pytest.raises(TypeError):
        Money(1) + 1
    with pytest.raises(TypeError):
        Money(1) * Money(2)


def test_money_comparisons():
    assert Money("1.00") == Money(1)
    assert Money(1, "USD") != Money(1, "EUR")
    assert Money(1) < Money(2)
    assert Money(2) <= Money(2)
    assert not Money(3) <= Money(2)
    assert Money(0).is_zero()
    assert not Money("0.01").is_zero()


def test_money_split_and_format():
    assert [str(m) for m in Money(10).split([1, 2])] == ["3.34 USD", "6.66 USD"]
    assert Money("-1500", "GBP").format(parens=True) == "(£1,500.00)"
    assert repr(Money("2", "EUR")) == "Money('2.00', 'EUR')"


def test_money_le_checks_currency():
    with pytest.raises(ValueError):
        Money(1, "USD") <= Money(1, "EUR")
    with pytest.raises(ValueError):
        Money(1, "USD") < Money(1, "EUR")


def test_money_hash():
    assert len({Money(1), Money("1.00"), Money(1, "EUR")}) == 2
