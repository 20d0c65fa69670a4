"""stockroom: inventory, orders and pricing for a small shop."""

__all__ = ["catalog", "stock", "orders", "pricing", "reports"]
