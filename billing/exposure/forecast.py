"""The forecast: next period's upstream cash need, expected collections, the funded-float curve, the cycle.

The projected funded float applies the float's formula (``balances.funded_float``) day by day to terms
projected from today's ledger figures, in the base currency at today's rates:

* upstream prepaid — less each prepaid channel's projected consumption until its balance is gone (top-ups
  bought afterwards are consumed as they are bought, so they leave the term at zero);
* unbilled — plus credit customers' usage accrued, projected by a least-squares trend of the daily
  accrual over the trend window (its invoicing moves it to receivables: no change to the float);
* receivables — less the expected collections (``forecast_collections``);
* customer deposits — less wallet and pack consumption, projected by its trend, never below zero (top-ups
  are not forecast: nothing says when customers pay in);
* payables — plus postpaid channels' projected consumption (accrued), less vendor invoices paid on their
  due dates (open invoices and the postpaid months billed, ``forecast_upstream``).

The first point is today's float exactly. Collections of invoices not yet issued (the projected accrual)
are not counted: the curve rises with new credit usage until it is billed and collected, which is how
the float behaves over a billing period; over a long horizon it overstates the float by what those new
invoices would bring in.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q, Sum

from billing.exposure.balances import figures_by_currency
from billing.exposure.forecast_collections import Collections, expected_collections
from billing.exposure.forecast_upstream import (
    ChannelNeed,
    Trend,
    VendorNeed,
    channel_needs,
    daily_series,
    trend_fit,
    vendor_needs,
)
from billing.exposure.metrics import CycleMetrics, cycle_metrics
from billing.fx.rates import BaseRates
from billing.ledger.models import AccountKind as K
from billing.ledger.models import JournalEntry

ZERO = Decimal(0)
TERMS = ("upstream_prepaid", "unbilled", "receivables", "deposits", "payables")
WINDOW_MIN, WINDOW_MAX, WINDOW_DEFAULT = 28, 90, 56
HORIZON_MIN, HORIZON_MAX, HORIZON_DEFAULT = 7, 180, 90


@dataclass
class Forecast:
    today: date
    window: int
    horizon: int
    currency: str
    vendors: list[VendorNeed]
    collections: Collections
    metrics: CycleMetrics
    accrual_trend: Trend
    deposit_trend: Trend
    float_today: Decimal | None
    curve: list[tuple[date, Decimal]] = field(default_factory=list)
    changes: dict[str, Decimal] = field(default_factory=dict)  # each term's projected change (base)
    missing: list[str] = field(default_factory=list)

    @property
    def to_fund(self) -> Decimal | None:
        totals = [v.total_base for v in self.vendors]
        return None if any(t is None for t in totals) else sum(totals, ZERO)


def customer_flows(first: date, last: date, rates, today: date) -> tuple[list[Decimal], list[Decimal]]:
    """Daily credit usage accrued to unbilled and daily wallet/pack consumption over [first, last], in the
    base currency (operator's book; usage postings only, so invoicing and top-ups are left out)."""
    rows = (
        JournalEntry.objects.filter(
            Q(account__kind=K.UNBILLED_RECEIVABLE) | Q(account__kind__in=(K.WALLET_PAID, K.WALLET_PACK)),
            account__book_id=None,
            transaction__kind__startswith="usage.",
            transaction__effective_date__gte=first,
            transaction__effective_date__lte=last,
        )
        .order_by()
        .values("account__kind", "account__currency", "transaction__effective_date")
        .annotate(total=Sum("amount"))
    )
    accrued: dict[date, Decimal] = {}
    consumed: dict[date, Decimal] = {}
    for row in rows:
        rate = rates.rate(row["account__currency"], today)
        if rate is None:
            continue
        on, amount = row["transaction__effective_date"], row["total"] * rate
        if row["account__kind"] == K.UNBILLED_RECEIVABLE:
            accrued[on] = accrued.get(on, ZERO) + amount
        else:  # a deposit is credit-normal: consumption debits it
            consumed[on] = consumed.get(on, ZERO) + amount
    days = (last - first).days + 1
    return daily_series(accrued, first, days), daily_series(consumed, first, days)


def today_terms(rates, today: date) -> dict[str, Decimal] | None:
    """Today's float terms in the base currency, or None when a rate is missing (remembered in ``rates``)."""
    terms = dict.fromkeys((*TERMS, "funded_float"), ZERO)
    complete = True
    for currency, figures in figures_by_currency().items():
        if not any(figures[name] for name in (*TERMS, "funded_float")):
            continue
        rate = rates.rate(currency, today)
        if rate is None:
            complete = False
            continue
        for name in terms:
            terms[name] += figures[name] * rate
    return terms if complete else None


def _upstream_by_day(needs: list[ChannelNeed], rates, today: date, horizon: int):
    """Per day ahead (index 0 = tomorrow): prepaid drawn, postpaid accrued, vendor invoices paid (base)."""
    drawn, accrued, paid = [ZERO] * horizon, [ZERO] * horizon, [ZERO] * horizon
    for need in needs:
        rate = rates.rate(need.currency, today)
        if rate is None:
            continue
        for k in range(horizon):
            if need.prepaid:
                drawn[k] += need.drawn_by_day[k] * rate
            else:
                accrued[k] += need.consumed_by_day[k] * rate
        for on, amount in need.paid_by_day.items():
            paid[(on - today).days - 1] += amount * rate
    return drawn, accrued, paid


def float_curve(terms: dict[str, Decimal], steps: dict[str, list[Decimal]], today: date):
    """The float each day from today: ``terms`` today, each term moved by its daily ``steps`` (signed
    changes of the term, index 0 = tomorrow); deposits never go below zero. Returns (curve, changes)."""
    horizon = len(next(iter(steps.values())))
    now = dict(terms)
    curve = [(today, terms["funded_float"])]
    for k in range(horizon):
        for name, moves in steps.items():
            now[name] += moves[k]
        now["deposits"] = max(now["deposits"], ZERO)
        value = (
            now["upstream_prepaid"] + now["unbilled"] + now["receivables"] - now["deposits"] - now["payables"]
        )
        curve.append((today + timedelta(days=k + 1), value))
    return curve, {name: now[name] - terms[name] for name in TERMS}


def forecast(today: date, *, window: int = WINDOW_DEFAULT, horizon: int = HORIZON_DEFAULT) -> Forecast:
    """Everything the forecast page shows, as of ``today`` (module docstrings of this package's parts)."""
    rates = BaseRates()
    needs = channel_needs(today, window=window, horizon=horizon)
    vendors = vendor_needs(needs, rates, today)
    collections = expected_collections(today, horizon, rates)
    first, last = today - timedelta(days=window), today - timedelta(days=1)
    accrued_daily, consumed_daily = customer_flows(first, last, rates, today)
    accrual_trend, deposit_trend = trend_fit(accrued_daily), trend_fit(consumed_daily)
    terms = today_terms(rates, today)
    result = Forecast(
        today=today,
        window=window,
        horizon=horizon,
        currency=rates.base,
        vendors=vendors,
        collections=collections,
        metrics=cycle_metrics(today, window_days=window),
        accrual_trend=accrual_trend,
        deposit_trend=deposit_trend,
        float_today=None if terms is None else terms["funded_float"],
    )
    if terms is not None and not rates.missing:
        drawn, accrued, paid = _upstream_by_day(needs, rates, today, horizon)
        collected = [collections.by_day.get(today + timedelta(days=k + 1), ZERO) for k in range(horizon)]
        steps = {
            "upstream_prepaid": [-d for d in drawn],
            "unbilled": accrual_trend.ahead(horizon),
            "receivables": [-c for c in collected],
            "deposits": [-d for d in deposit_trend.ahead(horizon)],
            "payables": [a - p for a, p in zip(accrued, paid, strict=True)],
        }
        result.curve, result.changes = float_curve(terms, steps, today)
    result.missing = sorted({f"{c}→{b} {on:%Y-%m-%d}" for c, b, on in rates.missing})
    return result
