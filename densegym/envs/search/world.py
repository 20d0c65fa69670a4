"""A seeded fictional world, written out as documents, and multi-hop questions about it.

The world has countries, cities, organisations, people and events, with attributes (years, populations, staff
numbers, occupations) and relations (a person's birthplace and employer, an organisation's founder and
headquarters, a city's country and mayor, an event's place, organiser and participants). Every entity gets one
article in varied natural language; the articles are the corpus. Because every name is made up from syllables
and every fact is drawn from the seed, no question can be answered from a language model's prior.

Retrieval has to be precise: people share given names and surnames, organisations share name roots, events
share name words, some cities are "Upper"/"Lower" twins of others, people with the same surname are mentioned in
each other's articles with their own (different) facts, and event articles name their participants.

Questions (:meth:`World.question`, deterministic per index) take 1 to 4 documents to answer: single facts,
bridges of 2 to 4 hops, comparisons, intersections and aggregations. Each has a gold answer with aliases, the
ids of its gold supporting documents, and queries that find them (what the oracle searches for). No answer
shares a normalised token with its question.

Everything is numpy arrays indexed by entity, and the articles are rendered on demand from the seed: a world of
1M documents takes about 15 s and 240 MB to build (its corpus, written out once, about 20 s more). The env
saves the tables beside the corpus (:meth:`World.save`), and later workers memory-map them (:meth:`World.load`).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from densegym.envs.search.text import normalize_answer

GENERATOR_VERSION = 2  # 2: articles written with Python's random (faster); every world changed
DEFAULT_DOCS = 50_000

_ONSETS = ("b br c d dr f g gr h k kr l m n p qu r s sh st t th tr v vr w z zh").split()
_VOWELS = ("a e i o u ae ai ei ia io ou y").split()
_CODAS = ("", "", "l", "n", "r", "s", "th", "nd", "rn", "x", "m", "k", "ld", "st")

OCCUPATIONS = (
    "cartographer glassblower engineer poet clockmaker surveyor botanist archivist shipwright astronomer "
    "weaver chemist composer mason physician lawyer brewer printer sculptor geologist librarian translator "
    "navigator potter teacher painter bookbinder jeweller locksmith beekeeper"
).split()
INDUSTRIES = (
    "shipbuilding glassmaking publishing banking astronomy textile mining railway brewing printing insurance "
    "clockmaking pottery shipping chemicals timber salt ironworks"
).split()
ORG_SUFFIXES = (
    "Dynamics Holdings Works Guild Institute Company Collective Press Foundry Trading Observatory Bank "
    "Shipyards Mills Society Consortium Partners Brothers Cooperative Syndicate"
).split()
EVENT_KINDS = "Accord Regatta Exhibition Summit Congress Fair Festival Games Treaty Symposium Conference Expedition".split()
TWIN_PREFIXES = ("Upper", "Lower", "New", "Old", "East", "West")
STATE_FORMS = ("Republic", "Kingdom", "Federation", "Commonwealth", "Principality")
CURRENCY_UNITS = ("crown", "mark", "thaler", "florin", "shilling", "dram")
NICK_A = "Old Quiet Red Grey Little Iron Silver Lucky Bright Swift Stone Wild".split()
NICK_B = "Lantern Heron Anchor Compass Fox Sparrow Kettle Bell Needle Harbour Pine Ember".split()

_PRONOUNS = (  # subject, object, possessive
    ("She", "her", "her"),
    ("He", "him", "his"),
    ("They", "them", "their"),
)
_FILLERS = (
    "{S} keeps a small collection of old maps.",
    "{S} once walked the length of the valley in a single week.",
    "Little is recorded about {p} early years.",
    "{S} is said to dislike crowded rooms.",
    "A portrait of {o} hangs in a local library.",
    "{S} has written several letters that survive in private archives.",
    "{S} spent a winter studying the northern coast.",
    "Many of {p} notebooks were lost in a fire.",
)


@dataclass(frozen=True)
class Question:
    """One question about a world."""

    id: str
    question: str
    answer: str
    aliases: tuple[str, ...]  # every accepted form of the answer, the canonical one first
    gold_docs: tuple[str, ...]  # ids of the documents that state the facts needed
    kind: str  # "single", "bridge", "comparison", "intersection", "aggregation"
    oracle_queries: tuple[str, ...] = field(default=())  # one query per gold document

    @property
    def hops(self) -> int:
        return len(self.gold_docs)


def _a(word: str) -> str:
    """``word`` with its indefinite article."""
    return ("an " if word[0] in "aeiou" else "a ") + word


def _words(rng: np.random.Generator, count: int, taken: set[str]) -> list[str]:
    """``count`` new capitalised made-up words (2 or 3 syllables), none in ``taken`` (which grows)."""
    out: list[str] = []
    while len(out) < count:
        n = int((count - len(out)) * 1.3) + 16
        syl = rng.integers(0, [len(_ONSETS), len(_VOWELS), len(_CODAS)], size=(n, 3, 3))
        three = rng.random(n) < 0.25
        for k in range(n):
            parts = [_ONSETS[syl[k, j, 0]] + _VOWELS[syl[k, j, 1]] + _CODAS[syl[k, j, 2]] for j in range(3 if three[k] else 2)]
            word = "".join(parts).capitalize()
            if len(word) < 4 or word in taken:
                continue
            taken.add(word)
            out.append(word)
            if len(out) == count:
                break
    return out


def _unique_pairs(rng: np.random.Generator, n: int, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` distinct pairs ``(x < a, y < b)`` drawn at random (needs ``n <= a * b / 2``)."""
    if n > a * b // 2:
        raise ValueError(f"cannot draw {n} distinct pairs from {a} x {b}")
    codes = np.unique(rng.integers(0, a * b, size=n))
    while codes.size < n:
        codes = np.unique(np.concatenate([codes, rng.integers(0, a * b, size=n - codes.size)]))
    codes = rng.permutation(codes)
    return codes // b, codes % b


class World:
    """A fictional world of ``num_docs`` entities (one article each), generated from ``seed``.

    Attributes are numpy arrays per entity kind; ``doc_ids`` and :meth:`documents` give the articles, and
    :meth:`question` the questions. The same ``(num_docs, seed)`` always gives the same world.
    """

    def __init__(self, num_docs: int = DEFAULT_DOCS, seed: int = 0):
        if num_docs < 60:
            raise ValueError(f"a world needs at least 60 documents, got {num_docs}")
        self.num_docs, self.seed = int(num_docs), int(seed)
        rng = np.random.default_rng([GENERATOR_VERSION, self.seed, self.num_docs])
        N = self.num_docs
        nC = max(3, N // 1000)
        nT = max(8, N // 12)
        nO = max(8, N // 7)
        nE = max(6, N // 6)
        nP = N - nC - nT - nO - nE
        self.counts = {"country": nC, "city": nT, "org": nO, "event": nE, "person": nP}
        taken: set[str] = set()

        # countries
        self.country_name = _words(rng, nC, taken)
        self.country_form = rng.integers(0, len(STATE_FORMS), nC)
        self.currency_word = _words(rng, nC, taken)
        self.currency_unit = rng.integers(0, len(CURRENCY_UNITS), nC)

        # cities: some are twins ("Upper X") of an earlier city; every city has a country
        base = _words(rng, nT, taken)
        twin = rng.random(nT) < 0.15
        twin[: max(1, nT // 10)] = False
        names = []
        for i in range(nT):
            if twin[i]:
                names.append(f"{TWIN_PREFIXES[int(rng.integers(len(TWIN_PREFIXES)))]} {base[int(rng.integers(i))]}")
            else:
                names.append(base[i])
        self.city_name = list(dict.fromkeys(names))  # twins can collide: drop and re-fill below
        while len(self.city_name) < nT:
            self.city_name += [w for w in _words(rng, nT - len(self.city_name), taken)]
        self.city_country = np.concatenate([np.arange(nC), rng.integers(0, nC, nT - nC)])
        self.city_founded = rng.integers(850, 1900, nT)
        self.city_population = (np.exp(rng.normal(10.5, 1.2, nT))).astype(np.int64) + 500
        old = rng.random(nT) < 0.3
        self.city_old_name = np.full(nT, -1, dtype=np.int64)
        old_words = _words(rng, int(old.sum()), taken)
        self.city_old_name[old] = np.arange(int(old.sum()))
        self.old_words = old_words
        # a country's capital: its first city
        self.country_capital = np.arange(nC)  # city c < nC lies in country c (see city_country)

        # people
        n_given, n_surname = min(800, max(20, nP // 25)), max(8, nP // 3)
        self.given = _words(rng, n_given, taken)
        self.surnames = _words(rng, n_surname, taken)
        self.person_given, self.person_surname = _unique_pairs(rng, nP, n_given, n_surname)
        self.person_middle = rng.integers(0, n_given, nP)
        self.person_gender = rng.integers(0, 3, nP)
        self.person_born = rng.integers(1820, 1996, nP)
        self.person_birthplace = rng.integers(0, nT, nP)
        self.person_occupation = rng.integers(0, len(OCCUPATIONS), nP)
        self.person_employer = rng.integers(0, nO, nP)
        has_nick = rng.random(nP) < 0.3
        self.person_nick = np.where(has_nick, rng.integers(0, len(NICK_A) * len(NICK_B), nP), -1)
        # another person with the same surname, named in this person's article
        order = np.argsort(self.person_surname, kind="stable")
        same = np.full(nP, -1, dtype=np.int64)
        sorted_s = self.person_surname[order]
        nxt = np.roll(order, -1)
        has_next = np.roll(sorted_s, -1) == sorted_s
        same[order[has_next]] = nxt[has_next]
        self.person_confused = np.where(rng.random(nP) < 0.6, same, -1)
        self.city_mayor = rng.integers(0, nP, nT)

        # organisations: a root shared by about two of them, a suffix; founded 20-60 years after the founder's birth
        roots = _words(rng, max(4, nO // 2), taken)
        self.org_roots = roots
        self.org_root, self.org_suffix = _unique_pairs(rng, nO, len(roots), len(ORG_SUFFIXES))
        self.org_founder = rng.integers(0, nP, nO)
        self.org_founded = np.minimum(self.person_born[self.org_founder] + rng.integers(22, 60, nO), 2020)
        self.org_hq = rng.integers(0, nT, nO)
        self.org_industry = rng.integers(0, len(INDUSTRIES), nO)
        self.org_staff = (np.exp(rng.normal(6.5, 1.5, nO))).astype(np.int64) + 12
        former = rng.random(nO) < 0.4
        self.org_former = np.full(nO, -1, dtype=np.int64)
        self.former_words = _words(rng, int(former.sum()), taken)
        self.org_former[former] = np.arange(int(former.sum()))
        self.org_former_suffix = rng.integers(0, len(ORG_SUFFIXES), nO)

        # events: a name word shared by a few, a kind; place, year, organiser, three participants
        event_words = _words(rng, max(3, nE // 3), taken)
        self.event_words = event_words
        self.event_word, self.event_kind = _unique_pairs(rng, nE, len(event_words), len(EVENT_KINDS))
        self.event_city = rng.integers(0, nT, nE)
        self.event_year = rng.integers(1850, 2021, nE)
        self.event_org = rng.integers(0, nO, nE)
        parts = np.stack([rng.choice(nP, size=3, replace=False) for _ in range(nE)]) if nP < 4096 else None
        if parts is None:  # large worlds: draw with replacement, then repair the rare repeats
            parts = rng.integers(0, nP, (nE, 3))
            bad = (parts[:, 0] == parts[:, 1]) | (parts[:, 0] == parts[:, 2]) | (parts[:, 1] == parts[:, 2])
            for e in np.flatnonzero(bad):
                parts[e] = rng.choice(nP, size=3, replace=False)
        # about a third of the events share one participant with an earlier event (intersection questions)
        self.event_links: list[tuple[int, int]] = []
        link = rng.random(nE) < 0.35
        link[0] = False
        earlier = (rng.random(nE) * np.arange(nE)).astype(np.int64)
        for e in np.flatnonzero(link):
            f = int(earlier[e])
            shared = parts[f, int(rng.integers(3))]
            if shared in parts[e]:
                continue
            parts[e, 0] = shared
            if len(set(parts[e].tolist()) & set(parts[f].tolist())) == 1:
                self.event_links.append((f, int(e)))
        self.event_people = parts

        # documents: entity g (countries, cities, orgs, events, people in that order) is document perm[g]
        self._offsets = np.cumsum([0, nC, nT, nO, nE, nP])
        self._kinds = ("country", "city", "org", "event", "person")
        self.perm = rng.permutation(N)
        self.inv = np.empty(N, dtype=np.int64)
        self.inv[self.perm] = np.arange(N)

    # ---- on disk ----------------------------------------------------------------------------------------

    def save(self, directory: str | Path) -> None:
        """Write the world's tables to ``directory``: each array as ``.npy``, everything else as JSON."""
        directory = Path(directory)
        plain: dict[str, Any] = {}
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray):
                np.save(directory / f"{name}.npy", value)
            else:
                plain[name] = value
        (directory / "world.json").write_text(json.dumps({"version": GENERATOR_VERSION, **plain}))

    @classmethod
    def load(cls, directory: str | Path) -> World:
        """A world saved by :meth:`save`, its arrays memory-mapped (every process shares their pages)."""
        directory = Path(directory)
        plain = json.loads((directory / "world.json").read_text())
        if plain.pop("version") != GENERATOR_VERSION:
            raise ValueError(f"{directory} holds a world of another generator version")
        world = cls.__new__(cls)
        for name, value in plain.items():
            setattr(world, name, value)
        world.event_links = [tuple(link) for link in world.event_links]
        world._kinds = tuple(world._kinds)
        for path in directory.glob("*.npy"):
            setattr(world, path.stem, np.load(path, mmap_mode="r"))
        return world

    # ---- names ------------------------------------------------------------------------------------------

    def person(self, p: int) -> str:
        return f"{self.given[self.person_given[p]]} {self.surnames[self.person_surname[p]]}"

    def person_full(self, p: int) -> str:
        return f"{self.given[self.person_given[p]]} {self.given[self.person_middle[p]]} {self.surnames[self.person_surname[p]]}"

    def nickname(self, p: int) -> str | None:
        n = int(self.person_nick[p])
        return None if n < 0 else f"{NICK_A[n // len(NICK_B)]} {NICK_B[n % len(NICK_B)]}"

    def org(self, o: int) -> str:
        return f"{self.org_roots[self.org_root[o]]} {ORG_SUFFIXES[self.org_suffix[o]]}"

    def org_former_name(self, o: int) -> str | None:
        f = int(self.org_former[o])
        return None if f < 0 else f"{self.former_words[f]} {ORG_SUFFIXES[self.org_former_suffix[o]]}"

    def city(self, c: int) -> str:
        return self.city_name[c]

    def city_old(self, c: int) -> str | None:
        k = int(self.city_old_name[c])
        return None if k < 0 else self.old_words[k]

    def country(self, c: int) -> str:
        return self.country_name[c]

    def country_official(self, c: int) -> str:
        return f"{STATE_FORMS[self.country_form[c]]} of {self.country_name[c]}"

    def event(self, e: int) -> str:
        return f"{self.event_words[self.event_word[e]]} {EVENT_KINDS[self.event_kind[e]]}"

    def aliases(self, kind: str, i: int) -> tuple[str, ...]:
        """Every accepted name of an entity, the canonical one first."""
        if kind == "person":
            names = [self.person(i), self.person_full(i), self.nickname(i)]
        elif kind == "org":
            names = [self.org(i), self.org_former_name(i)]
        elif kind == "city":
            names = [self.city(i), self.city_old(i)]
        elif kind == "country":
            names = [self.country(i), self.country_official(i)]
        else:
            names = [self.event(i)]
        return tuple(n for n in names if n)

    def title(self, kind: str, i: int) -> str:
        return {"person": self.person, "org": self.org, "city": self.city, "country": self.country,
                "event": self.event}[kind](i)  # fmt: skip

    # ---- documents --------------------------------------------------------------------------------------

    def doc_number(self, kind: str, i: int) -> int:
        return int(self.perm[self._offsets[self._kinds.index(kind)] + i])

    def doc_id(self, kind: str, i: int) -> str:
        return f"d{self.doc_number(kind, i):07d}"

    def entity_of(self, doc_number: int) -> tuple[str, int]:
        g = int(self.inv[doc_number])
        k = int(np.searchsorted(self._offsets, g, side="right")) - 1
        return self._kinds[k], g - int(self._offsets[k])

    def document(self, doc_number: int) -> tuple[str, str, str]:
        """``(id, title, text)`` of document ``doc_number`` (rendered from the seed; the same every time)."""
        kind, i = self.entity_of(doc_number)
        # Python's generator: numpy's costs more to seed than a whole article costs to write
        rng = random.Random(((GENERATOR_VERSION * 1_000_003 + self.seed) << 32) + doc_number)
        text = getattr(self, f"_render_{kind}")(i, rng)
        return f"d{doc_number:07d}", self.title(kind, i), text

    def documents(self) -> Iterator[tuple[str, str, str]]:
        for j in range(self.num_docs):
            yield self.document(j)

    @staticmethod
    def _pick(rng: random.Random, options: tuple[str, ...] | list[str]) -> str:
        return options[rng.randrange(len(options))]

    def _assemble(self, rng: random.Random, intro: str, facts: list[str], fillers: int, pron) -> str:
        S, o, p = pron
        fill = [f.format(S=S, o=o, p=p) for f in rng.sample(_FILLERS, fillers)]
        if S == "They":
            fill = [f.replace("They keeps", "They keep").replace("They is", "They are").replace("They has", "They have") for f in fill]
        rest = facts + fill
        rng.shuffle(rest)
        return " ".join([intro] + rest)

    def _render_person(self, p: int, rng: random.Random) -> str:
        S, o, pos = _PRONOUNS[self.person_gender[p]]
        short, full = self.person(p), self.person_full(p)
        occ = OCCUPATIONS[self.person_occupation[p]]
        city, year, org = self.city(self.person_birthplace[p]), int(self.person_born[p]), self.org(self.person_employer[p])
        was = "were" if S == "They" else "was"
        intro = self._pick(rng, (f"{full} is {_a(occ)}.", f"{full} works as {_a(occ)}.", f"{full} is {_a(occ)} by training."))
        facts = [
            self._pick(rng, (f"{short} was born in {city} in {year}.", f"Born in {year} in {city}, {short} grew up near the river.",
                             f"{S} {was} born in {year}; {pos} birthplace is {city}.")),
            self._pick(rng, (f"{S} {'work' if S == 'They' else 'works'} for {org}.", f"{short} has been employed by {org} for most of {pos} career.",
                             f"{short} is on the staff of {org}.")),
        ]  # fmt: skip
        nick = self.nickname(p)
        if nick:
            facts.append(self._pick(rng, (f'Colleagues call {o} "{nick}".', f"{short} is also known as {nick}.")))
        other = int(self.person_confused[p])
        if other >= 0:
            facts.append(
                f"{short} is not to be confused with {self.person(other)}, {_a(OCCUPATIONS[self.person_occupation[other]])} "
                f"born in {int(self.person_born[other])}."
            )
        return self._assemble(rng, intro, facts, rng.randint(1, 2), (S, o, pos))

    def _render_org(self, i: int, rng: random.Random) -> str:
        name, ind = self.org(i), INDUSTRIES[self.org_industry[i]]
        year, founder, city = int(self.org_founded[i]), self.person(self.org_founder[i]), self.city(self.org_hq[i])
        staff = f"{int(self.org_staff[i]):,}"
        intro = self._pick(rng, (f"{name} is {_a(ind)} company.", f"{name} is an organisation working in {ind}.",
                                 f"{name} is {_a(ind)} firm."))  # fmt: skip
        facts = [
            self._pick(rng, (f"It was founded in {year} by {founder}.", f"{founder} founded {name} in {year}.",
                             f"{name} was established in {year}; its founder was {founder}.")),
            self._pick(rng, (f"Its headquarters are in {city}.", f"{name} is headquartered in {city}.",
                             f"The main offices of {name} stand in {city}.")),
            self._pick(rng, (f"It employs {staff} people.", f"{name} has a staff of {staff}.")),
        ]  # fmt: skip
        former = self.org_former_name(i)
        if former:
            facts.append(self._pick(rng, (f"It was formerly called {former}.", f"Until a renaming it was known as {former}.")))
        return self._assemble(rng, intro, facts, 0, ("It", "it", "its"))

    def _render_city(self, c: int, rng: random.Random) -> str:
        name, country = self.city(c), self.country(self.city_country[c])
        pop, year, mayor = f"{int(self.city_population[c]):,}", int(self.city_founded[c]), self.person(self.city_mayor[c])
        intro = self._pick(rng, (f"{name} is a city in {country}.", f"{name} is a town in {country}.", f"{name} lies in {country}."))
        facts = [
            self._pick(rng, (f"It was founded in {year}.", f"The city dates from {year}.", f"{name} was founded in {year}.")),
            self._pick(rng, (f"About {pop} people live there.", f"Its population is {pop}.")),
            self._pick(rng, (f"The current mayor is {mayor}.", f"{mayor} serves as mayor of {name}.")),
        ]  # fmt: skip
        old = self.city_old(c)
        if old:
            facts.append(f"In older records it appears as {old}.")
        if self.country_capital[self.city_country[c]] == c:
            facts.append(f"{name} is the capital of {country}.")
        return self._assemble(rng, intro, facts, 0, ("It", "it", "its"))

    def _render_country(self, c: int, rng: random.Random) -> str:
        name = self.country(c)
        capital = self.city(self.country_capital[c])
        cur = f"{self.currency_word[c]} {CURRENCY_UNITS[self.currency_unit[c]]}"
        intro = f"{name}, officially the {self.country_official(c)}, is a country."
        facts = [
            self._pick(rng, (f"Its capital is {capital}.", f"The capital city of {name} is {capital}.")),
            f"The currency is the {cur}.",
        ]
        return self._assemble(rng, intro, facts, 0, ("It", "it", "its"))

    def _render_event(self, e: int, rng: random.Random) -> str:
        name, city, year, org = self.event(e), self.city(self.event_city[e]), int(self.event_year[e]), self.org(self.event_org[e])
        a, b, c = (self.person(int(p)) for p in self.event_people[e])
        intro = self._pick(rng, (f"The {name} took place in {city}.", f"The {name} was held in {city}."))
        facts = [
            self._pick(rng, (f"It was held in {year}.", f"The {name} happened in {year}.")),
            self._pick(rng, (f"It was organised by {org}.", f"{org} organised the event.")),
            self._pick(rng, (f"Participants included {a}, {b} and {c}.", f"Among those present were {a}, {b} and {c}.")),
        ]  # fmt: skip
        return self._assemble(rng, intro, facts, 0, ("It", "it", "its"))

    # ---- questions ---------------------------------------------------------------------------------------

    KINDS = ("single", "bridge", "comparison", "intersection", "aggregation")
    _KIND_WEIGHTS = np.array([0.15, 0.45, 0.15, 0.1, 0.15])

    def question(self, index: int, kinds: tuple[str, ...] | None = None) -> Question:
        """Question ``index`` of this world (the same every time); ``kinds`` restricts the kinds drawn (the id is
        then ``q<index>:<kinds joined by +>``, as :meth:`parse_id` reads it)."""
        rng = np.random.default_rng([GENERATOR_VERSION, self.seed, 29, int(index)])
        allowed = kinds or self.KINDS
        weights = np.array([w if k in allowed else 0.0 for k, w in zip(self.KINDS, self._KIND_WEIGHTS)])
        if not weights.any():
            raise ValueError(f"unknown question kinds {kinds}; known: {', '.join(self.KINDS)}")
        weights /= weights.sum()
        for _ in range(200):
            kind = self.KINDS[int(rng.choice(len(self.KINDS), p=weights))]
            made = getattr(self, f"_q_{kind}")(rng)
            if made is None:
                continue
            text, answer, gold = made
            question = self._finish(index, kind, text, answer, gold)
            if question is not None:
                if kinds:  # another draw than the unrestricted question i: an id of its own
                    question = replace(question, id=f"q{index}:{'+'.join(sorted(set(kinds)))}")
                return question
        raise RuntimeError(f"could not build question {index} of {self!r}")  # pragma: no cover

    def __repr__(self) -> str:
        return f"World(num_docs={self.num_docs}, seed={self.seed})"

    @classmethod
    def parse_id(cls, task_id: str) -> tuple[int, tuple[str, ...] | None] | None:
        """``(index, kinds)`` of a question id ``q<index>`` or ``q<index>:<kind>+<kind>``; None if it is not one."""
        head, _, tail = task_id.partition(":")
        if not (head.startswith("q") and head[1:].isdigit()):
            return None
        kinds = tuple(tail.split("+")) if tail else None
        if kinds is not None and not set(kinds) <= set(cls.KINDS):
            return None
        return int(head[1:]), kinds

    def _finish(self, index: int, kind: str, text: str, answer: tuple[str, ...], gold: list[tuple[str, int]]) -> Question | None:
        q_tokens = set(normalize_answer(text).split())
        if any(set(normalize_answer(a).split()) & q_tokens for a in answer):
            return None  # the answer would be readable from the question
        if len(set(gold)) != len(gold):
            return None
        return Question(
            id=f"q{index}",
            question=text,
            answer=answer[0],
            aliases=tuple(dict.fromkeys(answer)),
            gold_docs=tuple(self.doc_id(k, i) for k, i in gold),
            kind=kind,
            oracle_queries=tuple(self.title(k, i) for k, i in gold),
        )

    def _rand(self, rng: np.random.Generator, kind: str) -> int:
        return int(rng.integers(self.counts[kind]))

    def _q_single(self, rng):
        form = int(rng.integers(6))
        if form == 0:
            p = self._rand(rng, "person")
            return f"In which year was {self.person(p)} born?", (str(int(self.person_born[p])),), [("person", p)]
        if form == 1:
            o = self._rand(rng, "org")
            return f"In which city does {self.org(o)} have its headquarters?", self.aliases("city", int(self.org_hq[o])), [("org", o)]
        if form == 2:
            o = self._rand(rng, "org")
            return f"Who founded {self.org(o)}?", self.aliases("person", int(self.org_founder[o])), [("org", o)]
        if form == 3:
            c = self._rand(rng, "city")
            return f"In which country is {self.city(c)}?", self.aliases("country", int(self.city_country[c])), [("city", c)]
        if form == 4:
            e = self._rand(rng, "event")
            return f"In which year did the {self.event(e)} take place?", (str(int(self.event_year[e])),), [("event", e)]
        p = self._rand(rng, "person")
        return f"What is the occupation of {self.person(p)}?", (OCCUPATIONS[self.person_occupation[p]],), [("person", p)]

    def _q_bridge(self, rng):
        form = int(rng.integers(9))
        p, o, e = self._rand(rng, "person"), self._rand(rng, "org"), self._rand(rng, "event")
        emp, birth = int(self.person_employer[p]), int(self.person_birthplace[p])
        if form == 0:
            return (f"In which year was the organisation that employs {self.person(p)} founded?",
                    (str(int(self.org_founded[emp])),), [("person", p), ("org", emp)])
        if form == 1:
            f = int(self.org_founder[o])
            return (f"In which city was the founder of {self.org(o)} born?",
                    self.aliases("city", int(self.person_birthplace[f])), [("org", o), ("person", f)])
        if form == 2:
            org = int(self.event_org[e])
            return (f"Who founded the organisation that organised the {self.event(e)}?",
                    self.aliases("person", int(self.org_founder[org])), [("event", e), ("org", org)])
        if form == 3:
            return (f"In which country was {self.person(p)} born?",
                    self.aliases("country", int(self.city_country[birth])), [("person", p), ("city", birth)])
        if form == 4:
            hq = int(self.org_hq[o])
            return (f"Who is the mayor of the city where {self.org(o)} is headquartered?",
                    self.aliases("person", int(self.city_mayor[hq])), [("org", o), ("city", hq)])
        if form == 5:
            hq = int(self.org_hq[emp])
            return (f"In which country is the headquarters of the organisation that employs {self.person(p)}?",
                    self.aliases("country", int(self.city_country[hq])), [("person", p), ("org", emp), ("city", hq)])
        if form == 6:
            org = int(self.event_org[e])
            f = int(self.org_founder[org])
            return (f"In which year was the founder of the organisation behind the {self.event(e)} born?",
                    (str(int(self.person_born[f])),), [("event", e), ("org", org), ("person", f)])
        if form == 7:
            country = int(self.city_country[birth])
            return (f"What is the capital of the country where {self.person(p)} was born?",
                    self.aliases("city", int(self.country_capital[country])), [("person", p), ("city", birth), ("country", country)])
        hq = int(self.org_hq[emp])
        country = int(self.city_country[hq])
        return (f"What is the capital of the country in which the employer of {self.person(p)} has its headquarters?",
                self.aliases("city", int(self.country_capital[country])),
                [("person", p), ("org", emp), ("city", hq), ("country", country)])  # fmt: skip

    def _q_comparison(self, rng):
        if rng.random() < 0.5:
            p1, p2 = self._rand(rng, "person"), self._rand(rng, "person")
            y1, y2 = int(self.person_born[p1]), int(self.person_born[p2])
            c1, c2 = int(self.person_birthplace[p1]), int(self.person_birthplace[p2])
            if y1 == y2 or c1 == c2:
                return None
            older = p1 if y1 < y2 else p2
            return (f"In which city was the older of {self.person(p1)} and {self.person(p2)} born?",
                    self.aliases("city", int(self.person_birthplace[older])), [("person", p1), ("person", p2)])
        o1, o2 = self._rand(rng, "org"), self._rand(rng, "org")
        y1, y2 = int(self.org_founded[o1]), int(self.org_founded[o2])
        if y1 == y2 or self.org_founder[o1] == self.org_founder[o2]:
            return None
        older = o1 if y1 < y2 else o2
        return (f"Who founded whichever of {self.org(o1)} and {self.org(o2)} was established first?",
                self.aliases("person", int(self.org_founder[older])), [("org", o1), ("org", o2)])

    def _q_intersection(self, rng):
        if self.event_links and rng.random() < 0.6:
            f, e = self.event_links[int(rng.integers(len(self.event_links)))]
            common = set(self.event_people[f].tolist()) & set(self.event_people[e].tolist())
            if len(common) != 1:
                return None
            (p,) = common
            return (f"Who took part in both the {self.event(f)} and the {self.event(e)}?",
                    self.aliases("person", p), [("event", f), ("event", e)])
        p = self._rand(rng, "person")
        occ, city, emp = self.person_occupation[p], self.person_birthplace[p], self.person_employer[p]
        same = (self.person_occupation == occ) & (self.person_birthplace == city) & (self.person_employer == emp)
        if int(same.sum()) != 1:
            return None
        return (f"Which {OCCUPATIONS[occ]} born in {self.city(int(city))} works for {self.org(int(emp))}?",
                self.aliases("person", p), [("person", p)])

    def _q_aggregation(self, rng):
        o1, o2 = self._rand(rng, "org"), self._rand(rng, "org")
        if o1 == o2:
            return None
        if rng.random() < 0.5:
            gap = abs(int(self.org_founded[o1]) - int(self.org_founded[o2]))
            if gap == 0:
                return None
            return (f"How many years apart were {self.org(o1)} and {self.org(o2)} founded?",
                    (str(gap), f"{gap} years"), [("org", o1), ("org", o2)])
        total = int(self.org_staff[o1]) + int(self.org_staff[o2])
        return (f"How many people do {self.org(o1)} and {self.org(o2)} employ together?",
                (str(total), f"{total:,}"), [("org", o1), ("org", o2)])


__all__ = ["World", "Question", "DEFAULT_DOCS", "GENERATOR_VERSION", "OCCUPATIONS"]
