"""Stripe events that arrive before the payment they concern wait, and apply exactly once when it comes."""

import json
from decimal import Decimal

import pytest

from billing.ledger.models import JournalTransaction
from billing.payments.models import StripeEvent
from billing.wallets.verify import books_problems
from tests.billing.payments.helpers import balance, clearing, fee_expense
from tests.billing.payments.stripe_fakes import event_for, post_event, recorded

pytestmark = pytest.mark.django_db

PI = "pi_3QbTpyFxK8mWz4Lp1aB2cD3e"


def event(stripe_id: str) -> StripeEvent:
    return StripeEvent.objects.get(stripe_id=stripe_id)


def test_a_refund_before_its_payment_waits_then_applies_with_the_payment_once(client, customer, topup):
    # given Stripe delivers the refund first (the payment's own event was delayed)
    refund = event_for("event_charge_refunded", topup, event_id="evt_refund")
    response = post_event(client, refund)

    # then it is kept, answered 2xx so Stripe stops retrying, and nothing is posted yet
    assert response.status_code == 200
    parked = event("evt_refund")
    assert (parked.status, parked.parked_reason, parked.payment_intent_id) == ("parked", "waiting", PI)
    assert "has not been credited yet" in parked.error
    assert not JournalTransaction.objects.exists()

    # when the payment arrives
    payment = event_for("event_checkout_session_completed", topup, event_id="evt_paid")
    assert post_event(client, payment).status_code == 200

    # then the payment is credited and the refund taken back in the same request
    assert (event("evt_paid").status, event("evt_refund").status) == ("processed", "processed")
    assert (event("evt_refund").parked_reason, event("evt_refund").error) == ("", "")
    assert event("evt_refund").attempts == 2
    assert balance(customer) == (Decimal("0"), Decimal("0"))
    topup.refresh_from_db()
    assert (topup.status, topup.refunded) == ("refunded", Decimal("514.50"))
    assert JournalTransaction.objects.filter(reverses=topup.credit_transaction).count() == 1
    assert clearing() == Decimal("-14.50")
    assert fee_expense() == Decimal("14.50")

    # and neither event, delivered again, changes anything
    postings = JournalTransaction.objects.count()
    assert post_event(client, refund).status_code == 200
    assert post_event(client, payment).status_code == 200
    assert post_event(client, event_for("event_payment_intent_succeeded", topup)).status_code == 200
    assert JournalTransaction.objects.count() == postings
    assert balance(customer) == (Decimal("0"), Decimal("0"))
    assert books_problems() == []


def test_a_partial_refund_before_its_payment_takes_back_its_exact_share(client, customer, topup):
    post_event(client, event_for("event_charge_refunded", topup, event_id="evt_r1", amount_refunded=25725))

    post_event(client, event_for("event_payment_intent_succeeded", topup))

    assert event("evt_r1").status == "processed"
    assert balance(customer)[0] == Decimal("250.00")
    topup.refresh_from_db()
    assert (topup.status, topup.refunded) == ("partially_refunded", Decimal("257.25"))
    refund = JournalTransaction.objects.get(idempotency_key=f"stripe:{PI}:refunded:25725")
    assert {e.account.kind: e.amount for e in refund.entries.select_related("account")} == {
        "wallet_paid": Decimal("250.00"),
        "stripe_clearing": Decimal("-250.00"),
    }
    assert books_problems() == []


def test_a_dispute_before_its_payment_waits_although_it_carries_no_metadata(client, customer, topup):
    # Disputes carry no metadata of ours: only the payment intent ties them to the top-up.
    post_event(client, event_for("event_charge_dispute_created", topup, event_id="evt_dp"))
    assert (event("evt_dp").status, event("evt_dp").parked_reason) == ("parked", "waiting")
    assert f"No payment {PI} has been credited here yet" in event("evt_dp").error

    post_event(client, event_for("event_checkout_session_completed", topup))

    assert event("evt_dp").status == "processed"
    assert balance(customer)[0] == Decimal("0")
    topup.refresh_from_db()
    assert (topup.status, topup.disputed) == ("disputed", Decimal("514.50"))
    assert books_problems() == []


def test_a_won_dispute_waits_for_the_dispute_which_waits_for_the_payment(client, customer, topup):
    # given the three events of a won dispute, delivered in the worst order
    post_event(client, event_for("event_charge_dispute_closed", topup, event_id="evt_won"))
    post_event(client, event_for("event_charge_dispute_created", topup, event_id="evt_opened"))
    assert {e.stripe_id: e.parked_reason for e in StripeEvent.objects.all()} == {
        "evt_won": "waiting",
        "evt_opened": "waiting",
    }

    # when the payment arrives
    post_event(client, event_for("event_checkout_session_completed", topup, event_id="evt_paid"))

    # then all three apply, in the order that makes sense: credited, withdrawn, given back
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert balance(customer)[0] == Decimal("500")
    topup.refresh_from_db()
    assert (topup.status, topup.disputed) == ("paid", Decimal("0"))
    assert clearing() == Decimal("500")
    keys = list(JournalTransaction.objects.order_by("id").values_list("idempotency_key", flat=True))
    dispute = "dp_1QcUr2FxK8mWz4LpXy4Za5Bc"
    assert keys == [
        f"stripe:{PI}",
        f"stripe:{PI}:dispute:{dispute}",
        f"stripe:{PI}:dispute:{dispute}:fee",
        f"stripe:{PI}:dispute-won:{dispute}",
        f"stripe:{PI}:dispute-won:{dispute}:fee",
    ]
    assert books_problems() == []


def test_a_won_dispute_after_the_payment_still_waits_for_the_dispute_itself(client, customer, topup):
    post_event(client, event_for("event_checkout_session_completed", topup))
    post_event(client, event_for("event_charge_dispute_closed", topup, event_id="evt_won"))

    # a win that overtook its dispute must not give back money that was never taken
    assert (event("evt_won").status, event("evt_won").parked_reason) == ("parked", "waiting")
    assert "charge.dispute.created" in event("evt_won").error
    assert balance(customer)[0] == Decimal("500")

    post_event(client, event_for("event_charge_dispute_created", topup, event_id="evt_opened"))

    assert event("evt_won").status == "processed"
    assert balance(customer)[0] == Decimal("500")
    assert books_problems() == []


def test_an_older_refund_arriving_after_a_newer_one_changes_nothing(client, customer, topup):
    post_event(client, event_for("event_checkout_session_completed", topup))
    post_event(client, event_for("event_charge_refunded", topup, event_id="evt_r2", amount_refunded=51450))
    assert balance(customer)[0] == Decimal("0")

    # the running total only grows: 25725 is an older state of the same charge
    post_event(client, event_for("event_charge_refunded", topup, event_id="evt_r1", amount_refunded=25725))

    assert event("evt_r1").status == "processed"
    assert balance(customer)[0] == Decimal("0")
    topup.refresh_from_db()
    assert (topup.status, topup.refunded) == ("refunded", Decimal("514.50"))
    assert books_problems() == []


def test_a_refund_of_a_payment_made_elsewhere_waits_and_is_never_credited(client):
    # a charge of another integration on the same Stripe account: no metadata of ours, unknown payment
    foreign = recorded("event_charge_refunded")
    foreign["data"]["object"].update(metadata={}, payment_intent="pi_elsewhere")
    assert post_event(client, json.dumps(foreign)).status_code == 200

    parked = StripeEvent.objects.get()
    assert (parked.status, parked.parked_reason, parked.payment_intent_id) == (
        "parked",
        "waiting",
        "pi_elsewhere",
    )
    assert "not made through this application" in parked.error
    assert not JournalTransaction.objects.exists()
