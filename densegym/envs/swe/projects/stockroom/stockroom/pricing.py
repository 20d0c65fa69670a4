"""Unit prices, volume discounts, coupons and tax with Decimal."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")

# (minimum quantity, percent off), checked from the largest minimum down
DEFAULT_TIERS = ((100, 15), (50, 10), (10, 5))


class PricingError(Exception):
    """Raised for invalid coupons or prices."""


def to_money(value):
    """Round a number to cents, halves away from zero."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def volume_discount_percent(qty, tiers=DEFAULT_TIERS):
    """Percent discount for buying ``qty`` units."""
    for minimum, percent in sorted(tiers, reverse=True):
        if qty >= minimum:
            return percent
    return 0


def line_price(unit_price, qty, tiers=DEFAULT_TIERS):
    """Price of ``qty`` units after the volume discount, in cents."""
    if qty < 0:
        raise PricingError("negative quantity")
    gross = Decimal(str(unit_price)) * qty
    percent = volume_discount_percent(qty, tiers)
    return to_money(gross * (100 - percent) / 100)


class Coupon:
    """A coupon: either ``percent`` off or a fixed ``amount`` off.

    ``min_subtotal`` is the smallest subtotal it applies to.
    """

    def __init__(self, code, percent=0, amount=0, min_subtotal=0):
        if percent and amount:
            raise PricingError("coupon cannot be both percent and amount")
        if percent < 0 or percent > 100:
            raise PricingError("percent out of range")
        if amount < 0:
            raise PricingError("negative amount")
        self.code = code.upper()
        self.percent = Decimal(str(percent))
        self.amount = Decimal(str(amount))
        self.min_subtotal = Decimal(str(min_subtotal))

    def discount(self, subtotal):
        """Discount on ``subtotal``; never more than the subtotal."""
        subtotal = Decimal(str(subtotal))
        if subtotal < self.min_subtotal:
            return Decimal("0.00")
        if self.percent:
            return to_money(subtotal * self.percent / 100)
        return to_money(min(self.amount, subtotal))


def parse_coupon(text):
    """Parse ``CODE:10%`` or ``CODE:5.00`` or ``CODE:5.00@50`` (min subtotal)."""
    if ":" not in text:
        raise PricingError("bad coupon %r" % text)
    code, _, rest = text.partition(":")
    minimum = 0
    if "@" in rest:
        rest, _, min_text = rest.partition("@")
        minimum = Decimal(min_text)
    if rest.endswith("%"):
        return Coupon(code, percent=Decimal(rest[:-1]), min_subtotal=minimum)
    return Coupon(code, amount=Decimal(rest), min_subtotal=minimum)


def tax(amount, rate_percent):
    """Tax on ``amount`` at ``rate_percent``, rounded to cents."""
    return to_money(Decimal(str(amount)) * Decimal(str(rate_percent)) / 100)


def price_order(lines, coupon=None, tax_rate=0, shipping=0, free_shipping_over=None):
    """Total an order.

    ``lines`` is a list of ``(unit_price, qty)``. Returns a dict with
    subtotal, discount, shipping, tax and total (all Decimal cents).
    Tax is charged on the discounted subtotal plus shipping.
    """
    subtotal = sum((line_price(p, q) for p, q in lines), Decimal("0.00"))
    discount = coupon.discount(subtotal) if coupon else Decimal("0.00")
    ship = to_money(shipping)
    if free_shipping_over is not None and subtotal - discount >= Decimal(str(free_shipping_over)):
        ship = Decimal("0.00")
    taxable = subtotal - discount + ship
    tax_due = tax(taxable, tax_rate)
    return {
        "subtotal": subtotal,
        "discount": discount,
        "shipping": ship,
        "tax": tax_due,
        "total": taxable + tax_due,
    }


def split_evenly(amount, parts):
    """Split ``amount`` into ``parts`` cent amounts that sum exactly;
    earlier parts get the extra cents."""
    if parts <= 0:
        raise PricingError("parts must be positive")
    cents = int(to_money(amount) * 100)
    base, extra = divmod(cents, parts)
    return [Decimal(base + (1 if i < extra else 0)) / 100 for i in range(parts)]
