"""tablekit: small in-memory tables."""

__all__ = ["table", "aggregate", "join", "csvio", "fmt"]
