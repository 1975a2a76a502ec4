"""Lookup tables and small helpers shared by the row generator (built once per process)."""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import random
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pypinyin import lazy_pinyin

from . import geo, vocab
from .plan import MAX_AGE_DAYS, PERSON_NAMES

# --- Helpers ---------------------------------------------------------------------------


def weighted(items: dict | list) -> tuple[list, list[float]]:
    """(values, cumulative weights normalised to 1) for bisect-based picking."""
    pairs = list(items.items()) if isinstance(items, dict) else list(items)
    total = sum(w for _, w in pairs)
    cum = list(itertools.accumulate(w / total for _, w in pairs))
    cum[-1] = 1.0
    return [v for v, _ in pairs], cum


def pick(table: tuple[list, list[float]], x: float):
    values, cum = table
    return values[bisect.bisect_right(cum, x) if x < 1.0 else -1]


# Surnames read differently from the character's most common reading.
_SURNAME_READINGS = {"曾": "zeng", "覃": "qin", "单": "shan", "解": "xie", "区": "ou"}


@functools.cache
def char_pinyin(ch: str) -> str:
    return _SURNAME_READINGS.get(ch) or "".join(lazy_pinyin(ch)).lower()


def pinyin(text: str) -> str:
    """Pinyin for e-mail addresses, character by character (names here are made of
    single characters, so per-character readings are right and cheap to cache)."""
    return "".join(char_pinyin(ch) for ch in text)


def digits(rnd, n: int, first: str = "") -> str:
    head = first[int(rnd() * len(first))] if first else str(int(rnd() * 10))
    return head + "".join(str(int(rnd() * 10)) for _ in range(n - 1))


def mobile_number(rnd) -> str:
    """A Chinese mobile number in E.164: +86 1[3-9]x xxxx xxxx."""
    prefixes = geo.MOBILE_PREFIXES
    return "+86" + prefixes[int(rnd() * len(prefixes))] + digits(rnd, 8)


def landline_number(rnd, city: geo.City) -> str:
    """A landline of `city` in E.164: +86, area code without the 0, local number."""
    return f"+86{city.area_code}" + digits(rnd, city.local_digits, "2345678")


def foreign_number(rnd, pattern: tuple[str, int, str]) -> str:
    prefix, n, first = pattern
    return prefix + digits(rnd, n, first)


class Clock:
    """Epoch seconds of local midnights `d` days before today, and value formatters."""

    def __init__(self, today: dt.date, tz: str, text: bool):
        zone = ZoneInfo(tz)
        self.midnight = [
            int(dt.datetime.combine(today - dt.timedelta(days=d), dt.time(), zone).timestamp())
            for d in range(MAX_AGE_DAYS + 70)
        ]
        self.weekday = [(today - dt.timedelta(days=d)).weekday() for d in range(len(self.midnight))]
        self.text = text
        # Dates from 1200 days ago to 400 days ahead, indexed by offset + 1200.
        self.dates = [today + dt.timedelta(days=k) for k in range(-1200, 401)]
        if text:
            self.dates = [d.isoformat() for d in self.dates]

    def ts(self, value: int):
        if self.text:
            return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(value))
        return dt.datetime.fromtimestamp(value, dt.UTC)

    def date(self, offset: int):
        return self.dates[offset + 1200]


@dataclass
class Tables:
    """Lookup tables built once per process from the plan."""

    offices: tuple
    cities: dict[str, tuple]
    industries: tuple
    kinds: tuple
    pool: dict[str, list[tuple]]
    person_names: tuple[str, ...]
    reps_flat: list[tuple[int, str]]
    rep_office: dict[int, str]
    region_of: dict[str, str]


@functools.lru_cache(maxsize=4)
def tables_for(plan_key: tuple) -> Tables:
    seed, reps_items = plan_key
    reps_flat = [(uid, key) for key, ids in reps_items for uid in ids]
    return Tables(
        offices=weighted([(o, o.weight) for o in geo.OFFICES]),
        cities={o.key: weighted([(c, c.weight) for c in o.cities]) for o in geo.OFFICES},
        industries=weighted([((code, templates), share)
                              for code, _n, share, templates in vocab.INDUSTRIES]),
        kinds=weighted(list(vocab.KINDS)),
        pool=content_pool(seed),
        person_names=person_names(seed),
        reps_flat=reps_flat,
        rep_office={uid: key for uid, key in reps_flat},
        region_of={o.key: o.region for o in geo.OFFICES},
    )


def person_names(seed: int, count: int = PERSON_NAMES) -> tuple[str, ...]:
    """A fixed pool of people's names (surnames weighted by frequency). Reusing names,
    as real life does, keeps the search-text caches warm during a big load."""
    rng = random.Random(f"{seed}/names")
    rnd = rng.random
    surnames = weighted([(s, 1.0 / (i + 8)) for i, s in enumerate(vocab.SURNAMES)])
    given = vocab.GIVEN_CHARS
    names = []
    for _ in range(count):
        name = pick(surnames, rnd()) + given[int(rnd() * len(given))]
        if rnd() < 0.7:
            name += given[int(rnd() * len(given))]
        names.append(name)
    return tuple(names)


def content_pool(seed: int, per_kind: int = 400) -> dict[str, list[tuple]]:
    """Per interaction kind, `per_kind` ready-made (direction, channel, subject, body,
    outcome, duration, next_step) tuples; rows pick from these."""
    rng = random.Random(f"{seed}/content")
    rnd = rng.random
    pool: dict[str, list[tuple]] = {}
    titles = [t for t, _ in vocab.TITLES]
    for kind, _share in vocab.KINDS:
        directions = weighted(vocab.DIRECTIONS[kind])
        channels = weighted(vocab.CHANNELS[kind])
        outcomes = weighted(vocab.OUTCOMES[kind])
        items = []
        for _ in range(per_kind):
            fill = {"eq": rng.choice(vocab.EQUIPMENT), "title": rng.choice(titles),
                    "n": rng.choice((15, 20, 30, 45, 60, 80, 120, 200, 350)),
                    "q": rng.choice((2, 5, 10, 20, 50, 100)), "d": rng.choice((30, 60, 90))}
            direction = pick(directions, rnd())
            subjects = vocab.SUBJECTS_INBOUND.get(kind) if direction == "in" else None
            subject = rng.choice(subjects or vocab.SUBJECTS[kind]).format(**fill)
            body = "" if kind == "letter" else "".join(
                s.format(**fill) for s in rng.sample(vocab.BODY_SENTENCES, 1 + int(rnd() * 2)))
            duration = None
            if kind in vocab.DURATIONS:
                lo, hi = vocab.DURATIONS[kind]
                duration = rng.randint(lo, hi)
            outcome = pick(outcomes, rnd())
            next_step = rng.choice(vocab.NEXT_STEPS) if outcome in ("follow_up", "interested") \
                or rnd() < 0.2 else ""
            items.append((direction, pick(channels, rnd()), subject, body,
                          outcome, duration, next_step))
        pool[kind] = items
    return pool


@functools.lru_cache(maxsize=4)
def clock_for(today: dt.date, tz: str, text: bool) -> Clock:
    return Clock(today, tz, text)
