"""Refunding a customer's credit balance, by bank transfer or to the card it was paid with.

Two kinds of credit can be paid back, and only what is really the customer's:

- unapplied payment credit: what a received payment has not settled (``payment_unallocated``); the
  refund is taken from that payment, so a card refund goes back through that payment's charge;
- paid wallet credit: what a prepaid customer topped up and has not spent; granted credit and packs are
  gifts and are never paid out. A card refund goes back through one of the customer's card top-ups.

Only credit beyond what the customer owes on its open invoices is paid back: a customer does not get
its money back while it has invoices due that the money would settle.

One finance user proposes, another approves (``billing.payments.approvals``); the money leaves only on
approval: the bank refund is recorded as paid out; the card refund is asked of Stripe first
(``billing.payments.card_refunds``). Stripe's own confirmation (charge.refunded) never books it again.
"""

from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer, User
from billing.invoicing.models import Invoice
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
from billing.payments.refund_claims import card_refund_claims, credit_reserved
from billing.receivables.allocations import payment_allocations_release
from billing.receivables.models import CustomerPayment
from billing.receivables.services import OPEN_STATUSES, customer_credit, payment_unallocated
from billing.terms.selectors import customer_currency
from billing.wallets.locking import wallet_lock
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from common.stored_text import stored

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
    """What of a card top-up's wallet credit can still go back to its card.

    A credit refund pays back wallet credit, never the card fee on top: at most the credit not taken
    back yet, and never more than Stripe can still refund of the charge.
    """
    if topup.credit_transaction_id is None or not topup.payment_intent_id:
        return ZERO
    wallet_back = topup.refunded - topup.refunded_fee
    return max(min(topup.amount - wallet_back, topup.charged - topup.refunded - topup.disputed), ZERO)


def open_invoices_due(*, customer: Customer, currency: str) -> Decimal:
    """What the customer owes on its open invoices in ``currency``."""
    invoices = Invoice.objects.filter(customer=customer, currency=currency, status__in=OPEN_STATUSES)
    return sum((invoice.amount_due for invoice in invoices), ZERO)


def _net_credit_limit(customer: Customer, currency: str, exclude_pk) -> tuple[Decimal, str]:
    """The customer's unapplied credit less what it owes on open invoices, and why it is that low."""
    credit = customer_credit(customer=customer, currency=currency) - credit_reserved(
        customer=customer, currency=currency, source=Source.RECEIVABLE, exclude_pk=exclude_pk
    )
    due = open_invoices_due(customer=customer, currency=currency)
    why = _(
        "The customer's unapplied credit of %(credit)s %(currency)s is owed on its open invoices "
        "(%(due)s %(currency)s due): only credit beyond what it owes can be paid back."
    ) % {"credit": money_text(credit, currency), "due": money_text(due, currency), "currency": currency}
    return max(credit - due, ZERO), why


def refundable(
    *, customer: Customer, source: str, method: str, payment=None, card_topup=None, exclude_pk=None
) -> tuple[str, Decimal, str]:
    """Return the currency, the most that may be refunded from ``source`` by ``method``, and why it is less
    than the credit chosen ("" when it is not).

    Credit that card refunds asked of Stripe will take (other than correction ``exclude_pk``'s) is not
    refundable again. Raises ValidationError naming the field when the payment or top-up chosen cannot
    carry the refund.
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
        limit = (
            payment_unallocated(payment) - card_refund_claims(payment=payment, exclude_pk=exclude_pk).reserved
        )
        net, why = _net_credit_limit(customer, payment.currency, exclude_pk)
        if net < limit:
            return payment.currency, net, why
        return payment.currency, max(limit, ZERO), ""
    if source != Source.WALLET:
        raise ValidationError({"source": _("Choose the credit to refund.")})
    currency = customer_currency(customer)
    limit = wallet_refundable(customer=customer, currency=currency) - credit_reserved(
        customer=customer, currency=currency, source=Source.WALLET, exclude_pk=exclude_pk
    )
    if method == Method.CARD:
        if card_topup is None or card_topup.customer_id != customer.pk or card_topup.currency != currency:
            raise ValidationError({"card_topup": _("Choose a card top-up of this customer to refund to.")})
        claims = card_refund_claims(card_topup=card_topup, exclude_pk=exclude_pk)
        limit = min(limit, topup_refundable(card_topup) - claims.reserved)
    return currency, max(limit, ZERO), ""


def _at_most(limit: Decimal, currency: str, why: str) -> str:
    message = _("At most %(limit)s %(currency)s can be refunded.") % {
        "limit": money_text(limit, currency),
        "currency": currency,
    }
    return f"{message} {why}" if why else message


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
    currency, limit, why = refundable(
        customer=customer, source=source, method=method, payment=payment, card_topup=card_topup
    )
    amount = amount_check(amount, currency)
    note = note_check(note)
    existing = Correction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is None and amount > limit:
        raise ValidationError({"amount": _at_most(limit, currency, why)})
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


def refund_targets_lock(correction: Correction) -> tuple[CustomerPayment | None, CardTopUp | None]:
    """Lock what a refund pays back from (the payment or the top-up, and the wallet) before reading it."""
    payment = topup = None
    if correction.payment_id:
        payment = CustomerPayment.objects.select_for_update().get(pk=correction.payment_id)
    if correction.card_topup_id:
        topup = CardTopUp.objects.select_for_update().get(pk=correction.card_topup_id)
    if correction.source == Source.WALLET:
        # Locked before its balance is read, so two refunds approved at once cannot both spend it.
        wallet_lock(customer=correction.customer, currency=correction.currency)
    return payment, topup


def refund_limit_check(correction: Correction, *, payment, card_topup) -> None:
    """Refuse a refund of more than is refundable now (the caller holds the locks)."""
    _currency, limit, why = refundable(
        customer=correction.customer,
        source=correction.source,
        method=correction.method,
        payment=payment,
        card_topup=card_topup,
        exclude_pk=correction.pk,
    )
    if correction.amount > limit:
        message = _(
            "Only %(limit)s %(currency)s is refundable now; reject this refund and propose it again."
        ) % {"limit": money_text(limit, correction.currency), "currency": correction.currency}
        raise ValidationError(f"{message} {why}" if why else message)


def credit_refund_apply(correction: Correction, *, actor: User) -> None:
    """Pay an approved bank refund out and book it (the caller holds the correction locked, in one
    transaction). Card refunds go through ``billing.payments.card_refunds``: Stripe first."""
    payment, topup = refund_targets_lock(correction)
    refund_limit_check(correction, payment=payment, card_topup=topup)
    credit_refund_book(correction, payment=payment, card_topup=topup, actor=actor)


def credit_refund_book(correction: Correction, *, payment, card_topup, actor: User) -> None:
    """Book a refund whose money has left (paid out by bank, or refunded by Stripe); the caller holds the
    locks of ``refund_targets_lock``.

    A card refund is booked whatever happened since Stripe made it: the money is gone. Credit applied to
    an invoice meanwhile is released from it (the invoice is due again), and a wallet spent meanwhile goes
    below its floor, to be suspended like any other.
    """
    key = f"correction:{correction.pk}"
    memo = f"Credit refund #{correction.pk}: {correction.note}"[:500]
    memo_message = stored("payments.memo.credit_refund", correction=correction.pk, note=correction.note)
    if payment is not None:
        beyond_credit = correction.amount - payment_unallocated(payment)
        if beyond_credit > 0:
            payment_allocations_release(
                payment=payment, amount=beyond_credit, at=correction.effective_date, reason=memo, actor=None
            )
        correction.journal_transaction = postings.receivable_money_out_post(
            customer=correction.customer,
            currency=correction.currency,
            amount=correction.amount,
            key=key,
            kind=postings.KIND_RECEIVABLE_REFUND,
            memo=memo,
            memo_message=memo_message,
            source=key,
            method=correction.method,
            effective_date=correction.effective_date,
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
        memo_message=memo_message,
        source=key,
        actor=actor,
        allow_below_floor=correction.method == Method.CARD,
    )
    if card_topup is not None:
        # Wallet credit only: the card fee on top stays with the charge (billing.payments.cards).
        card_topup.refunded += correction.amount
        card_topup.status = (
            CardTopUp.Status.REFUNDED
            if card_topup.refunded >= card_topup.charged
            else CardTopUp.Status.PARTIALLY_REFUNDED
        )
        card_topup.save(update_fields=["refunded", "status"])
