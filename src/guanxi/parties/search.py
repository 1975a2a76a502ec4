"""The text global search indexes for a customer, and how a query is read.

One denormalised `Customer.search_text` column holds everything search looks at;
SQLite indexes it with FTS5 (trigram tokenizer), PostgreSQL with pg_trgm (see
`search_index.py`); `selectors.search_customers` runs the query. Every query term
becomes literal substrings of `search_text`, so both backends answer the same
question and short (1–2 character) terms still hit an index.

Layout (lower case, half-width; sections joined by " || ", parts by " | "):

    " 重庆兴瑞环保 | 重慶興瑞環保 | chongqingxingruihuanbao | cqxrhb"   name forms
    " || 8613800138000 13800138000 | info@xr.cn | 张伟 | … "          phones, e-mails, contacts
    " || ~重庆 ~庆兴 ~兴瑞 ~瑞环 ~环保 ~保 ~张伟 ~伟 "                   CJK bigram items

Every part is preceded by a space, so " cq" (3 characters, enough for a trigram)
finds parts that start with "cq". The bigram items make a 2-character Chinese term
("兴瑞" → "~兴瑞") and a 1-character one ("瑞" → " ~瑞") trigram-searchable.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import opencc
from pypinyin import lazy_pinyin
from pypinyin.core import seg

_s2t = opencc.OpenCC("s2t")
_t2s = opencc.OpenCC("t2s")

PART_SEP = " | "
SECTION_SEP = " || "
MARK = "~"
# CJK unified ideographs (with extensions A–G) and compatibility ideographs.
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_RESERVED = str.maketrans({"|": " ", MARK: " "})
_PHONE_QUERY = re.compile(r"^\+?[\d\s\-().]+$")
# Legal-form endings nobody types in pinyin. Their pinyin ("youxiangongsi") would sit
# in nearly every row and make the commonest trigrams (ang, ong, ian…) far denser,
# which is what slows a trigram phrase query; the characters stay searchable.
_LEGAL_SUFFIX = re.compile(
    r"(股份有限公司|有限责任公司|集团有限公司|有限公司|分公司|总公司|公司|集团|商行|工作室|"
    r"事务所|合作社|经营部|门市部|厂)$")


# Name-level caches stay small: names are mostly unique, so a big cache only holds memory
# during bulk work (imports, reindexing a million customers); word-level ones pay off.
NAME_CACHE = 4096


@functools.lru_cache(maxsize=NAME_CACHE)
def to_simplified(text: str) -> str:
    return _t2s.convert(text)


@functools.lru_cache(maxsize=NAME_CACHE)
def to_traditional(text: str) -> str:
    return _s2t.convert(text)


@functools.lru_cache(maxsize=65536)
def _word_pinyin(word: str) -> tuple[str, ...]:
    return tuple(lazy_pinyin(word, errors="default"))


@functools.lru_cache(maxsize=NAME_CACHE)
def pinyin_forms(name: str) -> tuple[str, str]:
    """("chongqingxingrui", "cqxr") for 重庆兴瑞; non-Chinese characters pass through.

    Segments first (phrases pick the right reading of 重 in 重庆) and caches the
    pinyin of each word: company names share most words, which makes bulk
    indexing several times faster than `lazy_pinyin` on the whole name.
    """
    simplified = to_simplified(name)
    syllables = [s for w in seg(simplified) for s in _word_pinyin(w) if s.strip()]
    full = "".join(syllables).lower().replace(" ", "")
    initials = "".join(s[0] for s in syllables if s and s[0].isalnum()).lower()
    return full, initials


def phone_digits(e164: str) -> str:
    """Digits as people type them: "+8613800138000" → "8613800138000 13800138000"."""
    digits = "".join(ch for ch in e164 if ch.isdigit())
    if e164.startswith("+86"):
        national = digits[2:]
        # Landlines are dialled with a leading 0 inside China.
        if not national.startswith("1"):
            national = "0" + national
        return f"{digits} {national}"
    return digits


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").translate(_RESERVED).strip().lower()


@functools.lru_cache(maxsize=NAME_CACHE)
def name_forms(name: str) -> tuple[str, ...]:
    """The name as typed, in Simplified and Traditional script, full pinyin (without
    the legal form), initials (of the whole name)."""
    name = _clean(name)
    if not name:
        return ()
    simplified = to_simplified(name)
    full = pinyin_forms(_LEGAL_SUFFIX.sub("", simplified) or simplified)[0]
    initials = pinyin_forms(simplified)[1]
    forms = (name, simplified, to_traditional(name), full, initials)
    return tuple(f for f in dict.fromkeys(forms) if f)


@functools.lru_cache(maxsize=NAME_CACHE)
def bigram_items(name: str) -> tuple[str, ...]:
    """"~重庆 ~庆兴 ~兴瑞 ~瑞" for 重庆兴瑞: each Chinese character starts one item."""
    items: list[str] = []
    for run in _CJK_RUN.findall(to_simplified(_clean(name))):
        items.extend(MARK + run[i:i + 2] for i in range(len(run)))
    return tuple(items)


def build_search_text(customer, contacts=None) -> str:
    """The search text of a customer; pass `contacts` (alive or not) to avoid a query.

    Bulk loaders call this for every row; conversions are cached per name and word.
    """
    if contacts is None:
        contacts = list(customer.contacts.all()) if customer.pk else []
    names: list[str] = []
    other: list[str] = []
    items: list[str] = []
    for name in (customer.name, customer.short_name):
        if name:
            names.extend(name_forms(name))
            items.extend(bigram_items(name))
    if customer.phone:
        other.append(phone_digits(customer.phone))
    if customer.email:
        other.append(_clean(customer.email))
    for c in contacts:
        if c.deleted_at:
            continue
        other.extend(name_forms(c.name))
        items.extend(bigram_items(c.name))
        for p in (c.mobile, c.phone):
            if p:
                other.append(phone_digits(p))
        if c.email:
            other.append(_clean(c.email))
    sections = [
        PART_SEP.join(dict.fromkeys(names)),
        PART_SEP.join(dict.fromkeys(p for p in other if p)),
        " ".join(dict.fromkeys(items)),
    ]
    return " " + SECTION_SEP.join(sections) + " "


# --- Reading a query --------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One word of the query: `text` for ranking, `patterns` (any of them must occur
    in search_text) for matching. Every pattern has at least 3 characters."""

    text: str
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # normalised query (lower case, half-width, Simplified)
    forms: tuple[str, ...]  # the query as typed and converted, for name-prefix lookups
    terms: tuple[Term, ...]
    phone: str = ""  # digits when the query is a phone number fragment


def _is_cjk(text: str) -> bool:
    return bool(_CJK_RUN.fullmatch(text))


def _term(word: str) -> Term | None:
    simp = to_simplified(word)
    if len(word) >= 3:
        return Term(simp, tuple(dict.fromkeys((word, simp))))
    if _is_cjk(simp):
        pattern = MARK + simp if len(simp) == 2 else " " + MARK + simp
        return Term(simp, (pattern,))
    if len(word) == 2:
        return Term(word, (" " + word,))
    return None  # a single letter, digit or symbol matches too much to be useful


def parse_query(raw: str) -> ParsedQuery:
    """Normalise what was typed into terms; nothing here ever reaches SQL unquoted."""
    typed = unicodedata.normalize("NFKC", raw or "")[:200]
    # Control, format, surrogate and unassigned characters: never typed on purpose,
    # and NUL or a lone surrogate would be refused by the database driver.
    typed = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in typed).strip()
    text = typed.translate(_RESERVED).lower()
    words = text.split()
    if not words:
        return ParsedQuery("", (), ())
    forms = tuple(dict.fromkeys(f for f in (typed, text, to_simplified(text),
                                            to_traditional(text)) if f))
    digits = "".join(ch for ch in text if ch.isdigit())
    if _PHONE_QUERY.match(text) and len(digits) >= 3:
        return ParsedQuery(digits, forms, (Term(digits, (digits,)),), phone=digits)
    terms = tuple(t for t in (_term(w) for w in dict.fromkeys(words)) if t)
    return ParsedQuery(to_simplified(" ".join(words)), forms, terms)


def rank_key(search_text: str, query: ParsedQuery) -> int:
    """0 exact name, 1 name prefix (any script, pinyin or initials), 2 inside the name,
    3 elsewhere (contacts, phones, e-mails)."""
    end = search_text.find(SECTION_SEP)
    names = (search_text if end < 0 else search_text[:end]).strip()
    parts = names.split(PART_SEP)
    whole = query.text.replace(" ", "")
    if whole in parts or any(f in parts for f in query.forms):
        return 0
    first = query.terms[0].text if query.terms else whole
    if all(t.text in names for t in query.terms) and any(p.startswith(first) for p in parts):
        return 1
    if query.terms and all(t.text in names for t in query.terms):
        return 2
    return 3
