"""Period close: invoices for credit-term customers, usage statements for prepaid ones.

Be extremely careful changing how usage is measured here: it decides what every credit customer is billed.

* **Usage is billed cumulatively.** For each customer × model × currency a close bills the rated usage of
  every day up to the period's last day (``UsageDaily``, operator-time-zone days) minus what earlier
  invoices already billed for that model (usage lines of every invoice but drafts voided unissued). Usage
  of an earlier period that arrives after its close (a late gateway delivery, a re-rated event) is
  therefore billed by the next close, never lost, and nothing is billed twice. A re-rating that lowers an
  already-billed amount shows up as a negative usage line on the next invoice.
* **Everything else carries a ``source_key``** (``subscription:<id>:<period>``, ``service:<id>`` for
  one-off charges, ``service:<id>:<period>`` for recurring ones, ``pack:<id>``); a key already on an
  invoice line is never billed again.
* **Re-running a close creates nothing**: an invoice's ``close_key`` is ``<period>:<customer>:<currency>``
  (unique), and customers whose key exists are skipped. Customers are closed in chunks, each its own
  database transaction holding the chunk's billing-terms rows locked, so two closes racing on the same
  customers queue instead of both building invoices.
* **Monthly customers close at month periods, quarterly ones at quarter periods** ("2026-Q3"). The beat
  runs after every month end and also closes the quarter when the month ended one
  (``periods.periods_just_ended``). Prepaid customers get a ``UsageStatement`` per month instead.
* **Issue in bulk**: customers without ``review_invoices`` are issued at once; a chunk takes its numbers
  in one locked step (``numbers_take``) so they stay gapless, and posts one journal transaction per
  invoice (``invoice:<id>``, linked by ``Invoice.journal_transaction``) — the same posting
  :func:`services.invoice_issue` makes, so an invoice's ledger trace never depends on how it was issued.
"""

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import BigIntegerField, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.allowances.models import PackPurchase, Subscription
from billing.invoicing.models import Invoice, InvoiceLine, PeriodClose, ServiceCharge, UsageStatement
from billing.invoicing.numbering import numbers_take
from billing.invoicing.periods import Period, due_date, period_of_day, period_parse
from billing.invoicing.pricing import UnitPrices
from billing.invoicing.services import (
    CUSTOMER_ACCOUNT_KINDS,
    BuiltLine,
    LineDraft,
    invoice_posting,
    invoice_posting_lines,
    invoice_totals,
    line_build,
)
from billing.ledger.accounts import ACCOUNT_TYPES, account_code, account_get
from billing.ledger.models import LedgerAccount
from billing.ledger.services import transactions_post_many
from billing.money import ledger_round, quantize_money
from billing.terms.models import BillingTerms
from billing.usage.models import UsageDaily, UsageHourly
from catalog.models import AIModel
from catalog.rating import TOKEN_CLASSES

logger = logging.getLogger(__name__)

CHUNK = 500
# Lines of a draft voided before it was issued were never posted: what they billed is billed again. An
# issued invoice voided later was reversed by a credit note (revenue, not the unbilled accrual), so its
# lines still count as billed — billing them again would book the usage twice.
NEVER_POSTED = {"invoice__status": Invoice.Status.VOID, "invoice__journal_transaction__isnull": True}
ZERO = Decimal("0")
TOKEN_SUMS = {
    "prompt": Sum("prompt_tokens"),
    "cache_read": Sum("cache_read_tokens"),
    "cache_write_5m": Sum("cache_write_tokens"),
    "cache_write_1h": Sum("cache_write_1h_tokens"),
    "completion": Sum("completion_tokens"),
    "reasoning": Sum("reasoning_tokens"),
}


class CloseError(ValueError):
    """A close that must not run: the period has not ended, or a later period was already closed."""


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


@dataclass
class CloseResult:
    period_close: PeriodClose
    invoices: list[Invoice] = field(default_factory=list)
    statements: list[UsageStatement] = field(default_factory=list)


def token_classes(sums: dict) -> dict[str, int]:
    """Rollup sums → tokens per rating class (input excludes cache traffic, output excludes reasoning)."""
    cache_read = int(sums["cache_read"] or 0)
    cache_5m = int(sums["cache_write_5m"] or 0)
    cache_1h = int(sums["cache_write_1h"] or 0)
    reasoning = int(sums["reasoning"] or 0)
    return {
        "input": int(sums["prompt"] or 0) - cache_read - cache_5m - cache_1h,
        "cache_read": cache_read,
        "cache_write_5m": cache_5m,
        "cache_write_1h": cache_1h,
        "output": int(sums["completion"] or 0) - reasoning,
        "reasoning": reasoning,
    }


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# -- what to bill ---------------------------------------------------------------------------------


STAGE = "invoicing_close_usage"
SUM_COLUMNS = (
    ("amount", "sell_amount"),
    ("requests", "requests"),
    ("prompt", "prompt_tokens"),
    ("cache_read", "cache_read_tokens"),
    ("cache_write_5m", "cache_write_tokens"),
    ("cache_write_1h", "cache_write_1h_tokens"),
    ("completion", "completion_tokens"),
    ("reasoning", "reasoning_tokens"),
)


def _usage_stage(period: Period, customer_ids: list[int]) -> bool:
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


def _usage_stage_drop() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")


def _span_filters(customer_id: int, span: Span, period: Period) -> tuple[Q, list[Q]]:
    """The daily-rollup filter and the hourly-rollup filters (switch days) of one customer's span."""
    days = Q(customer_id=customer_id, day__lte=period.end)
    hours: list[Q] = []
    end = _local_midnight(period.end + timedelta(days=1))
    since_day = timezone.localdate(span.since) if span.since else None
    until_day = timezone.localdate(span.until) if span.until else None
    if span.since:
        days &= Q(day__gt=since_day)
        high = _local_midnight(since_day + timedelta(days=1))
        if span.until and until_day == since_day:
            high = _hour_floor(span.until)
        hours.append(Q(customer_id=customer_id, hour__gte=_hour_floor(span.since), hour__lt=min(high, end)))
    if span.until:
        days &= Q(day__lt=until_day)
        if until_day != since_day:
            hours.append(
                Q(
                    customer_id=customer_id,
                    hour__gte=_local_midnight(until_day),
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


def _usage_cumulative(
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


def _usage_billed(
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


def _billed_keys(customer_ids: list[int], keys: set[str]) -> set[str]:
    if not keys:
        return set()
    return set(
        InvoiceLine.objects.filter(invoice__customer_id__in=customer_ids, source_key__in=keys)
        .exclude(**NEVER_POSTED)
        .values_list("source_key", flat=True)
    )


def _months_of(period: Period, starts: date, ends: date | None) -> list[Period]:
    """The calendar months of ``period`` that overlap the span ``starts``..``ends`` (open-ended if None)."""
    months, day = [], period.start
    while day <= period.end:
        month = period_of_day(day)
        if starts <= month.end and (ends is None or ends >= month.start):
            months.append(month)
        day = month.end + timedelta(days=1)
    return months


def _other_lines(customer_ids: list[int], period: Period):
    """Subscription, service-charge and pack lines per (customer, currency).

    Subscriptions and monthly charges are keyed per calendar month (``subscription:<id>:2026-07``) and
    quarterly charges per quarter, whatever the customer's cadence, so a switch between monthly and
    quarterly billing neither bills a month twice nor skips one. One-off charges are billed by the first
    close at or after their date (``service:<id>``), even one dated in an already-closed period.
    """
    out: dict[tuple[int, str], list[LineDraft]] = defaultdict(list)
    subs = Subscription.objects.filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=period.start),
        customer_id__in=customer_ids,
        starts_on__lte=period.end,
    ).select_related("plan")
    for sub in subs:
        if not sub.plan.monthly_fee:
            continue
        for month in _months_of(period, sub.starts_on, sub.ends_on):
            out[(sub.customer_id, sub.plan.currency)].append(
                LineDraft(
                    kind=InvoiceLine.Kind.SUBSCRIPTION,
                    description=f"{sub.plan.name} ({month.label})",
                    amount_exact=sub.plan.monthly_fee,
                    quantity=Decimal(1),
                    unit="month",
                    unit_price=sub.plan.monthly_fee,
                    details={"subscription": sub.pk, "months": 1, "month": month.label},
                    source_key=f"subscription:{sub.pk}:{month.label}",
                )
            )
    charges = ServiceCharge.objects.filter(
        Q(ends_on__isnull=True)
        | Q(ends_on__gte=period.start)
        | Q(recurrence=ServiceCharge.Recurrence.ONE_OFF),
        customer_id__in=customer_ids,
        is_active=True,
        starts_on__lte=period.end,
    )
    for charge in charges:
        if charge.recurrence == ServiceCharge.Recurrence.ONE_OFF:
            billable = [(f"service:{charge.pk}", "each", charge.description)]
        elif charge.recurrence == ServiceCharge.Recurrence.MONTHLY:
            billable = [
                (
                    f"service:{charge.pk}:{m.label}",
                    "month",
                    f"{charge.description} ({m.label})" if period.is_quarter else charge.description,
                )
                for m in _months_of(period, charge.starts_on, charge.ends_on)
            ]
        else:
            # Quarterly: once per calendar quarter, by the first close (month or quarter) in which the
            # charge is active in that quarter; the key is the quarter either way.
            quarter = period_of_day(period.end, quarter=True)
            billable = [(f"service:{charge.pk}:{quarter.label}", "quarter", charge.description)]
        for key, unit, description in billable:
            out[(charge.customer_id, charge.currency)].append(
                LineDraft(
                    kind=InvoiceLine.Kind.SERVICE,
                    description=description,
                    amount_exact=charge.amount,
                    quantity=Decimal(1),
                    unit=unit,
                    unit_price=charge.amount,
                    service_charge_id=charge.pk,
                    source_key=key,
                )
            )
    packs = PackPurchase.objects.filter(
        customer_id__in=customer_ids,
        purchased_at__gte=_local_midnight(period.start),
        purchased_at__lt=_local_midnight(period.end + timedelta(days=1)),
    ).select_related("pack")
    for purchase in packs:
        out[(purchase.customer_id, purchase.currency)].append(
            LineDraft(
                kind=InvoiceLine.Kind.PACK,
                description=purchase.pack.name,
                amount_exact=purchase.price,
                unit="each",
                unit_price=purchase.price,
                details={"pack_purchase": purchase.pk},
                source_key=f"pack:{purchase.pk}",
            )
        )
    return out


# -- building invoices ----------------------------------------------------------------------------


def _usage_lines(
    customer_ids: list[int],
    period: Period,
    models: dict[int, AIModel],
    prices: UnitPrices,
    staged: bool,
    tax_rates: dict[int, Decimal],
    spans: dict[int, Span] | None = None,
) -> dict[tuple[int, str], list[BuiltLine]]:
    """Usage lines, rounded, per (customer, currency): cumulative usage minus what was billed.

    The hot loop of a close (one pass per line, ~500,000 at 10,000 customers): it builds the rounded line
    and its details JSON directly instead of going through LineDraft and json.dumps.
    """
    out: dict[tuple[int, str], list[BuiltLine]] = defaultdict(list)
    cumulative = _usage_cumulative(customer_ids, period, staged, spans)
    billed = _usage_billed(customer_ids, period, spans)
    quanta: dict[str, Decimal] = {}
    suffixes: dict[int, str] = {}
    usage = InvoiceLine.Kind.USAGE
    for (customer_id, model_id, currency), sums in sorted(cumulative.items()):
        before = billed.get((customer_id, model_id, currency))
        amount = ledger_round(sums["amount"] or ZERO)
        tokens = token_classes(sums)
        if before is not None:
            amount -= before["amount"]
            tokens = {cls: n - before["tokens"].get(cls, 0) for cls, n in tokens.items()}
        if amount == 0 and not any(tokens.values()):
            continue
        model = models[model_id]
        price_details = prices.details(customer_id, model, currency)
        details = None  # stored as details_json; BuiltLine.model() parses it where a dict is needed
        if before is not None and before["amount"]:
            details = {"tokens": tokens, **price_details, "previously_billed": str(before["amount"])}
            details_json = json.dumps(details, separators=(",", ":"))
        else:
            key = id(price_details)
            if key not in suffixes:
                suffixes[key] = json.dumps(price_details, separators=(",", ":"))[1:]
            body = ",".join(f'"{cls}":{n}' for cls, n in tokens.items())
            details_json = (
                '{"tokens":{' + body + "}" + ("," + suffixes[key] if len(suffixes[key]) > 1 else "}")
            )
        if currency not in quanta:
            quanta[currency] = quantize_money(Decimal(1), currency)
        rounded = amount.quantize(quanta[currency], rounding=ROUND_HALF_UP)
        rate = tax_rates[customer_id]
        lines = out[(customer_id, currency)]
        lines.append(
            BuiltLine(
                position=len(lines) + 1,
                kind=usage,
                description=model.name,
                ai_model_id=model_id,
                quantity=Decimal(sum(tokens.values())),
                unit="tokens",
                unit_price=None,
                details=details,
                amount_exact=amount,
                amount=rounded,
                tax_rate=rate,
                tax_amount=(rounded * rate).quantize(quanta[currency], rounding=ROUND_HALF_UP),
                service_charge_id=None,
                source_key=f"usage:{customer_id}:{model_id}:{currency}:{period.label}",
                details_json=details_json,
            )
        )
    return out


def _accounts(invoices: list[Invoice]):
    """Prefetch every account the chunk's postings touch; create the missing customer accounts in bulk.

    Creating a receivable per customer one ``account_get`` at a time costs a few queries each, 10,000 at a
    first close. The rows are exactly what ``account_get`` would create (code, kind, type from the chart).
    """
    wanted: dict[str, tuple] = {}
    for inv in invoices:
        for kind in CUSTOMER_ACCOUNT_KINDS:
            code = account_code(kind=kind, currency=inv.currency, customer=inv.customer)
            wanted[code] = (kind, inv.currency, inv.customer)
    found = {a.code: a for a in LedgerAccount.objects.filter(code__in=list(wanted))}
    missing = [
        LedgerAccount(code=code, kind=kind, type=ACCOUNT_TYPES[kind], currency=ccy, customer=customer)
        for code, (kind, ccy, customer) in wanted.items()
        if code not in found
    ]
    if missing:
        LedgerAccount.objects.bulk_create(missing, ignore_conflicts=True, batch_size=1000)
        found |= {a.code: a for a in LedgerAccount.objects.filter(code__in=[a.code for a in missing])}
    shared: dict[tuple[str, str], LedgerAccount] = {}

    def resolver(invoice: Invoice):
        def account(kind: str):
            if kind in CUSTOMER_ACCOUNT_KINDS:
                return found[account_code(kind=kind, currency=invoice.currency, customer=invoice.customer)]
            if (kind, invoice.currency) not in shared:
                shared[(kind, invoice.currency)] = account_get(kind=kind, currency=invoice.currency)
            return shared[(kind, invoice.currency)]

        return account

    return resolver


LINE_COLUMNS = (
    "invoice_id",
    "position",
    "kind",
    "description",
    "ai_model_id",
    "quantity",
    "unit",
    "unit_price",
    "details",
    "amount_exact",
    "amount",
    "tax_rate",
    "tax_amount",
    "service_charge_id",
    "source_key",
)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """One field in COPY's text format: \\N for NULL, text escaped, numbers as Python prints them."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return str(value)


def _lines_store(lines: list[BuiltLine]) -> None:
    """Store invoice lines: COPY on PostgreSQL (a close writes ~500,000 of them), bulk_create elsewhere.

    The COPY text is formatted here (a few microseconds a row, against ~10 for adapting each value).
    """
    if connection.vendor != "postgresql":
        InvoiceLine.objects.bulk_create([ln.model() for ln in lines], batch_size=1000)
        return
    sql = f"COPY {InvoiceLine._meta.db_table} ({', '.join(LINE_COLUMNS)}) FROM STDIN"
    f = _copy_text
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        buffer = []
        for ln in lines:
            details = ln.details_json or json.dumps(ln.details, separators=(",", ":"))
            buffer.append(
                f"{ln.invoice_id}\t{ln.position}\t{f(ln.kind)}\t{f(ln.description)}\t{f(ln.ai_model_id)}\t"
                f"{ln.quantity}\t{f(ln.unit)}\t{f(ln.unit_price)}\t{f(details)}\t{ln.amount_exact}\t"
                f"{ln.amount}\t{ln.tax_rate}\t{ln.tax_amount}\t{f(ln.service_charge_id)}\t{f(ln.source_key)}\n"
            )
            if len(buffer) >= 5000:
                copy.write("".join(buffer))
                buffer.clear()
        if buffer:
            copy.write("".join(buffer))


def _journal_links_store(invoices: list[Invoice]) -> None:
    """Set each invoice's journal_transaction: one UPDATE … FROM unnest on PostgreSQL."""
    if connection.vendor != "postgresql":
        Invoice.objects.bulk_update(invoices, ["journal_transaction"], batch_size=1000)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Invoice._meta.db_table} AS i SET journal_transaction_id = v.txn"
            " FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, txn) WHERE i.id = v.id",
            [[inv.pk for inv in invoices], [inv.journal_transaction_id for inv in invoices]],
        )


def _close_chunk(
    *,
    customer_ids: list[int],
    period: Period,
    issue_date: date,
    models: dict[int, AIModel],
    prices: UnitPrices,
    actor,
    staged: bool = False,
    spans: dict[int, Span] | None = None,
) -> list[Invoice]:
    with transaction.atomic():
        # Lock the chunk's terms rows: a concurrent close of the same customers waits here, then finds
        # their close keys taken below and makes nothing.
        terms = {
            t.customer_id: t
            for t in BillingTerms.objects.select_for_update(of=("self",))
            .filter(customer_id__in=customer_ids)
            .select_related("customer")
            .order_by("customer_id")
        }
        tax_rates = {cid: t.tax_rate for cid, t in terms.items()}
        built_of = _usage_lines(customer_ids, period, models, prices, staged, tax_rates, spans)
        others = _other_lines(customer_ids, period)
        already = _billed_keys(customer_ids, {d.source_key for ds in others.values() for d in ds})
        for (cid, ccy), drafts in others.items():
            lines = built_of[(cid, ccy)]
            for d in drafts:
                if d.source_key not in already:
                    lines.append(
                        line_build(d, currency=ccy, tax_rate=tax_rates[cid], position=len(lines) + 1)
                    )
        # No invoice with a total of zero or less: a net credit (usage lowered by re-rating, a negative
        # adjustment) stays unbilled and, billing being cumulative, reduces the next close's invoice.
        close_keys = {
            f"{period.label}:{cid}:{ccy}": (cid, ccy)
            for (cid, ccy), ls in built_of.items()
            if ls and sum((ln.amount + ln.tax_amount for ln in ls), ZERO) > 0
        }
        existing = set(
            Invoice.objects.filter(close_key__in=list(close_keys)).values_list("close_key", flat=True)
        )
        todo = sorted((ck for ck in close_keys if ck not in existing), key=lambda ck: close_keys[ck])
        if not todo:
            return []
        issuing = [ck for ck in todo if not terms[close_keys[ck][0]].review_invoices]
        # One locked step takes the chunk's numbers; the series row stays locked until commit.
        series, numbers = numbers_take("invoice", issue_date, len(issuing))
        number_of = dict(zip(issuing, numbers, strict=True))
        now = timezone.now()
        invoices, lines_of = [], {}
        for close_key in todo:
            cid, ccy = close_keys[close_key]
            t = terms[cid]
            inv = Invoice(
                customer=t.customer,
                close_key=close_key,
                period=period.label,
                period_start=period.start,
                period_end=period.end,
                currency=ccy,
                language=t.customer.language,
            )
            if close_key in number_of:
                inv.series, inv.number = series, number_of[close_key]
                inv.status = Invoice.Status.ISSUED
                inv.issue_date, inv.due_date = issue_date, due_date(t, issue_date)
                inv.issued_at, inv.issued_by = now, actor
            built = built_of[(cid, ccy)]
            invoice_totals(inv, built)
            invoices.append(inv)
            lines_of[close_key] = built
        Invoice.objects.bulk_create(invoices, batch_size=1000)
        all_lines = []
        for inv in invoices:
            for ln in lines_of[inv.close_key]:
                ln.invoice_id = inv.pk
                all_lines.append(ln)
        _lines_store(all_lines)

        issued = [inv for inv in invoices if inv.number]
        if issued:
            resolve = _accounts(issued)
            postings = []
            for inv in issued:
                legs = invoice_posting_lines(inv, lines_of[inv.close_key], resolve(inv))
                postings.append(invoice_posting(inv, legs) if legs else None)
            posted = transactions_post_many(postings=[p for p in postings if p], actor=actor)
            txns = iter(posted)
            for inv, posting in zip(issued, postings, strict=True):
                if posting is not None:
                    inv.journal_transaction = next(txns)
            _journal_links_store([inv for inv in issued if inv.journal_transaction_id])
        return invoices


def _statements(customer_ids: list[int], period: Period, models: dict[int, AIModel]) -> list[UsageStatement]:
    """Prepaid customers' usage statements for a month: per model tokens and amount, from the rollups."""
    rows = (
        UsageDaily.objects.filter(customer_id__in=customer_ids, day__gte=period.start, day__lte=period.end)
        .values("customer_id", "model_id", "sell_currency")
        .annotate(amount=Sum("sell_amount"), requests=Sum("requests"), **TOKEN_SUMS)
        .order_by("customer_id", "sell_currency", "model_id")
    )
    grouped: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for r in rows:
        amount = ledger_round(r["amount"] or Decimal("0"))
        grouped[(r["customer_id"], r["sell_currency"])].append(
            {
                "model": models[r["model_id"]].name,
                "model_id": r["model_id"],
                "requests": int(r["requests"] or 0),
                "tokens": token_classes(r),
                "amount_exact": str(amount),
                "amount": str(quantize_money(amount, r["sell_currency"])),
            }
        )
    existing = set(
        UsageStatement.objects.filter(customer_id__in=customer_ids, period=period.label).values_list(
            "customer_id", "currency"
        )
    )
    statements = [
        UsageStatement(
            customer_id=cid,
            period=period.label,
            period_start=period.start,
            period_end=period.end,
            currency=ccy,
            lines=lines,
            total=sum((Decimal(ln["amount"]) for ln in lines), Decimal("0")),
        )
        for (cid, ccy), lines in grouped.items()
        if (cid, ccy) not in existing
    ]
    UsageStatement.objects.bulk_create(statements, ignore_conflicts=True, batch_size=1000)
    return statements


def close_refusal(period: Period, *, issue_date: date | None = None) -> None:
    """Raise ``CloseError`` when ``period`` must not be closed: it has not ended yet (by the issue date,
    today in the operator's time zone by default), or a later period of the same cadence was closed
    already (billing is cumulative: closing an earlier period afterwards would bill against the later
    invoices)."""
    issue_date = issue_date or timezone.localdate()
    if period.end >= issue_date:
        raise CloseError(
            _(
                "%(period)s ends on %(end)s: a period can only be closed after it has ended"
                " (issue date %(issue)s)."
            )
            % {"period": period.label, "end": period.end, "issue": issue_date}
        )
    done = PeriodClose.objects.filter(state=PeriodClose.State.DONE, period_end__gt=period.end)
    done = done.filter(period__contains="Q") if period.is_quarter else done.exclude(period__contains="Q")
    later = done.order_by("-period_end").values_list("period", flat=True).first()
    if later:
        raise CloseError(
            _("%(later)s is already closed: an earlier period (%(period)s) can no longer be closed.")
            % {"later": later, "period": period.label}
        )


def close_period(
    period: Period | str, *, actor=None, issue_date: date | None = None, chunk_size: int = CHUNK
) -> CloseResult:
    """Close ``period``: invoice its credit customers, give prepaid ones statements; record a PeriodClose.

    Safe to re-run: customers already invoiced for the period are skipped, and late usage goes to the
    next close. ``issue_date`` defaults to today in the operator's time zone.
    """
    if isinstance(period, str):
        period = period_parse(period)
    issue_date = issue_date or timezone.localdate()
    close_refusal(period, issue_date=issue_date)
    record = PeriodClose.objects.create(
        period=period.label, period_start=period.start, period_end=period.end, started_by=actor
    )
    result = CloseResult(period_close=record)
    try:
        mode = BillingTerms.Mode.QUARTERLY if period.is_quarter else BillingTerms.Mode.MONTHLY
        closing = Q(mode=mode)
        if not period.is_quarter:
            # Customers who left credit terms recently still owe the usage they accrued on credit.
            closing |= Q(
                mode=BillingTerms.Mode.PREPAID,
                credit_until__gte=_local_midnight(period.start),
                credit_until__lt=_local_midnight(period.end + timedelta(days=1)),
            )
        rows = list(
            BillingTerms.objects.filter(closing)
            .order_by("customer_id")
            .values_list("customer_id", "credit_since", "credit_until")
        )
        credit_ids = [cid for cid, _since, _until in rows]
        spans = {cid: Span(since, until) for cid, since, until in rows if since or until}
        prepaid_ids = []
        if not period.is_quarter:
            prepaid_ids = list(
                BillingTerms.objects.filter(mode=BillingTerms.Mode.PREPAID)
                .order_by("customer_id")
                .values_list("customer_id", flat=True)
            )
        models = {m.pk: m for m in AIModel.objects.all()}
        prices = UnitPrices(period=period, customer_ids=credit_ids)
        staged = _usage_stage(period, [cid for cid in credit_ids if cid not in spans])
        try:
            for i in range(0, len(credit_ids), chunk_size):
                result.invoices += _close_chunk(
                    customer_ids=credit_ids[i : i + chunk_size],
                    period=period,
                    issue_date=issue_date,
                    models=models,
                    prices=prices,
                    actor=actor,
                    staged=staged,
                    spans=spans,
                )
        finally:
            if staged:
                _usage_stage_drop()
        for i in range(0, len(prepaid_ids), chunk_size):
            result.statements += _statements(prepaid_ids[i : i + chunk_size], period, models)
    except Exception as exc:
        record.state = PeriodClose.State.FAILED
        record.error = f"{type(exc).__name__}: {exc}"[:5000]
        record.finished_at = timezone.now()
        record.save(update_fields=["state", "error", "finished_at"])
        raise
    record.state = PeriodClose.State.DONE
    record.customers = len(credit_ids) + len(prepaid_ids)
    record.invoices_created = len(result.invoices)
    record.statements_created = len(result.statements)
    record.finished_at = timezone.now()
    record.save(update_fields=["state", "customers", "invoices_created", "statements_created", "finished_at"])
    logger.info(
        "Closed %s: %s invoices, %s statements", period.label, len(result.invoices), len(result.statements)
    )
    return result
