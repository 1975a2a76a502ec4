"""Background tasks of the core app. Each takes a Job id (see core/jobs.py)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_noop
from django_tasks import task

from .jobs import job_body, job_progress, start_job
from .models import Job

REBUILD_SEARCH_INDEX = "rebuild_search_index"
BATCH_SIZE = 500


@task()
@job_body
def rebuild_search_index(job: Job, batch_size: int = BATCH_SIZE) -> dict[str, Any]:
    """Recompute every customer's search text and last contact date, in batches.

    Idempotent: running it twice gives the same result. Customers in the recycle
    bin are included, so a restored customer is found again at once.
    """
    from guanxi.activities.models import Interaction
    from guanxi.activities.services import CONTACT_KINDS
    from guanxi.parties.models import Customer
    from guanxi.parties.search import build_search_text

    ids = list(Customer.all_objects.order_by("pk").values_list("pk", flat=True))
    total = len(ids)
    job_progress(job.pk, 0, total, force=True)
    changed = 0
    for start in range(0, total, batch_size):
        chunk = ids[start:start + batch_size]
        customers = list(Customer.all_objects.filter(pk__in=chunk).prefetch_related("contacts"))
        last_contact = dict(
            Interaction.objects.filter(customer_id__in=chunk, kind__in=CONTACT_KINDS)
            .values("customer_id").annotate(last=Max("occurred_at"))
            .values_list("customer_id", "last")
        )
        dirty = []
        for customer in customers:
            text = build_search_text(customer, contacts=list(customer.contacts.all()))
            last = last_contact.get(customer.pk)
            if customer.search_text != text or customer.last_contact_at != last:
                customer.search_text, customer.last_contact_at = text, last
                dirty.append(customer)
        if dirty:
            # One short write transaction per batch; bulk_update is a queryset .update()
            # with CASE … WHEN and leaves version and updated_at untouched.
            with transaction.atomic():
                Customer.all_objects.bulk_update(dirty, ["search_text", "last_contact_at"])
            changed += len(dirty)
        job_progress(job.pk, min(start + batch_size, total), total)
    # Merge the index's segments and refresh the trigram statistics the search planner
    # uses; worth running nightly (`guanxi reindex` from cron) on a busy database.
    from guanxi.parties.search_index import optimize_search_index

    optimize_search_index()
    return {"customers": total, "changed": changed}


def start_rebuild_search_index(*, actor) -> Job:
    """Start the "rebuild search index" job (administrators, `guanxi reindex`)."""
    return start_job(actor=actor, kind=REBUILD_SEARCH_INDEX,
                     title=gettext_noop("Rebuild search index and last contact dates"),
                     task=rebuild_search_index, params={})
