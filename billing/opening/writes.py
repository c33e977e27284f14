"""Write a checked plan's new rows: open receivables, deposits, upstream prepaid credit.

Called by ``services`` inside the one database transaction that applies a file, after the plan was made
again under lock and found free of errors; whatever fails here rolls the whole file back.

Be careful changing :func:`receivables_write`: an opening invoice must stay an invoice like any other —
issued, numbered (with its old number, in the OPENING series, outside this system's gapless ones), one
line, no tax (the old system taxed it), posted on its issue date Dr receivable / Cr opening balance equity
in the customer's seller's book (``invoicing.services.invoice_posting_lines`` with the line's kind), and
linked to that posting — because aging, dunning, allocation, credit notes, write-offs and statements all
read invoices that way.
"""

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.gateway.status import status_invalidate
from billing.invoicing.models import Invoice, InvoiceLine
from billing.invoicing.services import invoice_posting, invoice_posting_lines
from billing.invoicing.signals import invoices_issued
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import transactions_post_many
from billing.opening.models import OpeningImport
from billing.opening.plan import CREATED, Plan, start_of
from billing.terms.credit import credit_limit_watch
from billing.upstream.models import UpstreamPack
from billing.upstream.packs import OPENING, upstream_pack_buy
from billing.wallets.mirror import seller_book_mirror
from billing.wallets.opening import wallet_opening_deposit
from common.stored_text import stored

# The series an opening invoice is filed under: its number is the old system's, never this system's.
SERIES = "OPENING"


def _accounts():
    cache: dict[tuple, object] = {}

    def account(kind: str, customer, currency: str):
        # The receivable is the customer's (kept in its seller's book); equity is the seller's book's own.
        key = (kind, customer.pk if kind == AccountKind.RECEIVABLE else customer.seller_id, currency)
        if key not in cache:
            owner = {"customer": customer} if kind == AccountKind.RECEIVABLE else {"book": customer.seller}
            cache[key] = account_get(kind=kind, currency=currency, **owner)
        return cache[key]

    return account


def _description(planned, record: OpeningImport) -> str:
    if planned.source.description:
        return planned.source.description
    # Shown on the customer's statement and invoice: in the customer's language.
    with translation.override(planned.customer.language):
        return _("Opening balance: document %(document)s") % {"document": planned.source.document}


def receivables_write(plan: Plan, record: OpeningImport, *, actor=None) -> list[Invoice]:
    """Issue an opening invoice for each new row and post them all; return the invoices."""
    new = [p for p in plan.rows if p.outcome == CREATED]
    if not new:
        return []
    now = timezone.now()
    notes = _("Opening balance imported from %(file)s (import #%(id)s).") % {
        "file": record.filename,
        "id": record.pk,
    }
    invoices = Invoice.objects.bulk_create(
        [
            Invoice(
                customer=p.customer,
                status=Invoice.Status.ISSUED,
                kind=Invoice.Kind.OPENING,
                series=SERIES,
                number=p.source.document,
                currency=p.source.currency,
                language=p.customer.language,
                issue_date=p.source.on,
                due_date=p.due_date,
                subtotal=p.source.amount,
                total=p.source.amount,
                notes=notes,
                issued_at=now,
                issued_by=actor,
            )
            for p in new
        ]
    )
    lines = InvoiceLine.objects.bulk_create(
        [
            InvoiceLine(
                invoice=invoice,
                position=1,
                kind=InvoiceLine.Kind.OPENING,
                description=_description(p, record)[:300],
                amount_exact=p.source.amount,
                amount=p.source.amount,
                source_key=f"opening:{record.pk}:{p.row}",
            )
            for invoice, p in zip(invoices, new, strict=True)
        ]
    )
    account = _accounts()
    postings = [
        invoice_posting(
            invoice,
            invoice_posting_lines(
                invoice, [line], lambda kind, c=invoice.customer, ccy=invoice.currency: account(kind, c, ccy)
            ),
        )
        for invoice, line in zip(invoices, lines, strict=True)
    ]
    posted = transactions_post_many(postings=postings, actor=actor)
    for invoice, txn in zip(invoices, posted, strict=True):
        invoice.journal_transaction = txn
    Invoice.objects.bulk_update(invoices, ["journal_transaction"], batch_size=1000)
    for invoice in invoices:
        if invoice.customer.is_reseller:
            # What a resale sub-distributor owed its seller is its own opening balance too.
            seller_book_mirror(
                transaction=invoice.journal_transaction,
                counter=AccountKind.OPENING_BALANCE_EQUITY,
                actor=actor,
            )
    credit_limit_watch(transactions=posted)
    customer_ids = sorted({invoice.customer_id for invoice in invoices})
    invoice_ids = [invoice.pk for invoice in invoices]
    transaction.on_commit(lambda: status_invalidate(customer_ids=customer_ids))
    # As for any issued invoice: credit the customer holds unallocated is applied to it.
    transaction.on_commit(lambda: invoices_issued.send(sender=Invoice, invoice_ids=invoice_ids))
    return invoices


def deposits_write(plan: Plan, record: OpeningImport, *, actor=None) -> None:
    """Credit each new row's deposit to its customer's paid wallet, dated as the file says."""
    for planned in plan.rows:
        if planned.outcome != CREATED:
            continue
        source = planned.source
        memo = _("Opening deposit %(document)s") % {"document": source.document}
        if source.description:
            memo = f"{memo}: {source.description}"
        memo_message = (
            stored(
                "opening.memo.deposit_description", document=source.document, description=source.description
            )
            if source.description
            else stored("opening.memo.deposit", document=source.document)
        )
        wallet_opening_deposit(
            customer=planned.customer,
            currency=source.currency,
            amount=source.amount,
            document=source.document,
            on=source.on,
            memo=memo,
            memo_message=memo_message,
            source=f"opening:{record.pk}",
            actor=actor,
        )


def upstream_write(plan: Plan, record: OpeningImport, *, actor=None) -> None:
    """Record each new row's unused upstream credit as a prepayment pack funded from opening equity."""
    for planned in plan.rows:
        if planned.outcome != CREATED:
            continue
        source = planned.source
        upstream_pack_buy(
            channel=planned.channel,
            kind=UpstreamPack.Kind.PREPAYMENT,
            reference=source.document,
            price=source.amount,
            name=source.description[:120] or _("Opening balance"),
            purchased_at=start_of(source.on),
            expires_at=start_of(source.expires_on),
            payment=OPENING,
            created_by=actor,
        )


WRITERS = {
    OpeningImport.Kind.RECEIVABLES: receivables_write,
    OpeningImport.Kind.DEPOSITS: deposits_write,
    OpeningImport.Kind.UPSTREAM: upstream_write,
}
