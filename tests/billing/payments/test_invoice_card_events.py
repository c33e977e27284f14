"""Card refunds and disputes of invoice payments, booked from signed Stripe events: the payment taken back
in part or whole, its allocations released by dated rows, the invoice due again, the dispute fee an
expense; each exactly once however often or in whatever order Stripe sends it, and none left failed."""

import json
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.invoicing.models import Invoice
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.payments.approvals import correction_approve
from billing.payments.models import Correction, StripeEvent
from billing.payments.refunds import credit_refund_propose
from billing.receivables.cards import invoice_card_payment_start
from billing.receivables.credit_notes import credit_note_issue
from billing.receivables.models import PaymentAllocation
from billing.statements.build import statement_build
from billing.terms.models import BillingTerms
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.payments.correction_helpers import D, books, books_agree, credit_customer
from tests.billing.payments.stripe_fakes import post_event, recorded
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PI = "pi_3QbTpyFxK8mWz4Lp1aB2cD3e"


def invoice_event(name: str, payment, *, event_id=None, **changes) -> str:
    """A recorded event pointed at an invoice card payment (its session, metadata and amount)."""
    event = recorded(name)
    obj = event["data"]["object"]
    if event_id:
        event["id"] = event_id
    if obj["object"] != "dispute":  # Stripe puts no metadata on a dispute
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
def paid(client, stripe_http):
    """A 514.50 invoice paid by card through Checkout (the recorded charge's amount)."""
    customer = credit_customer()
    owner = MembershipFactory(user=UserFactory(email="owner@lumen.example.com"), customer=customer).user
    invoice = issued_invoice(customer, "514.50", issue_date=date(2026, 11, 1))
    payment = invoice_card_payment_start(
        user=owner, invoice=invoice, success_url="http://testserver/ok/", cancel_url="http://testserver/no/"
    )
    post_event(client, invoice_event("event_checkout_session_completed", payment))
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert (payment.status, invoice.status) == ("received", Invoice.Status.PAID)
    return customer, invoice, payment


def fee_expense() -> D:
    return account_get(kind=AccountKind.PAYMENT_FEES, currency="CNY").balance


def _no_event_failed_or_parked():
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_a_partial_refund_reopens_the_invoice_by_that_much(client, paid):
    customer, invoice, payment = paid
    assert books(customer)["clearing"] == D("514.50")

    post_event(client, invoice_event("event_charge_refunded", payment, amount_refunded=20000, refunded=False))

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == (Invoice.Status.PARTIALLY_PAID, D("200.00"))
    after = books(customer)
    assert (after["clearing"], after["receivable"], after["credit"]) == (D("314.50"), D("200.00"), D("0"))
    assert books_agree(customer)
    (release,) = PaymentAllocation.objects.filter(payment=payment, releases__isnull=False)
    assert release.amount == D("-200.00")
    correction = Correction.objects.get()
    assert (correction.kind, correction.status, correction.amount) == ("card_refund", "done", D("200.00"))
    assert correction.stripe_object_id == "ch_3QbTpyFxK8mWz4Lp1eF4gH5i"
    statement = statement_build(customer, date(2026, 11, 1), timezone.localdate(), strict=True)
    assert statement.reconciles
    assert statement.sections[0].closing == D("200.00")
    _no_event_failed_or_parked()


def test_refunds_book_the_running_total_once_in_any_order(client, paid):
    customer, invoice, payment = paid
    first = invoice_event("event_charge_refunded", payment, event_id="evt_r1", amount_refunded=20000)
    full = invoice_event("event_charge_refunded", payment, event_id="evt_r2", amount_refunded=51450)

    for body in (full, first, full, first):  # the newer total first, then the older, each twice
        post_event(client, body)

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == (Invoice.Status.ISSUED, D("514.50"))
    assert books(customer)["clearing"] == D("0")
    assert books(customer)["receivable"] == D("514.50")
    assert books_agree(customer)
    assert sum(c.amount for c in Correction.objects.all()) == D("514.50")
    _no_event_failed_or_parked()


def test_a_dispute_takes_the_money_back_once_and_books_the_fee(client, paid):
    customer, invoice, payment = paid

    post_event(client, invoice_event("event_charge_dispute_created", payment))
    post_event(client, invoice_event("event_charge_dispute_funds_withdrawn", payment))
    post_event(client, invoice_event("event_charge_dispute_funds_withdrawn", payment))

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == (Invoice.Status.ISSUED, D("514.50"))
    # the disputed amount and the 100.00 fee both leave Stripe clearing; the fee is our expense
    assert books(customer)["clearing"] == D("-100.00")
    assert fee_expense() == D("100.00")
    assert books_agree(customer)
    assert Correction.objects.filter(kind="card_dispute").count() == 1
    _no_event_failed_or_parked()


def test_a_won_dispute_gives_the_money_back_and_pays_the_invoice_again(
    client, paid, django_capture_on_commit_callbacks
):
    customer, invoice, payment = paid
    post_event(client, invoice_event("event_charge_dispute_funds_withdrawn", payment))

    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, invoice_event("event_charge_dispute_funds_reinstated", payment))
    post_event(client, invoice_event("event_charge_dispute_closed", payment))  # status won: already booked

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == (Invoice.Status.PAID, D("0"))
    assert books(customer)["clearing"] == D("514.50")
    assert fee_expense() == D("0")  # the fee came back with the reinstatement
    assert books_agree(customer)
    assert Correction.objects.filter(kind="dispute_reinstated").count() == 1
    _no_event_failed_or_parked()


def test_a_lost_dispute_stays_booked(client, paid):
    customer, invoice, payment = paid
    post_event(client, invoice_event("event_charge_dispute_funds_withdrawn", payment))

    post_event(client, invoice_event("event_charge_dispute_closed", payment, status="lost"))

    invoice.refresh_from_db()
    assert invoice.amount_due == D("514.50")
    assert books(customer)["receivable"] == D("514.50")
    _no_event_failed_or_parked()


def test_a_won_dispute_leaves_the_money_as_credit_when_the_terms_say_so(
    client, paid, django_capture_on_commit_callbacks
):
    customer, invoice, payment = paid
    BillingTerms.objects.filter(customer=customer).update(auto_apply_credit=False)
    post_event(client, invoice_event("event_charge_dispute_funds_withdrawn", payment))

    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, invoice_event("event_charge_dispute_funds_reinstated", payment))

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == (Invoice.Status.ISSUED, D("514.50"))
    assert books(customer)["credit"] == D("514.50")  # finance allocates it by hand
    assert books_agree(customer)
    _no_event_failed_or_parked()


def test_a_reinstatement_before_its_dispute_waits_for_it(client, paid, django_capture_on_commit_callbacks):
    customer, invoice, payment = paid

    post_event(client, invoice_event("event_charge_dispute_funds_reinstated", payment))
    assert StripeEvent.objects.get(type="charge.dispute.funds_reinstated").parked_reason == "waiting"
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, invoice_event("event_charge_dispute_created", payment))

    assert books(customer)["clearing"] == D("514.50")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_a_refund_of_more_than_was_paid_is_parked_for_finance(client, paid):
    customer, _invoice, payment = paid

    post_event(client, invoice_event("event_charge_refunded", payment, amount_refunded=60000))

    event = StripeEvent.objects.get(type="charge.refunded")
    assert (event.status, event.parked_reason) == ("parked", "mismatch")
    assert books(customer)["clearing"] == D("514.50")


def test_credit_from_a_card_payment_refunded_to_the_card_is_confirmed_without_booking_twice(
    client, paid, finance, finance2, stripe_http
):
    customer, invoice, payment = paid
    credit_note_issue(
        invoice=invoice, reason="Goodwill", amount=D("100.00"), actor=finance, idempotency_key="cn"
    )
    assert books(customer)["credit"] == D("100.00")
    proposal = credit_refund_propose(
        proposer=finance,
        customer=customer,
        source="receivable",
        method="card",
        amount=D("100.00"),
        payment=payment,
        note="Goodwill paid back to the card",
        idempotency_key="card-credit-refund",
    )

    done = correction_approve(correction=proposal, approver=finance2)
    post_event(client, invoice_event("event_charge_refunded", payment, amount_refunded=10000))
    post_event(client, invoice_event("event_charge_refunded", payment, amount_refunded=10000))

    assert stripe_http.requests[-1]["params"]["payment_intent"] == PI
    assert done.stripe_refund_id.startswith("re_")
    after = books(customer)
    assert (after["clearing"], after["receivable"], after["credit"]) == (D("414.50"), D("0"), D("0"))
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert books_agree(customer)
    assert Correction.objects.count() == 1
    _no_event_failed_or_parked()


def test_a_card_credit_refund_whose_stripe_answer_was_lost_is_booked_once(
    client, paid, finance, finance2, stripe_http
):
    customer, invoice, payment = paid
    credit_note_issue(
        invoice=invoice, reason="Goodwill", amount=D("100.00"), actor=finance, idempotency_key="cn"
    )
    proposal = credit_refund_propose(
        proposer=finance,
        customer=customer,
        source="receivable",
        method="card",
        amount=D("100.00"),
        payment=payment,
        note="Goodwill paid back to the card",
        idempotency_key="card-credit-refund",
    )
    stripe_http.lose_next_answer = True
    with pytest.raises(ValidationError, match="Stripe did not answer"):
        correction_approve(correction=proposal, approver=finance2)
    # Stripe made it; its report waits, for it cannot yet tell it from a refund made in Stripe's dashboard.
    post_event(client, invoice_event("event_charge_refunded", payment, amount_refunded=10000))
    assert StripeEvent.objects.get(type="charge.refunded").parked_reason == "waiting"
    assert books(customer)["credit"] == D("100.00")

    correction_approve(correction=proposal, approver=finance2)

    after = books(customer)
    assert (after["clearing"], after["receivable"], after["credit"]) == (D("414.50"), D("0"), D("0"))
    assert books_agree(customer)
    assert list(Correction.objects.values_list("kind", "status")) == [("credit_refund", "done")]
    _no_event_failed_or_parked()
