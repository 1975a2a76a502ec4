"""The sales app's periodic jobs, started by `guanxi scheduler` (core/scheduler.py)."""

from __future__ import annotations

import datetime as dt

from guanxi.core import scheduler


def _auto_return() -> object:
    from .pool import start_auto_return

    return start_auto_return()


scheduler.register("sales.pool_auto_return", dt.timedelta(days=1), _auto_return,
                   "Return neglected customers to the pool")


def _retrain_scoring() -> object:
    from .scoring import start_retrain

    return start_retrain()


scheduler.register("sales.scoring_retrain", dt.timedelta(days=1), _retrain_scoring,
                   "Retrain win-probability scoring")
