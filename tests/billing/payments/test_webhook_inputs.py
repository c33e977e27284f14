"""No input makes the Stripe webhook answer a server error: each is refused (400) or kept with its reason."""

import json
from decimal import Decimal

import pytest
from django.db import OperationalError

from billing.ledger.models import JournalTransaction
from billing.payments import webhook_handlers
from billing.payments.models import StripeEvent
from tests.billing.payments.helpers import balance
from tests.billing.payments.stripe_fakes import event_for, post_event, recorded, sign

pytestmark = pytest.mark.django_db


def _event(**changes) -> str:
    body = {"id": "evt_in", "object": "event", "type": "customer.created", "data": {"object": {"id": "x"}}}
    body.update(changes)
    return json.dumps(body)


@pytest.mark.parametrize(
    "payload",
    [
        _event(data=[]),
        _event(data=None),
        _event(data={"object": []}),
        _event(id=12),
        _event(id="evt_" + "x" * 300),
        _event(type=""),
        _event(type="t" * 101),
        _event(api_version="v" * 41),
        _event(api_version=7),
        _event(data={"object": {"id": "x", "name": "nul\u0000byte"}}),
        _event(data={"object": {"id": "x", "n\u0000": 1}}),
        '{"id": "evt_in", "type": "x", "data": {"object": {"amount": NaN}}}',
        '{"id": "evt_in", "type": "x", "data": {"object": {"amount": 1e999}}}',
        '{"id": "evt_in", "type": "x", "data": {"object": {"n": ' + "[" * 50 + "]" * 50 + "}}}",
        '{"id": "evt_in", "type": "x", "data": {"object": {"n": ' + "[" * 5000 + "]" * 5000 + "}}}",
        '{"id": "evt_in", "type": "x", "data": {"object": {"n": ' + "9" * 5000 + "}}}",
        '"just a string"',
        "null",
    ],
)
def test_a_malformed_body_with_a_valid_signature_is_refused_with_400_and_nothing_is_stored(client, payload):
    response = post_event(client, payload)

    assert response.status_code == 400
    assert response.content.startswith(b"Malformed payload")
    assert not StripeEvent.objects.exists()


def test_a_body_that_is_not_utf8_is_refused(client):
    payload = b'{"id": "evt_in", "type": "x", "data": {"object": {"n": "\xff"}}}'
    signature = sign(payload.decode("latin-1"))
    response = client.post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": signature},
    )
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_an_unsigned_body_is_refused_before_it_is_parsed(client):
    # the JSON parser never sees what the signature does not cover, however deep it nests
    payload = "[" * 100_000 + "]" * 100_000
    response = post_event(client, payload, signature="t=1,v1=00")
    assert response.status_code == 400
    assert response.content.startswith(b"Bad signature")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount_total": "51450"}, "amount_total"),
        ({"amount_total": 514.5}, "amount_total"),
        ({"amount_total": None}, "amount_total"),
        ({"amount_total": -1}, "amount_total"),
        ({"amount_total": True}, "amount_total"),
        ({"amount_total": 10**30}, "amount_total"),
        ({"currency": None}, "currency"),
        ({"currency": "yuan"}, "currency"),
        ({"payment_intent": None}, "payment_intent"),
        ({"payment_intent": {"no": "id"}}, "payment_intent"),
        ({"payment_intent": "pi_" + "x" * 200}, "payment_intent"),
        ({"metadata": ["topup"]}, "metadata"),
        ({"metadata": {"topup": 5}}, "metadata"),
    ],
)
def test_a_payment_with_a_malformed_field_is_parked_naming_the_field(client, customer, topup, changes, field):
    response = post_event(client, event_for("event_checkout_session_completed", topup, **changes))

    assert response.status_code == 200
    event = StripeEvent.objects.get()
    assert (event.status, event.parked_reason) == ("parked", "invalid")
    assert field in event.error
    assert not JournalTransaction.objects.exists()
    assert balance(customer)[0] == Decimal("0")


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("event_charge_refunded", {"amount_refunded": "all"}),
        ("event_charge_refunded", {"currency": 840}),
        ("event_charge_refunded", {"id": None}),
        ("event_charge_dispute_created", {"amount": 1.5}),
        ("event_charge_dispute_closed", {"id": ["dp"]}),
    ],
)
def test_a_refund_or_dispute_with_a_malformed_field_is_parked(client, topup, name, changes):
    assert post_event(client, event_for(name, topup, **changes)).status_code == 200
    event = StripeEvent.objects.get()
    assert (event.status, event.parked_reason) == ("parked", "invalid")


@pytest.mark.parametrize(
    "changes",
    [
        {"currency": "usd"},
        {"currency": "eur"},
        {"amount_total": 51449},
        {"amount_total": 99_999_999},
        {"amount_total": 0},
    ],
)
def test_a_payment_in_another_amount_or_currency_is_parked_and_nothing_credited(
    client, customer, topup, changes
):
    response = post_event(client, event_for("event_checkout_session_completed", topup, **changes))

    assert response.status_code == 200
    event = StripeEvent.objects.get()
    assert (event.status, event.parked_reason) == ("parked", "mismatch")
    assert "expects 51450 CNY" in event.error
    assert balance(customer)[0] == Decimal("0")
    topup.refresh_from_db()
    assert (topup.status, topup.credit_transaction_id) == ("open", None)


def test_a_payment_intent_of_another_amount_is_parked_too(client, customer, topup):
    post_event(client, event_for("event_payment_intent_succeeded", topup, amount_received=100))
    event = StripeEvent.objects.get()
    assert (event.status, event.parked_reason) == ("parked", "mismatch")
    assert balance(customer)[0] == Decimal("0")


@pytest.mark.parametrize("reference", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "x" * 500])
def test_a_payment_naming_a_top_up_we_do_not_have_is_parked(client, topup, reference):
    payload = json.loads(event_for("event_payment_intent_succeeded", topup))
    payload["data"]["object"]["metadata"] = {"topup": reference}

    assert post_event(client, json.dumps(payload)).status_code == 200

    event = StripeEvent.objects.get()
    assert (event.status, event.parked_reason) == ("parked", "mismatch")
    assert "No top-up" in event.error


@pytest.mark.parametrize("reference", ["12a", "99999999999999999999999", "٣"])
def test_a_payment_naming_an_invoice_payment_we_do_not_have_is_parked(client, topup, reference):
    payload = json.loads(event_for("event_payment_intent_succeeded", topup))
    payload["data"]["object"]["metadata"] = {"invoice_payment": reference}

    assert post_event(client, json.dumps(payload)).status_code == 200

    event = StripeEvent.objects.get()
    assert (event.status, event.parked_reason) == ("parked", "mismatch")


def test_a_second_payment_for_a_paid_top_up_is_parked_not_credited_again(client, customer, topup):
    post_event(client, event_for("event_checkout_session_completed", topup))

    other = event_for("event_payment_intent_succeeded", topup, event_id="evt_second", id="pi_second")
    assert post_event(client, other).status_code == 200

    event = StripeEvent.objects.get(stripe_id="evt_second")
    assert (event.status, event.parked_reason) == ("parked", "mismatch")
    assert balance(customer)[0] == Decimal("500")


@pytest.mark.parametrize(
    ("name", "changes", "reason"),
    [
        ("event_charge_refunded", {"currency": "usd"}, "is in USD"),
        ("event_charge_refunded", {"amount_refunded": 51451}, "more than 514.50 charged"),
        ("event_charge_dispute_created", {"currency": "jpy"}, "is in JPY"),
        ("event_charge_dispute_created", {"amount": 99_999_999}, "more than 514.50 charged"),
    ],
)
def test_a_refund_or_dispute_that_does_not_match_the_payment_is_parked(
    client, customer, topup, name, changes, reason
):
    post_event(client, event_for("event_checkout_session_completed", topup))

    assert post_event(client, event_for(name, topup, event_id="evt_back", **changes)).status_code == 200

    event = StripeEvent.objects.get(stripe_id="evt_back")
    assert (event.status, event.parked_reason) == ("parked", "mismatch")
    assert reason in event.error
    assert balance(customer)[0] == Decimal("500")


def test_refund_events_other_than_charge_refunded_are_kept_and_ignored_with_the_reason(client, paid_topup):
    refund = recorded("event_charge_refunded")
    refund["id"], refund["type"] = "evt_refund_created", "refund.created"
    refund["data"]["object"] = {"id": "re_1", "object": "refund", "amount": 51450, "payment_intent": "pi_x"}

    assert post_event(client, json.dumps(refund)).status_code == 200

    event = StripeEvent.objects.get(stripe_id="evt_refund_created")
    assert event.status == "ignored"
    assert "charge.refunded" in event.error


@pytest.fixture
def paid_topup(client, topup):
    post_event(client, event_for("event_checkout_session_completed", topup))
    return topup


def test_an_unexpected_error_is_kept_as_failed_and_answered_2xx(client, customer, topup, monkeypatch):
    def broken(obj):
        raise KeyError("surprise")

    monkeypatch.setitem(webhook_handlers.HANDLERS, "checkout.session.completed", broken)

    response = post_event(client, event_for("event_checkout_session_completed", topup))

    # Stripe sending the same input again could not help; the event waits for finance instead.
    assert response.status_code == 200
    event = StripeEvent.objects.get()
    assert (event.status, event.attempts) == ("failed", 1)
    assert "KeyError" in event.error
    assert b"Traceback" not in response.content


def test_a_database_outage_is_answered_503_so_stripe_retries(client, topup, monkeypatch):
    def unavailable(obj):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setitem(webhook_handlers.HANDLERS, "checkout.session.completed", unavailable)

    response = post_event(client, event_for("event_checkout_session_completed", topup))

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert b"server closed" not in response.content
    event = StripeEvent.objects.get()
    assert event.status == "failed"

    # when Stripe retries after the database is back, the event applies
    monkeypatch.undo()
    assert post_event(client, event_for("event_checkout_session_completed", topup)).status_code == 200
    event.refresh_from_db()
    assert event.status == "processed"
