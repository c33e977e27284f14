"""Writes for invoices: create a draft with lines, issue it (number, dates, ledger posting).

Be extremely careful changing :func:`invoice_posting_lines`: it decides which accounts an issued invoice
moves money between, and posted history can only be corrected by reversal (credit notes).

How an issued invoice posts (one journal transaction per invoice, idempotency key ``invoice:<id>``):

* Dr receivable(customer) — the invoice total, exactly what the customer owes.
* Cr unbilled receivable(customer) — usage lines, at the *exact* (12-place) amounts the lines were rounded
  from: that is what usage batches accrued. Batches are each rounded to the ledger's places when posted,
  so their sum can differ from the usage's by a trace (3e-12); a period close moves that trace to the
  rounding account, so the accrual ends at exactly what is left to invoice. The share of a usage line that
  bills again a voided issued invoice's usage (``details.rebilled``) is credited to usage revenue instead:
  that invoice already relieved unbilled, and its credit note reversed the revenue.
* Cr revenue: subscriptions — pack purchases on account. Packs are *token allowances*
  (``billing.allowances.drawdown``): usage a pack covers accrues no money, so the pack's price is the
  revenue for those tokens, and nothing else would ever book it. It is recognised when invoiced, like a
  subscription fee (the ledger has no deferred-revenue release for unused allowance tokens: a known
  simplification). Crediting unbilled instead would leave the unbilled account short, since no accrual
  was ever posted for the pack.
* Cr revenue: subscriptions (subscription lines) / revenue: services (service and adjustment lines).
* Cr tax payable — the lines' tax, rounded once per line.
* The difference between the rounded total and the exact amounts to the rounding account (credit when we
  rounded up, debit when down).
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from billing.gateway.status import status_invalidate
from billing.invoicing.models import Invoice, InvoiceLine
from billing.invoicing.numbering import number_next
from billing.invoicing.periods import due_date
from billing.invoicing.signals import invoices_issued
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import Line, Posting, transaction_post
from billing.money import line_round, money_text, quantize_money
from billing.terms.credit import credit_limit_watch
from billing.wallets.mirror import seller_book_mirror
from common.stored_text import stored

# Which account each kind of line is credited to (see the module docstring).
LINE_ACCOUNT_KIND = {
    InvoiceLine.Kind.USAGE: AccountKind.UNBILLED_RECEIVABLE,
    InvoiceLine.Kind.PACK: AccountKind.REVENUE_SUBSCRIPTIONS,
    InvoiceLine.Kind.SUBSCRIPTION: AccountKind.REVENUE_SUBSCRIPTIONS,
    InvoiceLine.Kind.SERVICE: AccountKind.REVENUE_SERVICES,
    InvoiceLine.Kind.ADJUSTMENT: AccountKind.REVENUE_SERVICES,
    # An open item brought from the old system (billing.opening): its revenue was booked there, so the
    # receivable stands against opening balance equity, and a credit note on it corrects that equity.
    InvoiceLine.Kind.OPENING: AccountKind.OPENING_BALANCE_EQUITY,
}
CUSTOMER_ACCOUNT_KINDS = {AccountKind.RECEIVABLE, AccountKind.UNBILLED_RECEIVABLE}


class InvoiceError(Exception):
    """An invoice operation that was refused; the message says why, for staff."""


@dataclass
class LineDraft:
    """A line to put on an invoice, at full precision; :func:`line_build` rounds it once."""

    kind: str
    description: str
    amount_exact: Decimal
    quantity: Decimal = Decimal("1")
    unit: str = ""
    unit_price: Decimal | None = None
    details: dict = field(default_factory=dict)
    ai_model_id: int | None = None
    service_charge_id: int | None = None
    source_key: str = ""


@dataclass(slots=True)
class BuiltLine:
    """A rounded invoice line not yet stored (period close writes ~500,000 of these with COPY)."""

    position: int
    kind: str
    description: str
    ai_model_id: int | None
    quantity: Decimal
    unit: str
    unit_price: Decimal | None
    details: dict | None
    amount_exact: Decimal
    amount: Decimal
    tax_rate: Decimal
    tax_amount: Decimal
    service_charge_id: int | None
    source_key: str
    invoice_id: int | None = None
    details_json: str = ""  # ``details`` already serialised, for COPY

    def model(self) -> InvoiceLine:
        fields = {name: getattr(self, name) for name in self.__slots__ if name != "details_json"}
        if fields["details"] is None:
            fields["details"] = json.loads(self.details_json)
        return InvoiceLine(**fields)


LINE_KINDS = frozenset(InvoiceLine.Kind.values)


def line_build(draft: LineDraft, *, currency: str, tax_rate: Decimal, position: int) -> BuiltLine:
    """Round ``draft`` once: amount to the minor unit, and tax on the rounded amount, rounded once."""
    if draft.kind not in LINE_KINDS:
        raise InvoiceError(_("Unknown invoice line kind %(kind)s.") % {"kind": repr(draft.kind)})
    if not isinstance(draft.amount_exact, Decimal) or not draft.amount_exact.is_finite():
        raise InvoiceError(_("Line %(n)s: the amount must be a decimal number.") % {"n": position})
    rounded = line_round(draft.amount_exact, tax_rate=tax_rate, currency=currency)
    return BuiltLine(
        position=position,
        kind=draft.kind,
        description=draft.description[:300],
        ai_model_id=draft.ai_model_id,
        quantity=draft.quantity,
        unit=draft.unit,
        unit_price=draft.unit_price,
        details=draft.details,
        amount_exact=rounded.exact,
        amount=rounded.amount,
        tax_rate=tax_rate,
        tax_amount=rounded.tax,
        service_charge_id=draft.service_charge_id,
        source_key=draft.source_key[:120],
    )


def invoice_totals(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    """Set ``invoice``'s subtotal, tax and total from its (rounded) lines."""
    invoice.subtotal = sum((ln.amount for ln in lines), Decimal("0"))
    invoice.tax_amount = sum((ln.tax_amount for ln in lines), Decimal("0"))
    invoice.total = invoice.subtotal + invoice.tax_amount


def _terms(customer: Customer):
    terms = getattr(customer, "billing_terms", None)
    if terms is None:
        raise InvoiceError(_("%(customer)s has no billing terms.") % {"customer": customer})
    return terms


@transaction.atomic
def invoice_create(
    *,
    customer: Customer,
    lines: list[LineDraft],
    currency: str | None = None,
    period: str = "",
    period_start: date | None = None,
    period_end: date | None = None,
    notes: str = "",
    close_key: str | None = None,
    actor=None,
) -> Invoice:
    """Create a draft invoice for ``customer`` with ``lines`` (taxed at the customer's terms' rate)."""
    terms = _terms(customer)
    currency = (currency or terms.currency).upper()
    if not lines:
        raise InvoiceError(_("An invoice needs at least one line."))
    invoice = Invoice.objects.create(
        customer=customer,
        close_key=close_key,
        period=period,
        period_start=period_start,
        period_end=period_end,
        currency=currency,
        language=customer.language,
        notes=notes,
    )
    built = [
        line_build(d, currency=currency, tax_rate=terms.tax_rate, position=i)
        for i, d in enumerate(lines, start=1)
    ]
    for ln in built:
        ln.invoice_id = invoice.pk
    InvoiceLine.objects.bulk_create([ln.model() for ln in built])
    invoice_totals(invoice, built)
    invoice.save(update_fields=["subtotal", "tax_amount", "total"])
    return invoice


def line_rebilled(line) -> Decimal:
    """The share of a usage line billing again what a voided issued invoice billed (``details.rebilled``).

    That invoice's issue relieved the unbilled accrual and its credit note reversed usage revenue, so the
    share is credited to usage revenue: relieving unbilled again would take the accrual below zero.
    """
    if line.kind != InvoiceLine.Kind.USAGE or not line.details:
        return Decimal("0")
    return Decimal(line.details.get("rebilled", "0"))


def invoice_posting_lines(
    invoice: Invoice, lines: list[InvoiceLine], account, *, unbilled_residual: Decimal = Decimal("0")
) -> list[Line]:
    """The ledger legs of issuing ``invoice`` (pure but for ``account(kind)`` returning LedgerAccounts).

    Legs are summed per account, so an invoice with 50 usage lines still posts a handful of entries.
    ``unbilled_residual`` (period close only): the trace by which the customer's unbilled accrual exceeds
    the credit usage not yet invoiced, moved to the rounding account (``close.store``).
    """
    ccy = invoice.currency
    per_account: dict[str, Decimal] = defaultdict(Decimal)
    per_account[AccountKind.RECEIVABLE] += invoice.total  # debit
    credited = Decimal("0")
    for ln in lines:
        rebilled = line_rebilled(ln)
        per_account[LINE_ACCOUNT_KIND[ln.kind]] -= ln.amount_exact - rebilled
        # The credit note reversed the rounded amount; the original issue booked its rounding already.
        per_account[AccountKind.REVENUE_USAGE] -= quantize_money(rebilled, ccy)
        per_account[AccountKind.ROUNDING] -= rebilled - quantize_money(rebilled, ccy)
        per_account[AccountKind.TAX_PAYABLE] -= ln.tax_amount
        credited += ln.amount_exact + ln.tax_amount
    # Rounded total minus exact amounts: positive means we rounded up, a gain (credit to rounding).
    per_account[AccountKind.ROUNDING] -= invoice.total - credited
    # The accrual's trace left by rounding each usage batch to the ledger's places (period close).
    per_account[AccountKind.UNBILLED_RECEIVABLE] -= unbilled_residual
    per_account[AccountKind.ROUNDING] += unbilled_residual
    return [
        Line(account=account(kind), amount=amount, currency=ccy)
        for kind, amount in per_account.items()
        if amount != 0
    ]


def _account_resolver(customer: Customer, currency: str):
    cache: dict[str, object] = {}

    def account(kind: str):
        if kind not in cache:
            # Revenue, tax and rounding are in the book the customer is sold in (``accounts.chain``).
            owner = {"customer": customer} if kind in CUSTOMER_ACCOUNT_KINDS else {"book": customer.seller}
            cache[kind] = account_get(kind=kind, currency=currency, **owner)
        return cache[kind]

    return account


def invoice_posting(invoice: Invoice, legs: list[Line]) -> Posting:
    """The journal transaction issuing ``invoice`` posts (idempotency key ``invoice:<id>``)."""
    return Posting(
        idempotency_key=f"invoice:{invoice.pk}",
        kind="invoice.issue",
        lines=legs,
        memo=f"Invoice {invoice.number}",
        memo_message=stored("invoicing.memo.invoice", number=invoice.number),
        source=f"invoice:{invoice.pk}",
        effective_date=invoice.issue_date,
    )


def invoice_post(*, invoice: Invoice, lines: list[InvoiceLine], account, actor=None):
    """Post ``invoice``'s issue transaction (idempotent by invoice id); return it, or None if all zero."""
    legs = invoice_posting_lines(invoice, lines, account)
    if not legs:
        return None
    p = invoice_posting(invoice, legs)
    return transaction_post(
        idempotency_key=p.idempotency_key,
        kind=p.kind,
        lines=p.lines,
        memo=p.memo,
        memo_message=p.memo_message,
        source=p.source,
        effective_date=p.effective_date,
        actor=actor,
    )


@transaction.atomic
def invoice_issue(*, invoice: Invoice, actor=None, issue_date: date | None = None) -> Invoice:
    """Issue a draft: take the next gapless number, fix issue and due dates, post it to the ledger.

    Issuing an invoice that is already issued (or paid) changes nothing and returns it; a void invoice
    is refused.
    """
    invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
    if invoice.status == Invoice.Status.VOID:
        raise InvoiceError(_("%(invoice)s is void and cannot be issued.") % {"invoice": invoice})
    if invoice.status != Invoice.Status.DRAFT:
        return invoice
    terms = _terms(invoice.customer)
    lines = list(invoice.lines.all())
    if not lines:
        raise InvoiceError(_("%(invoice)s has no lines; add one before issuing.") % {"invoice": invoice})
    invoice_totals(invoice, lines)
    if invoice.total < 0:
        # A negative invoice is a credit note in disguise; refunds and corrections go through credit notes.
        raise InvoiceError(
            _(
                "%(invoice)s totals %(total)s %(currency)s: an invoice cannot be negative;"
                " issue a credit note."
            )
            % {
                "invoice": invoice,
                "total": money_text(invoice.total, invoice.currency),
                "currency": invoice.currency,
            }
        )
    issue_date = issue_date or timezone.localdate()
    invoice.series, invoice.number = number_next("invoice", on=issue_date, book=invoice.customer.seller_id)
    invoice.issue_date = issue_date
    invoice.due_date = due_date(terms, issue_date)
    invoice.status = Invoice.Status.ISSUED
    invoice.issued_at = timezone.now()
    invoice.issued_by = actor
    invoice.journal_transaction = invoice_post(
        invoice=invoice,
        lines=lines,
        account=_account_resolver(invoice.customer, invoice.currency),
        actor=actor,
    )
    invoice.save(
        update_fields=[
            "series",
            "number",
            "issue_date",
            "due_date",
            "status",
            "issued_at",
            "issued_by",
            "journal_transaction",
            "subtotal",
            "tax_amount",
            "total",
        ]
    )
    if invoice.customer.is_reseller:
        # What a resale sub-distributor owes its seller changes by the invoice's rounding (its usage was
        # owed already), charges and tax: in its own book too.
        seller_book_mirror(
            transaction=invoice.journal_transaction, counter=AccountKind.COST_OF_TOKENS, actor=actor
        )
    credit_limit_watch(transactions=[invoice.journal_transaction])
    # Service charges and tax reach the receivable only now: the gateway's cached exposure is stale.
    customer_id, invoice_id = invoice.customer_id, invoice.pk
    transaction.on_commit(lambda: status_invalidate(customer_ids=[customer_id]))
    transaction.on_commit(lambda: invoices_issued.send(sender=Invoice, invoice_ids=[invoice_id]))
    return invoice


def invoices_issue(*, invoices, actor=None) -> tuple[int, list[str]]:
    """Issue the drafts among ``invoices`` (finance's bulk action); return how many and why others were not.

    One durable transaction: a draft refused for its content (``InvoiceError``: no lines, negative, void)
    is skipped and reported, its savepoint rolled back; any other failure rolls the whole batch back, so
    a crash midway never leaves some of the chosen drafts issued and numbered and the rest not.
    """
    issued, refused = 0, []
    with transaction.atomic(durable=True):
        for invoice in invoices:
            if invoice.status != Invoice.Status.DRAFT:
                continue
            try:
                invoice_issue(invoice=invoice, actor=actor)
            except InvoiceError as exc:
                refused.append(str(exc))
            else:
                issued += 1
    return issued, refused
