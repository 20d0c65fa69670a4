"""Decimal money amounts: conversion, rounding, formatting, parsing and allocation."""

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

#: Number of minor-unit digits for the currencies the library knows about.
CURRENCY_PLACES = {"USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "JPY": 0, "KWD": 3}

#: Display symbols; currencies without one are shown with their code.
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

_ROUNDING_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN}


def currency_places(currency="USD"):
    """Return the number of decimal places used by ``currency`` (default 2)."""
    return CURRENCY_PLACES.get(currency.upper(), 2)


def to_decimal(value):
    """Convert an int, float, str or Decimal to a Decimal.

    Floats go through ``repr`` so that ``0.1`` becomes ``Decimal('0.1')``.
    Strings may contain surrounding whitespace and ``_`` digit separators.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("booleans are not amounts")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        if not text:
            raise ValueError("empty amount")
        try:
            return Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    raise TypeError(f"cannot convert {type(value).__name__} to Decimal")


def round_amount(amount, places=2, mode="half_up"):
    """Round ``amount`` to ``places`` decimal places using ``mode``.

    ``mode`` is one of ``half_up`` (default), ``half_even`` or ``down``.
    """
    if places < 0:
        raise ValueError("places must be >= 0")
    try:
        rounding = _ROUNDING_MODES[mode]
    except KeyError:
        raise ValueError(f"unknown rounding mode: {mode}") from None
    exponent = Decimal(1).scaleb(-places)
    return to_decimal(amount).quantize(exponent, rounding=rounding)


def group_digits(digits, separator=",", size=3):
    """Insert ``separator`` every ``size`` digits from the right of ``digits``."""
    if size <= 0 or len(digits) <= size:
        return digits
    head = len(digits) % size
    groups = [digits[:head]] if head else []
    for start in range(head, len(digits), size):
        groups.append(digits[start:start + size])
    return separator.join(groups)


def format_amount(amount, currency="USD", thousands=",", point=".", symbol=True, parens=False):
    """Format ``amount`` for display, e.g. ``-$1,234.50``.

    The amount is rounded to the currency's number of places.  With
    ``parens=True`` negative amounts are shown as ``($1,234.50)`` instead.
    Currencies without a symbol get their ISO code appended instead
    (``1,234.500 KWD``); with ``symbol=False`` neither is shown.
    """
    places = currency_places(currency)
    value = round_amount(amount, places)
    negative = value < 0
    text = f"{abs(value):.{places}f}"
    if places > 0:
        whole, frac = text.split(".")
        body = group_digits(whole, thousands) + point + frac
    else:
        body = group_digits(text, thousands)
    sign_symbol = CURRENCY_SYMBOLS.get(currency.upper())
    if symbol and sign_symbol:
        body = sign_symbol + body
    elif symbol:
        body = body + " " + currency.upper()
    if not negative:
        return body
    if parens:
        return "(" + body + ")"
    return "-" + body


def parse_amount(text, thousands=",", point="."):
    """Parse a displayed amount such as ``$1,234.50``, ``(12.00)`` or ``-3``.

    Currency symbols and a trailing ISO code are ignored; parentheses mean a
    negative amount.
    """
    raw = text.strip()
    if not raw:
        raise ValueError("empty amount")
    negative = False
    if raw.startswith("(") and raw.endswith(")"):
        negative = True
        raw = raw[1:-1].strip()
    if raw[-3:].isalpha() and raw[-3:].isupper():
        raw = raw[:-3].strip()
    if raw.startswith("-"):
        negative = not negative
        raw = raw[1:]
    for sym in CURRENCY_SYMBOLS.values():
        if raw.startswith(sym):
            raw = raw[len(sym):]
            break
    raw = raw.replace(thousands, "")
    if point != ".":
        raw = raw.replace(point, ".")
    value = to_decimal(raw)
    return -value if negative else value


def allocate(amount, ratios, places=2):
    """Split ``amount`` in proportion to ``ratios`` without losing cents.

    Each share is rounded down to ``places``; the leftover minor units are
    handed out one at a time to the first shares.  The shares always sum to
    the rounded ``amount``.
    """
    if not ratios:
        raise ValueError("ratios must not be empty")
    if any(r < 0 for r in ratios):
        raise ValueError("ratios must be non-negative")
    total_ratio = sum(ratios)
    if total_ratio == 0:
        raise ValueError("ratios must not all be zero")
    total = round_amount(amount, places)
    unit = Decimal(1).scaleb(-places)
    shares = [round_amount(total * to_decimal(r) / to_decimal(total_ratio), places, "down")
              for r in ratios]
    remainder = total - sum(shares)
    step = unit if remainder > 0 else -unit
    for index in range(len(shares)):
        if remainder == 0:
            break
        shares[index] += step
        remainder -= step
    return shares


class Money:
    """An amount of a single currency, always rounded to the currency's places."""

    __slots__ = ("amount", "currency")

    def __init__(self, amount=0, currency="USD"):
        self.currency = currency.upper()
        self.amount = round_amount(amount, currency_places(self.currency))

    def _check(self, other):
        if not isinstance(other, Money):
            raise TypeError("can only combine Money with Money")
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other):
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other):
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self):
        return Money(-self.amount, self.currency)

    def __mul__(self, factor):
        if isinstance(factor, Money):
            raise TypeError("cannot multiply Money by Money")
        return Money(self.amount * to_decimal(factor), self.currency)

    __rmul__ = __mul__

    def __eq__(self, other):
        if not isinstance(other, Money):
            return NotImplemented
        return self.currency == other.currency and self.amount == other.amount

    def __lt__(self, other):
        self._check(other)
        return self.amount < other.amount

    def __le__(self, other):
        self._check(other)
        return self.amount <= other.amount

    def __hash__(self):
        return hash((self.amount, self.currency))

    def is_zero(self):
        """True when the amount is exactly zero."""
        return self.amount == 0

    def split(self, ratios):
        """Allocate this amount across ``ratios``; see :func:`allocate`."""
        places = currency_places(self.currency)
        return [Money(share, self.currency) for share in allocate(self.amount, ratios, places)]

    def format(self, **kwargs):
        """Format via :func:`format_amount` with this currency."""
        return format_amount(self.amount, self.currency, **kwargs)

    def __str__(self):
        return f"{self.amount} {self.currency}"

    def __repr__(self):
        return f"Money('{self.amount}', '{self.currency}')"
