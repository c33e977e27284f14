"""What a close writes: invoices, their lines (COPY on PostgreSQL), their postings, prepaid statements.

A chunk's writes run inside its transaction (``services``), in bulk: a first close of 10,000 customers
writes ~500,000 lines and 10,000 journal transactions.
"""

import json
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from billing.invoicing.close.lines import CloseKeys
from billing.invoicing.models import Invoice, InvoiceLine, UsageStatement
from billing.invoicing.periods import Period, due_date
from billing.invoicing.services import (
    CUSTOMER_ACCOUNT_KINDS,
    BuiltLine,
    invoice_posting,
    invoice_posting_lines,
    invoice_totals,
)
from billing.invoicing.signals import invoices_issued
from billing.ledger.accounts import ACCOUNT_TYPES, account_code, account_get, book_id_of
from billing.ledger.models import AccountKind, LedgerAccount
from billing.ledger.services import transactions_post_many
from billing.money import copy_field
from billing.terms.credit import credit_limit_watch
from billing.terms.models import BillingTerms
from billing.wallets.mirror import seller_book_mirror

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
        LedgerAccount(
            code=code,
            kind=kind,
            type=ACCOUNT_TYPES[kind],
            currency=ccy,
            customer=customer,
            book_id=book_id_of(kind=kind, customer=customer, book=None),
        )
        for code, (kind, ccy, customer) in wanted.items()
        if code not in found
    ]
    if missing:
        LedgerAccount.objects.bulk_create(missing, ignore_conflicts=True, batch_size=1000)
        found |= {a.code: a for a in LedgerAccount.objects.filter(code__in=[a.code for a in missing])}
    shared: dict[tuple[str, str, int | None], LedgerAccount] = {}

    def resolver(invoice: Invoice):
        def account(kind: str):
            if kind in CUSTOMER_ACCOUNT_KINDS:
                return found[account_code(kind=kind, currency=invoice.currency, customer=invoice.customer)]
            # Revenue, tax and rounding of the book the customer is sold in (``accounts.chain``).
            key = (kind, invoice.currency, invoice.customer.seller_id)
            if key not in shared:
                shared[key] = account_get(kind=kind, currency=invoice.currency, book=invoice.customer.seller)
            return shared[key]

        return account

    return resolver


def _lines_store(lines: list[BuiltLine]) -> None:
    """Store invoice lines: COPY on PostgreSQL (a close writes ~500,000 of them), bulk_create elsewhere.

    The COPY text is formatted here (a few microseconds a row, against ~10 for adapting each value).
    """
    if connection.vendor != "postgresql":
        InvoiceLine.objects.bulk_create([ln.model() for ln in lines], batch_size=1000)
        return
    sql = f"COPY {InvoiceLine._meta.db_table} ({', '.join(LINE_COLUMNS)}) FROM STDIN"
    f = copy_field
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


def invoices_store(
    *,
    todo: list[str],
    close_keys: CloseKeys,
    built_of: dict[tuple[int, str], list[BuiltLine]],
    terms: dict[int, BillingTerms],
    period: Period,
    issue_date: date,
    number_of: dict[str, tuple[str, str]],
    actor,
    residuals: dict[tuple[int, str], Decimal] | None = None,
) -> list[Invoice]:
    """Write the invoices of ``todo`` (close keys) with their lines; post those numbered in ``number_of``
    (close key → ``(series, number)``: each in its seller's series).

        A numbered invoice is issued at once (dates, ``invoice:<id>`` journal transaction), the others stay
        drafts for review. ``residuals``: per (customer, currency) the trace of the unbilled accrual an issued
        invoice moves to the rounding account (``services.unbilled_residuals``).
    """
    residuals = residuals or {}
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
            inv.series, inv.number = number_of[close_key]
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
            residual = residuals.get(close_keys[inv.close_key], Decimal("0"))
            legs = invoice_posting_lines(
                inv, lines_of[inv.close_key], resolve(inv), unbilled_residual=residual
            )
            postings.append(invoice_posting(inv, legs) if legs else None)
        posted = transactions_post_many(postings=[p for p in postings if p], actor=actor)
        credit_limit_watch(transactions=posted)  # issuing moves service charges and tax into exposure
        txns = iter(posted)
        for inv, posting in zip(issued, postings, strict=True):
            if posting is not None:
                inv.journal_transaction = next(txns)
        _journal_links_store([inv for inv in issued if inv.journal_transaction_id])
        for inv in issued:
            if inv.customer.is_reseller and inv.journal_transaction_id:
                # A resale sub-distributor's book: its invoice's rounding, charges and tax (its usage was
                # owed there already), as ``services.invoice_issue`` does.
                seller_book_mirror(
                    transaction=inv.journal_transaction, counter=AccountKind.COST_OF_TOKENS, actor=actor
                )
        issued_ids = [inv.pk for inv in issued]
        transaction.on_commit(lambda: invoices_issued.send(sender=Invoice, invoice_ids=issued_ids))
    return invoices


def statements_store(
    grouped: dict[tuple[int, str], list[dict]], *, customer_ids: list[int], period: Period
) -> list[UsageStatement]:
    """Write the prepaid customers' statements of ``period`` (``lines.statement_lines``), skipping those
    already made (a re-run close)."""
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
