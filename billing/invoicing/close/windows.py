"""The time-of-day window (off-peak) share of each usage line: how much of it was sold at a window's prices.

Nothing here changes what a line bills: its amount and tokens come from ``measure`` as before. This only
says which part of them was sold at a window's prices (DeepSeek's night prices), for the documents to
show a line's standard-hours and window parts apart (``billing.documents.line_prices``).

Measured as the line is, cumulatively and by ``occurred_at``: a window's share of a line is the
window-priced credit usage up to the line's end minus what earlier invoices' lines said of that window
(``details.windows``), a later period's interim invoices counted as ``measure.billed_against`` counts
them. The credit usage is read with the same ``measure.pieces`` as the line's: whole operator days from
``UsageWindowDaily``, and the rest — a terms switch's day around the switch, a progressive cut-off's last
hours — from the raw events' ``price_window``, because the hourly rollups do not keep the window. So a
line's windows never exceed what the line measured, and its standard-hours part (the line minus its
windows) is exact too. One approximation: a customer whose window usage was all re-rated away (no
window rows left) is not looked up for what earlier lines said of windows, so such a line's windows
stay empty and its standard part carries the correction.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum

from billing.invoicing.close.measure import (
    ALWAYS,
    TOKEN_SUMS,
    ZERO,
    Interval,
    billed_against,
    pieces,
    token_classes,
)
from billing.invoicing.models import Invoice, InvoiceLine
from billing.invoicing.periods import Period
from billing.money import ledger_round
from billing.usage.models import RatingState, UsageEvent, UsageWindowDaily
from common.days import local_midnight

LineKey = tuple[int, int, str]
"""(customer id, model id, sell currency): one usage line."""
Shares = dict[LineKey, dict[str, dict]]
"""Per usage line, per window label: ``{"tokens": {class: n}, "requests": n, "amount": exact text}``."""

_GROUP = ("customer_id", "model_id", "sell_currency", "price_window")
_SUMS = {"amount": Sum("sell_amount"), **TOKEN_SUMS}


def _until(intervals: list[Interval], high: datetime) -> list[Interval]:
    """``intervals`` cut to end by ``high``, empty ones left out."""
    out = []
    for since, until in intervals:
        until = high if until is None or until > high else until
        if since is None or since < until:
            out.append((since, until))
    return out


def _filters(intervals: dict[int, list[Interval]], high: datetime) -> tuple[Q, Q]:
    """The (``UsageWindowDaily``, raw-event) filters of each customer's credit intervals up to ``high``:
    whole days from the daily window rollup, every hour and part of an hour from the events."""
    days_q, raw_q = Q(pk__in=[]), Q(pk__in=[])
    always = [cid for cid, ivs in intervals.items() if ivs == ALWAYS]
    selections = [({"customer_id__in": always}, ALWAYS)] if always else []
    selections += [({"customer_id": cid}, ivs) for cid, ivs in intervals.items() if ivs != ALWAYS]
    for who, ivs in selections:
        for since, until in _until(ivs, high):
            p = pieces(since, until)
            if p.days is not None:
                first, last = p.days
                bounds = {"day__gte": first, "day__lt": last}
                days_q |= Q(**who, **{k: v for k, v in bounds.items() if v is not None})
            for start, end in (*p.hours, *p.raw):
                bounds = {"occurred_at__gte": start, "occurred_at__lt": end}
                raw_q |= Q(**who, **{k: v for k, v in bounds.items() if v is not None})
    return days_q, raw_q


def _window_usage(intervals: dict[int, list[Interval]], high: datetime) -> dict[LineKey, dict[str, dict]]:
    """Window-priced credit usage per line and window label, up to ``high``: amount, requests (``n``) and
    the rollup sums ``measure.token_classes`` reads."""
    days_q, raw_q = _filters(intervals, high)
    daily = UsageWindowDaily.objects.filter(days_q).values(*_GROUP).annotate(n=Sum("requests"), **_SUMS)
    events = (
        UsageEvent.objects.filter(raw_q, rating_state=RatingState.RATED)
        .exclude(price_window="")
        .values(*_GROUP)
        .annotate(n=Count("id"), **_SUMS)
    )
    out: dict[LineKey, dict[str, dict]] = defaultdict(dict)
    for rows in (daily.order_by(), events.order_by()):
        for r in rows:
            key = (r["customer_id"], r["model_id"], r["sell_currency"])
            label = r["price_window"]
            sums = {name: value for name, value in r.items() if name not in _GROUP}
            if label in out[key]:
                had = out[key][label]
                sums = {name: (had[name] or 0) + (value or 0) for name, value in sums.items()}
            out[key][label] = sums
    return out


def _windows_billed(customer_ids: list[int], period: Period) -> dict[LineKey, dict[str, dict]]:
    """What standing invoices' usage lines said of each window, per line and label, in the shape of a
    ``measure.usage_billed`` row (the requests as one more count), for ``billed_against``. The lines are
    those ``usage_billed`` sums, but void ones: only those with windows are read."""
    lines = (
        InvoiceLine.objects.filter(
            Q(invoice__period_end__lte=period.end) | Q(invoice__kind=Invoice.Kind.INTERIM),
            invoice__customer_id__in=customer_ids,
            kind=InvoiceLine.Kind.USAGE,
            ai_model__isnull=False,
            details__has_key="windows",
        )
        .exclude(invoice__status=Invoice.Status.VOID)
        .values_list(
            "invoice__customer_id",
            "ai_model_id",
            "invoice__currency",
            "invoice__kind",
            "invoice__period_end",
            "details",
        )
    )
    out: dict[LineKey, dict[str, dict]] = defaultdict(dict)
    for cid, model_id, currency, kind, period_end, details in lines:
        later = kind == Invoice.Kind.INTERIM and period_end > period.end
        windows = details.get("windows") if isinstance(details, dict) else None
        for label, part in (windows or {}).items():
            before = out[(cid, model_id, currency)].setdefault(
                label,
                {"amount": ZERO, "tokens": defaultdict(int), "later": ZERO, "later_tokens": defaultdict(int)},
            )
            amount = Decimal(str(part.get("amount") or "0"))
            counts = {"requests": int(part.get("requests") or 0), **(part.get("tokens") or {})}
            before["amount"] += amount
            for cls, n in counts.items():
                before["tokens"][cls] += int(n)
            if later:
                before["later"] += amount
                for cls, n in counts.items():
                    before["later_tokens"][cls] += int(n)
    return out


def _share(sums: dict | None, before: dict | None) -> dict | None:
    """One window's share of a line: its cumulative usage minus what was billed of it (None: nothing)."""
    amount = ledger_round(sums["amount"] or ZERO) if sums else ZERO
    counts = {"requests": int(sums["n"] or 0), **token_classes(sums)} if sums else {}
    if before is not None:
        # The requests ride along as one more count: billed_against treats every key alike.
        counts = {cls: counts.get(cls, 0) for cls in counts.keys() | before["tokens"].keys()}
        previously, counted = billed_against(before, amount, counts)
        amount -= previously
        counts = {cls: n - counted[cls] for cls, n in counts.items()}
    requests = counts.pop("requests", 0)
    tokens = {cls: n for cls, n in counts.items() if n}
    if not amount and not requests and not tokens:
        return None
    return {"tokens": tokens, "requests": requests, "amount": str(amount)}


def window_shares(
    customer_ids: list[int],
    period: Period,
    intervals: dict[int, list[Interval]],
    *,
    high: datetime | None = None,
) -> Shares:
    """Each usage line's window shares (module docstring): the credit usage up to ``high`` (the period's
    end by default; a progressive cut-off) in each customer's credit intervals (``measure.credit_intervals``;
    a customer left out is on credit for all time), net of what earlier invoices said of it. Lines with
    no window usage are left out: one indexed query of the daily window rollup per call, and no more
    when no customer has any."""
    if not customer_ids:
        return {}
    high = high or local_midnight(period.end + timedelta(days=1))
    usage = _window_usage({cid: intervals.get(cid, ALWAYS) for cid in customer_ids}, high)
    if not usage:
        return {}
    billed = _windows_billed(sorted({key[0] for key in usage}), period)
    out: Shares = {}
    for key, by_label in usage.items():
        before_of = billed.get(key, {})
        shares = {}
        for label in sorted(by_label.keys() | before_of.keys()):
            share = _share(by_label.get(label), before_of.get(label))
            if share is not None:
                shares[label] = share
        if shares:
            out[key] = shares
    return out
