"""What a close bills from: rated usage summed from the rollups, and what earlier invoices already billed.

Be extremely careful changing how usage is measured here: it decides what every credit customer is billed
(the rules are in the package docstring, ``billing/invoicing/close/__init__.py``).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import BigIntegerField, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from billing.invoicing.models import Invoice, InvoiceLine
from billing.invoicing.periods import Period
from billing.money import ledger_round
from billing.usage.models import TOKEN_COLUMNS, UsageDaily, UsageHourly
from catalog.rating import TOKEN_CLASSES, class_counts
from common.days import local_midnight

# Lines of a draft voided before it was issued were never posted: what they billed is billed again. An
# issued invoice voided later was reversed by a credit note (revenue, not the unbilled accrual), so its
# lines still count as billed — billing them again would book the usage twice.
NEVER_POSTED = {"invoice__status": Invoice.Status.VOID, "invoice__journal_transaction__isnull": True}
ZERO = Decimal("0")
# The rollups' token sums, each named ``sum_<column>`` (an annotation may not take its field's name).
TOKEN_SUMS = {f"sum_{c}": Sum(c) for c in TOKEN_COLUMNS}
STAGE = "invoicing_close_usage"
SUM_COLUMNS = (("amount", "sell_amount"), ("requests", "requests"), *((f"sum_{c}", c) for c in TOKEN_COLUMNS))


@dataclass(frozen=True)
class Span:
    """When a customer was on credit terms (``BillingTerms.credit_since``/``credit_until``; None: open).

    Only usage inside the span is invoiced: prepaid usage was already paid from the wallet. Whole
    operator days inside the span come from the daily rollups, the switch days from the hourly ones; the
    hour bucket holding a switch belongs to the new mode.
    """

    since: datetime | None
    until: datetime | None


def _hour_floor(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def token_classes(sums: dict) -> dict[str, int]:
    """Rollup sums → tokens per rating class (input excludes cache traffic, output excludes reasoning)."""
    counts = (int(sums[f"sum_{c}"] or 0) for c in TOKEN_COLUMNS)
    return dict(zip(TOKEN_CLASSES, class_counts(*counts), strict=True))


def usage_stage(period: Period, customer_ids: list[int]) -> bool:
    """On PostgreSQL, aggregate the rollups of every closing customer in ONE pass into a temporary table.

    One hash aggregate over the month's rollups (15 M rows for 10,000 customers × 50 models) beats a scan
    per chunk; chunks then read their customers' sums from the small indexed temp table. Returns False
    (nothing staged) elsewhere, and the chunks query the rollups themselves.
    """
    if connection.vendor != "postgresql" or not customer_ids:
        return False
    sums = ", ".join(f"sum({col}) AS {name}" for name, col in SUM_COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
        # A hash aggregate of ~500,000 groups needs memory; JIT compiling it costs more than it saves.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGE} AS"
            f" SELECT customer_id, model_id, sell_currency, {sums} FROM {UsageDaily._meta.db_table}"
            " WHERE day <= %s AND customer_id = ANY(%s) GROUP BY customer_id, model_id, sell_currency",
            [period.end, customer_ids],
        )
        cursor.execute(f"CREATE INDEX ON {STAGE} (customer_id)")
    return True


def usage_stage_drop() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")


def _span_filters(customer_id: int, span: Span, period: Period) -> tuple[Q, list[Q]]:
    """The daily-rollup filter and the hourly-rollup filters (switch days) of one customer's span."""
    days = Q(customer_id=customer_id, day__lte=period.end)
    hours: list[Q] = []
    end = local_midnight(period.end + timedelta(days=1))
    since_day = timezone.localdate(span.since) if span.since else None
    until_day = timezone.localdate(span.until) if span.until else None
    if span.since:
        days &= Q(day__gt=since_day)
        high = local_midnight(since_day + timedelta(days=1))
        if span.until and until_day == since_day:
            high = _hour_floor(span.until)
        hours.append(Q(customer_id=customer_id, hour__gte=_hour_floor(span.since), hour__lt=min(high, end)))
    if span.until:
        days &= Q(day__lt=until_day)
        if until_day != since_day:
            hours.append(
                Q(
                    customer_id=customer_id,
                    hour__gte=local_midnight(until_day),
                    hour__lt=min(_hour_floor(span.until), end),
                )
            )
    return days, hours


def _usage_spanned(customer_ids: list[int], period: Period, spans: dict[int, Span]) -> dict:
    """Rollup sums of customers whose credit span is bounded (few: they switched mode), by the ORM."""
    day_q, hour_q = Q(pk__in=[]), Q(pk__in=[])
    for cid in customer_ids:
        days, hours = _span_filters(cid, spans[cid], period)
        day_q |= days
        for q in hours:
            hour_q |= q
    out: dict[tuple[int, int, str], dict] = {}
    for rollup, q in ((UsageDaily, day_q), (UsageHourly, hour_q)):
        rows = (
            rollup.objects.filter(q)
            .values("customer_id", "model_id", "sell_currency")
            .annotate(amount=Sum("sell_amount"), requests=Sum("requests"), **TOKEN_SUMS)
            .order_by()
        )
        for r in rows:
            key = (r["customer_id"], r["model_id"], r["sell_currency"])
            if key not in out:
                out[key] = {name: r[name] for name, _col in SUM_COLUMNS}
            else:
                for name, _col in SUM_COLUMNS:
                    out[key][name] = (out[key][name] or 0) + (r[name] or 0)
    return out


def usage_cumulative(
    customer_ids: list[int], period: Period, staged: bool, spans: dict[int, Span] | None = None
) -> dict[tuple[int, int, str], dict]:
    """Rollup sums per (customer, model, currency) over every day up to the period's last day (only
    inside the customer's credit span when it is bounded, see ``Span``)."""
    spans = spans or {}
    bounded = [cid for cid in customer_ids if cid in spans]
    out = _usage_spanned(bounded, period, spans) if bounded else {}
    customer_ids = [cid for cid in customer_ids if cid not in spans]
    if not customer_ids:
        return out
    return out | _usage_open(customer_ids, period, staged)


def _usage_open(customer_ids: list[int], period: Period, staged: bool) -> dict[tuple[int, int, str], dict]:
    if staged:
        names = [name for name, _col in SUM_COLUMNS]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT customer_id, model_id, sell_currency, {', '.join(names)} FROM {STAGE}"
                " WHERE customer_id = ANY(%s)",
                [customer_ids],
            )
            return {(r[0], r[1], r[2]): dict(zip(names, r[3:], strict=True)) for r in cursor.fetchall()}
    rows = (
        UsageDaily.objects.filter(customer_id__in=customer_ids, day__lte=period.end)
        .values("customer_id", "model_id", "sell_currency")
        .annotate(amount=Sum("sell_amount"), requests=Sum("requests"), **TOKEN_SUMS)
        .order_by()
    )
    return {(r["customer_id"], r["model_id"], r["sell_currency"]): r for r in rows}


def usage_billed(
    customer_ids: list[int], period: Period, spans: dict[int, Span] | None = None
) -> dict[tuple[int, int, str], dict]:
    """What invoices already billed per (customer, model, currency), amount and tokens (see NEVER_POSTED).

    Only invoices of periods ending by ``period``'s end count (what is billed is cumulative usage up to
    that day), and for a customer whose credit span started later, only invoices of the current span.
    Summed in SQL (tokens read from each line's ``details``), so a close reads one row per customer ×
    model however many months were billed before.
    """
    spans = spans or {}
    started = {
        cid: timezone.localdate(spans[cid].since) for cid in customer_ids if cid in spans and spans[cid].since
    }
    scope = Q(invoice__customer_id__in=[cid for cid in customer_ids if cid not in started])
    for cid, day in started.items():
        scope |= Q(invoice__customer_id=cid, invoice__period_end__gte=day)
    token_sums = {
        f"t_{cls}": Sum(Cast(KT(f"details__tokens__{cls}"), BigIntegerField())) for cls in TOKEN_CLASSES
    }
    rows = (
        InvoiceLine.objects.filter(
            scope,
            invoice__period_end__lte=period.end,
            kind=InvoiceLine.Kind.USAGE,
            ai_model__isnull=False,
        )
        .exclude(**NEVER_POSTED)
        .values("invoice__customer_id", "ai_model_id", "invoice__currency")
        .annotate(amount=Sum("amount_exact"), **token_sums)
        .order_by()
    )
    return {
        (r["invoice__customer_id"], r["ai_model_id"], r["invoice__currency"]): {
            "amount": ledger_round(r["amount"] or ZERO),
            "tokens": {cls: int(r[f"t_{cls}"] or 0) for cls in TOKEN_CLASSES},
        }
        for r in rows
    }


def billed_keys(customer_ids: list[int], keys: set[str]) -> set[str]:
    """Which of ``keys`` (subscription, service and pack source keys) an invoice line already billed."""
    if not keys:
        return set()
    return set(
        InvoiceLine.objects.filter(invoice__customer_id__in=customer_ids, source_key__in=keys)
        .exclude(**NEVER_POSTED)
        .values_list("source_key", flat=True)
    )


def usage_in_period(customer_ids: list[int], period: Period):
    """Rollup sums per (customer, model, currency) of the period's own days (prepaid statements)."""
    return (
        UsageDaily.objects.filter(customer_id__in=customer_ids, day__gte=period.start, day__lte=period.end)
        .values("customer_id", "model_id", "sell_currency")
        .annotate(amount=Sum("sell_amount"), requests=Sum("requests"), **TOKEN_SUMS)
        .order_by("customer_id", "sell_currency", "model_id")
    )
