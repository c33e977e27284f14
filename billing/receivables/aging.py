"""Receivables by age at any date: the open amount of every invoice then, and the bucket it fell in.

One rule for every reader (statements, the aging report and its API, expected credit loss, the
dashboard, the forecast), the boundary rule of ERPNext's receivables report (``goldens/accounting.md``):
age = the date − the due date, in days; an amount falls in the first bucket whose upper bound is ≥ its
age. So age ≤ 0 (not yet due, or due that day) is current, 1 and 30 are 1–30, 31 is 31–60, 90 is
61–90, 91 is over 90. An invoice with no due date ages from its issue date.

A past date is read from history, never from today's cached amounts: what payments had settled by the
end of that day (dated allocation rows, releases included), credit notes issued by then, write-offs
approved with an effective date by then less recoveries made by then. So an aging taken today for last
month's end equals the one taken on that day, whatever was paid, credited or written off since. For
today (or later) the cached amounts on the invoice are the same figures, read faster.
"""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import (
    Case,
    DateField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.invoicing.models import Invoice
from billing.money import MoneyField
from billing.receivables.models import BadDebtRecovery, CreditNote, PaymentAllocation, WriteOffLine
from billing.receivables.moments import day_end

ZERO = Decimal("0")
_MONEY = MoneyField()

# (key, label, lowest age in days, highest age in days); None is unbounded.
BUCKETS = (
    ("current", _("Current"), None, 0),
    ("d1_30", _("1–30 days"), 1, 30),
    ("d31_60", _("31–60 days"), 31, 60),
    ("d61_90", _("61–90 days"), 61, 90),
    ("d90_plus", _("Over 90 days"), 91, None),
)
BUCKET_KEYS = tuple(key for key, *_rest in BUCKETS)
BUCKET_LABELS = {key: label for key, label, *_rest in BUCKETS}
# Invoices that can owe anything: posted to the ledger when issued (a draft voided unissued takes a
# number but was never posted, so it never owed).
POSTED = ~Q(status=Invoice.Status.DRAFT) & Q(journal_transaction__isnull=False, issue_date__isnull=False)
CURRENTLY_OPEN = (Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID)


def _summed(rows: QuerySet, by: str, field: str):
    total = rows.order_by().values(by).annotate(s=Sum(field)).values("s")
    return Coalesce(Subquery(total), Value(ZERO), output_field=_MONEY)


def _bucket_case(day: dt.date):
    """SQL: the bucket key of each invoice's age at ``day`` (the boundary rule above)."""
    aged_from = Coalesce(F("due_date"), F("issue_date"), output_field=DateField())
    whens = []
    for key, _label, _low, high in BUCKETS:
        if high is None:
            break
        # age ≤ high  ⇔  due date ≥ day − high
        whens.append(When(**{"aged_from__gte": day - dt.timedelta(days=high)}, then=Value(key)))
    return aged_from, Case(*whens, default=Value(BUCKET_KEYS[-1]))


def open_items_as_of(day: dt.date, invoices: QuerySet[Invoice] | None = None) -> QuerySet[Invoice]:
    """Invoices with something open at the end of ``day``, annotated ``open_then`` (major units, > 0),
    ``aged_from`` (due date, else issue date) and ``bucket`` (key).

    ``invoices`` narrows the set (a customer, a subtree, a currency); default every invoice.
    """
    invoices = Invoice.objects.all() if invoices is None else invoices
    invoices = invoices.filter(POSTED, issue_date__lte=day)
    if day >= timezone.localdate():
        open_then = ExpressionWrapper(
            F("total") - F("amount_paid") - F("amount_credited") - F("amount_written_off"),
            output_field=_MONEY,
        )
        invoices = invoices.filter(status__in=CURRENTLY_OPEN).annotate(open_then=open_then)
    else:
        until = day_end(day)
        paid = PaymentAllocation.objects.filter(invoice=OuterRef("pk"), allocated_at__lt=until)
        credited = CreditNote.objects.filter(invoice=OuterRef("pk"), issue_date__lte=day)
        written = WriteOffLine.objects.filter(
            invoice=OuterRef("pk"),
            write_off__status="approved",
            write_off__effective_date__lte=day,
        )
        recovered = BadDebtRecovery.objects.filter(invoice=OuterRef("pk"), recovered_on__lte=day)
        invoices = invoices.annotate(
            open_then=ExpressionWrapper(
                F("total")
                - _summed(paid, "invoice", "amount")
                - _summed(credited, "invoice", "total")
                - _summed(written, "invoice", "amount")
                + _summed(recovered, "invoice", "amount"),
                output_field=_MONEY,
            )
        )
    aged_from, bucket = _bucket_case(day)
    return invoices.annotate(aged_from=aged_from).annotate(bucket=bucket).filter(open_then__gt=0)


def aging_by_customer(
    day: dt.date, invoices: QuerySet[Invoice] | None = None
) -> dict[tuple[int, str], dict[str, Decimal]]:
    """Open amounts at the end of ``day`` per (customer id, currency) and bucket key, summed in SQL.

    Every bucket key is present in each row's dict (zero where nothing is open); only customers with
    something open appear. Amounts are sums of stored amounts (major units, three places): quantize to the
    currency's minor unit for display.
    """
    rows = (
        open_items_as_of(day, invoices)
        .order_by()
        .values("customer_id", "currency", "bucket")
        .annotate(amount=Sum("open_then"))
    )
    out: dict[tuple[int, str], dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(BUCKET_KEYS, ZERO))
    for row in rows:
        out[(row["customer_id"], row["currency"])][row["bucket"]] += row["amount"] or ZERO
    return dict(out)


def aging_totals(day: dt.date, invoices: QuerySet[Invoice] | None = None) -> dict[str, dict[str, Decimal]]:
    """Open amounts at the end of ``day`` per currency and bucket key (every key present)."""
    rows = (
        open_items_as_of(day, invoices)
        .order_by()
        .values("currency", "bucket")
        .annotate(amount=Sum("open_then"))
    )
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(BUCKET_KEYS, ZERO))
    for row in rows:
        out[row["currency"]][row["bucket"]] += row["amount"] or ZERO
    return dict(out)
