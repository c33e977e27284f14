"""Paying an invoice by card: a Checkout Session at Stripe's (recorded) HTTP boundary, settled by signed
webhooks exactly once per payment intent, posted to Stripe clearing and allocated to the invoice."""

import json
from decimal import Decimal

import pytest

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.payments.models import StripeEvent
from billing.receivables.cards import invoice_card_payment_start
from billing.receivables.models import CustomerPayment, Receipt
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.payments.stripe_fakes import post_event, recorded
from tests.billing.receivables.conftest import JAN
from tests.billing.receivables.helpers import books_agree, receivable
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PI = "pi_3QbTpyFxK8mWz4Lp1aB2cD3e"


def invoice_event(name: str, payment, *, event_id=None, **changes) -> str:
    """A recorded event pointed at an invoice card payment (session id, metadata, amounts)."""
    event = recorded(name)
    obj = event["data"]["object"]
    if event_id:
        event["id"] = event_id
    obj["metadata"] = {"invoice_payment": str(payment.pk), "invoice": payment.reference, "customer": "x"}
    if obj["object"] == "checkout.session":
        obj["id"] = payment.stripe_session_id
        obj["client_reference_id"] = f"invoice-payment-{payment.pk}"
    minor = int(payment.amount.scaleb(2))
    for field in ("amount_total", "amount_subtotal", "amount", "amount_received", "amount_captured"):
        if field in obj:
            obj[field] = minor
    obj.update(changes)
    return json.dumps(event)


@pytest.fixture
def owner(acme):
    return MembershipFactory(user=UserFactory(email="owner@acme.example.com"), customer=acme).user


@pytest.fixture
def started(acme, owner, stripe_http):
    invoice = issued_invoice(acme, "250.00", issue_date=JAN)
    payment = invoice_card_payment_start(
        user=owner,
        invoice=invoice,
        success_url="http://testserver/portal/invoices/1/?paid=1",
        cancel_url="http://testserver/portal/invoices/1/",
    )
    return invoice, payment


def test_starting_a_card_payment_opens_a_session_for_the_amount_due(started, stripe_http):
    invoice, payment = started
    (request,) = stripe_http.requests
    assert request["params"]["line_items[0][price_data][unit_amount]"] == "25000"
    assert request["params"]["metadata[invoice_payment]"] == str(payment.pk)
    assert request["params"]["payment_intent_data[metadata][invoice_payment]"] == str(payment.pk)
    assert (payment.status, payment.amount, payment.intended_invoice_id) == (
        "pending",
        Decimal("250.00"),
        invoice.pk,
    )
    assert payment.checkout_url.startswith("https://checkout.stripe.com/")
    # nothing is posted until Stripe says it is paid
    assert receivable(invoice.customer) == Decimal("250.00")


def test_the_completed_session_pays_the_invoice_once(client, acme, started):
    invoice, payment = started

    responses = [
        post_event(client, invoice_event("event_checkout_session_completed", payment)),
        post_event(client, invoice_event("event_checkout_session_completed", payment)),
        post_event(client, invoice_event("event_payment_intent_succeeded", payment, id=PI)),
    ]

    assert [r.status_code for r in responses] == [200, 200, 200]
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert (payment.status, payment.payment_intent_id) == ("received", PI)
    assert (invoice.status, invoice.amount_due) == ("paid", Decimal("0"))
    txn = JournalTransaction.objects.get(kind="receivable.payment.card")
    assert txn.idempotency_key == f"stripe:{PI}"
    assert account_get(kind=AccountKind.STRIPE_CLEARING, currency="CNY").balance == Decimal("250.00")
    assert books_agree(acme) == (Decimal("0"), Decimal("0"))
    assert Receipt.objects.filter(payment=payment).count() == 1
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {"processed"}
    # no wallet was credited: this was not a top-up
    assert not JournalTransaction.objects.filter(kind__startswith="wallet.").exists()


def test_a_payment_that_does_not_match_is_not_credited(client, started):
    _invoice, payment = started
    response = post_event(
        client, invoice_event("event_checkout_session_completed", payment, amount_total=100)
    )
    assert response.status_code == 200  # stored and parked: finance see it under "Needs attention"
    event = StripeEvent.objects.get()
    assert (event.status, event.parked_reason) == ("parked", "mismatch")
    assert "expects 25000 CNY" in event.error
    payment.refresh_from_db()
    assert payment.status == "pending"
    assert not JournalTransaction.objects.filter(kind__startswith="receivable.").exists()


def test_finance_can_receive_what_stripe_captured_for_an_invoice(client, acme, started, finance):
    # given Stripe captured 100.00 of the 250.00 due, and the event was parked for finance
    invoice, payment = started
    post_event(client, invoice_event("event_checkout_session_completed", payment, amount_total=10000))
    event = StripeEvent.objects.get()
    client.force_login(finance)

    # when finance credit what was captured
    response = client.post(
        f"/dashboard/payments/stripe-events/{event.pk}/credit-captured/", {"note": "Partial payment."}
    )

    # then the payment is received at 100.00 and pays the invoice that far
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.status, event.resolved_by) == ("resolved", finance)
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert (payment.status, payment.amount) == ("received", Decimal("100.00"))
    assert invoice.amount_due == Decimal("150.00")
    assert receivable(acme) == Decimal("150.00")
    assert account_get(kind=AccountKind.STRIPE_CLEARING, currency="CNY").balance == Decimal("100.00")
    assert books_agree(acme) == (Decimal("150.00"), Decimal("150.00"))


def test_an_invoice_settled_meanwhile_leaves_the_card_money_as_credit(client, acme, started, finance):
    from billing.receivables.credit_notes import credit_note_issue

    invoice, payment = started
    credit_note_issue(invoice=invoice, reason="Goodwill", actor=finance, idempotency_key="cn")

    post_event(client, invoice_event("event_checkout_session_completed", payment))

    payment.refresh_from_db()
    assert payment.status == "received"
    assert not payment.allocations.exists()
    assert books_agree(acme) == (Decimal("-250.00"), Decimal("-250.00"))


def test_an_expired_session_marks_the_payment_failed(client, started):
    _invoice, payment = started
    post_event(
        client,
        invoice_event("event_checkout_session_completed", payment, event_id="evt_expired_1")
        .replace("checkout.session.completed", "checkout.session.expired")
        .replace('"payment_status": "paid"', '"payment_status": "unpaid"'),
    )
    payment.refresh_from_db()
    assert payment.status == CustomerPayment.Status.FAILED


def test_a_refund_of_an_invoice_payment_is_booked_and_the_invoice_is_due_again(client, acme, started):
    invoice, payment = started
    post_event(client, invoice_event("event_checkout_session_completed", payment))

    refund = invoice_event("event_charge_refunded", payment, payment_intent=PI, amount_refunded=25000)
    response = post_event(client, refund)

    assert response.status_code == 200
    assert StripeEvent.objects.get(type="charge.refunded").status == "processed"
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == ("issued", Decimal("250.00"))
    assert books_agree(acme) == (Decimal("250.00"), Decimal("250.00"))
