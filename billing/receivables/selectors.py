"""Reads for receivables pages: what each user may see, and list totals."""

from decimal import Decimal

from django.db.models import Case, Count, ExpressionWrapper, F, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from accounts.models import User
from accounts.selectors import customers_visible_to
from billing.invoicing.models import Invoice
from billing.money import MoneyField
from billing.receivables.models import CreditNote, CustomerPayment, Receipt

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
    owed = ExpressionWrapper(F("total") - F("amount_paid") - F("amount_credited"), output_field=_MONEY)
    return invoices.annotate(
        due=Case(When(status__in=OPEN, then=owed), default=Value(Decimal("0")), output_field=_MONEY)
    )


def overdue_q() -> Q:
    return Q(status__in=OPEN, due_date__lt=timezone.localdate())


def invoice_totals(invoices: QuerySet[Invoice]) -> list[dict]:
    """Per currency: how many invoices, their total and what is still due (drafts and void owe nothing)."""
    owed = ExpressionWrapper(F("total") - F("amount_paid") - F("amount_credited"), output_field=_MONEY)
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
