"""calendrical: proleptic Gregorian date arithmetic without external dependencies."""

__version__ = "0.9.0"
