"""Credit notes (full or partial, with a reason) and voiding invoices.

A credit note reverses revenue and tax on the invoice's lines: Dr revenue (the account issuing the
invoice booked the line's revenue in, per line kind) / Dr tax payable / Cr the customer's receivable. It
can never credit more of a line (amount or tax) than was billed and not yet credited.

When a credit is larger than what is still due on the invoice (the invoice was already paid in part or
in full), the excess releases payment allocations from that invoice, newest first, by release rows dated
on the credit note's issue date (``billing.receivables.allocations``): the money stays with the customer
as unallocated credit, to be allocated to another invoice, and a statement of an earlier date still
shows the invoice as paid. So an invoice's amount due never
goes below zero and the receivable invariant of ``billing.receivables.services`` holds.

Voiding (``invoice_void``):
- a draft was never posted, so nothing is credited; it is marked void and, because the schema gives
  every non-draft invoice a number (``invoice_issued_has_number``), takes the next number of the series
  dated today: the series stays gapless and the void document stays on file, as accountants expect of
  a voided numbered invoice;
- an issued invoice is voided by a credit note for everything not yet credited, then marked void;
- an invoice with payments allocated is refused: issue a credit note instead (which leaves the paid part
  as customer credit), so a void never moves money silently. An invoice that credit notes brought to zero
  stays "paid" (nothing due) unless voided explicitly.
"""

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.dunning.suspension import overdue_suspension_watch
from billing.invoicing.models import Invoice, InvoiceLine
from billing.invoicing.numbering import number_next
from billing.invoicing.services import LINE_ACCOUNT_KIND
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.money import currency_exponent, quantize_money
from billing.receivables.allocations import invoice_allocations_release
from billing.receivables.models import CreditNote, CreditNoteLine
from billing.receivables.services import (
    ZERO,
    _validate_amount,
    credit_auto_apply_on_commit,
    invoice_status_settle,
    require_money_role,
)
from billing.terms.credit import credit_limit_watch
from billing.wallets.mirror import seller_book_mirror
from common.stored_text import stored

CREDITABLE = (Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID, Invoice.Status.PAID)

# Which account a credit of each kind of line is debited to: the revenue account its price was booked in,
# derived from the accounts issuing credits (``LINE_ACCOUNT_KIND``) so the two cannot drift apart again.
# Usage is the one kind issuing does not credit to revenue: its revenue was recognised when the usage was
# accrued (issuing only relieved the unbilled accrual), so a usage credit reverses revenue: usage; debiting
# unbilled instead would leave the customer an accrual no invoice will ever relieve. Packs are token
# allowances whose price is booked to revenue: subscriptions when invoiced, so that is what is reversed.
REVENUE_BY_KIND = {
    kind: AccountKind.REVENUE_USAGE if account == AccountKind.UNBILLED_RECEIVABLE else account
    for kind, account in LINE_ACCOUNT_KIND.items()
}


@dataclass
class _Remaining:
    """What of one invoice line is not yet credited (net and tax, rounded as on the invoice)."""

    line: InvoiceLine
    net: Decimal
    tax: Decimal


def lines_remaining(invoice: Invoice) -> list[_Remaining]:
    """Each line of ``invoice`` with what is left to credit of it, in invoice order."""
    lines = list(invoice.lines.order_by("position", "id"))
    credited = {
        row["invoice_line"]: (row["net"] or ZERO, row["tax"] or ZERO)
        for row in CreditNoteLine.objects.filter(invoice_line__in=lines)
        .values("invoice_line")
        .annotate(net=Sum("amount"), tax=Sum("tax_amount"))
    }
    out = []
    for line in lines:
        net, tax = credited.get(line.pk, (ZERO, ZERO))
        # Quantized: SQLite sums decimals as floats-with-noise (0E-12); amounts here are whole minor units.
        ccy = invoice.currency
        out.append(
            _Remaining(
                line=line,
                net=quantize_money(line.amount - net, ccy),
                tax=quantize_money(line.tax_amount - tax, ccy),
            )
        )
    return out


def _tax_for(rem: _Remaining, net: Decimal, currency: str) -> Decimal:
    """The tax to reverse with ``net`` of a line: proportional to the line's own (rounded) tax.

    The last credit of a line takes all the tax left, so partial credits add up to exactly the line's tax.
    """
    if net == rem.net:
        return rem.tax
    return quantize_money(rem.tax * net / rem.net, currency) if rem.net else ZERO


def _plan(invoice: Invoice, remaining: list[_Remaining], lines, amount) -> list[tuple[_Remaining, Decimal]]:
    """Return (line, net amount to credit) pairs for a full credit, chosen lines, or a net ``amount``."""
    if lines is not None and amount is not None:
        raise ValidationError({"lines": _("Credit chosen lines or an amount, not both.")})
    by_id = {rem.line.pk: rem for rem in remaining}
    if lines is not None:
        plan, seen = [], set()
        for index, pair in enumerate(lines):
            try:
                line, net = pair
            except (TypeError, ValueError):
                raise ValidationError(
                    {"lines": _("Row %(row)s: give an invoice line and an amount.") % {"row": index + 1}}
                ) from None
            rem = by_id.get(getattr(line, "pk", None))
            if rem is None:
                raise ValidationError(
                    {"lines": _("Row %(row)s: the line is not on this invoice.") % {"row": index + 1}}
                )
            if rem.line.pk in seen:
                raise ValidationError({"lines": _("Each line may appear only once.")})
            seen.add(rem.line.pk)
            _validate_amount(net, invoice.currency, field="lines")
            if net > rem.net:
                raise ValidationError(
                    {
                        "lines": _("“%(line)s”: only %(left)s %(currency)s is left to credit.")
                        % {"line": rem.line.description, "left": rem.net, "currency": invoice.currency}
                    }
                )
            plan.append((rem, net))
        if not plan:
            raise ValidationError({"lines": _("Choose at least one line to credit.")})
        return plan
    if amount is None:
        return [(rem, rem.net) for rem in remaining if rem.net or rem.tax]
    _validate_amount(amount, invoice.currency)
    open_lines = [rem for rem in remaining if rem.net > 0]
    left_total = sum((rem.net for rem in open_lines), ZERO)
    if amount > left_total:
        raise ValidationError(
            {
                "amount": _("Only %(left)s %(currency)s (before tax) is left to credit on this invoice.")
                % {"left": left_total, "currency": invoice.currency}
            }
        )
    return [
        (rem, net)
        for rem, net in zip(open_lines, _spread(amount, open_lines, invoice.currency), strict=True)
        if net
    ]


def _spread(amount: Decimal, open_lines: list[_Remaining], currency: str) -> list[Decimal]:
    """Split ``amount`` over ``open_lines`` in proportion to what each has left (largest remainder).

    Each line first gets its exact share rounded down to the minor unit; the minor units still missing
    go one each to the lines with the largest cut-off fraction (invoice order breaks ties). A share is
    at most the line's remaining amount, and a line whose share was cut has at least one unit of room
    (remaining amounts are whole units), so no line is ever credited beyond what it has left — unlike
    giving the last line the rest, which could exceed it.
    """
    unit = Decimal(1).scaleb(-currency_exponent(currency))
    left_total = sum((rem.net for rem in open_lines), ZERO)
    exact_shares = [amount * rem.net / left_total for rem in open_lines]
    shares = [
        min(share.quantize(unit, rounding=ROUND_DOWN), rem.net)
        for share, rem in zip(exact_shares, open_lines, strict=True)
    ]
    missing = int((amount - sum(shares, ZERO)) / unit)
    by_fraction = sorted(
        (i for i, rem in enumerate(open_lines) if shares[i] < rem.net),
        key=lambda i: (-(exact_shares[i] - shares[i]), i),
    )
    for i in by_fraction[:missing]:
        shares[i] += unit
    return shares


def _post(note: CreditNote, invoice: Invoice, rows: list[CreditNoteLine], kinds: list[str], actor):
    by_account: dict[str, Decimal] = defaultdict(Decimal)
    for row, kind in zip(rows, kinds, strict=True):
        by_account[REVENUE_BY_KIND[kind]] += row.amount
    ccy, book = invoice.currency, invoice.customer.seller  # the invoice's book (``accounts.chain``)
    legs = [
        debit(account_get(kind=k, currency=ccy, book=book), v, ccy)
        for k, v in sorted(by_account.items())
        if v
    ]
    if note.tax_amount:
        tax = account_get(kind=AccountKind.TAX_PAYABLE, currency=ccy, book=book)
        legs.append(debit(tax, note.tax_amount, ccy))
    receivable = account_get(kind=AccountKind.RECEIVABLE, currency=ccy, customer=invoice.customer)
    legs.append(credit(receivable, note.total, ccy))
    return transaction_post(
        idempotency_key=f"credit_note:{note.number}",
        kind="credit_note.issue",
        lines=legs,
        memo=f"Credit note {note.number} for invoice {invoice.number}: {note.reason}",
        memo_message=stored(
            "receivables.memo.credit_note", note=note.number, invoice=invoice.number, reason=note.reason
        ),
        source=f"invoice:{invoice.pk}",
        effective_date=note.issue_date,
        actor=actor,
    )


def credit_note_issue(
    *,
    invoice: Invoice,
    reason: str,
    lines=None,
    amount: Decimal | None = None,
    actor,
    idempotency_key: str,
    issue_date: date | None = None,
    voids_invoice: bool = False,
) -> CreditNote:
    """Issue a numbered credit note against an issued invoice and post it; return it.

    ``lines`` [(invoice_line, net amount), …] credits chosen lines; ``amount`` spreads a net amount over
    the lines in proportion; neither credits everything not yet credited. Tax is reversed per line in
    proportion to the line's tax. Replaying ``idempotency_key`` with the same request returns the first
    credit note; with a different one (another invoice, amount, lines, reason, date) it raises
    ValidationError, as payments and usage batches do (DESIGN §4.4).
    """
    require_money_role(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the invoice is credited.")})
    if not isinstance(idempotency_key, str) or not idempotency_key.strip() or len(idempotency_key) > 200:
        raise ValidationError({"idempotency_key": _("An idempotency key (1–200 characters) is required.")})
    if issue_date is not None and (not isinstance(issue_date, date) or issue_date > timezone.localdate()):
        raise ValidationError({"issue_date": _("The issue date cannot be in the future.")})
    request_hash = _request_hash(invoice, reason, lines, amount, issue_date, voids_invoice)
    existing = CreditNote.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replayed(existing, invoice, request_hash)
    try:
        with transaction.atomic():
            key = (idempotency_key, request_hash)
            return _issue(invoice, reason, lines, amount, actor, key, issue_date, voids_invoice)
    except IntegrityError:
        existing = CreditNote.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _replayed(existing, invoice, request_hash)


def _request_hash(invoice, reason, lines, amount, issue_date, voids_invoice) -> str:
    """A fingerprint of what was asked for, so a replayed key can be told from a reused one."""

    def number(value) -> str:
        # 100, 100.0 and 100.00 are one request.
        return str(value.normalize()) if isinstance(value, Decimal) and value.is_finite() else repr(value)

    try:
        chosen = (
            None if lines is None else sorted((getattr(ln, "pk", repr(ln)), number(a)) for ln, a in lines)
        )
    except (TypeError, ValueError):
        chosen = repr(lines)  # malformed: refused by the plan, and never equal to a valid request
    body = {
        "invoice": invoice.pk,
        "reason": reason,
        "lines": chosen,
        "amount": None if amount is None else number(amount),
        "issue_date": issue_date.isoformat() if issue_date else None,
        "voids_invoice": bool(voids_invoice),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _replayed(existing: CreditNote, invoice: Invoice, request_hash: str) -> CreditNote:
    if existing.invoice_id != invoice.pk:
        raise ValidationError(
            {"idempotency_key": _("This idempotency key was already used for another credit note.")}
        )
    # Notes issued before requests were fingerprinted have no hash: the invoice is all they can be held to.
    if existing.request_hash and existing.request_hash != request_hash:
        raise ValidationError(
            {
                "idempotency_key": _(
                    "This idempotency key was already used for credit note %(number)s with a different "
                    "amount, lines, reason or date."
                )
                % {"number": existing.number}
            }
        )
    return existing


def _issue(invoice, reason, lines, amount, actor, key, issue_date, voids_invoice) -> CreditNote:
    idempotency_key, request_hash = key
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status not in CREDITABLE:
        raise ValidationError(
            _("Invoice %(number)s is %(status)s; only an issued invoice can be credited.")
            % {"number": invoice, "status": invoice.get_status_display().lower()}
        )
    plan = _plan(invoice, lines_remaining(invoice), lines, amount)
    ccy = invoice.currency
    issue_date = issue_date or timezone.localdate()
    rows, kinds = [], []
    for rem, net in plan:
        tax = _tax_for(rem, net, ccy)
        rows.append(
            CreditNoteLine(
                invoice_line=rem.line,
                description=rem.line.description,
                amount_exact=net,
                amount=net,
                tax_rate=rem.line.tax_rate,
                tax_amount=tax,
            )
        )
        kinds.append(rem.line.kind)
    subtotal = sum((r.amount for r in rows), ZERO)
    tax_total = sum((r.tax_amount for r in rows), ZERO)
    total = subtotal + tax_total
    if total <= 0:
        raise ValidationError(_("Nothing is left to credit on invoice %(number)s.") % {"number": invoice})
    # What was written off is already off the receivable: crediting it too would relieve the customer twice.
    creditable = invoice.total - invoice.amount_credited - invoice.amount_written_off
    if invoice.amount_written_off and total > creditable:
        raise ValidationError(
            _(
                "Invoice %(number)s has %(written)s %(currency)s written off as bad debt: a credit note may "
                "take at most %(left)s %(currency)s."
            )
            % {
                "number": invoice,
                "written": invoice.amount_written_off,
                "left": max(creditable, ZERO),
                "currency": invoice.currency,
            }
        )
    series, number = number_next("credit_note", on=issue_date, book=invoice.customer.seller_id)
    note = CreditNote.objects.create(
        customer=invoice.customer,
        invoice=invoice,
        series=series,
        number=number,
        reason=reason[:500],
        voids_invoice=voids_invoice,
        currency=ccy,
        language=invoice.language,
        issue_date=issue_date,
        subtotal=subtotal,
        tax_amount=tax_total,
        total=total,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        created_by=actor,
    )
    for row in rows:
        row.credit_note = note
    CreditNoteLine.objects.bulk_create(rows)
    note.journal_transaction = _post(note, invoice, rows, kinds, actor)
    if invoice.customer.is_reseller:
        # What a resale sub-distributor bought costs it less: in its own book too.
        seller_book_mirror(
            transaction=note.journal_transaction, counter=AccountKind.COST_OF_TOKENS, actor=actor
        )
    note.save(update_fields=["journal_transaction"])
    excess = total - invoice.amount_due
    if excess > 0:
        # Dated release rows, never a shrunk allocation: what was paid before the note stays history.
        invoice.amount_paid -= invoice_allocations_release(
            invoice=invoice,
            amount=excess,
            at=issue_date,
            reason=f"Credit note {note.number}: {note.reason}",
            actor=actor,
        )
        credit_auto_apply_on_commit(customer_id=invoice.customer_id, currency=ccy)
    invoice.amount_credited += total
    invoice_status_settle(invoice)
    invoice.save(update_fields=["amount_credited", "amount_paid", "status"])
    credit_limit_watch(transactions=[note.journal_transaction])
    overdue_suspension_watch(invoice=invoice)
    return note


@transaction.atomic
def invoice_void(*, invoice: Invoice, reason: str, actor) -> Invoice:
    """Void a draft directly, or an issued invoice by a credit note for what is not yet credited.

    Refused (ValidationError) when payments are allocated to the invoice: issue a credit note instead,
    which keeps the paid part as customer credit. Voiding a void invoice changes nothing.
    """
    require_money_role(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the invoice is voided.")})
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == Invoice.Status.VOID:
        return invoice
    if invoice.status == Invoice.Status.DRAFT:
        invoice.issue_date = timezone.localdate()
        invoice.series, invoice.number = number_next(
            "invoice", on=invoice.issue_date, book=invoice.customer.seller_id
        )
    else:
        if invoice.amount_written_off > 0:
            raise ValidationError(
                _("Invoice %(number)s has an amount written off as bad debt; it cannot be voided.")
                % {"number": invoice}
            )
        if invoice.amount_paid > 0:
            raise ValidationError(
                _(
                    "Invoice %(number)s has payments allocated to it; it cannot be voided. Issue a credit "
                    "note instead: the paid part then stays with the customer as credit."
                )
                % {"number": invoice}
            )
        if invoice.total - invoice.amount_credited > 0:
            credit_note_issue(
                invoice=invoice,
                reason=reason,
                actor=actor,
                idempotency_key=f"void:{invoice.pk}",
                voids_invoice=True,
            )
            invoice.refresh_from_db()
    invoice.status = Invoice.Status.VOID
    stamp = _("Voided on %(date)s: %(reason)s") % {"date": timezone.localdate(), "reason": reason}
    invoice.notes = f"{invoice.notes}\n{stamp}".strip()
    invoice.save(update_fields=["status", "notes", "series", "number", "issue_date"])
    overdue_suspension_watch(invoice=invoice)
    return invoice
