"""Refunding a customer's credit balance, by bank transfer or to the card it was paid with.

Two kinds of credit can be paid back, and only what is really the customer's:

- unapplied payment credit: what a received payment has not settled (``payment_unallocated``); the
  refund is taken from that payment, so a card refund goes back through that payment's charge;
- paid wallet credit: what a prepaid customer topped up and has not spent; granted credit and packs are
  gifts and are never paid out. A card refund goes back through one of the customer's card top-ups.

One finance user proposes, another approves (``billing.payments.approvals``); the money leaves only on
approval: the bank refund is recorded as paid out, the card refund is asked of Stripe first (with an
idempotency key, so a retried approval never refunds twice) and its refund id kept. Stripe's own
confirmation (charge.refunded) then finds the refund already booked and changes nothing.
"""

from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer, User
from billing.money import currency_exponent, money_text
from billing.payments import postings
from billing.payments.corrections import (
    amount_check,
    correction_create,
    idempotency_key_check,
    note_check,
    require_money_role,
)
from billing.payments.models import CardTopUp, Correction
from billing.receivables.models import CustomerPayment
from billing.receivables.services import payment_unallocated
from billing.stripe import api as stripe_api
from billing.terms.selectors import customer_currency
from billing.wallets.locking import wallet_lock
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance

ZERO = Decimal("0")
Source, Method = Correction.Source, Correction.Method


def _down_to_minor_unit(amount: Decimal, currency: str) -> Decimal:
    # A wallet balance keeps full precision; only whole minor units can be paid out, never more than held.
    return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)), rounding=ROUND_DOWN)


def wallet_refundable(*, customer: Customer, currency: str) -> Decimal:
    """The paid wallet credit that may be refunded (never granted credit or packs)."""
    wallet = Wallet.objects.filter(customer=customer, currency=currency).first()
    if wallet is None:
        return ZERO
    return max(_down_to_minor_unit(wallet_balance(wallet=wallet).paid, currency), ZERO)


def topup_refundable(topup: CardTopUp) -> Decimal:
    """What of a card top-up's charge Stripe can still refund."""
    if topup.credit_transaction_id is None or not topup.payment_intent_id:
        return ZERO
    return max(topup.charged - topup.refunded - topup.disputed, ZERO)


def refundable(
    *, customer: Customer, source: str, method: str, payment=None, card_topup=None
) -> tuple[str, Decimal]:
    """Return the currency and the most that may be refunded from ``source`` by ``method``.

    Raises ValidationError naming the field when the payment or top-up chosen cannot carry the refund.
    """
    if source == Source.RECEIVABLE:
        if payment is None or payment.customer_id != customer.pk:
            raise ValidationError({"payment": _("Choose a payment of this customer that carries credit.")})
        if payment.status != CustomerPayment.Status.RECEIVED:
            raise ValidationError({"payment": _("Only a received payment carries credit.")})
        if method == Method.CARD and not (
            payment.method == CustomerPayment.Method.CARD and payment.payment_intent_id
        ):
            raise ValidationError({"method": _("Only a card payment can be refunded to a card.")})
        return payment.currency, payment_unallocated(payment)
    if source != Source.WALLET:
        raise ValidationError({"source": _("Choose the credit to refund.")})
    currency = customer_currency(customer)
    limit = wallet_refundable(customer=customer, currency=currency)
    if method == Method.CARD:
        if card_topup is None or card_topup.customer_id != customer.pk or card_topup.currency != currency:
            raise ValidationError({"card_topup": _("Choose a card top-up of this customer to refund to.")})
        limit = min(limit, topup_refundable(card_topup))
    return currency, limit


def credit_refund_propose(
    *,
    proposer: User,
    customer: Customer,
    source: str,
    method: str,
    amount: Decimal,
    note: str,
    idempotency_key: str,
    payment: CustomerPayment | None = None,
    card_topup: CardTopUp | None = None,
) -> Correction:
    """Propose paying ``amount`` of a customer's credit back; nothing moves until someone else approves.

    Refuses (ValidationError naming the field) more than is refundable, a payment or top-up of another
    customer, and a card refund without a card payment behind it.
    """
    require_money_role(proposer)
    idempotency_key_check(idempotency_key)
    # What is refundable is read from the rows as they are now, not as the caller last saw them.
    payment = CustomerPayment.objects.filter(pk=payment.pk).first() if payment is not None else None
    card_topup = CardTopUp.objects.filter(pk=card_topup.pk).first() if card_topup is not None else None
    if method not in Method.values:
        raise ValidationError({"method": _("Choose bank transfer or card.")})
    currency, limit = refundable(
        customer=customer, source=source, method=method, payment=payment, card_topup=card_topup
    )
    amount = amount_check(amount, currency)
    note = note_check(note)
    existing = Correction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is None and amount > limit:
        raise ValidationError(
            {
                "amount": _("At most %(limit)s %(currency)s can be refunded.")
                % {"limit": money_text(limit, currency), "currency": currency}
            }
        )
    return correction_create(
        idempotency_key=idempotency_key,
        kind=Correction.Kind.CREDIT_REFUND,
        customer=customer,
        currency=currency,
        amount=amount,
        reason=Correction.Reason.CUSTOMER_REQUEST,
        note=note,
        source=source,
        method=method,
        payment=payment if source == Source.RECEIVABLE else None,
        card_topup=card_topup if source == Source.WALLET and method == Method.CARD else None,
        effective_date=timezone.localdate(),
        proposed_by=proposer,
    )


def _stripe_refund(correction: Correction, payment_intent_id: str) -> str:
    """Ask Stripe to refund; the correction's id keys the request, so a retried approval refunds once."""
    try:
        refund = stripe_api.refund_create(
            idempotency_key=f"correction:{correction.pk}",
            payment_intent_id=payment_intent_id,
            amount=correction.amount,
            currency=correction.currency,
            metadata={"correction": str(correction.pk), "customer": str(correction.customer_id)},
        )
    except stripe_api.StripeError as exc:
        raise ValidationError(
            _("Stripe refused the refund; nothing was booked: %(message)s")
            % {"message": exc.user_message or str(exc)}
        ) from exc
    return refund["id"]


def credit_refund_apply(correction: Correction, *, actor: User) -> None:
    """Pay an approved refund out and book it (the caller holds the correction locked, in one transaction).

    The payment or top-up is locked before Stripe is asked, so Stripe's confirmation of this very refund
    waits for the booking and then finds nothing left to do.
    """
    payment = topup = None
    if correction.payment_id:
        payment = CustomerPayment.objects.select_for_update().get(pk=correction.payment_id)
    if correction.card_topup_id:
        topup = CardTopUp.objects.select_for_update().get(pk=correction.card_topup_id)
    if correction.source == Source.WALLET:
        # Locked before its balance is read, so two refunds approved at once cannot both spend it.
        wallet_lock(customer=correction.customer, currency=correction.currency)
    _currency, limit = refundable(
        customer=correction.customer,
        source=correction.source,
        method=correction.method,
        payment=payment,
        card_topup=topup,
    )
    if correction.amount > limit:
        raise ValidationError(
            _("Only %(limit)s %(currency)s is refundable now; reject this refund and propose it again.")
            % {"limit": money_text(limit, correction.currency), "currency": correction.currency}
        )
    key = f"correction:{correction.pk}"
    memo = f"Credit refund #{correction.pk}: {correction.note}"[:500]
    if correction.method == Method.CARD:
        intent = payment.payment_intent_id if payment is not None else topup.payment_intent_id
        correction.stripe_refund_id = _stripe_refund(correction, intent)
    if payment is not None:
        correction.journal_transaction = postings.receivable_money_out_post(
            customer=correction.customer,
            currency=correction.currency,
            amount=correction.amount,
            key=key,
            kind=postings.KIND_RECEIVABLE_REFUND,
            memo=memo,
            source=key,
            method=correction.method,
            actor=actor,
        )
        payment.refunded += correction.amount
        payment.save(update_fields=["refunded"])
        return
    correction.journal_transaction = postings.wallet_refund_post(
        customer=correction.customer,
        currency=correction.currency,
        amount=correction.amount,
        key=key,
        method=correction.method,
        memo=memo,
        source=key,
        actor=actor,
    )
    if topup is not None:
        # Stripe's charge.refunded reports the charge's running refunded total; with it raised here, that
        # confirmation is a no-op for the top-up (billing.payments.cards.card_topup_refund).
        topup.refunded += correction.amount
        topup.status = (
            CardTopUp.Status.REFUNDED
            if topup.refunded >= topup.charged
            else CardTopUp.Status.PARTIALLY_REFUNDED
        )
        topup.save(update_fields=["refunded", "status"])
