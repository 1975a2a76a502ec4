"""Reads of customers that are more than a filter: global search."""

from __future__ import annotations

from django.utils.functional import lazy

from . import search_index
from .models import Contact, Customer
from .normalize import format_phone
from .search import parse_query, phone_digits, rank_key

# How many matching rows are ranked: all of them when a query is specific, the
# first ones in id order when it matches many (plus names starting with the query,
# looked up apart; see search_index.candidates).
MIN_CANDIDATES = 60


def _display_phone(e164: str, ext: str = "") -> str:
    """format_phone, with a fast path for Chinese mobiles (phonenumbers costs ~0.1 ms
    a number, a results page shows 25)."""
    national = e164[3:]
    if e164.startswith("+861") and len(national) == 11 and national.isdigit() and not ext:
        return f"{national[:3]} {national[3:7]} {national[7:]}"
    return format_phone(e164, ext)


# Formatted only if displayed.
_lazy_phone = lazy(_display_phone, str)


def search_customers(user, q: str, limit: int = 20) -> list[Customer]:
    """Customers `user` may see that match `q`, best first, at most `limit`.

    Matches Chinese substrings in either script, full pinyin and initials, phone
    fragments in any format and e-mail fragments, in the customer's own data and
    its contacts'. Exact and prefix name matches come first, then matches inside
    the name, then matches elsewhere (contacts, phones, e-mails); shortest name,
    then newest first within a group. Each result carries `search_rank` (0–3) and
    `matched_phone` (lazily formatted: the number the query matched, else the
    customer's main phone). Visibility is applied inside every query.
    """
    query = parse_query(q)
    if not query.forms or limit <= 0:
        return []
    visible = Customer.objects.visible_to(user)
    cap = max(MIN_CANDIDATES, limit * 3)
    ranked: dict[int, tuple[int, int, int]] = {}
    for pk, name, text, by_prefix in search_index.candidates(visible, query, cap, limit):
        if by_prefix and not name.startswith(query.forms):
            continue  # a collation that orders differently from code points
        rank = rank_key(text, query)
        # Name matches: the shortest name is the closest; then (and elsewhere) newest.
        ranked[pk] = (rank, len(name) if rank < 3 else 0, -pk)
    best = sorted(ranked, key=ranked.__getitem__)[:limit]
    if not best:
        return []
    # No ORDER BY: with the model's default ordering SQLite would walk the whole
    # (deleted_at, updated_at) index instead of fetching these rows by key.
    rows = {c.pk: c for c in visible.filter(pk__in=best).select_related("owner").order_by()}
    result = [rows[pk] for pk in best if pk in rows]
    numbers = _matched_numbers(result, query.phone) if query.phone else {}
    for c in result:
        c.search_rank = ranked[c.pk][0]
        number, ext = numbers.get(c.pk, (c.phone, c.phone_ext))
        c.matched_phone = _lazy_phone(number, ext) if number else ""
    return result


def _matched_numbers(customers: list[Customer], digits: str) -> dict[int, tuple[str, str]]:
    """For a phone query: {customer id: (number, extension)} of the number that matched."""
    out = {c.pk: (c.phone, c.phone_ext) for c in customers
           if c.phone and digits in phone_digits(c.phone)}
    rest = [c.pk for c in customers if c.pk not in out]
    if rest:
        # all_objects: a deleted_at filter would tempt SQLite onto that index.
        rows = (Contact.all_objects.filter(customer_id__in=rest).order_by()
                .values_list("customer_id", "mobile", "phone", "phone_ext", "deleted_at"))
        for customer_id, mobile, phone, ext, deleted_at in rows:
            if deleted_at or customer_id in out:
                continue
            for number, number_ext in ((mobile, ""), (phone, ext)):
                if number and digits in phone_digits(number):
                    out[customer_id] = (number, number_ext)
                    break
    return out
