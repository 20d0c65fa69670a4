"""Products and the catalog that holds them."""

from decimal import Decimal

SKU_PREFIX_LEN = 3
SKU_DIGITS = 4


class CatalogError(Exception):
    """Raised for invalid products or catalog operations."""


def normalize_sku(sku):
    """Upper-case ``sku`` and strip surrounding whitespace."""
    return sku.strip().upper()


def is_valid_sku(sku):
    """A SKU is three letters, a dash and four digits, e.g. ``ABC-0012``."""
    sku = normalize_sku(sku)
    if len(sku) != SKU_PREFIX_LEN + 1 + SKU_DIGITS:
        return False
    prefix, dash, digits = sku[:SKU_PREFIX_LEN], sku[SKU_PREFIX_LEN], sku[SKU_PREFIX_LEN + 1:]
    return prefix.isalpha() and dash == "-" and digits.isdigit()


def sku_number(sku):
    """The numeric part of a valid SKU as an int."""
    if not is_valid_sku(sku):
        raise CatalogError("invalid sku %r" % sku)
    return int(normalize_sku(sku)[SKU_PREFIX_LEN + 1:])


def make_sku(prefix, number):
    """Format a SKU from a prefix and a number, zero padded."""
    if number < 0 or number >= 10 ** SKU_DIGITS:
        raise CatalogError("sku number out of range")
    sku = "%s-%0*d" % (prefix.upper(), SKU_DIGITS, number)
    if not is_valid_sku(sku):
        raise CatalogError("invalid sku prefix %r" % prefix)
    return sku


class Product:
    """A product with a SKU, a name, a category and a unit price."""

    def __init__(self, sku, name, category, price, weight_kg=0.0, active=True):
        if not is_valid_sku(sku):
            raise CatalogError("invalid sku %r" % sku)
        if not name.strip():
            raise CatalogError("empty name")
        price = Decimal(str(price))
        if price < 0:
            raise CatalogError("negative price")
        self.sku = normalize_sku(sku)
        self.name = name.strip()
        self.category = category.strip().lower()
        self.price = price
        self.weight_kg = weight_kg
        self.active = active

    def __repr__(self):
        return "Product(%r, %r)" % (self.sku, self.name)


class Catalog:
    """Products indexed by SKU, kept in insertion order."""

    def __init__(self):
        self._products = {}

    def add(self, product):
        if product.sku in self._products:
            raise CatalogError("duplicate sku %s" % product.sku)
        self._products[product.sku] = product
        return product

    def get(self, sku):
        key = normalize_sku(sku)
        if key not in self._products:
            raise CatalogError("unknown sku %s" % key)
        return self._products[key]

    def __contains__(self, sku):
        return normalize_sku(sku) in self._products

    def __len__(self):
        return len(self._products)

    def remove(self, sku):
        product = self.get(sku)
        del self._products[product.sku]
        return product

    def products(self, include_inactive=False):
        return [p for p in self._products.values() if p.active or include_inactive]

    def categories(self):
        """Sorted list of distinct categories of active products."""
        return sorted({p.category for p in self.products()})

    def in_category(self, category):
        category = category.strip().lower()
        return [p for p in self.products() if p.category == category]

    def search(self, text, limit=10):
        """Active products whose name contains ``text`` (case-insensitive)."""
        needle = text.lower()
        hits = [p for p in self.products() if needle in p.name.lower()]
        return hits[:limit]

    def next_sku(self, prefix):
        """The next unused SKU number for ``prefix``."""
        prefix = prefix.upper()
        numbers = [sku_number(s) for s in self._products if s.startswith(prefix + "-")]
        return make_sku(prefix, max(numbers, default=0) + 1)

    def deactivate(self, sku):
        self.get(sku).active = False
