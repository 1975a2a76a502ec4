"""Row generation for the demo data: pure Python, no database, no Django models.

The loader splits the customers into chunks (plan.py) and hands each chunk to
`generate_chunk`, possibly in worker processes. A chunk's rows depend only on the
seed, the chunk's index and the plan, never on which process made them or in
which order: the same seed gives the same data.

Rows are tuples in the column order of CUSTOMER_COLUMNS, CONTACT_COLUMNS and
INTERACTION_COLUMNS (model attribute names). Phones are generated already in E.164
form from patterns that phonenumbers accepts (see geo.py and the tests), so no
per-row parsing is needed; datetimes are UTC text for SQLite or aware datetimes.
"""

from __future__ import annotations

import random

from .builder import CustomerBuilder
from .plan import ChunkRows, ChunkSpec, Plan
from .sales import SalesGen
from .tables import clock_for, tables_for


def generate_chunk(plan: Plan, spec: ChunkSpec) -> ChunkRows:
    """All rows of one chunk of customers, deterministically from (seed, chunk index)."""
    sk = plan.skeleton
    tables = tables_for((plan.seed, tuple((k, tuple(v)) for k, v in sorted(sk.reps.items()))))
    clock = clock_for(plan.today, plan.time_zone, plan.text_datetimes)
    rng = random.Random(f"{plan.seed}/chunk/{spec.index}")
    out = ChunkRows()
    contact_id, interaction_id = spec.contact_id, spec.interaction_id
    sales = SalesGen(plan, spec, tables, clock) if sk.sales is not None else None
    for j in range(len(spec.tiers)):
        ctx = CustomerBuilder(plan, spec, j, rng, tables, clock)
        ctx.contacts(contact_id)
        pins = sales.before_history(ctx, j, out) if sales else ()
        ctx.history(interaction_id, out, pins)
        if sales:
            sales.after_history(ctx, out)
        contact_id += spec.n_contacts[j]
        interaction_id += spec.n_interactions[j]
        out.customers.append(ctx.row())
        out.contacts.extend(ctx.contact_rows)
        out.customer_tags.extend((ctx.id, t) for t in ctx.tag_ids)
        out.shared_with.extend((ctx.id, u) for u in ctx.shared)
    return out
