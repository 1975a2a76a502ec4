"""Finding customers that are probably the same one: scoring, the scan, the review list.

Scoring (`score_pair`)
----------------------
Each piece of evidence has a weight (the chance, in per cent, that it alone means the
two records are one customer); weights combine like independent evidence:

    score = 100 × (1 − Π (1 − weight / 100))

so one strong reason gives 55–60, two give 80+, three 90+. Reasons and weights:

    phone          60  the same E.164 phone (and not two different extensions)
    email          55  the same e-mail address
    name           60  the same company name key (normalize.company_key; organisations)
    similar_name   30–50  organisations in the same city (normalize.city_key) whose
                   name keys, or the keys without the city in front ("上海美佳电子"
                   ~ "美佳电子"), are ≥ FUZZY_MIN % alike (rapidfuzz ratio), scaled
                   from 30 at 85 % to 50 at 100 %;
                   35 for people in the same city with the same name (both scripts)
    contact_phone  40  a contact's mobile is shared, or one's phone is the other's
                   contact's mobile

The scan (`scan`)
-----------------
Works at a million customers without loading them: exact keys (phone, e-mail, name
key, contacts' mobiles) are grouped in SQL and only groups of 2…MAX_GROUP customers
are fetched; a bigger group is a switchboard or a placeholder ("000@000.com") and is
skipped and reported. People of one city with the same name (as typed) are such a
group too.

Near matches of organisations use blocking plus a sorted neighbourhood: the block is
`Customer.name_block` (normalize.name_block: the city plus the first character(s) of
the name key once the city is taken off its front, indexed). Blocks of two or
more are read a batch of blocks at a time (keyset on the block, so no cursor stays
open while pairs are written); inside a block, organisations sorted by name key are
each compared with the WINDOW before them, so a huge block costs WINDOW comparisons
per row, not its square. A pair ≥ FUZZY_MIN becomes a candidate. Names whose first
characters differ are in different blocks and are not found by this pass (they may
still share a phone, e-mail, contact or name key).

Found pairs are written in batches into DuplicateCandidate (source "scan"): new
pairs are added as open, open pairs get their score refreshed, and pairs already
dismissed or merged are left alone (a person decided them).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Iterator
from types import SimpleNamespace
from typing import Any

from django.db import transaction
from django.db.models import CharField, Count, QuerySet, Sum, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rapidfuzz import fuzz, process

from .models import Contact, Customer, CustomerKind, DuplicateCandidate, DuplicateStatus
from .normalize import city_key, to_halfwidth
from .search import to_simplified

WEIGHTS = {"phone": 60, "email": 55, "name": 60, "contact_phone": 40}
SIMILAR_MIN_WEIGHT, SIMILAR_MAX_WEIGHT = 30, 50
PERSON_NAME_WEIGHT = 35
FUZZY_MIN = 85  # rapidfuzz ratio (0–100) from which two names count as similar
MIN_SCORE = 30  # pairs scoring less are not worth a person's time
MAX_GROUP = 20  # more customers than this sharing one key: a switchboard, skipped
WINDOW = 20  # neighbours each customer is compared with in the near-match pass
BLOCK_BATCH = 500  # name blocks read per query in the near-match pass
BATCH = 500  # pairs scored and written per transaction
KEY_BATCH = 200  # exact-key groups fetched per query

REASONS = ("phone", "email", "name", "similar_name", "contact_phone")
REASON_LABELS = {
    "phone": _("same phone"),
    "email": _("same e-mail"),
    "name": _("same company name"),
    "similar_name": _("similar name, same city"),
    "contact_phone": _("shared contact mobile"),
}

Pair = tuple[int, int, float, list[str]]
# What score_pair reads of a customer.
SCORED_FIELDS = ("pk", "kind", "name", "name_key", "city", "phone", "phone_ext", "email")


# ------------------------------------------------------------------ scoring


def person_key(name: str) -> str:
    """A person's name as compared: half-width, lower case, Simplified, no spaces."""
    return "".join(to_simplified(to_halfwidth(name or "").lower()).split())


def core_key(key: str, city: str) -> str:
    """The name key without the city's name in front (as in normalize.name_block)."""
    c = city_key(city or "")
    return key[len(c):] if c and key.startswith(c) and len(key) > len(c) + 1 else key


def name_similarity(a: str, b: str) -> float:
    """How alike two name keys are, 0–100 (CJK has no spaces, so mostly plain ratio)."""
    if not a or not b:
        return 0.0
    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b))


def _mobiles_of(ids: Iterable[int]) -> dict[int, set[str]]:
    result: dict[int, set[str]] = {}
    rows = (Contact.objects.filter(customer_id__in=list(ids)).exclude(mobile="")
            .values_list("customer_id", "mobile"))
    for customer_id, mobile in rows:
        result.setdefault(customer_id, set()).add(mobile)
    return result


def combine(weights: Iterable[float]) -> float:
    remaining = 1.0
    for w in weights:
        remaining *= 1 - min(max(w, 0), 100) / 100
    return round(100 * (1 - remaining), 1)


def score_pair(a: Any, b: Any, *,
               mobiles: dict[int, set[str]] | None = None) -> tuple[float, list[str]]:
    """(score 0–100, reason codes) for two customers; see the module docstring.

    `a` and `b` are Customer objects, saved or not, or anything with the attributes
    in SCORED_FIELDS.
    `mobiles` ({customer id: {contact mobiles}}) avoids a query when scoring many pairs;
    unsaved customers (an importer's rows) have no contacts.
    """
    if mobiles is None:
        mobiles = _mobiles_of([c.pk for c in (a, b) if c.pk])
    weights: dict[str, float] = {}
    if a.phone and a.phone == b.phone and not (
        a.phone_ext and b.phone_ext and a.phone_ext != b.phone_ext
    ):
        weights["phone"] = WEIGHTS["phone"]
    if a.email and a.email.lower() == b.email.lower():
        weights["email"] = WEIGHTS["email"]
    same_kind = a.kind == b.kind
    org = same_kind and a.kind == CustomerKind.ORGANISATION
    if org and a.name_key and a.name_key == b.name_key:
        weights["name"] = WEIGHTS["name"]
    elif same_kind and a.city and city_key(a.city) == city_key(b.city):
        if org:
            ratio = max(name_similarity(a.name_key, b.name_key),
                        name_similarity(core_key(a.name_key, a.city),
                                        core_key(b.name_key, b.city)))
            if ratio >= FUZZY_MIN:
                span = (ratio - FUZZY_MIN) / (100 - FUZZY_MIN)
                weights["similar_name"] = round(
                    SIMILAR_MIN_WEIGHT + span * (SIMILAR_MAX_WEIGHT - SIMILAR_MIN_WEIGHT), 1)
        elif person_key(a.name) and person_key(a.name) == person_key(b.name):
            weights["similar_name"] = PERSON_NAME_WEIGHT
    mob_a, mob_b = mobiles.get(a.pk, set()), mobiles.get(b.pk, set())
    if (mob_a & mob_b) or (a.phone and a.phone in mob_b) or (b.phone and b.phone in mob_a):
        weights["contact_phone"] = WEIGHTS["contact_phone"]
    reasons = [r for r in REASONS if r in weights]
    return combine(weights.values()), reasons


# ------------------------------------------------------------------ writing candidates


def _ordered(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _upsert(pairs: dict[tuple[int, int], tuple[float, list[str]]], *, source: str,
            job_id: int | None, refresh_open: bool) -> tuple[int, int]:
    """Insert missing pairs; with `refresh_open`, update score/reasons of open ones.

    Returns (created, updated). Dismissed and merged pairs are never touched.
    """
    if not pairs:
        return 0, 0
    firsts = {a for a, _ in pairs}
    seconds = {b for _, b in pairs}
    existing = {
        (row.first_id, row.second_id): row
        for row in DuplicateCandidate.objects.filter(first_id__in=firsts, second_id__in=seconds)
        .only("id", "first_id", "second_id", "status", "score", "reasons")
        if (row.first_id, row.second_id) in pairs
    }
    new = [
        DuplicateCandidate(first_id=a, second_id=b, score=score, reasons=reasons,
                           source=source, job_id=job_id, status=DuplicateStatus.OPEN)
        for (a, b), (score, reasons) in pairs.items() if (a, b) not in existing
    ]
    changed = []
    if refresh_open:
        for key, row in existing.items():
            score, reasons = pairs[key]
            if row.status == DuplicateStatus.OPEN and (row.score, row.reasons) != (score, reasons):
                row.score, row.reasons = score, reasons
                changed.append(row)
    with transaction.atomic():
        DuplicateCandidate.objects.bulk_create(new, ignore_conflicts=True, batch_size=BATCH)
        if changed:
            DuplicateCandidate.objects.bulk_update(changed, ["score", "reasons"],
                                                   batch_size=BATCH)
    return len(new), len(changed)


def add_candidates(pairs: Iterable[tuple[int, int, float, list[str]]], source: str = "import",
                   job: Any = None) -> int:
    """Record possible duplicates found elsewhere (the importer): insert missing pairs.

    `pairs` are (customer_id_a, customer_id_b, score 0–100, reason codes) in any order;
    pairs already recorded (whatever their status) are left as they are, and a pair of
    a customer with itself is ignored. The ids must be of saved customers (call it
    after the rows are written, inside or after the import's transaction). `job` is a
    core.Job or its id (or None). Returns how many pairs were added.
    """
    job_id = getattr(job, "pk", job)
    total = 0
    batch: dict[tuple[int, int], tuple[float, list[str]]] = {}
    for a, b, score, reasons in pairs:
        if a == b:
            continue
        key = _ordered(int(a), int(b))
        batch.setdefault(key, (round(min(max(float(score), 0.0), 100.0), 1), list(reasons)))
        if len(batch) >= BATCH:
            total += _upsert(batch, source=source, job_id=job_id, refresh_open=False)[0]
            batch = {}
    total += _upsert(batch, source=source, job_id=job_id, refresh_open=False)[0]
    return total


# ------------------------------------------------------------------ the scan


class _Scanner:
    """Collects pairs, scores them in batches and writes them (see the module docstring)."""

    def __init__(self, job) -> None:
        self.job_id = getattr(job, "pk", None)
        self.pending: set[tuple[int, int]] = set()
        self.seen = 0
        self.created = 0
        self.updated = 0
        self.skipped: dict[str, int] = {}
        self.skipped_examples: list[str] = []
        self.done = 0
        self.total = 0

    def progress(self, step: int = 1) -> None:
        self.done += step
        if self.job_id:
            from guanxi.core.jobs import job_progress

            job_progress(self.job_id, min(self.done, self.total), self.total)

    def add(self, a: int, b: int) -> None:
        if a != b:
            self.pending.add(_ordered(a, b))
            if len(self.pending) >= BATCH:
                self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        pairs, self.pending = self.pending, set()
        self.seen += len(pairs)
        ids = {i for p in pairs for i in p}
        customers = {
            row["pk"]: SimpleNamespace(**row)
            for row in Customer.objects.filter(pk__in=list(ids)).values(*SCORED_FIELDS)
        }
        mobiles = _mobiles_of(ids)
        scored: dict[tuple[int, int], tuple[float, list[str]]] = {}
        for a, b in pairs:
            if a in customers and b in customers:
                score, reasons = score_pair(customers[a], customers[b], mobiles=mobiles)
                if score >= MIN_SCORE:
                    scored[(a, b)] = (score, reasons)
        created, updated = _upsert(scored, source="scan", job_id=self.job_id,
                                   refresh_open=True)
        self.created += created
        self.updated += updated

    # ---------------------------------------------------------------- exact keys

    def exact_sources(self) -> list[tuple[str, QuerySet, str, str]]:
        """(reason, queryset, key field, customer id field) of every exact-key pass."""
        people = Customer.objects.filter(kind=CustomerKind.PERSON).exclude(city="").exclude(
            name="").annotate(person=Concat("city", Value("|"), "name",
                                            output_field=CharField()))
        return [
            ("phone", Customer.objects.exclude(phone=""), "phone", "id"),
            ("email", Customer.objects.exclude(email=""), "email", "id"),
            ("name", Customer.objects.filter(kind=CustomerKind.ORGANISATION)
             .exclude(name_key=""), "name_key", "id"),
            ("contact_phone", Contact.objects.filter(customer__deleted_at__isnull=True)
             .exclude(mobile=""), "mobile", "customer_id"),
            ("similar_name", people, "person", "id"),
        ]

    @staticmethod
    def groups(qs: QuerySet, key: str, id_field: str) -> QuerySet:
        return qs.values(key).annotate(n=Count(id_field, distinct=True)).order_by()

    def exact_pass(self, reason: str, qs: QuerySet, key: str, id_field: str) -> None:
        big = self.groups(qs, key, id_field).filter(n__gt=MAX_GROUP)
        for k, n in list(big.values_list(key, "n")):
            self.skipped[reason] = self.skipped.get(reason, 0) + 1
            if len(self.skipped_examples) < 10:
                self.skipped_examples.append(f"{reason}: {k} ({n})")
            self.progress()
        keys = (self.groups(qs, key, id_field).filter(n__gt=1, n__lte=MAX_GROUP)
                .values_list(key, flat=True))
        # Materialise the keys (only shared ones) so no cursor stays open while the
        # batches are written.
        shared_keys = list(keys)
        for start in range(0, len(shared_keys), KEY_BATCH):
            chunk = shared_keys[start:start + KEY_BATCH]
            members: dict[str, set[int]] = {}
            for k, cid in qs.filter(**{f"{key}__in": chunk}).values_list(key, id_field):
                members.setdefault(k, set()).add(cid)
            for ids in members.values():
                for a, b in itertools.combinations(sorted(ids), 2):
                    self.add(a, b)
            self.progress(len(chunk))

    # ---------------------------------------------------------------- near matches

    # The near pass reads all_objects filtered by name_block alone (deleted rows and
    # people are skipped in Python), so the database walks the name_block index
    # instead of choosing the deleted_at one and sorting a million rows per batch.
    @staticmethod
    def _block_sizes():
        return (Customer.all_objects.values("name_block").annotate(n=Count("id"))
                .filter(n__gt=1).order_by("name_block"))

    def blocks(self) -> Iterator[list[tuple[str, int]]]:
        """Batches of (name_block, size) with two or more customers, in block order,
        read by keyset so no cursor stays open while a batch is compared and written."""
        last = ""  # name_block > "" also leaves out people, who have no block
        while True:
            batch = list(self._block_sizes().filter(name_block__gt=last)
                         .values_list("name_block", "n")[:BLOCK_BATCH])
            if batch:
                yield batch
            if len(batch) < BLOCK_BATCH:
                return
            last = batch[-1][0]

    def _compare(self, pk: int, key: str, core: str, window: deque) -> None:
        """Pair `pk` with the neighbours whose key or core is ≥ FUZZY_MIN alike (one
        vectorised rapidfuzz call per form). Equal keys are left to the exact pass."""
        for form, index in ((key, 1), (core, 2)):
            choices = [w[index] for w in window]
            for _choice, _score, i in process.extract(form, choices, scorer=fuzz.ratio,
                                                       score_cutoff=FUZZY_MIN, limit=None):
                if window[i][1] != key:
                    self.add(pk, window[i][0])

    def near_pass(self) -> None:
        """Organisations of one name block (city + start of the name key) are
        read sorted by name key; each is compared with the WINDOW before it."""
        for batch in self.blocks():
            rows = (Customer.all_objects.filter(name_block__in=[b for b, _ in batch])
                    .order_by("name_block", "name_key", "pk")
                    .values_list("pk", "name_key", "name_block", "city", "kind", "deleted_at"))
            window: deque[tuple[int, str, str]] = deque(maxlen=WINDOW)
            current = None
            for pk, key, block, city, kind, deleted_at in list(rows):
                if deleted_at is not None or kind != CustomerKind.ORGANISATION or not key:
                    continue
                if block != current:
                    window.clear()
                    current = block
                core = core_key(key, city)
                if window:
                    self._compare(pk, key, core, window)
                window.append((pk, key, core))
            self.progress(sum(n for _, n in batch))


def scan_report(job=None) -> dict[str, Any]:
    """Run the whole scan (see the module docstring); the result is the job's result."""
    scanner = _Scanner(job)
    sources = scanner.exact_sources()
    group_counts = [scanner.groups(qs, key, id_field).filter(n__gt=1).count()
                    for _, qs, key, id_field in sources]
    in_blocks = (scanner._block_sizes().filter(name_block__gt="")
                 .aggregate(total=Sum("n"))["total"] or 0)
    scanner.total = sum(group_counts) + in_blocks
    scanner.progress(0)
    for source in sources:
        scanner.exact_pass(*source)
    scanner.near_pass()
    scanner.flush()
    result: dict[str, Any] = {
        "pairs_checked": scanner.seen,
        "new": scanner.created,
        "updated": scanner.updated,
    }
    if scanner.skipped:
        result["skipped_shared_keys"] = sum(scanner.skipped.values())
        result["skipped_examples"] = "; ".join(scanner.skipped_examples)
    return result


def scan(job=None) -> int:
    """Find likely duplicates among all customers; returns how many new pairs were added."""
    return int(scan_report(job)["new"])


# ------------------------------------------------------------------ reading


def candidates_for(user) -> QuerySet[DuplicateCandidate]:
    """Open pairs where the user may see both customers, most likely first."""
    visible = Customer.objects.visible_to(user)
    qs = DuplicateCandidate.objects.filter(
        status=DuplicateStatus.OPEN,
        first__deleted_at__isnull=True,
        second__deleted_at__isnull=True,
    )
    if not getattr(user, "sees_all_customers", False) or not user.is_active:
        ids = visible.values("pk")
        qs = qs.filter(first__in=ids, second__in=ids)
    return qs.select_related("first", "second", "first__owner", "second__owner").order_by(
        "-score", "id")


def dismiss_candidate(*, actor, candidate: DuplicateCandidate) -> None:
    """Mark a pair "not a duplicate": later scans and imports leave it closed."""
    from . import permissions as perms

    perms.require(candidate.status == DuplicateStatus.OPEN
                  and perms.can_merge(actor, [candidate.first, candidate.second]))
    DuplicateCandidate.objects.filter(pk=candidate.pk, status=DuplicateStatus.OPEN).update(
        status=DuplicateStatus.DISMISSED, decided_by=actor, decided_at=timezone.now())
