"""The service desk's periodic jobs, started by `guanxi scheduler` (core/scheduler.py)."""

from __future__ import annotations

import datetime as dt

from guanxi.core import scheduler


def _sla_checks() -> object:
    """Every minute: a job only when an SLA warning or escalation is due."""
    from .sla_services import scheduled

    return scheduled()


scheduler.register("servicedesk.sla_checks", dt.timedelta(minutes=1), _sla_checks,
                   "SLA warnings and escalations")
