"""Payments from credit customers and their allocation to invoices.

Be careful changing this module: it decides what a customer owes. The invariant the tests hold it to is

    receivable balance (ledger) = Σ amount due of issued invoices − unallocated payment credit

A payment is posted to the ledger in full when it is received (Dr cash or Stripe clearing / Cr the
customer's receivable). Allocations only say which invoices it settles; they never post. What is not
allocated stays as a credit balance on the customer's receivable account.

Allocation rules:
- oldest first (by due date, then number), or to the invoices chosen; never more than an invoice's
  amount due nor more than the payment's unallocated amount;
- allocations are history: never changed or deleted; a release is a dated row
  (``billing.receivables.allocations``);
- a payment finance allocates to a written-off invoice first settles what is due, then recovers the
  written-off amount (``billing.receivables.recoveries``); automatic application never does;
- unallocated credit is applied automatically (``credit_auto_apply``) when an invoice is issued and when
  a credit note frees paid money, unless the customer's terms turn it off; recording a payment "oldest
  first" is the same application, and finance's explicit choice (chosen invoices, or keep it as credit)
  is kept as made;
- Locks: the payment row first, then the invoices, always in primary-key order, so two allocations (of
  one payment or of two payments to one invoice) queue instead of over-allocating or deadlocking.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer, StaffRole
from accounts.permissions import manages_book
from billing.dunning.suspension import overdue_suspension_watch, overdue_suspensions_watch
from billing.invoicing.models import Invoice
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.money import MoneyField, currency_exponent, is_money, quantize_money
from billing.receivables.models import CustomerPayment, PaymentAllocation
from billing.receivables.moments import effective_moment
from billing.receivables.recoveries import bad_debt_recover, recovery_day
from billing.terms.credit import credit_limit_watch
from billing.terms.models import BillingTerms
from billing.terms.selectors import customer_currency
from billing.wallets.books import card_clearing, card_relay, seller_payment_mirror
from common.stored_text import stored

# Who may record payments, allocate them, issue credit notes and void invoices.
MONEY_ROLES = (StaffRole.FINANCE, StaffRole.ADMIN)
OPEN_STATUSES = (Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID)
ZERO = Decimal("0")

KIND_PAYMENT = {
    CustomerPayment.Method.BANK: "receivable.payment.bank",
    CustomerPayment.Method.CARD: "receivable.payment.card",
}


def require_money_role(actor, customer: Customer | None = None) -> None:
    """Refuse anyone but active finance or admin staff; ``None`` is the system (a Stripe webhook). For
    ``customer``, the owner or billing members of the resale sub-distributor that sells to it (its book)
    may too: a reseller records its own customers' payments."""
    if actor is None:
        return
    if actor.is_active and actor.staff_role in MONEY_ROLES:
        return
    if customer is not None and manages_book(actor, customer.seller_id):
        return
    raise PermissionDenied(_("Only finance staff may record payments, credit notes and voids."))


def invoice_status_settle(invoice: Invoice) -> None:
    """Set an issued invoice's status from what is still due (the caller saves it).

    "Paid" means nothing is due any more, whether payments or credit notes settled it; "written off"
    that nothing is due because a write-off took the rest; "void" is only ever set by ``invoice_void``.
    """
    if invoice.status in (Invoice.Status.DRAFT, Invoice.Status.VOID):
        return
    due = invoice.total - invoice.amount_paid - invoice.amount_credited - invoice.amount_written_off
    if due <= 0:
        invoice.status = Invoice.Status.WRITTEN_OFF if invoice.amount_written_off > 0 else Invoice.Status.PAID
    elif invoice.amount_paid > 0:
        invoice.status = Invoice.Status.PARTIALLY_PAID
    else:
        invoice.status = Invoice.Status.ISSUED


def payment_unallocated(payment: CustomerPayment) -> Decimal:
    """What of a received payment is not yet allocated to any invoice (the customer's credit)."""
    if payment.status != CustomerPayment.Status.RECEIVED:
        return ZERO
    allocated = payment.allocations.aggregate(s=Sum("amount"))["s"] or ZERO
    left = payment.amount - payment.refunded - allocated
    return quantize_money(left, payment.currency)  # the columns keep three places


def customer_credit(*, customer: Customer, currency: str) -> Decimal:
    """The customer's unallocated payment credit in ``currency``."""
    payments = CustomerPayment.objects.filter(
        customer=customer, currency=currency, status=CustomerPayment.Status.RECEIVED
    )
    received = payments.aggregate(s=Sum(F("amount") - F("refunded")))["s"] or ZERO
    allocated = PaymentAllocation.objects.filter(payment__in=payments).aggregate(s=Sum("amount"))["s"] or ZERO
    return received - allocated


def _validate_amount(amount, currency: str, field: str = "amount") -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValidationError({field: _("Enter an amount as a decimal number.")})
    if amount <= 0:
        raise ValidationError({field: _("The amount must be greater than zero.")})
    if not is_money(amount, currency):
        raise ValidationError(
            {
                field: _("Enter the amount with at most %(places)s decimal places.")
                % {"places": currency_exponent(currency)}
            }
        )
    return amount


def _payment_matches(payment: CustomerPayment, **body) -> bool:
    return all(getattr(payment, field) == value for field, value in body.items())


def payment_post(*, payment: CustomerPayment, actor=None):
    """Post a received payment in full, in its customer's seller's book: Dr cash (bank) or Stripe
    clearing (card) / Cr receivable. A card payment of a reseller's customer is held by the operator's
    Stripe account and relayed up to it; a reseller's payment to its seller is mirrored in its own book
    (``billing.wallets.books``)."""
    customer, currency = payment.customer, payment.currency
    book = customer.seller
    if payment.method == CustomerPayment.Method.CARD:
        cash = card_clearing(currency=currency, book=book)
    else:
        cash = account_get(kind=AccountKind.CASH_BANK, currency=currency, book=book)
    receivable = account_get(kind=AccountKind.RECEIVABLE, currency=currency, customer=customer)
    source = f"stripe:{payment.payment_intent_id}" if payment.payment_intent_id else f"payment:{payment.pk}"
    # The intent id (card) or the row (bank) is unique, so a replay posts nothing new.
    key = source if payment.payment_intent_id else f"receivables.payment:{payment.pk}"
    memo = f"Payment from {customer.name}" + (f", ref {payment.reference}" if payment.reference else "")
    memo_message = (
        stored("receivables.memo.payment_ref", customer=customer.name, reference=payment.reference)
        if payment.reference
        else stored("receivables.memo.payment", customer=customer.name)
    )
    posted = transaction_post(
        idempotency_key=key,
        kind=KIND_PAYMENT[payment.method],
        lines=[debit(cash, payment.amount, currency), credit(receivable, payment.amount, currency)],
        memo=memo,
        memo_message=memo_message,
        source=source,
        effective_date=payment.received_on,
        actor=actor,
    )
    if payment.method == CustomerPayment.Method.CARD:
        card_relay(
            transactions=[posted],
            book=book,
            currency=currency,
            key=key,
            memo=memo,
            memo_message=memo_message,
            source=source,
        )
    seller_payment_mirror(
        payer=customer,
        currency=currency,
        amount=payment.amount,
        key=key,
        memo=memo,
        memo_message=memo_message,
        source=source,
        effective_date=payment.received_on,
        actor=actor,
    )
    return posted


def payment_record(
    *,
    customer: Customer,
    amount: Decimal,
    currency: str,
    received_on: date,
    reference: str,
    method: str = CustomerPayment.Method.BANK,
    actor,
    idempotency_key: str,
    allocate="oldest",
    note: str = "",
) -> CustomerPayment:
    """Record money received from a credit customer, post it, give it a receipt, then allocate it.

    ``allocate`` is "oldest" (open invoices oldest first), a list of ``(invoice, amount)``, or None
    (keep it all as credit). Replaying the same ``idempotency_key`` with the same payment returns the
    first one and allocates nothing again; with a different payment it raises ValidationError.
    """
    require_money_role(actor, customer)
    if not isinstance(idempotency_key, str) or not idempotency_key.strip() or len(idempotency_key) > 200:
        raise ValidationError({"idempotency_key": _("An idempotency key (1–200 characters) is required.")})
    currency = (currency or "").upper()
    expected = customer_currency(customer)
    # The terms' currency, or any currency the customer has been invoiced in (an invoice may override it).
    invoiced = Invoice.objects.filter(customer=customer, currency=currency).exclude(
        status=Invoice.Status.DRAFT
    )
    if currency != expected and not invoiced.exists():
        raise ValidationError(
            {
                "currency": _("%(customer)s is billed in %(currency)s.")
                % {"customer": customer.name, "currency": expected}
            }
        )
    amount = _validate_amount(amount, currency)
    if method not in CustomerPayment.Method.values:
        raise ValidationError({"method": _("Choose bank transfer or card.")})
    if not isinstance(received_on, date):
        raise ValidationError({"received_on": _("Enter the date the money was received.")})
    if received_on > timezone.localdate():
        raise ValidationError({"received_on": _("The date received cannot be in the future.")})
    reference = (reference or "").strip()
    body = {
        "customer_id": customer.pk,
        "amount": amount,
        "currency": currency,
        "received_on": received_on,
        "reference": reference,
        "method": method,
    }
    existing = CustomerPayment.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replayed(existing, body)
    try:
        with transaction.atomic():
            payment = CustomerPayment.objects.create(
                **body,
                status=CustomerPayment.Status.RECEIVED,
                idempotency_key=idempotency_key,
                note=note,
                recorded_by=actor,
            )
            payment_receive(payment=payment, actor=actor, allocate=allocate)
    except IntegrityError:
        # A concurrent request with the same key committed first.
        existing = CustomerPayment.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _replayed(existing, body)
    return payment


def _replayed(existing: CustomerPayment, body: dict) -> CustomerPayment:
    if not _payment_matches(existing, **body):
        raise ValidationError(
            {"idempotency_key": _("This idempotency key was already used for a different payment.")}
        )
    return existing


def payment_receive(*, payment: CustomerPayment, actor=None, allocate="oldest") -> None:
    """Post a payment now received, issue its receipt and allocate it (inside the caller's transaction)."""
    from billing.receivables.receipts import receipt_for_payment

    payment.journal_transaction = payment_post(payment=payment, actor=actor)
    payment.save(update_fields=["journal_transaction"])
    credit_limit_watch(transactions=[payment.journal_transaction])
    receipt_for_payment(payment=payment)
    # Credit the customer now holds may cover invoices it is suspended for, allocated or not.
    overdue_suspensions_watch(customer_id=payment.customer_id)
    # Allocated as it is recorded, the money settles the invoices from the day it was received, the day
    # the ledger dates the payment: a statement of that day shows the invoices paid, not the money unapplied.
    at = payment.received_on or timezone.localdate()
    # "oldest" is the automatic application; finance's explicit choice (these invoices, or keep it as
    # credit for now) is kept as made, until the next invoice issued applies what is left.
    if allocate == "oldest":
        payment_allocate(payment=payment, actor=actor, at=at)
    elif isinstance(allocate, Invoice):
        payment_allocate(payment=payment, invoice=allocate, actor=actor, at=at)
    elif allocate:
        payment_allocate(payment=payment, allocations=list(allocate), actor=actor, at=at)


@dataclass(frozen=True)
class _Wanted:
    invoice_id: int
    amount: Decimal | None  # None: as much as is due


def _wanted_from(invoice, allocations) -> list[_Wanted] | None:
    if invoice is not None and allocations is not None:
        raise ValueError("Pass invoice or allocations, not both.")
    if invoice is not None:
        return [_Wanted(invoice.pk, None)]
    if allocations is None:
        return None
    wanted = []
    for index, pair in enumerate(allocations):
        try:
            target, amount = pair
        except (TypeError, ValueError):
            raise ValidationError(
                {"allocations": _("Row %(row)s: give an invoice and an amount.") % {"row": index + 1}}
            ) from None
        if not isinstance(target, Invoice):
            raise ValidationError({"allocations": _("Row %(row)s: choose an invoice.") % {"row": index + 1}})
        wanted.append(_Wanted(target.pk, amount))
    if len({w.invoice_id for w in wanted}) != len(wanted):
        raise ValidationError({"allocations": _("Each invoice may appear only once.")})
    return wanted


@transaction.atomic
def payment_allocate(
    *,
    payment: CustomerPayment,
    invoice: Invoice | None = None,
    allocations=None,
    actor=None,
    at: date | None = None,
    recover: bool = True,
) -> list[PaymentAllocation]:
    """Allocate a payment's unallocated amount to invoices; return the allocations made.

    With ``invoice``: as much as it has due, and then (unless ``recover`` is False) as much of what was
    written off of it (a recovery, dated with its allocation: ``recoveries.recovery_day``).
    With ``allocations`` [(invoice, amount), …]: exactly those
    amounts, refused as a whole if any is more than its invoice has due or they add up to more than
    the payment has left. With neither: open invoices of the customer in the payment's currency, oldest
    due date first. Whatever is left stays as the customer's credit.

    The allocations take effect now, or on day ``at`` (the payment's own date when it is recorded), never
    before an invoice's issue date: later allocations of old credit never rewrite an earlier statement.
    """
    require_money_role(actor, payment.customer)
    wanted = _wanted_from(invoice, allocations)
    payment = CustomerPayment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != CustomerPayment.Status.RECEIVED:
        raise ValidationError(_("Only a received payment can be allocated."))
    left = payment_unallocated(payment)
    if wanted is None:
        candidates = Invoice.objects.filter(
            customer_id=payment.customer_id, currency=payment.currency, status__in=OPEN_STATUSES
        )
    else:
        candidates = Invoice.objects.filter(pk__in=[w.invoice_id for w in wanted])
    locked = list(candidates.select_for_update().order_by("pk"))
    if wanted is None:
        plan = [
            (inv, None)
            for inv in sorted(locked, key=lambda i: (i.due_date or date.max, i.number or "", i.pk))
        ]
    else:
        by_id = {inv.pk: inv for inv in locked}
        plan = [(by_id[w.invoice_id], w.amount) for w in wanted]
        _check_chosen(payment, plan, left)
    made = []
    for inv, amount in plan:
        due = inv.amount_due
        # Only a chosen invoice recovers a write-off: the automatic application leaves old debts alone.
        recoverable = inv.amount_written_off if wanted is not None and recover else ZERO
        take = min(left, due + recoverable) if amount is None else amount
        if take <= 0:
            continue
        allocated_at = effective_moment(max(at, inv.issue_date or at)) if at else timezone.now()
        if take > due:
            # The recovery and the allocation that pays it take effect on one day, never before the
            # write-off: applying old credit today never rewrites an earlier statement or aging.
            day = timezone.localtime(allocated_at).date()
            recovered_on = recovery_day(inv, day)
            bad_debt_recover(invoice=inv, payment=payment, amount=take - due, on=recovered_on, actor=actor)
            if recovered_on > day:
                allocated_at = effective_moment(recovered_on)
        made.append(
            PaymentAllocation.objects.create(
                payment=payment,
                invoice=inv,
                amount=take,
                allocated_at=allocated_at,
                allocated_by=actor,
            )
        )
        inv.amount_paid += take
        invoice_status_settle(inv)
        inv.save(update_fields=["amount_paid", "amount_written_off", "status"])
        overdue_suspension_watch(invoice=inv)
        left -= take
        if left <= 0:
            break
    return made


def customer_credit_apply(*, invoice: Invoice, actor=None) -> list[PaymentAllocation]:
    """Apply the customer's unallocated payments to ``invoice``, oldest payment first; return the allocations.

    Finance's "Allocate credit" on one invoice: only what is due; an amount written off is recovered
    only through the write-off's own "apply the customer's credit" (``writeoffs.writeoff_credit_recover``).
    One durable transaction: if any allocation fails, none of them stays, so the invoice is never left
    partly settled by some payments and not others.
    """
    made = []
    with transaction.atomic(durable=True):
        payments = CustomerPayment.objects.filter(
            customer_id=invoice.customer_id, currency=invoice.currency, status=CustomerPayment.Status.RECEIVED
        ).order_by("received_on", "pk")
        for payment in payments:
            invoice.refresh_from_db()
            if invoice.amount_due <= 0:
                break
            made += payment_allocate(payment=payment, invoice=invoice, actor=actor, recover=False)
    return made


def payments_with_credit(customer_ids, currency: str | None = None):
    """Received payments of ``customer_ids`` (ids or a subquery) with something left unallocated."""
    payments = CustomerPayment.objects.filter(
        customer_id__in=customer_ids, status=CustomerPayment.Status.RECEIVED
    ).annotate(allocated=Coalesce(Sum("allocations__amount"), Value(ZERO), output_field=MoneyField()))
    if currency is not None:
        payments = payments.filter(currency=currency)
    return payments.filter(amount__gt=F("refunded") + F("allocated"))


def credit_auto_apply(*, customer_id: int, currency: str, at: date | None = None) -> list[PaymentAllocation]:
    """Apply a customer's unallocated credit in ``currency`` to its open invoices; return the allocations.

    Credit left unallocated while invoices are open makes a customer look overdue when it owes nothing
    (the audit: 900 of credit against a 200 invoice, suspended for "overdue"). So when money or credit
    arrives and when an invoice is issued, the customer's payments with credit left, oldest first, are
    allocated to its open invoices, oldest due date first — unless its billing terms turn it off
    (``BillingTerms.auto_apply_credit``): then finance allocates by hand, and dunning still counts only
    what the credit does not cover. The allocations take effect now, or on day ``at``.
    """
    if not BillingTerms.objects.filter(customer_id=customer_id, auto_apply_credit=True).exists():
        return []
    made = []
    with transaction.atomic():
        for payment in payments_with_credit([customer_id], currency).order_by("received_on", "pk"):
            allocations = payment_allocate(payment=payment, actor=None, at=at)
            if not allocations and payment_unallocated(payment) > 0:
                break  # no open invoice has anything due
            made += allocations
    return made


def credit_auto_apply_on_commit(*, customer_id: int, currency: str) -> None:
    """Once the caller's transaction commits, apply the customer's credit (after a release or a credit).

    After commit, so the invoice locks the caller holds are released first: applying credit locks the
    payments before the invoices, and taking them the other way round could deadlock.
    """
    # Robust: the release or credit has committed; a failure here only leaves the credit for later.
    transaction.on_commit(lambda: credit_auto_apply(customer_id=customer_id, currency=currency), robust=True)


def _check_chosen(payment: CustomerPayment, plan, left: Decimal) -> None:
    total = ZERO
    for inv, amount in plan:
        label = inv.number or str(inv.pk)
        if inv.customer_id != payment.customer_id:
            raise ValidationError(
                {"allocations": _("Invoice %(number)s belongs to another customer.") % {"number": label}}
            )
        if inv.currency != payment.currency:
            raise ValidationError(
                {
                    "allocations": _("Invoice %(number)s is in %(currency)s, the payment in %(paid)s.")
                    % {"number": label, "currency": inv.currency, "paid": payment.currency}
                }
            )
        written_off = inv.status == Invoice.Status.WRITTEN_OFF
        if inv.status not in OPEN_STATUSES and not written_off:
            raise ValidationError(
                {
                    "allocations": _("Invoice %(number)s is %(status)s; nothing is due on it.")
                    % {"number": label, "status": inv.get_status_display().lower()}
                }
            )
        if amount is None:
            continue
        _validate_amount(amount, payment.currency, field="allocations")
        if inv.amount_written_off and amount > inv.amount_due + inv.amount_written_off:
            raise ValidationError(
                {
                    "allocations": _("Invoice %(number)s has only %(due)s %(currency)s due or written off.")
                    % {
                        "number": label,
                        "due": inv.amount_due + inv.amount_written_off,
                        "currency": inv.currency,
                    }
                }
            )
        if amount > inv.amount_due and not inv.amount_written_off:
            raise ValidationError(
                {
                    "allocations": _("Invoice %(number)s has only %(due)s %(currency)s due.")
                    % {"number": label, "due": inv.amount_due, "currency": inv.currency}
                }
            )
        total += amount
    if total > left:
        raise ValidationError(
            {
                "allocations": _("The payment has only %(left)s %(currency)s left to allocate.")
                % {"left": left, "currency": payment.currency}
            }
        )
