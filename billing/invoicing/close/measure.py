"""What a close bills from: rated usage summed from the rollups, and what earlier invoices already billed.

Be extremely careful changing how usage is measured here: it decides what every credit customer is billed
(the rules are in the package docstring, ``billing/invoicing/close/__init__.py``).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import BigIntegerField, Count, DecimalField, F, Q, Sum, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from billing.allowances.selectors import keys_paid_by_wallet
from billing.invoicing.models import Invoice, InvoiceLine
from billing.invoicing.periods import Period
from billing.money import LEDGER_FIELD, ledger_round
from billing.terms.spans import spans_of
from billing.usage.models import (
    TOKEN_COLUMNS,
    UNIT_COLUMNS,
    RatingState,
    UsageDaily,
    UsageEvent,
    UsageHourly,
)
from catalog.rating import AUDIO_SECOND, IMAGE, INPUT, OUTPUT, TOKEN_CLASSES, UNIT_CLASSES, class_counts
from common.days import local_midnight

# Lines of a draft voided before it was issued were never posted: they relieved nothing.
NEVER_POSTED = {"invoice__status": Invoice.Status.VOID, "invoice__journal_transaction__isnull": True}
# Lines of invoices that stand: a void invoice (draft or issued) bills nothing.
LIVE = ~Q(invoice__status=Invoice.Status.VOID)
ZERO = Decimal("0")
# The rollups' token and unit sums (images, audio), each named ``sum_<column>`` (an annotation may not take
# its field's name).
COUNT_COLUMNS = (*TOKEN_COLUMNS, *UNIT_COLUMNS)
TOKEN_SUMS = {f"sum_{c}": Sum(c) for c in COUNT_COLUMNS}
STAGE = "invoicing_close_usage"
SUM_COLUMNS = (("amount", "sell_amount"), ("requests", "requests"), *((f"sum_{c}", c) for c in COUNT_COLUMNS))
# The classes a usage line's ``details.tokens`` may hold: the token classes, then the unit classes (only
# when non-zero). ``image`` counts images and ``audio_second`` audio *milliseconds* (as ``catalog.rating``
# counts them); neither is a token, so a line's quantity in tokens leaves them out (``line_tokens``).
LINE_CLASSES = (*TOKEN_CLASSES, *UNIT_CLASSES)
_TOKEN_KEYS = tuple(f"sum_{c}" for c in TOKEN_COLUMNS)
_UNIT_KEYS = tuple(f"sum_{c}" for c in UNIT_COLUMNS)
Interval = tuple[datetime | None, datetime | None]
# A customer on credit terms for all time: its usage is read by the fast whole-day path.
ALWAYS: list[Interval] = [(None, None)]


def credit_intervals(customer_ids: list[int]) -> dict[int, list[Interval]]:
    """Each customer's ``[since, until)`` stretches on credit terms (``billing.terms.spans``): the usage
    a close invoices is exactly the rated usage whose ``occurred_at`` lies in one of them."""
    return {cid: spans.credit_intervals() for cid, spans in spans_of(customer_ids).items()}


def _hour_floor(at: datetime) -> datetime:
    """The start of the UTC hour holding ``at`` (the hourly rollups' buckets)."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _hour_ceil(at: datetime) -> datetime:
    floor = _hour_floor(at)
    return floor if floor == at else floor + timedelta(hours=1)


def _day_ceil(at: datetime) -> date:
    """The first operator day starting at or after ``at``."""
    day = timezone.localdate(at)
    return day if local_midnight(day) == at else day + timedelta(days=1)


@dataclass(frozen=True)
class Pieces:
    """``[since, until)`` cut into what each source sums exactly: whole operator days (``UsageDaily``,
    ``day`` in [first, last), None: unbounded), whole hours (``UsageHourly``) and the parts of the switch
    hours themselves (raw ``UsageEvent`` rows: a 12:30 switch splits its hour at 12:30)."""

    days: tuple[date | None, date | None] | None
    hours: tuple[tuple[datetime | None, datetime | None], ...]
    raw: tuple[tuple[datetime, datetime], ...]


def pieces(since: datetime | None, until: datetime | None) -> Pieces:
    low = _hour_ceil(since) if since else None
    high = _hour_floor(until) if until else None
    if low is not None and high is not None and low > high:  # within one hour
        return Pieces(None, (), ((since, until),))
    raw = []
    if since and since != low:
        raw.append((since, low))
    if until and until != high:
        raw.append((high, until))
    first = _day_ceil(low) if low is not None else None
    last = timezone.localdate(high) if high is not None else None  # days before it end by ``high``
    # Hourly rollups are by UTC hour: whole days stand in for hours only where the operator's days start
    # on the hour (not in a zone at a half-hour offset, where the hours alone are summed).
    on_the_hour = all(_hour_floor(local_midnight(d)) == local_midnight(d) for d in (first, last) if d)
    if (first is None or last is None or first < last) and on_the_hour:
        days = (first, last)
        hours = [
            (low, local_midnight(first)) if first else None,
            (local_midnight(last), high) if last else None,
        ]
    else:
        days, hours = None, [(low, high)]
    kept = tuple(h for h in hours if h and (h[0] is None or h[1] is None or h[0] < h[1]))
    return Pieces(days, kept, tuple(raw))


def _clip(intervals: list[Interval], low: datetime | None, high: datetime | None) -> list[Interval]:
    """``intervals`` cut to ``[low, high)`` (None: unbounded), empty ones left out."""
    out = []
    for since, until in intervals:
        if low is not None and (since is None or since < low):
            since = low
        if high is not None and (until is None or until > high):
            until = high
        if since is None or until is None or since < until:
            out.append((since, until))
    return out


def token_classes(sums: dict) -> dict[str, int]:
    """Rollup sums → tokens per rating class (input excludes cache traffic, output excludes reasoning),
    then the unit classes that are not zero: audio tokens (carved out of input and output, as rating
    prices them), images and audio milliseconds (``LINE_CLASSES``)."""
    counts = [int(sums[key] or 0) for key in _TOKEN_KEYS]
    classes = dict(zip(TOKEN_CLASSES, class_counts(*counts), strict=True))
    units = [sums.get(key) for key in _UNIT_KEYS]
    if any(units):  # rare: most lines carry no images or audio, and this runs once per line
        units = [int(n or 0) for n in units]
        classes[INPUT] -= units[0]
        classes[OUTPUT] -= units[1]
        classes.update((cls, n) for cls, n in zip(UNIT_CLASSES, units, strict=True) if n)
    return classes


def line_tokens(tokens: dict[str, int]) -> int:
    """A usage line's quantity in tokens: every class of ``tokens`` but images and audio milliseconds."""
    return sum(tokens.values()) - tokens.get(IMAGE, 0) - tokens.get(AUDIO_SECOND, 0)


def usage_stage(period: Period, customer_ids: list[int]) -> bool:
    """On PostgreSQL, aggregate the rollups of every closing customer in ONE pass into a temporary table.

    One hash aggregate over the month's rollups (15 M rows for 10,000 customers × 50 models) beats a scan
    per chunk; chunks then read their customers' sums from the small indexed temp table. Returns False
    (nothing staged) elsewhere, and the chunks query the rollups themselves. Only for customers on
    credit terms for all time: the others' usage is cut by their credit intervals (``usage_credit``).
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


def _filters(who: dict, intervals: list[Interval]) -> tuple[Q, Q, Q]:
    """The (daily, hourly, raw-event) filters of ``intervals`` for the customers ``who`` selects."""
    days_q, hours_q, raw_q = Q(pk__in=[]), Q(pk__in=[]), Q(pk__in=[])
    for since, until in intervals:
        p = pieces(since, until)
        if p.days is not None:
            first, last = p.days
            q = Q(**who)
            if first is not None:
                q &= Q(day__gte=first)
            if last is not None:
                q &= Q(day__lt=last)
            days_q |= q
        for start, end in p.hours:
            bounds = {"hour__gte": start, "hour__lt": end}
            hours_q |= Q(**who, **{k: v for k, v in bounds.items() if v is not None})
        for start, end in p.raw:
            raw_q |= Q(**who, occurred_at__gte=start, occurred_at__lt=end)
    return days_q, hours_q, raw_q


def _sums_add(out: dict, rows, count: str) -> None:
    for r in rows:
        key = (r["customer_id"], r["model_id"], r["sell_currency"])
        r = {**r, "requests": r.get(count)}
        if key not in out:
            out[key] = {name: r[name] for name, _col in SUM_COLUMNS}
        else:
            for name, _col in SUM_COLUMNS:
                out[key][name] = (out[key][name] or 0) + (r[name] or 0)


def usage_credit(
    intervals: dict[int, list[Interval]], *, low: datetime | None, high: datetime | None
) -> dict[tuple[int, int, str], dict]:
    """Rated usage sums per (customer, model, currency) whose ``occurred_at`` lies in the customers' credit
    intervals cut to ``[low, high)``: whole days from ``UsageDaily``, whole hours from ``UsageHourly``,
    the switch hours' parts from the raw events (rare: one customer-hour per switch)."""
    days_q, hours_q, raw_q = Q(pk__in=[]), Q(pk__in=[]), Q(pk__in=[])
    always = [cid for cid, ivs in intervals.items() if ivs == ALWAYS]
    # Customers always on credit share one filter (the same bounds for all of them); each other
    # customer has its own.
    selections = [({"customer_id__in": always}, ALWAYS)] if always else []
    selections += [({"customer_id": cid}, ivs) for cid, ivs in intervals.items() if ivs != ALWAYS]
    for who, ivs in selections:
        d, h, r = _filters(who, _clip(ivs, low, high))
        days_q, hours_q, raw_q = days_q | d, hours_q | h, raw_q | r
    out: dict[tuple[int, int, str], dict] = {}
    group = ("customer_id", "model_id", "sell_currency")
    for rollup, q in ((UsageDaily, days_q), (UsageHourly, hours_q)):
        rows = (
            rollup.objects.filter(q)
            .values(*group)
            .annotate(amount=Sum("sell_amount"), n=Sum("requests"), **TOKEN_SUMS)
        )
        _sums_add(out, rows.order_by(), "n")
    events = (
        UsageEvent.objects.filter(raw_q, rating_state=RatingState.RATED)
        .values(*group)
        .annotate(amount=Sum("sell_amount"), n=Count("id"), **TOKEN_SUMS)
    )
    _sums_add(out, events.order_by(), "n")
    return out


def usage_cumulative(
    customer_ids: list[int], period: Period, staged: bool, intervals: dict[int, list[Interval]]
) -> dict[tuple[int, int, str], dict]:
    """Credit usage sums per (customer, model, currency) up to the period's end: for customers always on
    credit every day up to its last (staged on PostgreSQL), for the others only inside their credit
    intervals (``usage_credit``)."""
    end = local_midnight(period.end + timedelta(days=1))
    bounded = {cid: intervals[cid] for cid in customer_ids if intervals.get(cid, ALWAYS) != ALWAYS}
    out = usage_credit(bounded, low=None, high=end) if bounded else {}
    always = [cid for cid in customer_ids if cid not in bounded]
    if not always:
        return out
    return out | _usage_open(always, period, staged)


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


def _rebilled():
    """A usage line's share billed again after its invoice was voided (``details.rebilled``; 0 if none)."""
    return Coalesce(Cast(KT("details__rebilled"), DecimalField(**LEDGER_FIELD)), Value(ZERO))


def usage_billed(customer_ids: list[int], period: Period) -> dict[tuple[int, int, str], dict]:
    """What invoices already billed per (customer, model, currency), amount and tokens, and what their
    usage lines relieved (or will relieve, drafts) from the unbilled accrual.

    ``amount`` and ``tokens``: usage lines of every invoice of the customer but void ones, of periods
    ending by ``period``'s end (what is billed is cumulative usage up to that day), and of every interim
    invoice of a later period (``billing.invoicing.progressive``), whose part of them is also given alone
    as ``later`` and ``later_tokens``. A later interim billed usage up to its cut-off: the late usage of
    ``period`` in it must not be billed again by a re-run of ``period``'s close, while the later period's
    own usage in it is no credit on ``period``'s invoice — so it counts only as far as it covers
    ``period``'s usage (``billed_against``). A voided *issued* invoice's usage is therefore billed again
    by the next close (its credit note reversed the receivable against usage revenue). ``relief``: the
    unbilled share of the lines of every invoice but drafts voided unissued (``NEVER_POSTED``);
    ``relief - amount`` is what a voided invoice took out of unbilled and no later line billed again yet
    (``rebill_mark``). Summed in SQL (tokens read from each line's ``details``), so a close reads one row
    per customer × model however many months were billed before.
    """
    later = LIVE & Q(invoice__kind=Invoice.Kind.INTERIM, invoice__period_end__gt=period.end)
    token_sums = {
        f"t_{cls}": Sum(Cast(KT(f"details__tokens__{cls}"), BigIntegerField()), filter=LIVE)
        for cls in LINE_CLASSES
    } | {
        f"l_{cls}": Sum(Cast(KT(f"details__tokens__{cls}"), BigIntegerField()), filter=later)
        for cls in LINE_CLASSES
    }
    rows = (
        InvoiceLine.objects.filter(
            Q(invoice__period_end__lte=period.end) | Q(invoice__kind=Invoice.Kind.INTERIM),
            invoice__customer_id__in=customer_ids,
            kind=InvoiceLine.Kind.USAGE,
            ai_model__isnull=False,
        )
        .exclude(**NEVER_POSTED)
        .values("invoice__customer_id", "ai_model_id", "invoice__currency")
        .annotate(
            amount=Sum("amount_exact", filter=LIVE),
            later=Sum("amount_exact", filter=later),
            relief=Sum(F("amount_exact") - _rebilled()),
            **token_sums,
        )
        .order_by()
    )
    return {
        (r["invoice__customer_id"], r["ai_model_id"], r["invoice__currency"]): {
            "amount": ledger_round(r["amount"] or ZERO),
            "relief": ledger_round(r["relief"] or ZERO),
            "tokens": {cls: int(r[f"t_{cls}"] or 0) for cls in LINE_CLASSES},
            "later": ledger_round(r["later"] or ZERO),
            "later_tokens": {cls: int(r[f"l_{cls}"] or 0) for cls in LINE_CLASSES},
        }
        for r in rows
    }


def billed_against(before: dict, amount: Decimal, tokens: dict[str, int]) -> tuple[Decimal, dict[str, int]]:
    """What counts as already billed against a period's credit usage up to its end (``amount`` rounded,
    ``tokens`` per class), from ``before``, a row of ``usage_billed``.

    The invoices of periods ending by the period's end count whole (``billed_le``): what they billed
    beyond the usage — a re-rating that lowered it — stays a negative line. A later period's interim
    invoices count only as far as they cover what is left (``min(later, max(0, usage - billed_le))``):
    the late usage they already billed is not billed again, and none of the later period's own usage is
    credited. The same for each token class.
    """

    if not before["later"] and not any(before["later_tokens"].values()):
        return before["amount"], before["tokens"]  # the usual case: no later interim invoice

    def counted(usage, billed, later):
        return billed - later + min(later, max(0, usage - (billed - later)))

    return (
        counted(amount, before["amount"], before["later"]),
        {
            cls: counted(n, before["tokens"].get(cls, 0), before["later_tokens"].get(cls, 0))
            for cls, n in tokens.items()
        },
    )


def unbilled_relieved(customer_ids: list[int]) -> dict[tuple[int, str], Decimal]:
    """What posted invoices' usage lines relieved from each (customer, currency)'s unbilled account."""
    rows = (
        InvoiceLine.objects.filter(
            invoice__customer_id__in=customer_ids,
            invoice__journal_transaction__isnull=False,
            kind=InvoiceLine.Kind.USAGE,
        )
        .values("invoice__customer_id", "invoice__currency")
        .annotate(relief=Sum(F("amount_exact") - _rebilled()))
        .order_by()
    )
    return {(r["invoice__customer_id"], r["invoice__currency"]): r["relief"] or ZERO for r in rows}


def billed_keys(customer_ids: list[int], keys: set[str]) -> set[str]:
    """Which of ``keys`` (subscription, service and pack source keys) must not be invoiced: those an
    invoice line already billed, and those the wallet pays (``keys_paid_by_wallet``: charged to it, or
    begun on prepaid terms), so a switch of terms never bills a month or pack twice."""
    if not keys:
        return set()
    invoiced = set(
        InvoiceLine.objects.filter(invoice__customer_id__in=customer_ids, source_key__in=keys)
        .exclude(**NEVER_POSTED)
        .values_list("source_key", flat=True)
    )
    return invoiced | keys_paid_by_wallet(customer_ids, keys - invoiced)


def usage_in_period(
    customer_ids: list[int], period: Period, intervals: dict[int, list[Interval]]
) -> list[dict]:
    """Prepaid-time usage sums per (customer, model, currency) of the period's own days (prepaid
    statements): the rollups of its days less what the customer used on credit terms in it (invoiced,
    not paid from the wallet). In (customer, currency, model) order."""
    rows = {
        (r["customer_id"], r["model_id"], r["sell_currency"]): r
        for r in UsageDaily.objects.filter(
            customer_id__in=customer_ids, day__gte=period.start, day__lte=period.end
        )
        .values("customer_id", "model_id", "sell_currency")
        .annotate(amount=Sum("sell_amount"), requests=Sum("requests"), **TOKEN_SUMS)
        .order_by()
    }
    switched = {cid: intervals[cid] for cid in customer_ids if intervals.get(cid)}
    if switched:
        low, high = local_midnight(period.start), local_midnight(period.end + timedelta(days=1))
        for key, sums in usage_credit(switched, low=low, high=high).items():
            row = rows.get(key)
            if row is not None:
                for name, _col in SUM_COLUMNS:
                    row[name] = (row[name] or 0) - (sums[name] or 0)
    kept = [
        r for r in rows.values() if r["amount"] or r["requests"] or any(r[f"sum_{c}"] for c in TOKEN_COLUMNS)
    ]
    return sorted(kept, key=lambda r: (r["customer_id"], r["sell_currency"], r["model_id"]))
