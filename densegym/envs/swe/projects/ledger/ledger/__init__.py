"""ledger: a small double-entry bookkeeping library."""

__version__ = "0.3.1"
