"""Reports over a catalog, a warehouse and orders."""

from decimal import Decimal

from .orders import CANCELLED, DRAFT


def low_stock(catalog, warehouse, threshold=5):
    """``(sku, available)`` of active products with available < threshold,
    lowest first, ties by SKU."""
    rows = []
    for product in catalog.products():
        avail = warehouse.available(product.sku)
        if avail < threshold:
            rows.append((product.sku, avail))
    return sorted(rows, key=lambda r: (r[1], r[0]))


def reorder_list(catalog, warehouse):
    """``(sku, quantity)`` for every product that needs reordering."""
    rows = []
    for product in catalog.products():
        qty = warehouse.reorder_quantity(product.sku)
        if qty > 0:
            rows.append((product.sku, qty))
    return rows


def counted_orders(orders):
    """Orders that count as sales: not drafts and not cancelled."""
    return [o for o in orders if o.state not in (DRAFT, CANCELLED)]


def sales_by_category(catalog, orders):
    """Map category -> revenue (Decimal) over counted orders."""
    totals = {}
    for order in counted_orders(orders):
        for line in order.lines:
            category = catalog.get(line.sku).category
            totals[category] = totals.get(category, Decimal("0.00")) + line.total()
    return dict(sorted(totals.items()))


def units_by_sku(orders):
    units = {}
    for order in counted_orders(orders):
        for line in order.lines:
            units[line.sku] = units.get(line.sku, 0) + line.qty
    return units


def top_products(orders, n=3, by="units"):
    """The ``n`` best SKUs by ``units`` or ``revenue``; ties by SKU."""
    if by == "units":
        scores = units_by_sku(orders)
    elif by == "revenue":
        scores = {}
        for order in counted_orders(orders):
            for line in order.lines:
                scores[line.sku] = scores.get(line.sku, Decimal("0.00")) + line.total()
    else:
        raise ValueError("unknown ranking %r" % by)
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked[:n]


def stock_value(catalog, warehouse):
    """Value of on-hand stock at catalog prices."""
    total = Decimal("0.00")
    for product in catalog.products(include_inactive=True):
        total += product.price * warehouse.on_hand(product.sku)
    return total


def fulfilment_rate(orders):
    """Share of counted orders that are fully shipped, rounded to 3 places."""
    counted = counted_orders(orders)
    if not counted:
        return 0.0
    done = sum(1 for o in counted if o.shipped_fraction() == 1.0)
    return round(done / len(counted), 3)
