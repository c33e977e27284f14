"""Card refunds and disputes of invoice payments, booked from Stripe's events.

Stripe has already moved the money when it tells us, so these need no approval: each is booked at once
as a done ``Correction`` (the audit row names the charge or dispute), exactly once:

- charge.refunded carries the charge's running refunded total; the part not booked yet is taken back
  (refunds finance made from a credit refund are part of that total and booked by their corrections,
  ``billing.payments.refund_claims``);
- charge.dispute.created or charge.dispute.funds_withdrawn: the disputed amount is taken back, once
  per dispute, whichever arrives first;
- charge.dispute.funds_reinstated, or charge.dispute.closed as won: what the dispute took comes back,
  once per dispute, and is applied to open invoices again, oldest first, unless the customer's terms
  keep credit unapplied (``BillingTerms.auto_apply_credit``).

Money taken back comes first out of the payment's unapplied credit, then out of the invoices it paid,
newest allocation first: those allocations are released by dated rows and the invoices are due again.
Posting: Dr receivable / Cr Stripe clearing (the reverse when funds are reinstated).
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing.payments import postings
from billing.payments.cards import AwaitingEarlierEvent
from billing.payments.models import Correction
from billing.payments.refund_claims import card_refund_claims, unconfirmed_wait_message
from billing.receivables import cards as invoice_cards
from billing.receivables.allocations import payment_allocations_release
from billing.receivables.cards import InvoicePaymentMismatch
from billing.receivables.models import CustomerPayment
from billing.receivables.services import credit_auto_apply_on_commit, payment_unallocated
from billing.stripe import api as stripe_api
from billing.stripe import objects as stripe_objects
from common.stored_text import stored

ZERO = Decimal("0")
Kind = Correction.Kind


def invoice_payment_of(obj: dict, payment_intent_id: str | None) -> CustomerPayment | None:
    """The invoice card payment a charge or dispute is about, or None when it is not one."""
    if payment_intent_id:
        payment = CustomerPayment.objects.filter(payment_intent_id=payment_intent_id).first()
        if payment is not None:
            return payment
    stripe_objects.metadata(obj)  # refuse a malformed metadata before the receivables code reads it
    payment = invoice_cards.invoice_payment_for(obj)
    if payment is not None and payment.payment_intent_id and payment.payment_intent_id != payment_intent_id:
        raise InvoicePaymentMismatch(
            f"{obj.get('id')} is about {payment_intent_id}; payment {payment.pk} was paid by "
            f"{payment.payment_intent_id}."
        )
    return payment


def _locked_received(payment: CustomerPayment, *, currency: str, object_id: str) -> CustomerPayment:
    payment = CustomerPayment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != CustomerPayment.Status.RECEIVED:
        raise AwaitingEarlierEvent(f"{object_id} concerns payment {payment.pk}, which is not received yet.")
    if currency != payment.currency:
        raise InvoicePaymentMismatch(
            f"{object_id} is in {currency}; payment {payment.pk} is in {payment.currency}."
        )
    return payment


def _take_back(
    payment: CustomerPayment,
    *,
    amount: Decimal,
    kind: str,
    key: str,
    object_id: str,
    memo: str,
    memo_message: dict,
):
    """Book ``amount`` of ``payment`` as gone back through Stripe, releasing allocations as needed."""
    today = timezone.localdate()
    beyond_credit = amount - payment_unallocated(payment)
    if beyond_credit > 0:
        payment_allocations_release(payment=payment, amount=beyond_credit, at=today, reason=memo, actor=None)
    posted = postings.receivable_money_out_post(
        customer=payment.customer,
        currency=payment.currency,
        amount=amount,
        key=key,
        kind=postings.KIND_INVOICE_CARD_REFUND
        if kind == Kind.CARD_REFUND
        else postings.KIND_INVOICE_CARD_DISPUTE,
        memo=memo,
        memo_message=memo_message,
        source=f"stripe:{payment.payment_intent_id}",
        method=CustomerPayment.Method.CARD,
        effective_date=today,
    )
    payment.refunded += amount
    payment.save(update_fields=["refunded"])
    _done(payment, kind=kind, amount=amount, key=key, object_id=object_id, memo=memo, posted=posted)


def _done(payment, *, kind, amount, key, object_id, memo, posted) -> Correction:
    return Correction.objects.create(
        kind=kind,
        status=Correction.Status.DONE,
        customer_id=payment.customer_id,
        currency=payment.currency,
        amount=amount,
        reason=Correction.Reason.STRIPE,
        note=memo[:500],
        payment=payment,
        effective_date=timezone.localdate(),
        decided_at=timezone.now(),
        journal_transaction=posted,
        stripe_object_id=object_id,
        idempotency_key=key,
    )


def invoice_card_refund(
    *, payment: CustomerPayment, refunded_minor: int, currency: str, charge_id: str
) -> None:
    """Book the newly refunded part of an invoice card payment; ``refunded_minor``: Stripe's running total."""
    with transaction.atomic():
        payment = _locked_received(payment, currency=currency, object_id=f"Charge {charge_id}")
        refunded = stripe_api.from_minor_units(refunded_minor, payment.currency)
        if refunded > payment.amount:
            raise InvoicePaymentMismatch(
                f"Charge {charge_id} refunded {refunded}, more than {payment.amount} paid."
            )
        claims = card_refund_claims(payment=payment)
        if claims.unconfirmed is not None:
            raise AwaitingEarlierEvent(unconfirmed_wait_message(claims.unconfirmed))
        # Credit refunds to the card are in Stripe's total and booked by their corrections (``made``).
        card_refunds = (
            Correction.objects.filter(
                payment=payment, status=Correction.Status.DONE, kind=Kind.CARD_REFUND
            ).aggregate(s=Sum("amount"))["s"]
            or ZERO
        )
        new = refunded - card_refunds - claims.made
        if new <= 0:
            return  # an older or repeated report of refunds already booked
        _take_back(
            payment,
            amount=new,
            kind=Kind.CARD_REFUND,
            key=f"stripe:{payment.payment_intent_id}:refunded:{refunded_minor}",
            object_id=charge_id,
            memo=f"Card refund {charge_id} of payment {payment.pk} ({payment.reference})",
            memo_message=stored(
                "payments.memo.invoice_card_refund",
                charge=charge_id,
                payment=payment.pk,
                reference=payment.reference,
            ),
        )


def _dispute_key(payment: CustomerPayment, dispute_id: str) -> str:
    return f"stripe:{payment.payment_intent_id}:dispute:{dispute_id}"


def invoice_card_dispute(
    *, payment: CustomerPayment, dispute_id: str, amount_minor: int, currency: str
) -> None:
    """Book what a dispute withdraws from an invoice card payment, once per dispute."""
    with transaction.atomic():
        payment = _locked_received(payment, currency=currency, object_id=f"Dispute {dispute_id}")
        key = _dispute_key(payment, dispute_id)
        if Correction.objects.filter(idempotency_key=key).exists():
            return
        amount = stripe_api.from_minor_units(amount_minor, payment.currency)
        if amount > payment.amount - payment.refunded:
            raise InvoicePaymentMismatch(
                f"Dispute {dispute_id} is for {amount}; only {payment.amount - payment.refunded} of payment "
                f"{payment.pk} is not refunded."
            )
        _take_back(
            payment,
            amount=amount,
            kind=Kind.CARD_DISPUTE,
            key=key,
            object_id=dispute_id,
            memo=f"Card dispute {dispute_id} of payment {payment.pk} ({payment.reference})",
            memo_message=stored(
                "payments.memo.invoice_card_dispute",
                dispute=dispute_id,
                payment=payment.pk,
                reference=payment.reference,
            ),
        )


def invoice_card_dispute_reinstated(*, payment: CustomerPayment, dispute_id: str, currency: str) -> None:
    """Give back what a won dispute had withdrawn, once per dispute, and apply it to open invoices."""
    with transaction.atomic():
        payment = _locked_received(payment, currency=currency, object_id=f"Dispute {dispute_id}")
        key = f"stripe:{payment.payment_intent_id}:dispute-won:{dispute_id}"
        if Correction.objects.filter(idempotency_key=key).exists():
            return
        opening = Correction.objects.filter(idempotency_key=_dispute_key(payment, dispute_id)).first()
        if opening is None:
            raise AwaitingEarlierEvent(
                f"Dispute {dispute_id} was reinstated, but its opening is not booked yet."
            )
        memo = f"Dispute {dispute_id} won: payment {payment.pk} ({payment.reference}) stands again"
        posted = postings.receivable_money_out_post(
            customer=payment.customer,
            currency=payment.currency,
            amount=-opening.amount,
            key=key,
            kind=postings.KIND_INVOICE_DISPUTE_WON,
            memo=memo,
            memo_message=stored(
                "payments.memo.invoice_dispute_won",
                dispute=dispute_id,
                payment=payment.pk,
                reference=payment.reference,
            ),
            source=f"stripe:{payment.payment_intent_id}",
            method=CustomerPayment.Method.CARD,
            effective_date=timezone.localdate(),
        )
        payment.refunded -= opening.amount
        payment.save(update_fields=["refunded"])
        _done(
            payment,
            kind=Kind.DISPUTE_REINSTATED,
            amount=opening.amount,
            key=key,
            object_id=dispute_id,
            memo=memo,
            posted=posted,
        )
        # Applied to open invoices as any credit is, where the customer's terms say so, once this commits.
        credit_auto_apply_on_commit(customer_id=payment.customer_id, currency=payment.currency)


def dispute_fees_book(dispute: dict) -> None:
    """Book the fees in a dispute's balance transactions (Stripe's dispute fee, or its return), once each."""
    transactions = dispute.get("balance_transactions") or []
    if not isinstance(transactions, list):
        raise stripe_objects.InvalidObject(
            f"dispute {dispute.get('id')}: balance_transactions must be a list."
        )
    dispute_id = stripe_objects.stripe_id(dispute)
    for item in transactions:
        if not isinstance(item, dict):
            continue  # an unexpanded id says nothing about fees
        fee = item.get("fee")
        if isinstance(fee, bool) or not isinstance(fee, int) or abs(fee) >= stripe_objects.MAX_MINOR_UNITS:
            raise stripe_objects.InvalidObject(
                f"balance transaction {item.get('id')}: fee must be a whole number."
            )
        if fee == 0:
            continue
        txn_id = stripe_objects.stripe_id(item)
        fee_currency = stripe_objects.currency(item)
        postings.dispute_fee_post(
            currency=fee_currency,
            amount=stripe_api.from_minor_units(fee, fee_currency),
            key=f"stripe:dispute-fee:{txn_id}",
            memo=f"Stripe dispute fee, dispute {dispute_id}",
            memo_message=stored("payments.memo.dispute_fee", dispute=dispute_id),
            source=f"stripe:{dispute_id}",
        )
