"""What a demo load creates, decided up front: per-customer counts and id ranges.

The loader draws every customer's kind, tier and numbers of contacts and
interactions here, so each chunk knows the ids it must use and can be generated
independently (in another process) from the seed and its index alone.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sales import SalesSkeleton

CUSTOMER_COLUMNS = (
    "id", "created_at", "updated_at", "version", "kind", "name", "short_name", "country",
    "province", "city", "district", "street", "postal_code", "phone", "phone_ext", "email",
    "website", "industry_id", "source", "team_id", "owner_id", "tier", "stage", "credit_days",
    "credit_limit", "consent_email", "consent_sms", "consent_phone", "consent_mail", "custom",
    "notes", "last_contact_at", "search_text", "source_system", "external_id", "name_key",
    "name_block",
)
CONTACT_COLUMNS = (
    "id", "created_at", "updated_at", "version", "customer_id", "name", "title", "department",
    "mobile", "phone", "phone_ext", "email", "wechat", "is_primary", "consent_email",
    "consent_sms", "consent_phone", "notes",
)
INTERACTION_COLUMNS = (
    "id", "created_at", "updated_at", "version", "customer_id", "contact_id", "kind",
    "direction", "channel", "occurred_at", "subject", "body", "outcome", "duration_minutes",
    "next_step", "follow_up_on", "follow_up_done", "created_by_id", "opportunity_id",
)
HISTORY_DAYS = 730  # interactions spread over the last two years
MAX_AGE_DAYS = 1100  # the oldest customers were created three years ago
PERSON_NAMES = 20_000  # distinct names of people (contacts and individual customers)
TIER_WEIGHTS = {"A": 2.0, "B": 1.2, "C": 0.75}  # relative number of interactions


@dataclass
class Skeleton:
    """Ids of the rows created through the ORM (teams, users, industries, tags)."""

    company_id: int
    region_ids: dict[str, int]
    office_team_ids: dict[str, int]  # office key → team id
    reps: dict[str, list[int]]  # office key → rep user ids
    managers: dict[str, int]  # region name → manager user id
    service_ids: list[int]
    industry_ids: dict[str, int]  # industry code → id
    tag_ids: list[int]
    custom_fields: list[dict] = field(default_factory=list)
    pack_applied: bool = False
    logins: list[tuple[str, str, str, str]] = field(default_factory=list)
    sales: SalesSkeleton | None = None  # no sales rows without it


@dataclass(frozen=True)
class Plan:
    seed: int
    today: dt.date
    time_zone: str
    text_datetimes: bool  # SQLite stores UTC text; PostgreSQL takes aware datetimes
    skeleton: Skeleton


@dataclass(frozen=True)
class ChunkSpec:
    index: int
    customer_id: int  # id of the chunk's first customer; the others follow
    contact_id: int
    interaction_id: int
    kinds: str  # per customer: "o" organisation, "p" individual, "f" foreign
    tiers: str
    n_contacts: bytes
    n_interactions: tuple[int, ...]
    forced_follow_ups: int = 0  # the first chunk gives every rep follow-ups to do
    opportunity_id: int = 1  # id of the chunk's first deal and first lead
    lead_id: int = 1
    n_opportunities: bytes = b""  # per customer (empty: none)
    n_leads: bytes = b""


@dataclass
class ChunkRows:
    customers: list[tuple] = field(default_factory=list)
    contacts: list[tuple] = field(default_factory=list)
    interactions: list[tuple] = field(default_factory=list)
    customer_tags: list[tuple[int, int]] = field(default_factory=list)
    shared_with: list[tuple[int, int]] = field(default_factory=list)
    participant_users: list[tuple[int, int]] = field(default_factory=list)
    participant_contacts: list[tuple[int, int]] = field(default_factory=list)
    # Sales (sales.py): rows in the column order of its *_COLUMNS.
    leads: list[tuple] = field(default_factory=list)
    opportunities: list[tuple] = field(default_factory=list)
    stage_changes: list[tuple] = field(default_factory=list)
    opportunity_products: list[tuple[int, int]] = field(default_factory=list)
    tasks: list[tuple] = field(default_factory=list)
    owner_changes: list[tuple] = field(default_factory=list)


# --- Planning (the loader's process) ------------------------------------------------


def plan_customers(seed: int, n: int, per_customer: float, chunk_size: int, *,
                   customer_id: int, contact_id: int, interaction_id: int,
                   forced: int, opportunity_id: int = 1, lead_id: int = 1) -> list[ChunkSpec]:
    """Draw the per-customer counts up front so every chunk knows its id ranges.

    Interactions are shared out by weight (tier A customers get more) with
    cumulative rounding, so the total is exactly round(n * per_customer).
    """
    rng = random.Random(f"{seed}/plan")
    rnd = rng.random
    kinds, tiers, n_contacts, weights = [], [], bytearray(), []
    for _ in range(n):
        x = rnd()
        kind = "f" if x < 0.006 else ("p" if x < 0.036 else "o")
        t = rnd()
        tier = "A" if t < 0.10 else ("B" if t < 0.40 else "C")
        if kind == "p":
            tier = "C" if t < 0.9 else "B"
        c = rnd()
        kinds.append(kind)
        tiers.append(tier)
        n_contacts.append(1 if kind == "p" or c < 0.45 else (2 if c < 0.80 else 3))
        weights.append(TIER_WEIGHTS[tier] * (0.3 + 1.4 * rnd()))
    total = round(n * per_customer)
    scale = total / (sum(weights) or 1.0)
    counts, cum, done = [], 0.0, 0
    for w in weights:
        cum += w * scale
        target = round(cum)
        counts.append(target - done)
        done = target
    for i in range(min(forced, n)):  # customers with forced follow-ups need a history
        if counts[i] == 0:
            donor = max(range(n), key=counts.__getitem__)
            if counts[donor] > 1:
                counts[donor] -= 1
                counts[i] = 1
    from .sales import plan_sales_counts

    deals, leads = plan_sales_counts(seed, tiers)
    specs = []
    for i, start in enumerate(range(0, n, chunk_size)):
        end = min(n, start + chunk_size)
        specs.append(ChunkSpec(
            index=i, customer_id=customer_id + start, contact_id=contact_id,
            interaction_id=interaction_id, kinds="".join(kinds[start:end]),
            tiers="".join(tiers[start:end]), n_contacts=bytes(n_contacts[start:end]),
            n_interactions=tuple(counts[start:end]), forced_follow_ups=forced if i == 0 else 0,
            opportunity_id=opportunity_id, lead_id=lead_id,
            n_opportunities=bytes(deals[start:end]), n_leads=bytes(leads[start:end]),
        ))
        contact_id += sum(n_contacts[start:end])
        interaction_id += sum(counts[start:end])
        opportunity_id += sum(deals[start:end])
        lead_id += sum(leads[start:end])
    return specs
