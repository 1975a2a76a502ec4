"""Reads behind the customer list: filters, whitelisted sorting and a cheap pager.

The list must stay fast at a million customers: filters are equalities on indexed
columns, `pk__in` subqueries (tags, the search index; never a `.distinct()` join) or,
for custom fields, JSON lookups; sorting uses whitelisted keys that indexes serve;
the pager counts at most `COUNT_CAP` rows and, when more match, reads the page by
walking the sort index (`walk_in_order`); visibility of reps and managers is applied
so that the filters' indexes drive the query (`list_queryset`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Exists, F, OrderBy, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import dateformat, formats, timezone

from guanxi.accounts.models import Team

from .display import ago
from .models import Customer, CustomFieldDef, FieldType, Stage
from .normalize import to_halfwidth
from .packs import industry_label
from .querysets import customer_visibility
from .search import parse_query, to_simplified, to_traditional
from .search_index import FTS_TABLE, fts_match_string

# Sort key → order_by for ascending use; "-key" reverses every term. Each one is the
# column order of an index (SQLite appends the rowid to every index), so a page can be
# an index walk instead of a sort of every matching row: (deleted_at, name),
# (deleted_at, updated_at), (tier). Within a tier rows follow their id: sorting by name
# there would sort the whole tier.
SORTS: dict[str, tuple[str, ...]] = {
    "name": ("name", "id"),
    "updated": ("updated_at", "id"),
    "last_contact": ("last_contact_at", "id"),
    "tier": ("tier", "id"),
}
DEFAULT_SORT = "-updated"
# Custom field types that the list can filter on.
FILTERABLE_CUSTOM_TYPES = (FieldType.CHOICE, FieldType.BOOL, FieldType.TEXT)
COUNT_CAP = 1_000
# Columns the list shows: loading only these keeps a page of 50 rows cheap.
LIST_COLUMNS = (
    "id", "name", "short_name", "city", "tier", "stage", "last_contact_at", "updated_at",
    "owner_id", "team_id", "industry_id",
    "owner__id", "owner__username", "owner__display_name", "owner__first_name",
    "owner__last_name", "team__id", "team__name", "industry__id", "industry__code",
    "industry__name",
)


def _reverse(term: str) -> str:
    return term[1:] if term.startswith("-") else f"-{term}"


def ordering_for(sort: str | None,
                 fixed: Collection[str] = ()) -> tuple[str, tuple[str, ...]]:
    """(normalised sort key, order_by terms); unknown keys fall back to the default.

    Columns in `fixed` are filtered to a single value, so ordering by them is a no-op
    and is left out (sorting tier=B by tier is sorting it by id).
    """
    key = sort if sort and sort.lstrip("-") in SORTS else DEFAULT_SORT
    terms = tuple(t for t in SORTS[key.lstrip("-")] if t not in fixed)
    if key.startswith("-"):
        terms = tuple(_reverse(t) for t in terms)
    return key, terms


# Columns that may be NULL: never-contacted customers sort as the longest without
# contact (first going up, last going down) on every database, as SQLite does anyway.
NULLABLE_SORT_COLUMNS = {"last_contact_at"}


def order_by_args(terms: tuple[str, ...]) -> list[str | OrderBy]:
    """`terms` for `order_by()`, with the NULL placement spelled out where it matters."""
    args: list[str | OrderBy] = []
    for term in terms:
        column = term.lstrip("-")
        if column not in NULLABLE_SORT_COLUMNS:
            args.append(term)
        elif term.startswith("-"):
            args.append(F(column).desc(nulls_last=True))
        else:
            args.append(F(column).asc(nulls_first=True))
    return args


def _indexed_columns() -> set[str]:
    """Columns whose order an index of alive customers gives (see `walk_in_order`)."""
    columns = {"id", "tier", "name", "updated_at"}
    for index in Customer._meta.indexes:
        fields = [f.lstrip("-") for f in index.fields]
        if fields[:1] == ["deleted_at"] and len(fields) > 1:
            columns.add(fields[1])
    return columns


def filterable_custom_fields(industry_id: int | None) -> list[CustomFieldDef]:
    """Custom fields offered as list filters: those for all customers plus the industry's."""
    q = Q(industry__isnull=True)
    if industry_id:
        q |= Q(industry_id=industry_id)
    return list(CustomFieldDef.objects.filter(q, field_type__in=FILTERABLE_CUSTOM_TYPES))


def _name_q(text: str) -> Q:
    """Name or short name contains the text (either script). Scans: short queries only."""
    text = to_halfwidth(text)
    q = Q()
    for variant in dict.fromkeys([text, to_simplified(text), to_traditional(text)]):
        q |= Q(name__icontains=variant) | Q(short_name__icontains=variant)
    return q


def text_q(text: str) -> Q:
    """The `q` filter: what global search matches (names in either script, pinyin and
    initials, phones, e-mails, contacts), through the search index, so it stays an index
    lookup at a million customers. A query the index cannot serve (one Latin letter or
    digit) falls back to a name scan."""
    query = parse_query(text)
    if not query.terms:
        return _name_q(text)
    if connection.vendor == "sqlite":
        # The MATCH string quotes every pattern and travels as a parameter.
        ids = RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s",
                     (fts_match_string(query),))
        return Q(pk__in=ids)
    q = Q()
    for term in query.terms:
        any_pattern = Q()
        for pattern in term.patterns:
            any_pattern |= Q(search_text__contains=pattern)
        q &= any_pattern
    return q


def filter_customers(qs: QuerySet, data: dict[str, Any], *, user,
                     custom_defs: list[CustomFieldDef] = ()) -> QuerySet:
    """Apply the cleaned filter form `data` to `qs` (see `list_queryset` for scoping)."""
    if q := (data.get("q") or "").strip():
        qs = qs.filter(text_q(q))
    if tier := data.get("tier"):
        qs = qs.filter(tier=tier)
    if stage := data.get("stage"):
        qs = qs.filter(stage=stage)
    owner = data.get("owner")
    if owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif owner == "me":
        qs = qs.filter(owner_id=user.pk)
    elif owner:
        qs = qs.filter(owner_id=int(owner))
    if industry := data.get("industry"):
        qs = qs.filter(industry=industry)
    if team := data.get("team"):
        qs = qs.filter(team_id__in=Team.objects.filter(path__startswith=team.path).values("pk"))
    if tag := data.get("tag"):
        through = Customer.tags.through.objects.filter(tag_id=tag.pk).values("customer_id")
        qs = qs.filter(pk__in=through)
    if source := data.get("source"):
        qs = qs.filter(source=source)
    for d in custom_defs:
        value = data.get(f"cf_{d.key}")
        if value in (None, ""):
            continue
        lookup = f"custom__{d.key}"
        if d.field_type == FieldType.BOOL:
            qs = qs.filter(**{lookup: value == "yes"})
        elif d.field_type == FieldType.TEXT:
            qs = qs.filter(**{f"{lookup}__icontains": value})
        else:
            qs = qs.filter(**{lookup: value})
    return qs


def list_rows(qs: QuerySet) -> QuerySet:
    """The customers queryset with what one table row needs, in as few columns as possible."""
    return qs.select_related("owner", "team", "industry").only(*LIST_COLUMNS)


def decorate_rows(rows: list[Customer]) -> None:
    """Precompute what each table row shows, once per page rather than once per row in
    the template: `url`, `tag_names` (one query for all rows), `stage_label`,
    `industry_label`, `last_contact_iso`/`last_contact_ago` and `updated_text`."""
    tags: dict[int, list[str]] = defaultdict(list)
    through = Customer.tags.through.objects.filter(customer_id__in=[c.pk for c in rows])
    for customer_id, name in through.values_list("customer_id", "tag__name").order_by(
            "tag__name"):
        tags[customer_id].append(name)
    prefix = reverse("parties:customer_detail", args=[0])[:-2]
    stages = {value: str(label) for value, label in Stage.choices}
    date_fmt = formats.get_format("SHORT_DATE_FORMAT")
    now = timezone.now()
    labels: dict[int, str] = {}
    for c in rows:
        c.url = f"{prefix}{c.pk}/"
        c.tag_names = tags.get(c.pk, [])
        c.stage_label = stages.get(c.stage, c.stage)
        if c.industry_id and c.industry_id not in labels:
            labels[c.industry_id] = industry_label(c.industry)
        c.industry_label = labels.get(c.industry_id, "")
        c.last_contact_iso = c.last_contact_at.isoformat() if c.last_contact_at else ""
        c.last_contact_ago = ago(c.last_contact_at, now)
        c.updated_text = dateformat.format(timezone.localtime(c.updated_at), date_fmt)


def list_queryset(user, data: dict[str, Any], *,
                  custom_defs: list[CustomFieldDef] = ()) -> QuerySet:
    """The customers `user` may see that match the filter form `data`.

    Visibility always comes from `Customer.objects.visible_to(user)`. Written as one
    WHERE, a rep's or manager's visibility (own OR shared OR pool OR team) makes SQLite
    collect every visible row first and test the filters on each: fine when they see
    a few thousand customers, slow when they see a hundred thousand. Then, with
    filters set, visibility goes into a correlated EXISTS instead, so the database
    drives the query from the filters' indexes (office, tier, industry…) as it does
    for a director, and checks visibility row by row.
    """
    visible = Customer.objects.visible_to(user)
    active = any(v not in (None, "") for k, v in data.items() if k != "sort")
    if (not active or customer_visibility(user) is None
            or bounded_count(visible) <= COUNT_CAP):
        return filter_customers(visible, data, user=user, custom_defs=custom_defs)
    filtered = filter_customers(Customer.objects.all(), data, user=user,
                                custom_defs=custom_defs)
    return filtered.filter(Exists(visible.filter(pk=OuterRef("pk"))))


@dataclass
class ListPage:
    """One page of a list without an unbounded COUNT(*)."""

    object_list: list[Any]
    number: int
    per_page: int
    has_next: bool
    total: int
    total_capped: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.object_list else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.object_list)


def bounded_count(qs: QuerySet, cap: int = COUNT_CAP) -> int:
    """COUNT(*) that stops after cap + 1 rows."""
    return qs.order_by().values("pk")[:cap + 1].count()


def walk_in_order(qs: QuerySet) -> QuerySet:
    """The rows of `qs`, phrased so that the database walks the sort index and tests
    each row against the filters (a correlated EXISTS by primary key).

    When many rows match (say, a rep's own plus a large pool, or one industry out of
    ten) this finds a page after a few hundred index entries, where the planner's
    usual plan collects every match and sorts it. When few rows match, the usual plan
    is better; `page_of` picks by the bounded count.
    """
    return Customer.objects.filter(Exists(qs.filter(pk=OuterRef("pk"))))


def page_of(qs: QuerySet, number: Any, per_page: int, *, sort: str = DEFAULT_SORT,
            fixed: Collection[str] = (), prepare=lambda qs: qs,
            count_cap: int = COUNT_CAP) -> ListPage:
    """Page `number` (1-based, bad values → 1) of `qs` sorted by `sort`.

    Fetches per_page + 1 rows to learn whether a next page exists and counts at most
    `count_cap` rows. When more rows match than that and an index gives the sort
    order, the page is read by walking that index (`walk_in_order`). `fixed` names
    columns filtered to one value (see `ordering_for`); `prepare` adds select_related
    and only() to the query that fetches the rows.
    """
    try:
        number = max(1, int(number))
    except (TypeError, ValueError):
        number = 1
    _key, order = ordering_for(sort, fixed)
    total = bounded_count(qs, count_cap)
    capped = total > count_cap
    walk = capped and order[0].lstrip("-") in _indexed_columns()
    source = walk_in_order(qs) if walk else qs
    offset = (number - 1) * per_page
    rows = list(prepare(source).order_by(*order_by_args(order))[offset:offset + per_page + 1])
    return ListPage(
        object_list=rows[:per_page],
        number=number,
        per_page=per_page,
        has_next=len(rows) > per_page,
        total=min(total, count_cap),
        total_capped=capped,
    )
