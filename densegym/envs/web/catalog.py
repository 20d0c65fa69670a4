"""The WebShop catalog and its tasks: products generated from a seed, WebShop-style goals and WebShop's score.

The same ``(seed, size)`` gives the same catalog in every process: the app server loads it into SQLite and
serves it, the env keeps it in memory to sample tasks, score purchases and plan the oracle's actions. Only the
standard library is used, so this module imports without the ``web`` extra.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from functools import lru_cache

from densegym import resources

# category -> (product types, attributes, option axes -> values)
CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[str, ...], dict[str, tuple[str, ...]]]] = {
    "beauty": (
        ("shampoo", "conditioner", "face cream", "lip balm", "body lotion", "hair oil"),
        ("paraben free", "cruelty free", "vegan", "fragrance free", "organic", "long lasting", "travel size",
         "sensitive skin"),
        {"scent": ("lavender", "coconut", "rose", "unscented", "citrus"), "size": ("2 fl oz", "8 fl oz", "16 fl oz")},
    ),
    "fashion": (
        ("t-shirt", "hoodie", "jeans", "sneakers", "socks", "rain jacket"),
        ("machine wash", "cotton", "slim fit", "quick dry", "water resistant", "long sleeve", "breathable",
         "recycled"),
        {"color": ("black", "white", "navy", "red", "olive", "grey"), "size": ("small", "medium", "large", "x-large")},
    ),
    "electronics": (
        ("headphones", "phone charger", "usb cable", "speaker", "keyboard", "mouse"),
        ("wireless", "bluetooth", "fast charging", "noise cancelling", "waterproof", "portable", "usb-c",
         "rechargeable"),
        {"color": ("black", "white", "silver", "blue"), "pack": ("1 pack", "2 pack", "3 pack")},
    ),
    "grocery": (
        ("coffee", "green tea", "granola", "protein bar", "olive oil", "pasta sauce"),
        ("gluten free", "sugar free", "organic", "non gmo", "keto friendly", "low sodium", "kosher", "vegan"),
        {"flavor": ("original", "vanilla", "chocolate", "mint", "honey"), "count": ("6 count", "12 count", "24 count")},
    ),
    "home": (
        ("pillow", "blanket", "candle", "desk lamp", "curtain", "rug"),
        ("easy clean", "non slip", "handmade", "eco friendly", "machine washable", "dimmable", "hypoallergenic",
         "blackout"),
        {"color": ("beige", "grey", "blue", "green", "white"), "size": ("twin", "queen", "king")},
    ),
}
BRANDS = ("Acme", "Nordvik", "Lumen", "Orchid", "Basalt", "Kestrel", "Marlow", "Tidewater", "Juniper", "Solace",
          "Brightfield", "Copperline", "Halcyon", "Quill", "Verity", "Wrenwood")
PRICE_CAPS = (10, 25, 50, 100, 200)  # the shop's "price up to" filter
ALL_ATTRIBUTES = tuple(sorted({a for _, attrs, _ in CATEGORIES.values() for a in attrs}))

_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class Product:
    pid: int
    title: str
    category: str
    ptype: str
    brand: str
    attributes: tuple[str, ...]
    options: tuple[tuple[str, tuple[str, ...]], ...]  # (axis, values) in a fixed order
    price: float
    rating: float
    description: str

    def option_values(self, axis: str) -> tuple[str, ...]:
        return dict(self.options).get(axis, ())


@dataclass(frozen=True)
class Catalog:
    seed: int
    products: tuple[Product, ...]

    def __len__(self) -> int:
        return len(self.products)

    def get(self, pid: int) -> Product | None:
        return self.products[pid - 1] if 1 <= pid <= len(self.products) else None


def _price(rng: random.Random, category: str) -> float:
    base = {"beauty": 14, "fashion": 30, "electronics": 45, "grocery": 12, "home": 38}[category]
    return round(max(3.0, rng.lognormvariate(math.log(base), 0.6)), 0) - 0.01


@lru_cache(maxsize=4)
def generate(seed: int = 0, size: int = 1200) -> Catalog:
    """``size`` products (at least 1,000 by default) drawn from ``seed``; pids are 1..size."""
    rng = random.Random(f"webshop-catalog:{seed}:{size}")
    names = sorted(CATEGORIES)
    products = []
    for pid in range(1, size + 1):
        category = names[rng.randrange(len(names))]
        types, attrs, axes = CATEGORIES[category]
        ptype = rng.choice(types)
        brand = rng.choice(BRANDS)
        chosen = tuple(sorted(rng.sample(attrs, rng.randint(2, 4))))
        options = []
        for axis, values in sorted(axes.items()):
            keep = set(rng.sample(values, rng.randint(2, len(values))))
            options.append((axis, tuple(v for v in values if v in keep)))
        options = tuple(options)
        lead = chosen[0]
        title = f"{brand} {lead.title()} {ptype.title()}" + (f", {chosen[1].title()}" if len(chosen) > 1 else "")
        description = (f"A {', '.join(chosen)} {ptype} by {brand}. Available in "
                       + "; ".join(f"{axis}: {', '.join(values)}" for axis, values in options) + ".")
        products.append(Product(pid, title, category, ptype, brand, chosen, options, _price(rng, category),
                                round(rng.uniform(2.5, 5.0), 1), description))
    return Catalog(seed, tuple(products))


resources.register_cache("web.catalogs", generate, 4)


# ---- tasks ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopGoal:
    """A WebShop-style instruction: a product type, attributes it must have, an option per axis, a price limit."""

    task_id: str
    ptype: str
    category: str
    attributes: tuple[str, ...]
    options: tuple[tuple[str, str], ...]
    price_limit: int
    target: int  # the product the goal was drawn from (one of possibly several that match)

    @property
    def instruction(self) -> str:
        opts = " and ".join(f"{axis} {value}" for axis, value in self.options)
        return (f"i am looking for a {' and '.join(self.attributes)} {self.ptype} with {opts}, "
                f"and price lower than {self.price_limit}.00 dollars")

    @property
    def query(self) -> str:
        """The search the oracle types."""
        return f"{' '.join(self.attributes)} {self.ptype}"


def make_goal(catalog: Catalog, task_seed: int) -> ShopGoal:
    rng = random.Random(f"webshop-goal:{catalog.seed}:{len(catalog)}:{task_seed}")
    product = catalog.products[rng.randrange(len(catalog))]
    attributes = tuple(sorted(rng.sample(product.attributes, min(len(product.attributes), rng.randint(1, 2)))))
    options = tuple((axis, rng.choice(values)) for axis, values in product.options)
    limit = int(math.ceil((product.price + 1) * rng.uniform(1.05, 1.6) / 5.0) * 5)
    return ShopGoal(f"shop:{catalog.seed}:{len(catalog)}:{task_seed}", product.ptype, product.category, attributes,
                    options, limit, product.pid)


_TASK_ID = re.compile(r"shop:(-?\d+):(\d+):(\d+)")


def parse_task_id(task_id: str) -> tuple[int, int, int]:
    m = _TASK_ID.fullmatch(task_id.strip())
    if m is None:
        raise ValueError(f"a WebShop task id is 'shop:CATALOG_SEED:SIZE:TASK_SEED', got {task_id!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def matches(goal: ShopGoal, product: Product) -> bool:
    """The product can satisfy the goal: its type, every goal attribute, every goal option, within the price."""
    return (product.ptype == goal.ptype and set(goal.attributes) <= set(product.attributes)
            and all(value in product.option_values(axis) for axis, value in goal.options)
            and product.price <= goal.price_limit)


def score(goal: ShopGoal, product: Product | None, options: dict[str, str]) -> float:
    """WebShop's purchase score: the share of goal attributes, options and the price met, times a type factor
    (1 same type, 0.5 same category, 0.1 otherwise); 1.0 only for a full match."""
    if product is None:
        return 0.0
    r_attr = sum(a in product.attributes for a in goal.attributes)
    r_opt = sum(options.get(axis) == value for axis, value in goal.options)
    r_price = 1 if product.price <= goal.price_limit else 0
    total = (r_attr + r_opt + r_price) / (len(goal.attributes) + len(goal.options) + 1)
    factor = 1.0 if product.ptype == goal.ptype else 0.5 if product.category == goal.category else 0.1
    return round(total * factor, 6)
