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
from dataclasses import dataclass

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


def match_string(query: ParsedQuery, docs: Mapping[str, int], total: int,
                 probe: Callable[[str, int], int] | None = None) -> tuple[str, list[Term]]:
    """The MATCH expression (every term, any of its patterns) and the terms whose
    rows must be checked with instr() because a pattern was looked up by parts.

    `probe(match, limit)` counts the rows a short sub-phrase finds, up to `limit`: one
    that is not selective after all (a common word like "pharm") is skipped.
    """
    groups: list[str] = []
    recheck: list[Term] = []
    for term in query.terms:
        plans = []
        for pattern in term.patterns:
            options = plan_pattern(pattern, docs, total)
            if probe is None:
                options = [o for o in options if not o.probe]
            for plan in options:
                if not plan.probe or probe(plan.match, MAX_CANDIDATES) < MAX_CANDIDATES:
                    break
            plans.append(plan)
        groups.append("(" + " OR ".join(plan.match for plan in plans) + ")")
        if any(plan.recheck for plan in plans):
            recheck.append(term)
    return " AND ".join(groups), recheck


def instr_conditions(terms: Iterable[Term], column: str) -> tuple[str, list[str]]:
    """SQL (with %s placeholders) requiring each term's text: any of its patterns."""
    sql, params = "", []
    for term in terms:
        sql += " AND (" + " OR ".join([f"instr({column}, %s) > 0"] * len(term.patterns)) + ")"
        params += list(term.patterns)
    return sql, params
