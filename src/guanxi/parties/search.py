"""The text global search indexes for a customer.

One denormalised `Customer.search_text` column holds the name in Simplified and
Traditional script, its full pinyin and initials, phone digits, e-mails and the
contacts' names and phones; SQLite indexes it with FTS5 (trigram), PostgreSQL with
pg_trgm. Search itself lives in selectors.search_customers.
"""

from __future__ import annotations

import functools

import opencc
from pypinyin import Style, lazy_pinyin

_s2t = opencc.OpenCC("s2t")
_t2s = opencc.OpenCC("t2s")


@functools.lru_cache(maxsize=4096)
def to_simplified(text: str) -> str:
    return _t2s.convert(text)


@functools.lru_cache(maxsize=4096)
def to_traditional(text: str) -> str:
    return _s2t.convert(text)


def pinyin_forms(name: str) -> tuple[str, str]:
    """("chongqingxingrui", "cqxr") for 重庆兴瑞; non-Chinese characters pass through."""
    simplified = to_simplified(name)
    syllables = [s for s in lazy_pinyin(simplified, errors="default") if s.strip()]
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


def build_search_text(customer, contacts=None) -> str:
    parts: list[str] = []
    names = [customer.name, customer.short_name]
    if contacts is None:
        contacts = list(customer.contacts.all()) if customer.pk else []
    for name in names:
        if not name:
            continue
        simp, trad = to_simplified(name), to_traditional(name)
        full, initials = pinyin_forms(name)
        parts.extend(dict.fromkeys([name, simp, trad, full, initials]))
    if customer.phone:
        parts.append(phone_digits(customer.phone))
    if customer.email:
        parts.append(customer.email)
    for c in contacts:
        if c.deleted_at:
            continue
        full, initials = pinyin_forms(c.name)
        parts.extend(dict.fromkeys([c.name, to_simplified(c.name), to_traditional(c.name),
                                    full, initials]))
        for p in (c.mobile, c.phone):
            if p:
                parts.append(phone_digits(p))
        if c.email:
            parts.append(c.email)
    return " | ".join(p for p in parts if p).lower()
