"""routeplan: small graph and routing algorithms."""

__all__ = ["graph", "search", "order", "spanning", "grid"]
