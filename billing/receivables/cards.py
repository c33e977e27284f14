"""Paying an invoice by card in the portal: a Stripe Checkout Session, settled by its webhook.

The payment is recorded as pending when the session opens. When Stripe reports it paid
(checkout.session.completed, or payment_intent.succeeded — whichever arrives first), it is posted
(Dr Stripe clearing / Cr receivable) once per payment intent and allocated to the invoice it was started
from; if that invoice was settled meanwhile, the money stays as the customer's credit.

Refunds and disputes of invoice card payments are booked from Stripe's events by
``billing.payments.invoice_card_events``: the payment is taken back and the invoice is due again.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from billing.invoicing.models import Invoice
from billing.receivables.models import CustomerPayment
from billing.receivables.services import OPEN_STATUSES, payment_receive
from billing.stripe import api as stripe_api

# The metadata key that marks a Stripe object as an invoice payment (its value: the payment's id).
METADATA_KEY = "invoice_payment"


class InvoicePaymentMismatch(Exception):
    """A Stripe object does not match the invoice payment it names: never credit it."""


def invoice_card_payment_start(
    *, user: User, invoice: Invoice, success_url: str, cancel_url: str, locale: str = "auto"
) -> CustomerPayment:
    """Record a pending card payment of the invoice's amount due and open its Checkout Session.

    Raises ValidationError when nothing is due. When Stripe fails the row is rolled back too.
    """
    if invoice.status not in OPEN_STATUSES or invoice.amount_due <= 0:
        raise ValidationError(_("Nothing is due on invoice %(number)s.") % {"number": invoice})
    with transaction.atomic():
        payment = CustomerPayment.objects.create(
            customer=invoice.customer,
            method=CustomerPayment.Method.CARD,
            status=CustomerPayment.Status.PENDING,
            amount=invoice.amount_due,
            currency=invoice.currency,
            reference=str(invoice.number),
            idempotency_key=f"card-invoice:{uuid.uuid4()}",
            intended_invoice=invoice,
            recorded_by=user,
        )
        metadata = {
            METADATA_KEY: str(payment.pk),
            "invoice": str(invoice.number),
            "customer": str(invoice.customer_id),
        }
        session = stripe_api.checkout_session_create(
            idempotency_key=payment.idempotency_key,
            currency=invoice.currency,
            line_items=[(_("Invoice %(number)s") % {"number": invoice.number}, invoice.amount_due)],
            success_url=success_url,
            cancel_url=cancel_url,
            client_reference_id=f"invoice-payment-{payment.pk}",
            metadata=metadata,
            customer_email=user.email,
            locale=locale,
        )
        payment.stripe_session_id = session["id"]
        payment.checkout_url = session["url"]
        payment.save(update_fields=["stripe_session_id", "checkout_url"])
    return payment


def invoice_payment_for(obj: dict) -> CustomerPayment | None:
    """Return the invoice payment a Stripe object belongs to, or None if it is not an invoice payment."""
    metadata = obj.get("metadata") or {}
    payment_id = metadata.get(METADATA_KEY)
    if not payment_id:
        return None
    # Stripe hands the metadata back as we wrote it, but it is still outside input: only an id that fits
    # the primary key is looked up.
    is_id = str(payment_id).isascii() and str(payment_id).isdigit() and len(str(payment_id)) < 19
    payment = CustomerPayment.objects.filter(pk=int(payment_id) if is_id else None).first()
    if payment is None or payment.method != CustomerPayment.Method.CARD:
        raise InvoicePaymentMismatch(
            f"No card invoice payment {payment_id!r} for Stripe object {obj.get('id')}."
        )
    if obj.get("object") == "checkout.session" and obj.get("id") != payment.stripe_session_id:
        raise InvoicePaymentMismatch(f"Session {obj.get('id')} is not payment {payment.pk}'s session.")
    return payment


def invoice_card_payment_settle(
    *,
    payment: CustomerPayment,
    payment_intent_id: str,
    amount_minor: int,
    currency: str,
    accept_captured: bool = False,
) -> CustomerPayment:
    """Post and allocate a succeeded card payment, exactly once per payment intent.

    Another amount or currency than we asked for raises InvoicePaymentMismatch. ``accept_captured`` is
    finance's decision, in the same currency only, to receive what Stripe did capture: the payment is
    recorded at that amount and allocated as far as it goes (any excess stays as the customer's credit).
    """
    with transaction.atomic():
        payment = CustomerPayment.objects.select_for_update().get(pk=payment.pk)
        if payment.payment_intent_id and payment.payment_intent_id != payment_intent_id:
            raise InvoicePaymentMismatch(
                f"Payment {payment.pk} was paid by {payment.payment_intent_id}, not {payment_intent_id}."
            )
        expected = stripe_api.to_minor_units(payment.amount, payment.currency)
        if currency.upper() != payment.currency or amount_minor != expected:
            receivable = currency.upper() == payment.currency and amount_minor > 0
            if not (accept_captured and receivable) or payment.status == CustomerPayment.Status.RECEIVED:
                raise InvoicePaymentMismatch(
                    f"Stripe paid {amount_minor} {currency.upper()} (minor units); payment {payment.pk} "
                    f"expects {expected} {payment.currency}."
                )
            payment.amount = stripe_api.from_minor_units(amount_minor, payment.currency)
            payment.save(update_fields=["amount"])
        if payment.status == CustomerPayment.Status.RECEIVED:
            return payment
        payment.payment_intent_id = payment_intent_id
        payment.status = CustomerPayment.Status.RECEIVED
        payment.received_on = timezone.localdate()
        payment.save(update_fields=["payment_intent_id", "status", "received_on"])
        allocate = payment.intended_invoice if payment.intended_invoice_id else "oldest"
        if isinstance(allocate, Invoice) and allocate.status not in OPEN_STATUSES:
            allocate = None  # settled meanwhile: keep the money as credit rather than pay another invoice
        payment_receive(payment=payment, actor=None, allocate=allocate)
    return payment


def invoice_card_payment_expire(*, payment: CustomerPayment) -> None:
    """Mark a pending card payment whose Checkout Session expired unpaid as failed."""
    CustomerPayment.objects.filter(pk=payment.pk, status=CustomerPayment.Status.PENDING).update(
        status=CustomerPayment.Status.FAILED
    )
