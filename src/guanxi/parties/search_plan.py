"""How the SQLite FTS5 trigram index is asked for one query pattern.

A pattern of n characters is n-2 trigrams, and FTS5 answers a phrase by walking the
doclists of all of them. Pinyin makes some trigrams nearly universal ("ang" is in
most rows, "ing", "han", "ong" in half), so a rare pattern like "zhangwei" or an
e-mail such as "wangmingwen969" would walk a million entries to find a few rows.

With document counts of the common trigrams (a small table refreshed with the
index, see search_index.refresh_search_stats) such a pattern is asked instead as
the AND of its runs of uncommon trigrams ("zha" AND "gwe"), and the few rows found
are checked for the whole pattern with instr(). A cost model picks whichever is
cheaper: each doclist entry walked costs 1, each row checked CHECK_COST.
Without statistics (a new or small database) every pattern is a phrase.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .search import ParsedQuery, Term

# A trigram in more than this share of rows is "common": left out of AND lookups.
COMMON_SHARE = 0.08
# Checking a candidate row (fetch it, instr()) against walking one doclist entry.
CHECK_COST = 300
# Use the AND lookup only when it is estimated this much cheaper than the phrase.
MIN_GAIN = 0.7


@dataclass(frozen=True)
class PatternPlan:
    match: str  # an FTS5 expression; every string in it is a quoted phrase
    recheck: bool  # the rows found must still be checked for the whole pattern


def quote(text: str) -> str:
    """An FTS5 string: user text is never syntax (double quotes are doubled)."""
    return '"' + text.replace('"', '""') + '"'


def trigrams(text: str) -> list[str]:
    return [text[i:i + 3] for i in range(len(text) - 2)]


def plan_pattern(pattern: str, docs: Mapping[str, int], total: int) -> PatternPlan:
    """The cheaper of the phrase and an AND of uncommon runs, by estimated cost."""
    phrase = PatternPlan(quote(pattern), False)
    tris = trigrams(pattern)
    if total <= 0 or len(tris) < 3:
        return phrase
    counts = [docs.get(t, 0) for t in tris]
    common = total * COMMON_SHARE
    runs: list[tuple[int, int, str]] = []  # (estimated rows, doclist entries, substring)
    i = 0
    while i < len(tris):
        if counts[i] >= common:
            i += 1
            continue
        j = i
        while j + 1 < len(tris) and counts[j + 1] < common:
            j += 1
        runs.append((min(counts[i:j + 1]), sum(counts[i:j + 1]), pattern[i:j + 3]))
        i = j + 1
    if not runs or (len(runs) == 1 and runs[0][2] == pattern):
        return phrase
    runs.sort()
    best_cost, best, chosen, walked, share = float("inf"), [], [], 0, 1.0
    for rows, entries, text in runs:
        chosen.append(text)
        walked += entries
        share *= max(rows, 1) / total  # runs taken as independent
        cost = walked + share * total * CHECK_COST
        if cost < best_cost:
            best_cost, best = cost, list(chosen)
    if best_cost >= sum(counts) * MIN_GAIN:
        return phrase
    return PatternPlan("(" + " AND ".join(quote(t) for t in best) + ")", True)


def patterns_needing_stats(query: ParsedQuery) -> set[str]:
    """The trigrams whose counts could change a plan (patterns of 3+ trigrams)."""
    return {t for term in query.terms for p in term.patterns if len(p) >= 5
            for t in trigrams(p)}


def match_string(query: ParsedQuery, docs: Mapping[str, int],
                 total: int) -> tuple[str, list[Term]]:
    """The MATCH expression (every term, any of its patterns) and the terms whose
    rows must be checked with instr() because a pattern was looked up by parts."""
    groups: list[str] = []
    recheck: list[Term] = []
    for term in query.terms:
        plans = [plan_pattern(p, docs, total) for p in term.patterns]
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
