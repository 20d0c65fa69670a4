"""Orders, order lines and the order state machine."""

from decimal import Decimal

from .pricing import line_price

DRAFT = "draft"
PLACED = "placed"
PARTIAL = "partially_shipped"
SHIPPED = "shipped"
CANCELLED = "cancelled"

TRANSITIONS = {
    DRAFT: {PLACED, CANCELLED},
    PLACED: {PARTIAL, SHIPPED, CANCELLED},
    PARTIAL: {PARTIAL, SHIPPED},
    SHIPPED: set(),
    CANCELLED: set(),
}


class OrderError(Exception):
    """Raised for an invalid order operation."""


class OrderLine:
    """A quantity of one SKU at a unit price, with a shipped count."""

    def __init__(self, sku, qty, unit_price):
        if qty <= 0:
            raise OrderError("line quantity must be positive")
        self.sku = sku
        self.qty = qty
        self.unit_price = Decimal(str(unit_price))
        self.shipped = 0

    @property
    def outstanding(self):
        return self.qty - self.shipped

    def total(self):
        return line_price(self.unit_price, self.qty)


class Order:
    """An order moving through draft -> placed -> shipped (or cancelled)."""

    def __init__(self, number, customer=""):
        self.number = number
        self.customer = customer
        self.state = DRAFT
        self.lines = []
        self.history = [DRAFT]

    def _move(self, state):
        if state not in TRANSITIONS[self.state]:
            raise OrderError("cannot go from %s to %s" % (self.state, state))
        self.state = state
        self.history.append(state)

    def add_line(self, sku, qty, unit_price):
        """Add units; merges with an existing line of the same SKU and price."""
        if self.state != DRAFT:
            raise OrderError("only draft orders can be edited")
        for line in self.lines:
            if line.sku == sku and line.unit_price == Decimal(str(unit_price)):
                line.qty += qty
                return line
        line = OrderLine(sku, qty, unit_price)
        self.lines.append(line)
        return line

    def remove_line(self, sku):
        if self.state != DRAFT:
            raise OrderError("only draft orders can be edited")
        before = len(self.lines)
        self.lines = [line for line in self.lines if line.sku != sku]
        return before - len(self.lines)

    def line_for(self, sku):
        for line in self.lines:
            if line.sku == sku:
                return line
        raise OrderError("no line for %s" % sku)

    def item_count(self):
        return sum(line.qty for line in self.lines)

    def total(self):
        return sum((line.total() for line in self.lines), Decimal("0.00"))

    def place(self, warehouse=None):
        """Place the order, reserving stock if a warehouse is given."""
        if not self.lines:
            raise OrderError("cannot place an empty order")
        if self.state != DRAFT:
            raise OrderError("cannot go from %s to %s" % (self.state, PLACED))
        if warehouse is not None:
            for line in self.lines:
                if warehouse.available(line.sku) < line.qty:
                    raise OrderError("insufficient stock for %s" % line.sku)
            for line in self.lines:
                warehouse.reserve(line.sku, line.qty)
        self._move(PLACED)

    def ship(self, sku, qty=None, warehouse=None):
        """Ship ``qty`` (default: everything outstanding) of one line."""
        if self.state not in (PLACED, PARTIAL):
            raise OrderError("order is %s" % self.state)
        line = self.line_for(sku)
        if qty is None:
            qty = line.outstanding
        if qty <= 0 or qty > line.outstanding:
            raise OrderError("bad shipment quantity %d" % qty)
        if warehouse is not None:
            warehouse.ship(sku, qty)
        line.shipped += qty
        if all(l.outstanding == 0 for l in self.lines):
            self._move(SHIPPED)
        else:
            self._move(PARTIAL)

    def cancel(self, warehouse=None):
        """Cancel a draft or placed order, releasing reservations."""
        if self.state == PLACED and warehouse is not None:
            for line in self.lines:
                warehouse.release(line.sku, line.qty)
        self._move(CANCELLED)

    def shipped_fraction(self):
        """Fraction of ordered units shipped, 0.0 for an empty order."""
        total = self.item_count()
        if total == 0:
            return 0.0
        return sum(line.shipped for line in self.lines) / total

    def is_open(self):
        return self.state in (DRAFT, PLACED, PARTIAL)
