"""CSV for accountants: a statement, and a period's invoices, payments, credit notes, journal, trial balance.

A period's exports read one book (``accounts.chain``): the operator's (``book_id`` None, the default) or a
resale sub-distributor's. Books are never mixed: a sale across a hop is in both, and a trial balance of two
books would count it twice. A document belongs to the book its journal transaction was posted in (the
book its customer was sold in then), or, not posted, to its customer's seller's.

Every function yields CSV lines (header first) so views can stream them, written by
``common.csv_export`` (so free text cannot start a spreadsheet formula). Amounts are passed as Decimal
and written exactly (no exponent, no rounding, no thousands separators); the journal and the trial balance
keep the ledger's full precision, documents their currency's decimals (JPY none, CNY two, KWD three).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from django.db.models import Case, DecimalField, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import translation

from billing.documents.pdf import language_for
from billing.invoicing.models import Invoice
from billing.ledger.models import JournalEntry, LedgerAccount
from billing.ledger.selectors import in_book, journal_csv_rows
from billing.money import MoneyField, quantize_money
from billing.payments.models import Correction
from billing.receivables.models import CreditNote, CustomerPayment
from billing.receivables.selectors import invoice_status_then, invoices_as_of, payments_as_of
from common.csv_export import CsvWriter

ZERO = Decimal("0")
EXPORT_KINDS = ("invoices", "payments", "credit_notes", "journal", "trial_balance")


def _text_in(language: str, value) -> str:
    """A lazy statement text made in ``language`` now (a streamed CSV is written after the view returns)."""
    with translation.override(language):
        return str(value)


def statement_csv_rows(statement, *, language: str | None = None) -> Iterator[str]:
    """The statement's rows; codes in ``type`` and ``section``, descriptions in the statement's language
    (or ``language``: a download's ``?lang=``)."""
    language = language_for(language or statement.language)
    w = CsvWriter()
    yield w.writerow(
        [
            "customer",
            "section",
            "currency",
            "date",
            "type",
            "reference",
            "description",
            "due_date",
            "increase",
            "decrease",
            "balance",
        ]
    )
    code = statement.customer.code
    for s in statement.sections:
        yield w.writerow(
            [code, s.kind, s.currency, statement.date_from, "opening", "", "", "", "", "", s.opening]
        )
        for row in s.rows:
            yield w.writerow(
                [
                    code,
                    s.kind,
                    s.currency,
                    row.date,
                    row.category,
                    row.reference,
                    _text_in(language, row.description),
                    row.due_date or "",
                    row.increase,
                    row.decrease,
                    row.balance,
                ]
            )
        yield w.writerow(
            [
                code,
                s.kind,
                s.currency,
                statement.date_to,
                "closing",
                "",
                "",
                "",
                s.increase_total,
                s.decrease_total,
                s.closing,
            ]
        )
        for bucket in s.aging:
            yield w.writerow(
                [code, s.kind, s.currency, statement.date_to, f"aging:{bucket.key}"]
                + [""] * 5
                + [bucket.amount]
            )


def _documents_in_book(book_id: int | None) -> Q:
    """Invoices, payments or credit notes of one book (see the module's docstring)."""
    sold_by = Q(customer__seller__isnull=True) if book_id is None else Q(customer__seller_id=book_id)
    posted = Q(journal_transaction__isnull=False) & in_book("journal_transaction__", book_id)
    return posted | (Q(journal_transaction__isnull=True) & sold_by)


def invoices_csv_rows(date_from: dt.date, date_to: dt.date, book_id: int | None = None) -> Iterator[str]:
    w = CsvWriter()
    yield w.writerow(
        [
            "number",
            "issue_date",
            "due_date",
            "customer",
            "customer_name",
            "period",
            "status",
            "currency",
            "subtotal",
            "tax",
            "total",
            "paid",
            "credited",
            "due",
        ]
    )
    # Paid, credited, due and status as they stood at the end of the period, so a re-export reads the same.
    invoices = invoices_as_of(
        Invoice.objects.filter(_documents_in_book(book_id), issue_date__range=(date_from, date_to))
        .exclude(status=Invoice.Status.DRAFT)
        .select_related("customer")
        .order_by("issue_date", "number"),
        date_to,
    )
    for inv in invoices.iterator(chunk_size=2000):
        yield w.writerow(
            [
                inv.number,
                inv.issue_date,
                inv.due_date or "",
                inv.customer.code,
                inv.customer.name,
                inv.period,
                invoice_status_then(inv, date_to),
                inv.currency,
                *(
                    quantize_money(amount, inv.currency)
                    for amount in (
                        inv.subtotal,
                        inv.tax_amount,
                        inv.total,
                        inv.paid_then,
                        inv.credited_then,
                        _due_then(inv, date_to),
                    )
                ),
            ]
        )


def _due_then(invoice: Invoice, day: dt.date) -> Decimal:
    if invoice_status_then(invoice, day) == Invoice.Status.VOID:
        return ZERO
    return max(invoice.total - invoice.paid_then - invoice.credited_then - invoice.written_off_then, ZERO)


def payments_csv_rows(date_from: dt.date, date_to: dt.date, book_id: int | None = None) -> Iterator[str]:
    w = CsvWriter()
    yield w.writerow(
        [
            "id",
            "received_on",
            "customer",
            "customer_name",
            "method",
            "reference",
            "currency",
            "amount",
            "allocated",
            "unallocated",
            "refunded",
            "journal_transaction",
        ]
    )
    # Allocated and refunded as they stood at the end of the period (later allocations, releases,
    # refunds and reversals are not yet there): a reversed or refunded payment is not unapplied credit.
    payments = _refunded_as_of(
        payments_as_of(
            CustomerPayment.objects.filter(
                _documents_in_book(book_id),
                status=CustomerPayment.Status.RECEIVED,
                received_on__range=(date_from, date_to),
            )
            .select_related("customer")
            .order_by("received_on", "id"),
            date_to,
        ),
        date_to,
    )
    for p in payments.iterator(chunk_size=2000):
        yield w.writerow(
            [
                p.pk,
                p.received_on,
                p.customer.code,
                p.customer.name,
                p.method,
                p.reference,
                p.currency,
                # Stored amounts keep three places for every currency; each is written in its currency's own.
                quantize_money(p.amount, p.currency),
                quantize_money(p.allocated_then, p.currency),
                quantize_money(p.amount - p.allocated_then - p.refunded_then, p.currency),
                quantize_money(p.refunded_then, p.currency),
                p.journal_transaction_id or "",
            ]
        )


def _refunded_as_of(payments, day: dt.date):
    """Annotate what of each payment had gone back by the end of ``day`` (``refunded_then``).

    ``CustomerPayment.refunded`` is today's sum of the done corrections (refunds, reversals, card
    refunds and disputes; a reinstated dispute gives back); dated by their effective dates, they say
    what it was on ``day``.
    """
    done = Correction.objects.filter(
        payment=OuterRef("pk"), status=Correction.Status.DONE, effective_date__lte=day
    )
    signed = Case(
        When(kind=Correction.Kind.DISPUTE_REINSTATED, then=-F("amount")),
        default=F("amount"),
        output_field=MoneyField(),
    )
    total = done.order_by().values("payment").annotate(s=Sum(signed)).values("s")
    return payments.annotate(refunded_then=Coalesce(Subquery(total), Value(ZERO), output_field=MoneyField()))


def credit_notes_csv_rows(date_from: dt.date, date_to: dt.date, book_id: int | None = None) -> Iterator[str]:
    w = CsvWriter()
    yield w.writerow(
        [
            "number",
            "issue_date",
            "customer",
            "customer_name",
            "invoice",
            "currency",
            "subtotal",
            "tax",
            "total",
            "voids_invoice",
            "reason",
        ]
    )
    notes = (
        CreditNote.objects.filter(_documents_in_book(book_id), issue_date__range=(date_from, date_to))
        .select_related("customer", "invoice")
        .order_by("issue_date", "number")
    )
    for n in notes.iterator(chunk_size=2000):
        yield w.writerow(
            [
                n.number,
                n.issue_date,
                n.customer.code,
                n.customer.name,
                n.invoice.number,
                n.currency,
                *(quantize_money(amount, n.currency) for amount in (n.subtotal, n.tax_amount, n.total)),
                "yes" if n.voids_invoice else "no",
                n.reason,
            ]
        )


def journal_rows(date_from: dt.date, date_to: dt.date, book_id: int | None = None) -> Iterator[str]:
    entries = (
        JournalEntry.objects.filter(
            in_book("transaction__", book_id), transaction__effective_date__range=(date_from, date_to)
        )
        .select_related("transaction", "account", "account__customer", "account__vendor")
        .order_by("transaction__effective_date", "transaction_id", "id")
    )
    return journal_csv_rows(entries.iterator(chunk_size=2000))


def trial_balance(date_from: dt.date, date_to: dt.date, book_id: int | None = None) -> list[dict]:
    """Per account of one book: opening (before ``date_from``), debits and credits in the period, closing.

    Debit positive. Per currency the openings, the closings and debits − credits each sum to zero,
    because every transaction balances per currency within its book.
    """
    in_period = Q(entries__transaction__effective_date__range=(date_from, date_to))
    before = Q(entries__transaction__effective_date__lt=date_from)
    zero = Value(ZERO)
    money = DecimalField(max_digits=38, decimal_places=12)
    accounts = (
        LedgerAccount.objects.filter(in_book("", book_id))
        .select_related("customer", "vendor")
        .annotate(
            opening=Coalesce(Sum("entries__amount", filter=before), zero, output_field=money),
            debits=Coalesce(
                Sum("entries__amount", filter=in_period & Q(entries__amount__gt=0)), zero, output_field=money
            ),
            credits=Coalesce(
                Sum("entries__amount", filter=in_period & Q(entries__amount__lt=0)), zero, output_field=money
            ),
        )
        .order_by("currency", "code")
    )
    rows = []
    for a in accounts:
        credits = -a.credits
        if not (a.opening or a.debits or credits):
            continue
        rows.append(
            {
                "account": a,
                "opening": a.opening,
                "debits": a.debits,
                "credits": credits,
                "closing": a.opening + a.debits - credits,
            }
        )
    return rows


def trial_balance_rows(date_from: dt.date, date_to: dt.date, book_id: int | None = None) -> Iterator[str]:
    w = CsvWriter()
    yield w.writerow(
        ["account", "account_name", "type", "currency", "opening", "debits", "credits", "closing"]
    )
    totals: dict[str, list[Decimal]] = {}
    for row in trial_balance(date_from, date_to, book_id):
        a = row["account"]
        figures = [row["opening"], row["debits"], row["credits"], row["closing"]]
        yield w.writerow([a.code, a.name, a.type, a.currency, *figures])
        total = totals.setdefault(a.currency, [ZERO] * 4)
        for i, x in enumerate(figures):
            total[i] += x
    for currency, total in sorted(totals.items()):
        yield w.writerow(["TOTAL", "", "", currency, *total])


EXPORTERS = {
    "invoices": invoices_csv_rows,
    "payments": payments_csv_rows,
    "credit_notes": credit_notes_csv_rows,
    "journal": journal_rows,
    "trial_balance": trial_balance_rows,
}
