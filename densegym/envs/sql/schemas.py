"""Five realistic database schemas and a seeded generator of their contents.

A database is named by ``(schema, rows, seed)``: ``rows`` is the approximate total number of rows (1,000
to 100,000 and beyond), shared among the tables by fixed weights, and the same triple always gives the
same contents, whichever backend they are loaded into. Every foreign key points at an existing row; some
columns are nullable on purpose (questions and the execution match must handle NULLs).

The column metadata (``kind`` and ``phrase``) is what the question generator (``questions.py``) reads.
"""

from __future__ import annotations

import datetime as _dt
import zlib
from dataclasses import dataclass, field

import numpy as np

FIRST = (
    "Ava Liam Noah Emma Olivia Mia Lucas Sofia Ethan Amara Ravi Chen Yuki Omar Lena Mateo Zara Ivan Nora Kofi "
    "Priya Hugo Elena Tariq Ines Jonas Leila Marco Aisha Felix Grace Diego Hana Samir Clara Tomas Maya Arjun"
).split()
LAST = (
    "Smith Garcia Chen Patel Kim Novak Silva Johnson Okafor Rossi Nguyen Kowalski Haddad Larsen Tanaka Ortiz "
    "Mensah Fischer Dubois Ivanova Moreau Santos Brown Ali Jensen Costa Mehta Weber Park Lopez"
).split()
CITIES = "Lisbon Austin Nairobi Osaka Toronto Berlin Lima Seoul Dublin Cairo Denver Lyon Perth Oslo Pune".split()
COUNTRIES = "Portugal;United States;Kenya;Japan;Canada;Germany;Peru;South Korea;Ireland;Egypt;France;Australia;Norway;India".split(";")
ADJECTIVES = "Silver Quiet Bright Rapid Golden Hidden Northern Gentle Crimson Little Electric Wild Ancient Blue".split()
NOUNS = "River Lamp Garden Engine Harbor Forest Clock Bridge Falcon Meadow Compass Lantern Orchard Summit".split()


@dataclass(frozen=True)
class Column:
    """``kind``: pk, fk, label (names a row), category, number, date. ``spec`` drives the generator."""

    name: str
    sql_type: str  # INTEGER, REAL, TEXT or DATE
    kind: str
    phrase: str
    spec: tuple = ()
    ref: str | None = None  # the referenced table of an fk
    null_rate: float = 0.0


@dataclass(frozen=True)
class Table:
    name: str
    singular: str
    plural: str
    weight: float
    columns: tuple[Column, ...]

    @property
    def pk(self) -> Column:
        return self.columns[0]

    @property
    def label(self) -> Column | None:
        return next((c for c in self.columns if c.kind == "label"), None)

    def of_kind(self, kind: str) -> list[Column]:
        return [c for c in self.columns if c.kind == kind]


@dataclass(frozen=True)
class Schema:
    name: str
    description: str
    tables: tuple[Table, ...]  # parents before children
    by_name: dict[str, Table] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        self.by_name.update({t.name: t for t in self.tables})

    def table(self, name: str) -> Table:
        return self.by_name[name]


def pk(name: str) -> Column:
    return Column(name, "INTEGER", "pk", "id")


def fk(name: str, ref: str, phrase: str, null_rate: float = 0.0) -> Column:
    return Column(name, "INTEGER", "fk", phrase, ref=ref, null_rate=null_rate)


def label(name: str, style: str, phrase: str = "name") -> Column:
    return Column(name, "TEXT", "label", phrase, (style,))


def category(name: str, values: list[str] | str, phrase: str, null_rate: float = 0.0) -> Column:
    values = values.split(";") if isinstance(values, str) else values
    return Column(name, "TEXT", "category", phrase, tuple(values), null_rate=null_rate)


def integer(name: str, lo: int, hi: int, phrase: str, null_rate: float = 0.0) -> Column:
    return Column(name, "INTEGER", "number", phrase, ("int", lo, hi), null_rate=null_rate)


def money(name: str, lo: float, hi: float, phrase: str, null_rate: float = 0.0) -> Column:
    return Column(name, "REAL", "number", phrase, ("money", lo, hi), null_rate=null_rate)


def date(name: str, start: str, end: str, phrase: str, null_rate: float = 0.0) -> Column:
    return Column(name, "DATE", "date", phrase, (start, end), null_rate=null_rate)


SCHEMAS: dict[str, Schema] = {
    s.name: s
    for s in (
        Schema("retail", "an online shop: customers, products, orders and order items", (
            Table("customers", "customer", "customers", 2, (
                pk("customer_id"), label("name", "person"), category("city", CITIES, "city"),
                category("segment", "Consumer;Corporate;Small Business", "segment"),
                date("signup_date", "2019-01-01", "2024-12-31", "sign-up date"))),
            Table("products", "product", "products", 1, (
                pk("product_id"), label("name", "product"),
                category("category", "Books;Electronics;Garden;Kitchen;Toys;Sports;Clothing", "category"),
                money("price", 2, 500, "price"), integer("stock", 0, 500, "units in stock"))),
            Table("orders", "order", "orders", 4, (
                pk("order_id"), fk("customer_id", "customers", "customer"),
                date("order_date", "2022-01-01", "2024-12-31", "order date"),
                category("status", "pending;shipped;delivered;cancelled;returned", "status"),
                money("shipping_cost", 0, 40, "shipping cost", null_rate=0.1))),
            Table("order_items", "order item", "order items", 8, (
                pk("item_id"), fk("order_id", "orders", "order"), fk("product_id", "products", "product"),
                integer("quantity", 1, 10, "quantity"), money("unit_price", 2, 500, "unit price"))),
        )),
        Schema("school", "a school: teachers, courses, students and enrollments", (
            Table("teachers", "teacher", "teachers", 1, (
                pk("teacher_id"), label("name", "person"),
                category("department", "Mathematics;Physics;History;Biology;Literature;Computer Science;Art", "department"),
                integer("hire_year", 1990, 2024, "hire year"), money("salary", 40000, 120000, "salary"))),
            Table("courses", "course", "courses", 1.5, (
                pk("course_id"), label("title", "title", "title"), fk("teacher_id", "teachers", "teacher"),
                integer("credits", 1, 6, "number of credits"),
                category("level", "introductory;intermediate;advanced", "level"))),
            Table("students", "student", "students", 4, (
                pk("student_id"), label("name", "person"),
                category("major", "Mathematics;Physics;History;Biology;Economics;Computer Science;Music", "major"),
                integer("enrollment_year", 2018, 2024, "enrollment year"),
                money("gpa", 1.5, 4.0, "GPA", null_rate=0.05))),
            Table("enrollments", "enrollment", "enrollments", 10, (
                pk("enrollment_id"), fk("student_id", "students", "student"), fk("course_id", "courses", "course"),
                category("semester", "Fall 2023;Spring 2024;Fall 2024;Spring 2025", "semester"),
                date("enrolled_on", "2023-08-15", "2025-02-15", "enrollment date"),
                integer("grade", 40, 100, "grade", null_rate=0.1))),
        )),
        Schema("flights", "air travel: airlines, airports, flights and bookings", (
            Table("airlines", "airline", "airlines", 0.4, (
                pk("airline_id"), label("name", "airline"), category("country", COUNTRIES, "country"),
                integer("founded", 1920, 2015, "founding year"))),
            Table("airports", "airport", "airports", 0.8, (
                pk("airport_id"), label("name", "airport"), category("city", CITIES, "city"),
                integer("elevation_m", 0, 2500, "elevation in metres"))),
            Table("flights", "flight", "flights", 4, (
                pk("flight_id"), fk("airline_id", "airlines", "airline"),
                fk("origin_id", "airports", "origin airport"), fk("destination_id", "airports", "destination airport"),
                date("departure_date", "2024-01-01", "2024-12-31", "departure date"),
                integer("distance_km", 150, 9000, "distance in km"),
                category("status", "on time;delayed;cancelled", "status"),
                integer("delay_minutes", 0, 300, "delay in minutes", null_rate=0.3))),
            Table("bookings", "booking", "bookings", 10, (
                pk("booking_id"), fk("flight_id", "flights", "flight"), label("passenger_name", "person", "passenger name"),
                category("seat_class", "economy;premium economy;business;first", "seat class"),
                money("fare", 50, 3000, "fare"))),
        )),
        Schema("hospital", "a hospital: departments, doctors, patients and appointments", (
            Table("departments", "department", "departments", 0.3, (
                pk("department_id"), label("name", "department"), integer("floor", 1, 9, "floor"),
                money("budget", 100000, 5000000, "budget"))),
            Table("doctors", "doctor", "doctors", 1, (
                pk("doctor_id"), label("name", "person"), fk("department_id", "departments", "department"),
                category("specialty", "cardiology;neurology;pediatrics;oncology;surgery;radiology;dermatology", "specialty"),
                integer("years_experience", 1, 40, "years of experience"))),
            Table("patients", "patient", "patients", 4, (
                pk("patient_id"), label("name", "person"), integer("birth_year", 1930, 2022, "birth year"),
                category("city", CITIES, "city"),
                category("insurance", "public;private;none", "insurance", null_rate=0.15))),
            Table("appointments", "appointment", "appointments", 10, (
                pk("appointment_id"), fk("patient_id", "patients", "patient"), fk("doctor_id", "doctors", "doctor"),
                date("appointment_date", "2023-01-01", "2024-12-31", "appointment date"),
                category("reason", "checkup;follow-up;emergency;consultation;surgery;vaccination", "reason"),
                money("cost", 20, 900, "cost"),
                category("status", "completed;no-show;cancelled", "status"))),
        )),
        Schema("library", "a public library: authors, books, members and loans", (
            Table("authors", "author", "authors", 1, (
                pk("author_id"), label("name", "person"), category("country", COUNTRIES, "country"),
                integer("birth_year", 1900, 1995, "birth year"))),
            Table("books", "book", "books", 3, (
                pk("book_id"), label("title", "title", "title"), fk("author_id", "authors", "author"),
                category("genre", "mystery;fantasy;history;science;poetry;romance;biography", "genre"),
                integer("published_year", 1950, 2024, "publication year"), integer("pages", 80, 1200, "number of pages"),
                money("price", 5, 80, "price"))),
            Table("members", "member", "members", 3, (
                pk("member_id"), label("name", "person"), category("city", CITIES, "city"),
                category("membership", "basic;premium;student", "membership type"),
                date("joined_date", "2015-01-01", "2024-12-31", "joining date"))),
            Table("loans", "loan", "loans", 10, (
                pk("loan_id"), fk("book_id", "books", "book"), fk("member_id", "members", "member"),
                date("loan_date", "2023-01-01", "2024-12-31", "loan date"),
                integer("days_borrowed", 1, 60, "days borrowed", null_rate=0.2),
                money("fine", 0, 25, "fine"))),
        )),
    )
}

_DEPARTMENTS = (
    "Emergency;Cardiology;Neurology;Pediatrics;Oncology;Radiology;Surgery;Orthopedics;Dermatology;Psychiatry;"
    "Maternity;Intensive Care"
).split(";")


def _rng(*parts: object) -> np.random.Generator:
    """A generator seeded by names and numbers alone, so that one column never shifts another's values."""
    return np.random.default_rng([zlib.crc32(str(p).encode()) for p in parts])


def table_sizes(schema: Schema, rows: int) -> dict[str, int]:
    total = sum(t.weight for t in schema.tables)
    return {t.name: max(5, round(rows * t.weight / total)) for t in schema.tables}


def _labels(style: str, n: int, rng: np.random.Generator) -> list[str]:
    def pick(words, size):
        return [words[i] for i in rng.integers(len(words), size=size)]

    if style == "person":
        return [f"{a} {b}" for a, b in zip(pick(FIRST, n), pick(LAST, n))]
    if style == "product":
        return [f"{a} {b}" for a, b in zip(pick(ADJECTIVES, n), pick(NOUNS, n))]
    if style == "title":
        return [f"The {a} {b}" for a, b in zip(pick(ADJECTIVES, n), pick(NOUNS, n))]
    if style == "airline":
        return [f"{a} {b}" for a, b in zip(pick(ADJECTIVES, n), pick(["Air", "Airways", "Airlines", "Jet"], n))]
    if style == "airport":
        return [f"{c} {s}" for c, s in zip(pick(CITIES, n), pick(["International", "Regional", "Field", "Central"], n))]
    if style == "department":  # unique names; numbered once the list runs out
        return [_DEPARTMENTS[i % len(_DEPARTMENTS)] + ("" if i < len(_DEPARTMENTS) else f" {i // len(_DEPARTMENTS) + 1}")
                for i in range(n)]
    raise ValueError(f"unknown label style {style!r}")


def _column_values(col: Column, n: int, sizes: dict[str, int], rng: np.random.Generator) -> list:
    if col.kind == "pk":
        return list(range(1, n + 1))
    if col.kind == "fk":
        # Skewed towards low ids, as real activity is: some parents have many children, some none.
        m = sizes[col.ref]
        values = np.minimum((rng.pareto(1.2, size=n) * m / 6).astype(int), m - 1)
        values = rng.permutation(m)[values] + 1
        out = [int(v) for v in values]
    elif col.kind == "label":
        out = _labels(col.spec[0], n, rng)
    elif col.kind == "category":
        weights = rng.dirichlet(np.full(len(col.spec), 2.0))
        out = [col.spec[i] for i in rng.choice(len(col.spec), size=n, p=weights)]
    elif col.kind == "number":
        kind, lo, hi = col.spec
        if kind == "int":
            out = [int(v) for v in rng.integers(lo, hi + 1, size=n)]
        else:
            out = [round(float(v), 2) for v in lo + (hi - lo) * rng.beta(1.5, 3.0, size=n)]
    elif col.kind == "date":
        start = _dt.date.fromisoformat(col.spec[0])
        span = (_dt.date.fromisoformat(col.spec[1]) - start).days
        out = [(start + _dt.timedelta(days=int(d))).isoformat() for d in rng.integers(0, span + 1, size=n)]
    else:
        raise ValueError(f"unknown column kind {col.kind!r}")
    if col.null_rate:
        mask = rng.random(n) < col.null_rate
        out = [None if m else v for v, m in zip(out, mask)]
    return out


def generate_rows(schema: Schema | str, rows: int, seed: int) -> dict[str, list[tuple]]:
    """``{table: rows}`` of the database ``(schema, rows, seed)``."""
    schema = SCHEMAS[schema] if isinstance(schema, str) else schema
    if rows < 20:
        raise ValueError(f"rows must be at least 20, got {rows}")
    sizes = table_sizes(schema, rows)
    data = {}
    for table in schema.tables:
        n = sizes[table.name]
        columns = [_column_values(c, n, sizes, _rng(schema.name, rows, seed, table.name, c.name)) for c in table.columns]
        data[table.name] = list(zip(*columns))
    return data


def ddl(schema: Schema, dialect: str) -> list[str]:
    """``CREATE TABLE`` statements with primary and foreign keys; types spelled for ``dialect``."""
    types = {"REAL": "DOUBLE PRECISION" if dialect == "postgres" else "DOUBLE" if dialect == "duckdb" else "REAL",
             "DATE": "TEXT" if dialect == "sqlite" else "DATE"}
    out = []
    for table in schema.tables:
        lines = []
        for c in table.columns:
            line = f"{c.name} {types.get(c.sql_type, c.sql_type)}"
            if c.kind == "pk":
                line += " PRIMARY KEY"
            elif c.null_rate == 0:
                line += " NOT NULL"
            lines.append(line)
        lines += [f"FOREIGN KEY ({c.name}) REFERENCES {c.ref}({schema.table(c.ref).pk.name})"
                  for c in table.of_kind("fk")]
        out.append(f"CREATE TABLE {table.name} (\n  " + ",\n  ".join(lines) + "\n)")
    return out

