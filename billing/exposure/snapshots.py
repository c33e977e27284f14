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

A past day is not frozen at its first snapshot: invoices with earlier issue dates, opening items and
payments entered the next morning are posted later with an effective date on or before it. So each
snapshot records the ledger *mark* its figures hold (the highest journal transaction, payment allocation
and exchange-rate ids then, ``ledger_mark``); a snapshot is stale when anything with a higher id takes
effect on or before its day (``snapshot_stale``: two or three index-backed exists queries). Readers
re-take a stale day (finance and admin page views, the tasks) or compute it without storing (every other
reader, cached per mark). The nightly job finds the earliest effective date posted since the marks of the
window in one query per source, re-takes the stale days and moves the others' marks on, so the next
night's search starts where this one ended. Work queues have no history: a re-take keeps those recorded.
"""

import time
from datetime import date, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Max, Min
from django.db.models.fields.json import KT
from django.utils import timezone

from billing.exposure import dashboard_lists as lists
from billing.exposure.figures import NAMES, figures_for_day
from billing.exposure.metrics import cycle_metrics
from billing.exposure.models import CapitalSnapshot
from billing.fx.rates import BaseRates
from billing.ledger.models import JournalTransaction
from billing.receivables.models import PaymentAllocation
from billing.receivables.moments import day_end
from catalog.models import FxRate
from common.cache_fallback import cache_read, cache_write

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


# What a snapshot's figures are read from, by id, and the field dating each row's effect.
MARK_SOURCES = ("journal", "allocation", "fx")


def ledger_mark() -> dict[str, int]:
    """The ledger's state now: the highest id of each source a past day's figures are read from."""
    return {
        "journal": JournalTransaction.objects.aggregate(m=Max("pk"))["m"] or 0,
        "allocation": PaymentAllocation.objects.aggregate(m=Max("pk"))["m"] or 0,
        "fx": FxRate.objects.aggregate(m=Max("pk"))["m"] or 0,
    }


def _valid(mark: dict | None) -> dict[str, int] | None:
    """A recorded mark, or None for a snapshot taken before marks were recorded (always stale)."""
    return mark if mark and all(key in mark for key in MARK_SOURCES) else None


def _mark_of(snapshot: CapitalSnapshot | None) -> dict[str, int] | None:
    """The mark a snapshot's figures hold (None: none recorded)."""
    return _valid(snapshot.figures.get("ledger_mark")) if snapshot is not None else None


def snapshot_stale(day: date, mark: dict[str, int] | None) -> bool:
    """Whether anything posted after ``mark`` takes effect on or before ``day`` (so its figures moved).

    Each test reads the rows after the mark by primary key, or those dated up to ``day`` by the date
    index, whichever the planner finds fewer: both are index-backed and stop at the first row found.
    """
    if mark is None:
        return True
    return (
        JournalTransaction.objects.filter(pk__gt=mark["journal"], effective_date__lte=day).exists()
        or PaymentAllocation.objects.filter(pk__gt=mark["allocation"], allocated_at__lt=day_end(day)).exists()
        or FxRate.objects.filter(pk__gt=mark["fx"], date__lte=day).exists()
    )


def earliest_effect_since(marks: list[dict[str, int] | None]) -> date | None:
    """The earliest day anything posted after the oldest of ``marks`` takes effect (None: nothing was;
    a missing mark is left out: its snapshot is stale anyway).

    One aggregate per source over the rows after the mark: since the nightly job moves every fresh
    snapshot's mark on, these are the rows of about one day.
    """
    marks = [m for m in marks if m is not None]
    if not marks:
        return None
    floor = {key: min(m[key] for m in marks) for key in MARK_SOURCES}
    days = [
        JournalTransaction.objects.filter(pk__gt=floor["journal"]).aggregate(d=Min("effective_date"))["d"],
        FxRate.objects.filter(pk__gt=floor["fx"]).aggregate(d=Min("date"))["d"],
    ]
    moment = PaymentAllocation.objects.filter(pk__gt=floor["allocation"]).aggregate(m=Min("allocated_at"))[
        "m"
    ]
    if moment is not None:
        days.append(timezone.localtime(moment).date())
    days = [d for d in days if d is not None]
    return min(days) if days else None


def stale_days(marks: dict[date, dict | None]) -> set[date]:
    """The days of ``marks`` (day → the mark its snapshot holds) whose figures the ledger has moved since:
    one aggregate per source bounds the search, then only the days from the earliest effect on are
    tested one by one."""
    marks = {day: _valid(mark) for day, mark in marks.items()}
    earliest = earliest_effect_since(list(marks.values()))
    return {
        day
        for day, mark in marks.items()
        if mark is None or (earliest is not None and day >= earliest and snapshot_stale(day, mark))
    }


def _window_marks(start: date, until: date) -> dict[date, dict | None]:
    """Each snapshot's day and mark in [start, until], without loading their payloads."""
    rows = CapitalSnapshot.objects.filter(day__range=(start, until)).values_list(
        "day", "figures__ledger_mark"
    )
    return dict(rows)


def _keep_queues(payload: dict, previous: CapitalSnapshot | None) -> dict:
    """Carry the work queues recorded by an earlier snapshot of the day: they have no history to re-read."""
    if previous is not None and previous.figures.get("queues") is not None:
        payload["queues"] = previous.figures["queues"]
        payload["counted_at"] = previous.figures.get("counted_at")
    return payload


def _computed(day: date, previous: CapitalSnapshot | None) -> dict:
    """``day``'s payload from the ledger now, with the mark taken first (a posting made while computing
    leaves the result stale rather than wrongly fresh)."""
    mark = ledger_mark()
    payload = _keep_queues(day_payload(day), previous)
    payload["ledger_mark"] = mark
    return payload


def snapshot_take(day: date) -> CapitalSnapshot:
    """Compute ``day``'s payload from the ledger as of its end and store it (replacing any earlier one,
    whose recorded work queues it keeps)."""
    if day >= timezone.localdate():
        raise ValueError(f"{day} has not ended yet; only ended days are snapshotted.")
    previous = CapitalSnapshot.objects.filter(day=day).first()
    payload = _computed(day, previous)
    snapshot, _created = CapitalSnapshot.objects.update_or_create(
        day=day, defaults={"base_currency": payload["base_currency"], "figures": payload}
    )
    return snapshot


def snapshots_refresh(*, until: date, days: int = TREND_DAYS) -> dict[str, list[date]]:
    """Bring the snapshots of the ``days`` ending ``until`` up to the ledger: take the missing days,
    re-take the stale ones, and move the others' marks on to now (nothing posted since changes them).

    Returns ``{"taken": [...], "retaken": [...]}``.
    """
    start = until - timedelta(days=days - 1)
    now_mark = ledger_mark()
    snapshots = {s.day: s for s in CapitalSnapshot.objects.filter(day__range=(start, until))}
    stale = stale_days({day: s.figures.get("ledger_mark") for day, s in snapshots.items()})
    taken, retaken, checked = [], [], []
    for offset in range(days):
        day = start + timedelta(days=offset)
        snapshot = snapshots.get(day)
        if snapshot is None:
            snapshot_take(day)
            taken.append(day)
        elif day in stale:
            snapshot_take(day)
            retaken.append(day)
        elif _mark_of(snapshot) != now_mark:
            snapshot.figures["ledger_mark"] = now_mark
            checked.append(snapshot)
    # Only the mark moves: computed_at (auto_now) still says when the figures were computed.
    CapitalSnapshot.objects.bulk_update(checked, ["figures"])
    return {"taken": taken, "retaken": retaken}


def day_read(day: date, *, store: bool) -> tuple[dict, CapitalSnapshot | None]:
    """The payload of the ended ``day`` and the snapshot it comes from: the stored one while fresh, else
    re-taken (``store``) or computed without storing (cached per ledger mark, so a reader who may not
    store does not recompute it on every page)."""
    snapshot = CapitalSnapshot.objects.filter(day=day).first()
    if snapshot is not None and not snapshot_stale(day, _mark_of(snapshot)):
        return snapshot.figures, snapshot
    if store:
        return (taken := snapshot_take(day)).figures, taken
    mark = ledger_mark()
    key = f"exposure:day:{day.isoformat()}:" + ":".join(str(mark[k]) for k in MARK_SOURCES)
    payload = cache_read(key)
    if payload is None:
        payload = _computed(day, snapshot)
        cache_write(key, payload, STALE_SECONDS)
    return payload, None


def first_posting_day() -> date | None:
    """The earliest effective date in the journal (the effective-date index's first entry): no past day
    before it has anything to show."""
    return JournalTransaction.objects.aggregate(d=Min("effective_date"))["d"]


def live_payload_refresh() -> dict:
    """Compute today's payload now and cache it (the minute beat job, and a page finding it stale)."""
    payload = day_payload(None)
    cache_write(_live_key(), (time.time(), payload), STALE_SECONDS)
    return payload


def live_payload() -> dict:
    """Today's payload, at most ``LIVE_SECONDS`` old: refreshed by the beat job every minute; a page that
    finds it older refreshes it itself, unless another request already is (then the previous minute's
    payload is shown meanwhile, never an empty page). With the cache down every page computes it."""
    cached = cache_read(_live_key())
    if cached is not None and time.time() - cached[0] < LIVE_SECONDS:
        return cached[1]
    if cached is not None and not cache.add(_live_key() + ":refreshing", 1, LIVE_SECONDS):
        return cached[1]
    return live_payload_refresh()


def _live_key() -> str:
    return f"exposure:dashboard:{timezone.localdate().isoformat()}"


def payload_for(day: date | None, *, store: bool = False) -> tuple[dict, CapitalSnapshot | None]:
    """The payload to show for ``day`` (None or today: live) and the snapshot it came from, if any;
    ``store``: the reader may write a past day's snapshot (finance, admin)."""
    if day is None or day >= timezone.localdate():
        return live_payload(), None
    return day_read(day, store=store)


def float_trend(
    until: date, today_float: str | None = None, days: int = TREND_DAYS, *, store: bool = False
) -> dict:
    """Funded float in base per day for the ``days`` ending ``until`` from the snapshots (None where a day
    has none yet), with ``until``'s own value when given (today's live figure).

    A stored day the ledger has moved since (``stale_days``) is re-read with ``day_read``.
    """
    start = until - timedelta(days=days - 1)
    rows = list(
        CapitalSnapshot.objects.filter(day__range=(start, until))
        .annotate(value=KT("figures__base__funded_float"))
        .values_list("day", "value", "figures__ledger_mark")
    )
    stored = {day: value for day, value, _mark in rows}
    for day in stale_days({day: mark for day, _value, mark in rows}):
        stored[day] = day_read(day, store=store)[0]["base"]["funded_float"]
    labels, values = [], []
    for offset in range(days):
        day = start + timedelta(days=offset)
        value = today_float if day == until and today_float is not None else stored.get(day)
        labels.append(day.isoformat())
        values.append(value)
    return {"labels": labels, "values": values, "missing": sum(v is None for v in values)}


def trend_refresh(until: date | None = None, days: int = TREND_DAYS) -> list[date]:
    """Re-take the stale snapshots of the trend window (the minute job, so pages rarely have to)."""
    until = until or timezone.localdate() - timedelta(days=1)
    start = until - timedelta(days=days - 1)
    stale = sorted(stale_days(_window_marks(start, until)))
    for day in stale:
        snapshot_take(day)
    return stale
