"""Warehouse stock levels and reservations."""


class StockError(Exception):
    """Raised when a stock movement is impossible."""


class Warehouse:
    """Quantities on hand and reserved, per SKU."""

    def __init__(self, name="main"):
        self.name = name
        self._on_hand = {}
        self._reserved = {}
        self._reorder = {}

    def on_hand(self, sku):
        return self._on_hand.get(sku, 0)

    def reserved(self, sku):
        return self._reserved.get(sku, 0)

    def available(self, sku):
        """Quantity on hand that is not reserved."""
        return self.on_hand(sku) - self.reserved(sku)

    def receive(self, sku, qty):
        """Add ``qty`` units to stock; returns the new on-hand quantity."""
        if qty <= 0:
            raise StockError("quantity must be positive")
        self._on_hand[sku] = self.on_hand(sku) + qty
        return self._on_hand[sku]

    def reserve(self, sku, qty):
        """Reserve ``qty`` units for an order."""
        if qty <= 0:
            raise StockError("quantity must be positive")
        if qty > self.available(sku):
            raise StockError("only %d of %s available" % (self.available(sku), sku))
        self._reserved[sku] = self.reserved(sku) + qty

    def release(self, sku, qty):
        """Release a reservation (e.g. an order was cancelled)."""
        if qty <= 0:
            raise StockError("quantity must be positive")
        if qty > self.reserved(sku):
            raise StockError("cannot release more than reserved")
        self._reserved[sku] = self.reserved(sku) - qty
        if self._reserved[sku] == 0:
            del self._reserved[sku]

    def ship(self, sku, qty):
        """Remove reserved units from the warehouse."""
        if qty <= 0:
            raise StockError("quantity must be positive")
        if qty > self.reserved(sku):
            raise StockError("cannot ship unreserved stock")
        self.release(sku, qty)
        self._on_hand[sku] = self.on_hand(sku) - qty

    def adjust(self, sku, delta):
        """Correct the on-hand count (stock take); never below reserved."""
        new = self.on_hand(sku) + delta
        if new < self.reserved(sku):
            raise StockError("adjustment would go below reserved")
        self._on_hand[sku] = new
        return new

    def set_reorder_point(self, sku, point, qty=None):
        """Reorder ``qty`` (default ``2 * point``) when available <= point."""
        if point < 0:
            raise StockError("negative reorder point")
        if qty is None:
            qty = 2 * point
        self._reorder[sku] = (point, qty)

    def needs_reorder(self, sku):
        if sku not in self._reorder:
            return False
        point, _ = self._reorder[sku]
        return self.available(sku) <= point

    def reorder_quantity(self, sku):
        """How many units to order to get back above the reorder point."""
        if not self.needs_reorder(sku):
            return 0
        point, qty = self._reorder[sku]
        shortfall = point - self.available(sku)
        return max(qty, shortfall + 1)

    def skus(self):
        return sorted(set(self._on_hand) | set(self._reserved))

    def total_units(self):
        return sum(self._on_hand.values())

    def transfer(self, other, sku, qty):
        """Move available units to another warehouse."""
        if qty > self.available(sku):
            raise StockError("not enough available to transfer")
        self.adjust(sku, -qty)
        other.receive(sku, qty)
