"""Reads for receivables pages: what each user may see, and list totals."""

import datetime as dt
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    ExpressionWrapper,
    F,
    Min,
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

from accounts.models import User
from accounts.selectors import customers_visible_to
from billing.invoicing.models import Invoice
from billing.money import MoneyField
from billing.receivables.models import (
    BadDebtRecovery,
    CreditNote,
    CustomerPayment,
    PaymentAllocation,
    Receipt,
    WriteOff,
    WriteOffLine,
)
from billing.receivables.moments import day_end

OPEN = (Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID)
_MONEY = MoneyField()


def invoices_visible_to(user: User) -> QuerySet[Invoice]:
    """Invoices of every customer ``user`` may see (staff: all; a portal user: its organisation's subtree)."""
    return Invoice.objects.filter(customer__in=customers_visible_to(user)).select_related("customer")


def payments_visible_to(user: User) -> QuerySet[CustomerPayment]:
    return CustomerPayment.objects.filter(customer__in=customers_visible_to(user)).select_related("customer")


def credit_notes_visible_to(user: User) -> QuerySet[CreditNote]:
    return CreditNote.objects.filter(customer__in=customers_visible_to(user)).select_related(
        "customer", "invoice"
    )


def receipts_visible_to(user: User) -> QuerySet[Receipt]:
    return Receipt.objects.filter(customer__in=customers_visible_to(user)).select_related(
        "customer", "card_topup", "bank_transfer", "payment"
    )


def with_amount_due(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Annotate ``due`` (what is still owed; zero for drafts and void) so lists can sort by it."""
    owed = ExpressionWrapper(
        F("total") - F("amount_paid") - F("amount_credited") - F("amount_written_off"), output_field=_MONEY
    )
    return invoices.annotate(
        due=Case(When(status__in=OPEN, then=owed), default=Value(Decimal("0")), output_field=_MONEY)
    )


def overdue_q() -> Q:
    return Q(status__in=OPEN, due_date__lt=timezone.localdate())


def invoice_totals(invoices: QuerySet[Invoice]) -> list[dict]:
    """Per currency: how many invoices, their total and what is still due (drafts and void owe nothing)."""
    owed = ExpressionWrapper(
        F("total") - F("amount_paid") - F("amount_credited") - F("amount_written_off"), output_field=_MONEY
    )
    rows = (
        invoices.order_by()
        .values("currency")
        .annotate(
            n=Count("id"),
            billed=Sum("total", filter=~Q(status=Invoice.Status.VOID)),
            owed=Sum(owed, filter=Q(status__in=OPEN)),
        )
        .order_by("currency")
    )
    # Named apart from the list's own ``due`` annotation, which an aggregate may not shadow.
    return [
        {
            "currency": row["currency"],
            "count": row["n"],
            "total": row["billed"] or Decimal("0"),
            "due": row["owed"] or Decimal("0"),
        }
        for row in rows
    ]


def _summed(rows: QuerySet, by: str, field: str):
    total = rows.order_by().values(by).annotate(s=Sum(field)).values("s")
    return Coalesce(Subquery(total), Value(Decimal("0")), output_field=_MONEY)


def invoices_as_of(invoices: QuerySet[Invoice], day: dt.date) -> QuerySet[Invoice]:
    """Annotate what was paid (``paid_then``), credited (``credited_then``) and written off, less recovered
    (``written_off_then``), of each invoice by the end of ``day``, and when a credit note voided it
    (``voided_on``): history, not today's cached amounts. A write-off counts from its effective date."""
    rows = PaymentAllocation.objects.filter(invoice=OuterRef("pk"), allocated_at__lt=day_end(day))
    notes = CreditNote.objects.filter(invoice=OuterRef("pk"), issue_date__lte=day)
    written = WriteOffLine.objects.filter(
        invoice=OuterRef("pk"), write_off__status=WriteOff.Status.APPROVED, write_off__effective_date__lte=day
    )
    recovered = BadDebtRecovery.objects.filter(invoice=OuterRef("pk"), recovered_on__lte=day)
    return invoices.annotate(
        paid_then=_summed(rows, "invoice", "amount"),
        credited_then=_summed(notes, "invoice", "total"),
        written_off_then=ExpressionWrapper(
            _summed(written, "invoice", "amount") - _summed(recovered, "invoice", "amount"),
            output_field=_MONEY,
        ),
        voided_on=Min("credit_notes__issue_date", filter=Q(credit_notes__voids_invoice=True)),
    )


def invoice_status_then(invoice: Invoice, day: dt.date) -> str:
    """The status an invoice annotated by ``invoices_as_of`` had at the end of ``day``."""
    if invoice.status == Invoice.Status.VOID and (invoice.voided_on is None or invoice.voided_on <= day):
        return Invoice.Status.VOID  # a voided draft was void from its (void) issue date on
    if invoice.total - invoice.paid_then - invoice.credited_then - invoice.written_off_then <= 0:
        return Invoice.Status.WRITTEN_OFF if invoice.written_off_then > 0 else Invoice.Status.PAID
    return Invoice.Status.PARTIALLY_PAID if invoice.paid_then > 0 else Invoice.Status.ISSUED


def payments_as_of(payments: QuerySet[CustomerPayment], day: dt.date) -> QuerySet[CustomerPayment]:
    """Annotate what of each payment was allocated by the end of ``day`` (``allocated_then``)."""
    rows = PaymentAllocation.objects.filter(payment=OuterRef("pk"), allocated_at__lt=day_end(day))
    return payments.annotate(allocated_then=_summed(rows, "payment", "amount"))


def write_offs_visible_to(user: User) -> QuerySet[WriteOff]:
    """Write-offs of every customer ``user`` may see, with who proposed and decided them."""
    return WriteOff.objects.filter(customer__in=customers_visible_to(user)).select_related(
        "customer", "proposed_by", "decided_by"
    )
