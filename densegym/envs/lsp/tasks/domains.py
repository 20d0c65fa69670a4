'''The six bundled domains: small, real, typed multi-file Python packages with hidden pytest suites.

Each domain is correct as written (its hidden tests pass and the checker reports no error); the task
generator injects defects into copies. ``logic`` lists hand-checked logic mutations, each of which
makes at least one hidden test fail while the checker stays silent (a test verifies both).
'''

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Domain:
    name: str
    summary: str
    files: dict[str, str]
    tests: str
    logic: tuple[tuple[str, str, str], ...]  # (file, original snippet, mutated snippet)


INVENTORY = Domain(
    "inventory",
    "a warehouse stock keeper: items, stock levels, orders and restocking",
    {
        "inventory/__init__.py": '"""Warehouse stock keeping."""\n',
        "inventory/items.py": '''"""Catalogue items."""

from dataclasses import dataclass


@dataclass
class Item:
    sku: str
    name: str
    unit_price: float
    weight_kg: float


def total_weight(item: Item, quantity: int) -> float:
    return item.weight_kg * quantity


def price_with_tax(item: Item, quantity: int, tax_rate: float) -> float:
    subtotal = item.unit_price * quantity
    return round(subtotal * (1 + tax_rate), 2)
''',
        "inventory/stock.py": '''"""Stock levels per SKU."""

from inventory.items import Item, total_weight


class Stock:
    def __init__(self) -> None:
        self.levels: dict[str, int] = {}
        self.catalogue: dict[str, Item] = {}

    def add(self, item: Item, quantity: int) -> None:
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self.catalogue[item.sku] = item
        self.levels[item.sku] = self.levels.get(item.sku, 0) + quantity

    def remove(self, sku: str, quantity: int) -> None:
        available = self.levels.get(sku, 0)
        if quantity > available:
            raise ValueError(f"only {available} of {sku} in stock")
        self.levels[sku] = available - quantity

    def count(self, sku: str) -> int:
        return self.levels.get(sku, 0)

    def weight(self) -> float:
        total = 0.0
        for sku, quantity in self.levels.items():
            total += total_weight(self.catalogue[sku], quantity)
        return total
''',
        "inventory/orders.py": '''"""Orders against the stock, and restocking."""

from inventory.items import price_with_tax
from inventory.stock import Stock


def fulfil(stock: Stock, sku: str, quantity: int, tax_rate: float) -> float:
    item = stock.catalogue[sku]
    stock.remove(sku, quantity)
    return price_with_tax(item, quantity, tax_rate)


def needs_restock(stock: Stock, threshold: int) -> list[str]:
    low = [sku for sku in stock.levels if stock.count(sku) < threshold]
    return sorted(low)
''',
    },
    '''import pytest

from inventory.items import Item, price_with_tax, total_weight
from inventory.orders import fulfil, needs_restock
from inventory.stock import Stock

BOLT = Item("b1", "bolt", 0.5, 0.01)
PLANK = Item("p1", "plank", 12.0, 3.0)


def make_stock():
    stock = Stock()
    stock.add(BOLT, 100)
    stock.add(PLANK, 4)
    return stock


def test_weight_of_items():
    assert total_weight(PLANK, 3) == 9.0


def test_price_with_tax():
    assert price_with_tax(PLANK, 2, 0.1) == 26.4


def test_add_accumulates():
    stock = make_stock()
    stock.add(PLANK, 1)
    assert stock.count("p1") == 5


def test_add_rejects_zero():
    with pytest.raises(ValueError):
        make_stock().add(BOLT, 0)


def test_remove_too_many():
    with pytest.raises(ValueError):
        make_stock().remove("p1", 5)


def test_remove_all():
    stock = make_stock()
    stock.remove("p1", 4)
    assert stock.count("p1") == 0


def test_stock_weight():
    assert make_stock().weight() == pytest.approx(13.0)


def test_fulfil_charges_and_removes():
    stock = make_stock()
    assert fulfil(stock, "b1", 10, 0.0) == 5.0
    assert stock.count("b1") == 90


def test_needs_restock():
    assert needs_restock(make_stock(), 5) == ["p1"]
    assert needs_restock(make_stock(), 4) == []
''',
    (
        ("inventory/stock.py", "if quantity > available:", "if quantity >= available:"),
        ("inventory/items.py", "return round(subtotal * (1 + tax_rate), 2)", "return round(subtotal * (1 - tax_rate), 2)"),
        ("inventory/orders.py", "if stock.count(sku) < threshold", "if stock.count(sku) <= threshold"),
    ),
)


LEDGER = Domain(
    "ledger",
    "a small bank ledger: accounts, transfers and interest",
    {
        "ledger/__init__.py": '"""A small bank ledger."""\n',
        "ledger/accounts.py": '''"""Accounts with integer cents."""


class InsufficientFunds(Exception):
    pass


class Account:
    def __init__(self, owner: str, balance_cents: int = 0) -> None:
        self.owner = owner
        self.balance_cents = balance_cents
        self.history: list[int] = []

    def deposit(self, cents: int) -> None:
        if cents <= 0:
            raise ValueError("deposit must be positive")
        self.balance_cents += cents
        self.history.append(cents)

    def withdraw(self, cents: int) -> None:
        if cents > self.balance_cents:
            raise InsufficientFunds(self.owner)
        self.balance_cents -= cents
        self.history.append(-cents)
''',
        "ledger/transfers.py": '''"""Moving money between accounts."""

from ledger.accounts import Account


def transfer(source: Account, target: Account, cents: int) -> None:
    source.withdraw(cents)
    target.deposit(cents)


def total_balance(accounts: list[Account]) -> int:
    total = 0
    for account in accounts:
        total += account.balance_cents
    return total
''',
        "ledger/interest.py": '''"""Interest, computed in whole cents."""

from ledger.accounts import Account


def monthly_interest(balance_cents: int, annual_rate: float) -> int:
    return int(balance_cents * annual_rate / 12)


def apply_interest(account: Account, annual_rate: float) -> int:
    earned = monthly_interest(account.balance_cents, annual_rate)
    if earned > 0:
        account.deposit(earned)
    return earned
''',
    },
    '''import pytest

from ledger.accounts import Account, InsufficientFunds
from ledger.interest import apply_interest, monthly_interest
from ledger.transfers import total_balance, transfer


def test_deposit_and_history():
    acc = Account("ann")
    acc.deposit(500)
    assert acc.balance_cents == 500
    assert acc.history == [500]


def test_deposit_rejects_negative():
    with pytest.raises(ValueError):
        Account("ann").deposit(-1)


def test_withdraw_exact_balance():
    acc = Account("bob", 300)
    acc.withdraw(300)
    assert acc.balance_cents == 0
    assert acc.history == [-300]


def test_withdraw_too_much():
    with pytest.raises(InsufficientFunds):
        Account("bob", 100).withdraw(101)


def test_transfer_moves_money():
    a, b = Account("a", 1000), Account("b", 0)
    transfer(a, b, 250)
    assert (a.balance_cents, b.balance_cents) == (750, 250)


def test_total_balance():
    assert total_balance([Account("a", 5), Account("b", 7)]) == 12


def test_monthly_interest():
    assert monthly_interest(120000, 0.05) == 500


def test_apply_interest_deposits():
    acc = Account("c", 120000)
    assert apply_interest(acc, 0.05) == 500
    assert acc.balance_cents == 120500


def test_no_interest_on_empty():
    acc = Account("d", 0)
    assert apply_interest(acc, 0.05) == 0
    assert acc.history == []
''',
    (
        ("ledger/accounts.py", "if cents > self.balance_cents:", "if cents >= self.balance_cents:"),
        ("ledger/interest.py", "return int(balance_cents * annual_rate / 12)", "return int(balance_cents * annual_rate / 10)"),
        ("ledger/transfers.py", "total += account.balance_cents", "total = account.balance_cents"),
    ),
)


TEXTKIT = Domain(
    "textkit",
    "text utilities: tokenising, word frequencies and summaries",
    {
        "textkit/__init__.py": '"""Text utilities."""\n',
        "textkit/tokens.py": '''"""Tokenising."""

import re

WORD = re.compile(r"[a-z']+")


def tokenize(text: str) -> list[str]:
    return WORD.findall(text.lower())


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
''',
        "textkit/counts.py": '''"""Word frequencies."""

from collections import Counter

from textkit.tokens import tokenize


class WordCounter:
    def __init__(self, stopwords: set[str]) -> None:
        self.stopwords = stopwords
        self.counts: Counter[str] = Counter()

    def feed(self, text: str) -> int:
        added = 0
        for word in tokenize(text):
            if word not in self.stopwords:
                self.counts[word] += 1
                added += 1
        return added

    def top(self, k: int) -> list[tuple[str, int]]:
        ranked = sorted(self.counts.items(), key=lambda pair: (-pair[1], pair[0]))
        return ranked[:k]
''',
        "textkit/summary.py": '''"""Summaries of a text."""

from textkit.counts import WordCounter
from textkit.tokens import ngrams, tokenize


def keywords(text: str, stopwords: set[str], k: int) -> list[str]:
    counter = WordCounter(stopwords)
    counter.feed(text)
    return [word for word, _ in counter.top(k)]


def average_word_length(text: str) -> float:
    words = tokenize(text)
    if not words:
        return 0.0
    return sum(len(word) for word in words) / len(words)


def repeated_bigrams(text: str) -> list[tuple[str, ...]]:
    pairs = ngrams(tokenize(text), 2)
    return sorted({pair for pair in pairs if pairs.count(pair) > 1})
''',
    },
    '''from textkit.counts import WordCounter
from textkit.summary import average_word_length, keywords, repeated_bigrams
from textkit.tokens import ngrams, tokenize


def test_tokenize_lowercases():
    assert tokenize("Hello, World! It's") == ["hello", "world", "it's"]


def test_ngrams():
    assert ngrams(["a", "b", "c"], 2) == [("a", "b"), ("b", "c")]
    assert ngrams(["a"], 2) == []


def test_feed_skips_stopwords():
    counter = WordCounter({"the"})
    assert counter.feed("the cat the hat") == 2


def test_top_breaks_ties_alphabetically():
    counter = WordCounter(set())
    counter.feed("b a b a c")
    assert counter.top(2) == [("a", 2), ("b", 2)]


def test_keywords():
    assert keywords("red fish blue fish red fish", {"blue"}, 2) == ["fish", "red"]


def test_average_word_length():
    assert average_word_length("ab abcd") == 3.0
    assert average_word_length("") == 0.0


def test_repeated_bigrams():
    assert repeated_bigrams("a b a b c") == [("a", "b")]
''',
    (
        ("textkit/tokens.py", "range(len(tokens) - n + 1)", "range(len(tokens) - n)"),
        ("textkit/counts.py", "key=lambda pair: (-pair[1], pair[0])", "key=lambda pair: (pair[1], pair[0])"),
        ("textkit/summary.py", "if pairs.count(pair) > 1", "if pairs.count(pair) >= 1"),
    ),
)


GEOMETRY = Domain(
    "geometry",
    "plane geometry: vectors, shapes and bounding boxes",
    {
        "geometry/__init__.py": '"""Plane geometry."""\n',
        "geometry/vectors.py": '''"""2-D vectors."""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Vec:
    x: float
    y: float

    def plus(self, other: "Vec") -> "Vec":
        return Vec(self.x + other.x, self.y + other.y)

    def scaled(self, factor: float) -> "Vec":
        return Vec(self.x * factor, self.y * factor)

    def length(self) -> float:
        return math.hypot(self.x, self.y)


def distance(a: Vec, b: Vec) -> float:
    return math.hypot(a.x - b.x, a.y - b.y)
''',
        "geometry/shapes.py": '''"""Shapes with area and perimeter."""

import math

from geometry.vectors import Vec, distance


class Circle:
    def __init__(self, centre: Vec, radius: float) -> None:
        self.centre = centre
        self.radius = radius

    def area(self) -> float:
        return math.pi * self.radius**2

    def contains(self, point: Vec) -> bool:
        return distance(self.centre, point) <= self.radius


class Polygon:
    def __init__(self, corners: list[Vec]) -> None:
        self.corners = corners

    def perimeter(self) -> float:
        n = len(self.corners)
        return sum(distance(self.corners[i], self.corners[(i + 1) % n]) for i in range(n))

    def area(self) -> float:
        n = len(self.corners)
        twice = 0.0
        for i in range(n):
            a, b = self.corners[i], self.corners[(i + 1) % n]
            twice += a.x * b.y - b.x * a.y
        return abs(twice) / 2
''',
        "geometry/bounds.py": '''"""Axis-aligned bounding boxes."""

from geometry.shapes import Polygon
from geometry.vectors import Vec


def bounding_box(points: list[Vec]) -> tuple[Vec, Vec]:
    xs = [p.x for p in points]
    ys = [p.y for p in points]
    return Vec(min(xs), min(ys)), Vec(max(xs), max(ys))


def polygon_box_area(polygon: Polygon) -> float:
    low, high = bounding_box(polygon.corners)
    return (high.x - low.x) * (high.y - low.y)
''',
    },
    '''import math

import pytest

from geometry.bounds import bounding_box, polygon_box_area
from geometry.shapes import Circle, Polygon
from geometry.vectors import Vec, distance

SQUARE = Polygon([Vec(0, 0), Vec(2, 0), Vec(2, 2), Vec(0, 2)])


def test_vector_ops():
    assert Vec(1, 2).plus(Vec(3, 4)) == Vec(4, 6)
    assert Vec(1, 2).scaled(2) == Vec(2, 4)
    assert Vec(3, 4).length() == 5.0


def test_distance():
    assert distance(Vec(0, 0), Vec(3, 4)) == 5.0


def test_circle_area():
    assert Circle(Vec(0, 0), 2).area() == pytest.approx(4 * math.pi)


def test_circle_contains_boundary():
    assert Circle(Vec(0, 0), 5).contains(Vec(3, 4))
    assert not Circle(Vec(0, 0), 5).contains(Vec(4, 4))


def test_square_perimeter_and_area():
    assert SQUARE.perimeter() == 8.0
    assert SQUARE.area() == 4.0


def test_triangle_area():
    assert Polygon([Vec(0, 0), Vec(4, 0), Vec(0, 3)]).area() == 6.0


def test_bounding_box():
    assert bounding_box([Vec(1, 5), Vec(-2, 3), Vec(4, 0)]) == (Vec(-2, 0), Vec(4, 5))


def test_polygon_box_area():
    assert polygon_box_area(Polygon([Vec(0, 0), Vec(4, 0), Vec(0, 3)])) == 12.0
''',
    (
        ("geometry/shapes.py", "return distance(self.centre, point) <= self.radius", "return distance(self.centre, point) < self.radius"),
        ("geometry/vectors.py", "return Vec(self.x * factor, self.y * factor)", "return Vec(self.x * factor, self.y - factor)"),
        ("geometry/bounds.py", "return Vec(min(xs), min(ys)), Vec(max(xs), max(ys))", "return Vec(min(xs), min(ys)), Vec(max(xs), max(xs))"),
    ),
)


PLANNER = Domain(
    "planner",
    "a task planner: tasks with durations, dependencies and a schedule",
    {
        "planner/__init__.py": '"""Task planning."""\n',
        "planner/tasks.py": '''"""Tasks and their dependencies."""

from dataclasses import dataclass, field


@dataclass
class Task:
    name: str
    hours: int
    after: list[str] = field(default_factory=list)


def total_hours(tasks: list[Task]) -> int:
    return sum(task.hours for task in tasks)


def by_name(tasks: list[Task]) -> dict[str, Task]:
    return {task.name: task for task in tasks}
''',
        "planner/order.py": '''"""Dependency order."""

from planner.tasks import Task, by_name


class CycleError(Exception):
    pass


def topological_order(tasks: list[Task]) -> list[str]:
    table = by_name(tasks)
    done: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            raise CycleError(name)
        visiting.add(name)
        for dep in sorted(table[name].after):
            visit(dep)
        visiting.discard(name)
        done.append(name)

    for name in sorted(table):
        visit(name)
    return done
''',
        "planner/schedule.py": '''"""Earliest start times."""

from planner.order import topological_order
from planner.tasks import Task, by_name


def earliest_starts(tasks: list[Task]) -> dict[str, int]:
    table = by_name(tasks)
    starts: dict[str, int] = {}
    for name in topological_order(tasks):
        deps = table[name].after
        starts[name] = max((starts[d] + table[d].hours for d in deps), default=0)
    return starts


def finish_time(tasks: list[Task]) -> int:
    starts = earliest_starts(tasks)
    table = by_name(tasks)
    return max((starts[n] + table[n].hours for n in starts), default=0)
''',
    },
    '''import pytest

from planner.order import CycleError, topological_order
from planner.schedule import earliest_starts, finish_time
from planner.tasks import Task, by_name, total_hours

PLAN = [
    Task("design", 3),
    Task("build", 5, ["design"]),
    Task("docs", 2, ["design"]),
    Task("ship", 1, ["build", "docs"]),
]


def test_total_hours():
    assert total_hours(PLAN) == 11


def test_by_name():
    assert by_name(PLAN)["docs"].hours == 2


def test_topological_order():
    assert topological_order(PLAN) == ["design", "build", "docs", "ship"]


def test_cycle_detected():
    with pytest.raises(CycleError):
        topological_order([Task("a", 1, ["b"]), Task("b", 1, ["a"])])


def test_earliest_starts():
    assert earliest_starts(PLAN) == {"design": 0, "build": 3, "docs": 3, "ship": 8}


def test_finish_time():
    assert finish_time(PLAN) == 9
    assert finish_time([]) == 0
''',
    (
        ("planner/schedule.py", "starts[d] + table[d].hours for d in deps", "starts[d] for d in deps"),
        ("planner/tasks.py", "return sum(task.hours for task in tasks)", "return sum(task.hours for task in tasks[1:])"),
        ("planner/order.py", "        visiting.discard(name)\n        done.append(name)", "        visiting.discard(name)\n        done.insert(0, name)"),
    ),
)


GRADEBOOK = Domain(
    "gradebook",
    "a course gradebook: students, weighted scores and letter grades",
    {
        "gradebook/__init__.py": '"""A course gradebook."""\n',
        "gradebook/students.py": '''"""Students and their scores."""


class Student:
    def __init__(self, name: str) -> None:
        self.name = name
        self.scores: dict[str, float] = {}

    def record(self, assessment: str, score: float) -> None:
        if not 0 <= score <= 100:
            raise ValueError(f"score {score} is outside 0..100")
        self.scores[assessment] = score
''',
        "gradebook/grading.py": '''"""Weighted averages and letter grades."""

from gradebook.students import Student


def weighted_average(student: Student, weights: dict[str, float]) -> float:
    total_weight = sum(weights.values())
    points = sum(student.scores.get(name, 0.0) * w for name, w in weights.items())
    return points / total_weight


def letter(average: float) -> str:
    if average >= 90:
        return "A"
    if average >= 80:
        return "B"
    if average >= 70:
        return "C"
    return "F"
''',
        "gradebook/report.py": '''"""Course reports."""

from gradebook.grading import letter, weighted_average
from gradebook.students import Student


def grade_report(students: list[Student], weights: dict[str, float]) -> dict[str, str]:
    return {s.name: letter(weighted_average(s, weights)) for s in students}


def top_student(students: list[Student], weights: dict[str, float]) -> str:
    best = max(students, key=lambda s: (weighted_average(s, weights), s.name))
    return best.name
''',
    },
    '''import pytest

from gradebook.grading import letter, weighted_average
from gradebook.report import grade_report, top_student
from gradebook.students import Student

WEIGHTS = {"exam": 0.75, "homework": 0.25}


def student(name, exam, homework):
    s = Student(name)
    s.record("exam", exam)
    s.record("homework", homework)
    return s


def test_record_rejects_out_of_range():
    with pytest.raises(ValueError):
        Student("x").record("exam", 101)


def test_weighted_average():
    assert weighted_average(student("a", 80, 100), WEIGHTS) == 85.0


def test_missing_assessment_counts_zero():
    s = Student("b")
    s.record("exam", 100)
    assert weighted_average(s, WEIGHTS) == 75.0


def test_letters_at_boundaries():
    assert [letter(x) for x in (90, 89.9, 80, 70, 69.9)] == ["A", "B", "B", "C", "F"]


def test_grade_report():
    report = grade_report([student("a", 95, 95), student("b", 60, 100)], WEIGHTS)
    assert report == {"a": "A", "b": "C"}


def test_top_student():
    assert top_student([student("a", 70, 70), student("b", 90, 50)], WEIGHTS) == "b"
''',
    (
        ("gradebook/grading.py", "    if average >= 80:", "    if average > 80:"),
        ("gradebook/grading.py", "return points / total_weight", "return points / len(weights)"),
        ("gradebook/students.py", "if not 0 <= score <= 100:", "if not 0 <= score < 100:"),
    ),
)


DOMAINS: dict[str, Domain] = {d.name: d for d in (INVENTORY, LEDGER, TEXTKIT, GEOMETRY, PLANNER, GRADEBOOK)}
