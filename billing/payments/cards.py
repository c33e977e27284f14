"""Card top-ups: start a Stripe Checkout, then settle, refund and dispute as Stripe's events arrive."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer, User
from billing.allowances.card_orders import card_order_fulfil
from billing.money import money_text, quantize_money
from billing.payments import postings
from billing.payments.amounts import captured_split, card_quote
from billing.payments.models import CardTopUp
from billing.payments.refund_claims import card_refund_claims, unconfirmed_wait_message
from billing.stripe import api as stripe_api
from billing.terms.selectors import customer_currency
from common.stored_text import stored

ZERO = Decimal("0")


class TopUpMismatch(Exception):
    """A Stripe object does not match the top-up it names (amount, currency or payment): never credit it."""


class AwaitingEarlierEvent(Exception):
    """Money cannot be taken back (or given back) yet: the payment or dispute it concerns is not booked.

    Stripe does not promise to deliver events in order, so a refund may arrive before its payment. The
    event waits and is applied when the payment is credited (``billing.payments.webhooks``).
    """


def card_topup_start(
    *,
    user: User,
    customer: Customer,
    amount: Decimal,
    currency: str,
    success_url: str,
    cancel_url: str,
    locale: str = "auto",
    description: str = "",
) -> CardTopUp:
    """Price and record a card top-up, open its Stripe Checkout Session and return it (with its URL).

    ``description`` names what the money is for on Stripe's page (a pack bought by card); blank: a
    wallet top-up.

    Raises ValidationError for an amount or currency the rules refuse, before anything is written. When
    Stripe fails the row is rolled back too, so a failed attempt leaves nothing behind.
    """
    quote = card_quote(amount=amount, currency=currency, account_currency=customer_currency(customer))
    with transaction.atomic():
        topup = CardTopUp.objects.create(
            customer=customer,
            currency=quote.currency,
            amount=quote.amount,
            fee=quote.fee,
            fee_mode=quote.fee_mode,
            charged=quote.charged,
            created_by=user,
        )
        label = description or _("Wallet top-up · %(customer)s") % {"customer": customer.name}
        lines = [(label, quote.amount)]
        if quote.fee_mode == "customer" and quote.fee > 0:
            lines.append((_("Card processing fee"), quote.fee))
        metadata = {"topup": str(topup.public_id), "customer": str(customer.pk)}
        session = stripe_api.checkout_session_create(
            # The public id is never reused, so a retried request cannot open a second session.
            idempotency_key=f"topup-checkout:{topup.public_id}",
            currency=quote.currency,
            line_items=lines,
            success_url=success_url,
            cancel_url=cancel_url,
            client_reference_id=str(topup.public_id),
            metadata=metadata,
            customer_email=user.email,
            locale=locale,
        )
        topup.stripe_session_id = session["id"]
        topup.checkout_url = session["url"]
        topup.save(update_fields=["stripe_session_id", "checkout_url"])
    return topup


def _charged_minor(topup: CardTopUp) -> int:
    return stripe_api.to_minor_units(topup.charged, topup.currency)


def card_topup_settle(
    *,
    topup: CardTopUp,
    payment_intent_id: str,
    amount_minor: int,
    currency: str,
    accept_captured: bool = False,
) -> CardTopUp:
    """Credit the wallet for a succeeded payment, exactly once per payment intent.

    Called for both checkout.session.completed and payment_intent.succeeded; whichever comes second finds
    the top-up already paid by the same payment and changes nothing. A payment of another amount or
    currency than we charged raises TopUpMismatch and credits nothing. ``accept_captured`` is finance's
    decision, in the same currency only, to credit what Stripe did capture instead: the top-up is
    re-priced at the captured amount (``captured_split``) before it is credited.
    """
    with transaction.atomic():
        topup = CardTopUp.objects.select_for_update().get(pk=topup.pk)
        if topup.payment_intent_id and topup.payment_intent_id != payment_intent_id:
            raise TopUpMismatch(
                f"Top-up {topup.public_id} was paid by {topup.payment_intent_id}, not {payment_intent_id}."
            )
        mismatch = TopUpMismatch(
            f"Payment {payment_intent_id} is {amount_minor} {currency.upper()} (minor units), "
            f"top-up {topup.public_id} expects {_charged_minor(topup)} {topup.currency}."
        )
        if currency.upper() != topup.currency:
            raise mismatch
        if amount_minor != _charged_minor(topup):
            if not accept_captured or topup.credit_transaction_id is not None:
                raise mismatch
            _reprice_at_captured(topup, stripe_api.from_minor_units(amount_minor, topup.currency))
        if topup.credit_transaction_id is not None:
            return topup
        topup.payment_intent_id = payment_intent_id
        topup.credit_transaction = postings.card_credit_post(topup=topup, payment_intent_id=payment_intent_id)
        topup.status = CardTopUp.Status.PAID
        topup.paid_at = timezone.now()
        topup.save(update_fields=["payment_intent_id", "credit_transaction", "status", "paid_at"])
        # Deferred import: receivables build on payments. The receipt is numbered in this transaction.
        from billing.receivables.receipts import receipt_for_topup

        receipt_for_topup(card_topup=topup)
        # A pack or plan bought by card is paid from this credit now, in the same transaction.
        card_order_fulfil(topup_reference=topup.public_id, credited=topup.amount, currency=topup.currency)
    return topup


def _reprice_at_captured(topup: CardTopUp, captured: Decimal) -> None:
    amount, fee = captured_split(
        amount=topup.amount,
        fee=topup.fee,
        fee_mode=topup.fee_mode,
        charged=topup.charged,
        captured=captured,
        currency=topup.currency,
    )
    if amount <= 0:
        raise TopUpMismatch(
            f"Stripe captured {captured} {topup.currency}, too little to credit anything to top-up "
            f"{topup.public_id}. Refund it in Stripe and mark the event resolved."
        )
    topup.amount, topup.fee, topup.charged = amount, fee, captured
    topup.save(update_fields=["amount", "fee", "charged"])


def card_topup_expire(*, topup: CardTopUp) -> CardTopUp:
    """Mark an unpaid top-up whose Checkout Session expired; a paid one is left alone."""
    CardTopUp.objects.filter(pk=topup.pk, status=CardTopUp.Status.OPEN).update(
        status=CardTopUp.Status.EXPIRED
    )
    topup.refresh_from_db()
    return topup


def _split(topup: CardTopUp, charged_part: Decimal) -> tuple[Decimal, Decimal]:
    """Split a part of the charged amount into its wallet share and the passed-on fee share.

    Proportional, rounded once; the whole charged amount always splits into exactly (amount, fee).
    """
    if charged_part >= topup.charged:
        return topup.amount, topup.charged - topup.amount
    wallet = quantize_money(charged_part * topup.amount / topup.charged, topup.currency)
    return wallet, charged_part - wallet


def _locked_paid(topup: CardTopUp, *, currency: str, object_id: str) -> CardTopUp:
    """Lock a credited top-up that a refund or dispute in ``currency`` takes money back from."""
    topup = CardTopUp.objects.select_for_update().get(pk=topup.pk)
    if topup.credit_transaction_id is None:
        raise AwaitingEarlierEvent(
            f"{object_id} concerns top-up {topup.public_id}, whose payment has not been credited yet."
        )
    if currency.upper() != topup.currency:
        raise TopUpMismatch(
            f"{object_id} is in {currency.upper()}, top-up {topup.public_id} was paid in {topup.currency}."
        )
    return topup


def _refund_split(topup: CardTopUp, *, new: Decimal, beyond: Decimal, claims) -> tuple[Decimal, Decimal]:
    """Split ``new``, the newly refunded part of ``beyond``, into its wallet share and card-fee share.

    ``beyond`` is what Stripe refunded beyond the credit refunds finance made to this card (``claims``).
    Those took wallet credit only, so what is refunded beyond them comes out of the rest of the charge:
    its wallet credit and the card fee, in proportion, rounded once on the running total (with no credit
    refund, exactly as the whole charge splits). Never more than is left of either: the whole charge
    refunded, in any order, takes back exactly the amount credited and the fee paid on top.
    """
    fee_paid = topup.charged - topup.amount
    wallet_left = topup.amount - (topup.refunded - topup.refunded_fee) - (claims.made - claims.booked)
    fee_left = fee_paid - topup.refunded_fee
    rest = topup.charged - claims.made
    if beyond >= rest:
        fee = min(fee_left, new)
        return new - fee, fee
    wallet_total = quantize_money(beyond * (topup.amount - claims.made) / rest, topup.currency)
    fee = min(max(beyond - wallet_total - topup.refunded_fee, new - wallet_left, ZERO), new, fee_left)
    return new - fee, fee


def card_topup_refund(*, topup: CardTopUp, refunded_minor: int, currency: str, charge_id: str) -> CardTopUp:
    """Take back the newly refunded part; ``refunded_minor`` is Stripe's running total for the charge.

    Keys carry the running total, so each refund step posts once; an older event (a lower total, which
    may arrive after a newer one) posts nothing and leaves the refunded total alone. Refunds made for
    credit refunds (``billing.payments.refund_claims``) are in Stripe's total and are booked by their
    correction, not here; while one's answer from Stripe is not recorded, the event waits for it.
    """
    with transaction.atomic():
        topup = _locked_paid(topup, currency=currency, object_id=f"Charge {charge_id}")
        refunded = stripe_api.from_minor_units(refunded_minor, topup.currency)
        if refunded > topup.charged:
            charged = money_text(topup.charged, topup.currency)
            raise TopUpMismatch(f"Charge {charge_id} refunded {refunded}, more than {charged} charged.")
        key = f"stripe:{topup.payment_intent_id}:refunded:{refunded_minor}"
        if postings.is_posted(key):
            return topup
        claims = card_refund_claims(card_topup=topup)
        if claims.unconfirmed is not None:
            raise AwaitingEarlierEvent(unconfirmed_wait_message(claims.unconfirmed))
        beyond = refunded - claims.made
        new = beyond - (topup.refunded - claims.booked)
        if new <= 0:
            return topup  # an older report, or only refunds already booked by their corrections
        wallet_part, fee_part = _refund_split(topup, new=new, beyond=beyond, claims=claims)
        full = topup.refunded == 0 and topup.disputed == 0 and new == topup.charged
        postings.card_withdrawal_post(
            topup=topup,
            key=key,
            kind=postings.KIND_CARD_REFUND,
            wallet_part=wallet_part,
            fee_part=fee_part,
            full_reversal=full,
            memo=f"Card refund {charge_id}, top-up {topup.public_id}",
            memo_message=stored("payments.memo.card_refund", charge=charge_id, topup=topup.public_id),
        )
        topup.refunded += new
        topup.refunded_fee += fee_part
        topup.status = (
            CardTopUp.Status.REFUNDED
            if topup.refunded >= topup.charged
            else CardTopUp.Status.PARTIALLY_REFUNDED
        )
        topup.save(update_fields=["refunded", "refunded_fee", "status"])
    return topup


def card_topup_dispute(*, topup: CardTopUp, dispute_id: str, amount_minor: int, currency: str) -> CardTopUp:
    """Take back what a dispute withdraws from our Stripe balance, once per dispute."""
    with transaction.atomic():
        topup = _locked_paid(topup, currency=currency, object_id=f"Dispute {dispute_id}")
        amount = stripe_api.from_minor_units(amount_minor, topup.currency)
        if amount > topup.charged:
            charged = money_text(topup.charged, topup.currency)
            raise TopUpMismatch(f"Dispute {dispute_id} is for {amount}, more than {charged} charged.")
        wallet, fee = _split(topup, amount)
        full = topup.refunded == 0 and topup.disputed == 0 and amount == topup.charged
        postings.card_withdrawal_post(
            topup=topup,
            key=f"stripe:{topup.payment_intent_id}:dispute:{dispute_id}",
            kind=postings.KIND_CARD_DISPUTE,
            wallet_part=wallet,
            fee_part=fee,
            full_reversal=full,
            memo=f"Card dispute {dispute_id}, top-up {topup.public_id}",
            memo_message=stored("payments.memo.card_dispute", dispute=dispute_id, topup=topup.public_id),
        )
        if topup.status != CardTopUp.Status.DISPUTED:
            topup.disputed += amount
            topup.status = CardTopUp.Status.DISPUTED
            topup.save(update_fields=["disputed", "status"])
    return topup


def card_topup_dispute_won(
    *, topup: CardTopUp, dispute_id: str, amount_minor: int, currency: str
) -> CardTopUp:
    """Give back a disputed amount that Stripe reinstated after we won, once per dispute.

    Only after the dispute's withdrawal is booked: a "won" that overtook its "created" waits for it, or
    it would give back money that was never taken.
    """
    with transaction.atomic():
        topup = _locked_paid(topup, currency=currency, object_id=f"Dispute {dispute_id}")
        if not postings.is_posted(f"stripe:{topup.payment_intent_id}:dispute:{dispute_id}"):
            raise AwaitingEarlierEvent(
                f"Dispute {dispute_id} was won, but its opening (charge.dispute.created) is not booked yet."
            )
        amount = stripe_api.from_minor_units(amount_minor, topup.currency)
        if amount > topup.charged:
            charged = money_text(topup.charged, topup.currency)
            raise TopUpMismatch(f"Dispute {dispute_id} is for {amount}, more than {charged} charged.")
        wallet, fee = _split(topup, amount)
        postings.card_reinstate_post(
            topup=topup,
            key=f"stripe:{topup.payment_intent_id}:dispute-won:{dispute_id}",
            wallet_part=wallet,
            fee_part=fee,
            memo=f"Dispute {dispute_id} won, top-up {topup.public_id}",
            memo_message=stored("payments.memo.dispute_won", dispute=dispute_id, topup=topup.public_id),
        )
        if topup.status == CardTopUp.Status.DISPUTED:
            topup.disputed = max(topup.disputed - amount, Decimal("0"))
            topup.status = (
                CardTopUp.Status.PAID if topup.refunded == 0 else CardTopUp.Status.PARTIALLY_REFUNDED
            )
            topup.save(update_fields=["disputed", "status"])
    return topup
