"""Daily working-capital snapshots: what the owner's dashboard showed for a day, kept to draw its trends
and to show a past day again exactly as it was.

A day's *payload* is plain JSON (amounts as decimal strings): the figures per currency and in base
(``billing.exposure.figures``), the cash conversion cycle (``billing.exposure.metrics``), the largest
exposures and the customers over their limit or overdue (``billing.exposure.dashboard_lists``). Work
queues — low wallets, unrated events, open reconciliation differences — have no history in the ledger,
so they are counted only when the snapshot is taken on the day or the morning after (the nightly job);
a day back-filled later from the ledger has them as None ("not recorded").

Today's payload is read live and cached for ``LIVE_SECONDS`` (the overdue split and the month's income
walk many rows): a beat job recomputes it every minute (``capital_live_task``), so a page rarely waits.
A past day's comes from its snapshot, or is computed from the ledger as of its end and stored
(``snapshot_take``). Re-taking a day replaces its row: one per day.
"""

import time
from datetime import date, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models.fields.json import KT
from django.utils import timezone

from billing.exposure import dashboard_lists as lists
from billing.exposure.figures import NAMES, figures_for_day
from billing.exposure.metrics import cycle_metrics
from billing.exposure.models import CapitalSnapshot
from billing.fx.rates import BaseRates

LIVE_SECONDS = 60
# How long a computed payload may still be shown while a newer one is being computed.
STALE_SECONDS = 15 * 60
TREND_DAYS = 90
METRIC_FIELDS = (
    "dso",
    "dpo",
    "cover_days",
    "ccc",
    "receivables",
    "credit_sales",
    "payables",
    "purchases",
    "upstream_prepaid",
    "daily_cost",
)


def _text(value) -> str | None:
    return None if value is None else str(value)


def _metrics(day: date | None) -> dict:
    cycle = cycle_metrics(day=day)
    out = {name: _text(getattr(cycle, name)) for name in METRIC_FIELDS}
    out.update(window_days=cycle.window_days, missing_rates=list(cycle.missing_rates))
    return out


def day_payload(day: date | None = None, *, queues: bool | None = None) -> dict:
    """Everything the dashboard shows for the end of ``day`` (None: now), as JSON-ready data.

    ``queues`` counts the work queues (default: for today and yesterday, see the module docstring).
    """
    today = timezone.localdate()
    on = day or today
    if day is not None and day >= today:
        day = None  # today's (or a future) end is now: read the cached balances
    rates = BaseRates()
    figures = figures_for_day(day)
    currencies = set(figures.currencies)
    if queues is None:
        queues = on >= today - timedelta(days=1)
    payload = {
        "day": on.isoformat(),
        "base_currency": figures.base_currency,
        "base": {name: _text(figures.base[name]) for name in NAMES},
        "currencies": {
            ccy: {name: _text(values.get(name, Decimal(0))) for name in NAMES}
            for ccy, values in sorted(figures.currencies.items())
        },
        "missing_rates": figures.missing_rates,
        "metrics": _metrics(day),
        "exposures": lists.top_exposures(day, on, rates, currencies),
        "over_limit": lists.over_limit(day),
        "overdue_customers": lists.overdue_customers(on, rates, currencies),
        "queues": None,
        "counted_at": None,
    }
    if queues:
        payload["queues"] = {
            "low_wallets": lists.low_wallets(),
            "unrated": lists.unrated_count(),
            "recon": lists.recon_open(figures.base_currency),
        }
        payload["counted_at"] = timezone.now().isoformat()
    return payload


def snapshot_take(day: date) -> CapitalSnapshot:
    """Compute ``day``'s payload from the ledger as of its end and store it (replacing any earlier one)."""
    if day >= timezone.localdate():
        raise ValueError(f"{day} has not ended yet; only ended days are snapshotted.")
    payload = day_payload(day)
    snapshot, _created = CapitalSnapshot.objects.update_or_create(
        day=day, defaults={"base_currency": payload["base_currency"], "figures": payload}
    )
    return snapshot


def snapshots_backfill(*, until: date, days: int = TREND_DAYS) -> list[date]:
    """Take the snapshot of every day of the ``days`` ending ``until`` that has none; return those taken."""
    start = until - timedelta(days=days - 1)
    have = set(CapitalSnapshot.objects.filter(day__range=(start, until)).values_list("day", flat=True))
    taken = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        if day not in have:
            snapshot_take(day)
            taken.append(day)
    return taken


def live_payload_refresh() -> dict:
    """Compute today's payload now and cache it (the minute beat job, and a page finding it stale)."""
    payload = day_payload(None)
    cache.set(_live_key(), (time.time(), payload), STALE_SECONDS)
    return payload


def live_payload() -> dict:
    """Today's payload, at most ``LIVE_SECONDS`` old: refreshed by the beat job every minute; a page that
    finds it older refreshes it itself, unless another request already is (then the previous minute's
    payload is shown meanwhile, never an empty page)."""
    cached = cache.get(_live_key())
    if cached is not None and time.time() - cached[0] < LIVE_SECONDS:
        return cached[1]
    if cached is not None and not cache.add(_live_key() + ":refreshing", 1, LIVE_SECONDS):
        return cached[1]
    return live_payload_refresh()


def _live_key() -> str:
    return f"exposure:dashboard:{timezone.localdate().isoformat()}"


def payload_for(day: date | None) -> tuple[dict, CapitalSnapshot | None]:
    """The payload to show for ``day`` (None or today: live) and the snapshot it came from, if any."""
    if day is None or day >= timezone.localdate():
        return live_payload(), None
    snapshot = CapitalSnapshot.objects.filter(day=day).first() or snapshot_take(day)
    return snapshot.figures, snapshot


def float_trend(until: date, today_float: str | None = None, days: int = TREND_DAYS) -> dict:
    """Funded float in base per day for the ``days`` ending ``until`` from the snapshots (None where a day
    has none yet), with ``until``'s own value when given (today's live figure)."""
    start = until - timedelta(days=days - 1)
    stored = dict(
        CapitalSnapshot.objects.filter(day__range=(start, until))
        .annotate(value=KT("figures__base__funded_float"))
        .values_list("day", "value")
    )
    labels, values = [], []
    for offset in range(days):
        day = start + timedelta(days=offset)
        value = today_float if day == until and today_float is not None else stored.get(day)
        labels.append(day.isoformat())
        values.append(value)
    return {"labels": labels, "values": values, "missing": sum(v is None for v in values)}
