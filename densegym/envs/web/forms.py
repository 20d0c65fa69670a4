"""The WebForms app's form schemas, their validation rules, tasks drawn from them and the submission score.

Three schemas: a three-page flight booking (a round-trip return date that appears only for round trips, a
date picker, a confirmation dialog), account settings (a time zone list that depends on the region, a digest
frequency that appears only with the newsletter) and a two-page clinic appointment (doctors that depend on the
department, weekdays only, a confirmation dialog). Standard library only: the server validates with it, the
env samples tasks, scores submissions and plans the oracle with it.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass

TODAY = dt.date(2026, 1, 5)  # the app's "today" (fixed, so that tasks and validation never depend on the clock)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str  # text | email | tel | number | date | select | radio | checkbox
    choices: tuple[str, ...] = ()
    depends: tuple[str, str] | None = None  # shown (and validated) only when field depends[0] == depends[1]
    choices_by: tuple[str, dict[str, tuple[str, ...]]] | None = None  # select options by another field's value
    required: bool = True


@dataclass(frozen=True)
class Schema:
    name: str
    title: str
    pages: tuple[tuple[str, tuple[Field, ...]], ...]  # (page title, fields)
    confirm: bool  # a confirmation dialog before the final submit

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(f for _, fields in self.pages for f in fields)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


CITIES = ("Lisbon", "Oslo", "Madrid", "Vienna", "Prague", "Dublin", "Athens", "Helsinki")
TIMEZONES = {"Europe": ("Europe/Lisbon", "Europe/Berlin", "Europe/Helsinki"),
             "Americas": ("America/New_York", "America/Chicago", "America/Sao_Paulo"),
             "Asia": ("Asia/Tokyo", "Asia/Kolkata", "Asia/Singapore")}
DOCTORS = {"Cardiology": ("Dr. Ines Ferreira", "Dr. Tomas Novak"),
           "Dermatology": ("Dr. Lena Berg", "Dr. Omar Haddad"),
           "Pediatrics": ("Dr. Ana Ruiz", "Dr. Kai Lindqvist", "Dr. Mei Chen")}
FIRST = ("Ada", "Bruno", "Chiara", "Dmitri", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas")
LAST = ("Moreau", "Silva", "Novak", "Okafor", "Lindgren", "Tanaka", "Rossi", "Keller", "Haddad", "Berg")

SCHEMAS: dict[str, Schema] = {s.name: s for s in (
    Schema("booking", "Flight booking", (
        ("Trip", (
            Field("trip_type", "Trip type", "radio", ("one way", "round trip")),
            Field("origin", "From", "select", CITIES),
            Field("destination", "To", "select", CITIES),
            Field("depart", "Departure date", "date"),
            Field("return_date", "Return date", "date", depends=("trip_type", "round trip")),
        )),
        ("Passenger", (
            Field("passengers", "Passengers", "number"),
            Field("cabin", "Cabin", "select", ("economy", "premium economy", "business")),
            Field("full_name", "Full name", "text"),
            Field("email", "Email", "email"),
        )),
    ), confirm=True),
    Schema("settings", "Account settings", (
        ("Settings", (
            Field("display_name", "Display name", "text"),
            Field("language", "Language", "select", ("English", "Deutsch", "Francais", "Espanol")),
            Field("region", "Region", "select", tuple(TIMEZONES)),
            Field("timezone", "Time zone", "select", choices_by=("region", TIMEZONES)),
            Field("newsletter", "Send me the newsletter", "checkbox"),
            Field("digest", "Digest frequency", "select", ("daily", "weekly", "monthly"),
                  depends=("newsletter", "on")),
        )),
    ), confirm=False),
    Schema("appointment", "Clinic appointment", (
        ("Appointment", (
            Field("department", "Department", "select", tuple(DOCTORS)),
            Field("doctor", "Doctor", "select", choices_by=("department", DOCTORS)),
            Field("date", "Date", "date"),
            Field("slot", "Time", "radio", ("09:00", "10:30", "14:00", "15:30")),
        )),
        ("Patient", (
            Field("patient", "Patient name", "text"),
            Field("phone", "Phone", "tel"),
        )),
    ), confirm=True),
)}


def choices(field: Field, values: dict[str, str]) -> tuple[str, ...]:
    if field.choices_by is not None:
        return field.choices_by[1].get(values.get(field.choices_by[0], ""), ())
    return field.choices


def active(field: Field, values: dict[str, str]) -> bool:
    """The field is shown: it has no condition, or the field it depends on has the value."""
    return field.depends is None or values.get(field.depends[0], "") == field.depends[1]


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def validate(schema: Schema, page: int, values: dict[str, str]) -> dict[str, str]:
    """The errors of page ``page`` (0-based) for ``values``: ``{field name: message}``; empty when valid."""
    errors: dict[str, str] = {}
    for f in schema.pages[page][1]:
        if not active(f, values):
            continue
        v = values.get(f.name, "").strip()
        if f.kind == "checkbox":
            continue
        if not v:
            errors[f.name] = f"{f.label} is required."
        elif f.kind in ("select", "radio") and v not in choices(f, values):
            errors[f.name] = f"Choose a {f.label.lower()} from the list."
        elif f.kind == "date" and _date(v) is None:
            errors[f.name] = f"{f.label} must be a date (YYYY-MM-DD)."
        elif f.kind == "date" and _date(v) < TODAY:
            errors[f.name] = f"{f.label} cannot be before {TODAY.isoformat()}."
        elif f.kind == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", v):
            errors[f.name] = "Enter a valid email address."
        elif f.kind == "tel" and not re.fullmatch(r"\+?[0-9 ]{7,15}", v):
            errors[f.name] = "Enter a phone number (7 to 15 digits)."
        elif f.kind == "number" and not (v.isdigit() and 1 <= int(v) <= 6):
            errors[f.name] = f"{f.label} must be a whole number from 1 to 6."
        elif f.kind == "text" and len(v.split()) < 2 and f.name in ("full_name", "patient"):
            errors[f.name] = f"{f.label}: enter a first and a last name."
    # rules across fields
    if schema.name == "booking" and page == 0:
        if values.get("origin") and values.get("origin") == values.get("destination"):
            errors.setdefault("destination", "From and To must differ.")
        d, r = _date(values.get("depart", "")), _date(values.get("return_date", ""))
        if active(schema.field("return_date"), values) and d and r and r < d:
            errors.setdefault("return_date", "Return date cannot be before the departure date.")
    if schema.name == "appointment" and page == 0:
        d = _date(values.get("date", ""))
        if d and d.weekday() >= 5:
            errors.setdefault("date", "Appointments are on weekdays only.")
    return errors


# ---- tasks ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormGoal:
    task_id: str
    schema: str
    values: tuple[tuple[str, str], ...]  # the target value of every field that will be active

    @property
    def instruction(self) -> str:
        schema = SCHEMAS[self.schema]
        parts = []
        for name, value in self.values:
            f = schema.field(name)
            if f.kind == "checkbox":
                parts.append(f"{f.label.lower()}: {'yes' if value == 'on' else 'no'}")
            else:
                parts.append(f"{f.label.lower()}: {value}")
        return f"Fill in and submit the {schema.title.lower()} form with {'; '.join(parts)}."


def _day(rng: random.Random, lo: int, hi: int, weekday: bool = False) -> dt.date:
    while True:
        d = TODAY + dt.timedelta(days=rng.randint(lo, hi))
        if not weekday or d.weekday() < 5:
            return d


def make_form_goal(schema_name: str, task_seed: int) -> FormGoal:
    if schema_name not in SCHEMAS:
        raise ValueError(f"unknown form {schema_name!r}; known: {', '.join(SCHEMAS)}")
    rng = random.Random(f"webforms:{schema_name}:{task_seed}")
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    v: dict[str, str] = {}
    if schema_name == "booking":
        v["trip_type"] = rng.choice(("one way", "round trip"))
        v["origin"], v["destination"] = rng.sample(CITIES, 2)
        depart = _day(rng, 3, 90)
        v["depart"] = depart.isoformat()
        if v["trip_type"] == "round trip":
            v["return_date"] = (depart + dt.timedelta(days=rng.randint(1, 21))).isoformat()
        v["passengers"] = str(rng.randint(1, 6))
        v["cabin"] = rng.choice(SCHEMAS["booking"].field("cabin").choices)
        v["full_name"] = name
        v["email"] = f"{name.split()[0].lower()}.{name.split()[1].lower()}@example.com"
    elif schema_name == "settings":
        v["display_name"] = name
        v["language"] = rng.choice(SCHEMAS["settings"].field("language").choices)
        v["region"] = rng.choice(tuple(TIMEZONES))
        v["timezone"] = rng.choice(TIMEZONES[v["region"]])
        v["newsletter"] = rng.choice(("on", ""))
        if v["newsletter"]:
            v["digest"] = rng.choice(("daily", "weekly", "monthly"))
    else:
        v["department"] = rng.choice(tuple(DOCTORS))
        v["doctor"] = rng.choice(DOCTORS[v["department"]])
        v["date"] = _day(rng, 1, 60, weekday=True).isoformat()
        v["slot"] = rng.choice(("09:00", "10:30", "14:00", "15:30"))
        v["patient"] = name
        v["phone"] = "+351 " + "".join(str(rng.randint(0, 9)) for _ in range(9))
    schema = SCHEMAS[schema_name]
    values = tuple((f.name, v.get(f.name, "")) for f in schema.fields if active(f, v))
    return FormGoal(f"forms:{schema_name}:{task_seed}", schema_name, values)


_TASK_ID = re.compile(r"forms:([a-z]+):(\d+)")


def parse_form_task_id(task_id: str) -> tuple[str, int]:
    m = _TASK_ID.fullmatch(task_id.strip())
    if m is None or m.group(1) not in SCHEMAS:
        raise ValueError(f"a WebForms task id is 'forms:SCHEMA:TASK_SEED' with SCHEMA one of {', '.join(SCHEMAS)}; "
                         f"got {task_id!r}")
    return m.group(1), int(m.group(2))


def form_score(goal: FormGoal, submitted: dict[str, str] | None) -> float:
    """The share of the goal's fields that the submission holds (1.0 only for all of them); 0 without one."""
    if submitted is None:
        return 0.0
    right = sum(submitted.get(name, "").strip() == value for name, value in goal.values)
    return round(right / len(goal.values), 6)
