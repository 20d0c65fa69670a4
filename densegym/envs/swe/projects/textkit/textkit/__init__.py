"""textkit: small text-processing utilities."""

__version__ = "1.2.0"
