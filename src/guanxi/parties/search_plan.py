"""How the SQLite FTS5 trigram index is asked for one query pattern.

A pattern of n characters is n-2 trigrams, and FTS5 answers a phrase by walking the
doclists of all of them. Pinyin makes some trigrams nearly universal ("ang" is in
most rows, "ing", "han", "ong" in half), so a rare pattern like "zhangwei" or an
e-mail such as "wangmingwen969" would walk a million entries to find a few rows.

With document counts of the common trigrams (a small table refreshed with the
index, see search_index.refresh_search_stats) such a pattern is asked instead as a
shorter phrase: a window around its rarest trigram ("henghaochem.com" → "ghaoch",
after a quick count shows it is selective) or the phrase without its common ends
("xinglongchem.com.cn" → "nglongchem."); the rows found are checked for the whole
pattern with instr(). Without statistics (a new or small database) every pattern
is a phrase.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from .search import ParsedQuery, Term

# A short sub-phrase grows from the rarest trigram to this many trigrams; it is used
# when walking it costs at most WINDOW_SHARE of walking the phrase and a probe finds
# fewer than MAX_CANDIDATES rows (each one is checked).
WINDOW_TRIGRAMS = 4
WINDOW_SHARE = 0.35
MAX_CANDIDATES = 1500
# Otherwise the phrase loses its leading and trailing trigrams found in TRIM_SHARE of
# rows or more (".com.cn", "ming…"), keeping at least CORE_TRIGRAMS, when that saves
# enough walking (CORE_SHARE); a core that long needs no probe.
TRIM_SHARE = 0.2
CORE_TRIGRAMS = 6
CORE_SHARE = 0.7


@dataclass(frozen=True)
class PatternPlan:
    match: str  # an FTS5 expression; every string in it is a quoted phrase
    recheck: bool  # the rows found must still be checked for the whole pattern
    probe: bool = False  # count the rows first: not selective enough, try the next plan


def quote(text: str) -> str:
    """An FTS5 string: user text is never syntax (double quotes are doubled)."""
    return '"' + text.replace('"', '""') + '"'


def trigrams(text: str) -> list[str]:
    return [text[i:i + 3] for i in range(len(text) - 2)]


def plan_pattern(pattern: str, docs: Mapping[str, int], total: int) -> list[PatternPlan]:
    """Ways to look the pattern up, cheapest first; the last is always the phrase."""
    phrase = PatternPlan(quote(pattern), False)
    tris = trigrams(pattern)
    if total <= 0 or len(tris) <= WINDOW_TRIGRAMS:
        return [phrase]
    counts = [docs.get(t, 0) for t in tris]
    walk = sum(counts)
    plans = []
    # A short window around the rarest trigram, grown towards the cheaper side.
    lo = hi = min(range(len(tris)), key=counts.__getitem__)
    while hi - lo + 1 < WINDOW_TRIGRAMS:
        left = counts[lo - 1] if lo > 0 else None
        right = counts[hi + 1] if hi + 1 < len(tris) else None
        if right is None or (left is not None and left <= right):
            lo -= 1
        else:
            hi += 1
    if sum(counts[lo:hi + 1]) <= walk * WINDOW_SHARE:
        plans.append(PatternPlan(quote(pattern[lo:hi + 3]), True, probe=True))
    # The phrase without its common ends.
    lo, hi = 0, len(tris) - 1
    while hi - lo + 1 > CORE_TRIGRAMS and max(counts[lo], counts[hi]) >= total * TRIM_SHARE:
        if counts[lo] >= counts[hi]:
            lo += 1
        else:
            hi -= 1
    if hi - lo + 1 < len(tris) and sum(counts[lo:hi + 1]) <= walk * CORE_SHARE:
        plans.append(PatternPlan(quote(pattern[lo:hi + 3]), True))
    return plans + [phrase]


def patterns_needing_stats(query: ParsedQuery) -> set[str]:
    """The trigrams whose counts could change a plan (patterns of 3+ trigrams)."""
    return {t for term in query.terms for p in term.patterns if len(p) >= 5
            for t in trigrams(p)}


@dataclass
class Lookup:
    """How the candidate rows are found: an FTS5 MATCH (`match`), or, when a window
    found every row a term can match, those rows (`ids`); the rows of the terms in
    `recheck` are then checked with instr()."""

    match: str = ""
    ids: list[int] | None = None
    recheck: list[Term] = field(default_factory=list)


MAX_PROBES = 2


def lookup(query: ParsedQuery, docs: Mapping[str, int], total: int,
           fetch: Callable[[str, int], list[int]] | None = None) -> Lookup:
    """Choose the lookup for a query (every term, any of its patterns).

    `fetch(match, limit)` returns the ids of up to `limit` rows matching `match`. A
    window that finds fewer rows than MAX_CANDIDATES has found all the rows its
    term can match: the query then only checks those (the walk is not repeated).
    One that finds more (a common word like "pharm") is skipped.
    """
    probes = 0
    for term in query.terms if fetch else ():
        found: set[int] = set()
        for pattern in term.patterns:
            window = next((o for o in plan_pattern(pattern, docs, total) if o.probe), None)
            if window is None or probes >= MAX_PROBES:
                break
            probes += 1
            ids = fetch(window.match, MAX_CANDIDATES)
            if len(ids) >= MAX_CANDIDATES:
                break
            found.update(ids)
        else:
            return Lookup(ids=sorted(found), recheck=list(query.terms))
    groups: list[str] = []
    recheck: list[Term] = []
    for term in query.terms:
        plans = [next(o for o in plan_pattern(p, docs, total) if not o.probe)
                 for p in term.patterns]
        groups.append("(" + " OR ".join(plan.match for plan in plans) + ")")
        if any(plan.recheck for plan in plans):
            recheck.append(term)
    return Lookup(match=" AND ".join(groups), recheck=recheck)


def instr_conditions(terms: Iterable[Term], column: str) -> tuple[str, list[str]]:
    """SQL (with %s placeholders) requiring each term's text: any of its patterns."""
    sql, params = "", []
    for term in terms:
        sql += " AND (" + " OR ".join([f"instr({column}, %s) > 0"] * len(term.patterns)) + ")"
        params += list(term.patterns)
    return sql, params
