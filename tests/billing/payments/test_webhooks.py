"""Stripe webhooks: signed like Stripe signs, stored, credited exactly once, refunds and disputes reversed."""

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction, LedgerAccount
from billing.payments.cards import card_topup_start
from billing.payments.models import CardTopUp, StripeEvent
from billing.wallets.credits import wallet_credit
from billing.wallets.debits import wallet_debit
from billing.wallets.models import WalletLot
from tests.billing.payments.helpers import balance, clearing, fee_expense, topup_postings
from tests.billing.payments.stripe_fakes import event_for, post_event, sign

pytestmark = pytest.mark.django_db

PI = "pi_3QbTpyFxK8mWz4Lp1aB2cD3e"


@pytest.fixture
def paid(client, topup):
    assert post_event(client, event_for("event_checkout_session_completed", topup)).status_code == 200
    topup.refresh_from_db()
    return topup


def test_a_signed_checkout_completed_event_credits_the_wallet_once(client, customer, topup):
    # given
    payload = event_for("event_checkout_session_completed", topup)

    # when the event arrives, then again (Stripe retries), then the same payment as another event type
    first = post_event(client, payload)
    again = post_event(client, payload)
    other_type = post_event(client, event_for("event_payment_intent_succeeded", topup))

    # then
    assert [first.status_code, again.status_code, other_type.status_code] == [200, 200, 200]
    assert balance(customer) == (Decimal("500"), Decimal("0"))
    credit = JournalTransaction.objects.get(kind="wallet.topup.card")
    assert credit.idempotency_key == f"stripe:{PI}"
    assert topup_postings().count() == 1
    # Stripe keeps the fee the customer paid on top: clearing holds what Stripe will pay out.
    assert clearing() == Decimal("500")
    topup.refresh_from_db()
    assert (topup.status, topup.payment_intent_id, topup.credit_transaction_id) == ("paid", PI, credit.pk)
    assert list(StripeEvent.objects.order_by("id").values_list("type", "status", "attempts")) == [
        ("checkout.session.completed", "processed", 1),
        ("payment_intent.succeeded", "processed", 1),
    ]


def test_payment_intent_first_then_session_also_credits_once(client, customer, topup):
    post_event(client, event_for("event_payment_intent_succeeded", topup))
    post_event(client, event_for("event_checkout_session_completed", topup))
    assert balance(customer)[0] == Decimal("500")
    assert topup_postings().count() == 1


def test_a_bad_signature_is_refused_and_nothing_is_written(client, topup):
    payload = event_for("event_checkout_session_completed", topup)
    forged = sign(payload, secret="whsec_someone_else")

    response = post_event(client, payload, signature=forged)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    assert not JournalTransaction.objects.exists()


@pytest.mark.parametrize(
    "signature",
    ["", "garbage", "t=notanumber,v1=abc", "v1=deadbeef"],
)
def test_missing_or_garbled_signature_headers_are_refused(client, topup, signature):
    payload = event_for("event_checkout_session_completed", topup)
    assert post_event(client, payload, signature=signature).status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_replayed_old_signature_is_refused(client, topup):
    payload = event_for("event_checkout_session_completed", topup)
    stale = sign(payload, timestamp=int(time.time()) - 3600)
    assert post_event(client, payload, signature=stale).status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_signature_from_the_future_is_refused_as_one_from_the_past(client, topup):
    """Stripe's library refuses only old timestamps; 600 s ahead is as far outside the 300 s tolerance."""
    payload = event_for("event_checkout_session_completed", topup)
    ahead = sign(payload, timestamp=int(time.time()) + 600)
    response = post_event(client, payload, signature=ahead)
    assert response.status_code == 400 and b"Timestamp outside the tolerance zone" in response.content
    assert not StripeEvent.objects.exists()
    # Within the tolerance either way (a clock a little ahead or behind) is accepted, as before.
    for skew in (-240, 240):
        signed = sign(payload, timestamp=int(time.time()) + skew)
        assert post_event(client, payload, signature=signed).status_code == 200
    assert StripeEvent.objects.count() == 1


def test_a_tampered_body_is_refused(client, topup):
    payload = event_for("event_checkout_session_completed", topup)
    signature = sign(payload)
    tampered = payload.replace('"amount_total": 51450', '"amount_total": 99999')
    assert post_event(client, tampered, signature=signature).status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        "{not json",
        json.dumps({"object": "event", "type": "checkout.session.completed"}),
        json.dumps({"id": "evt_1", "object": "event", "type": "checkout.session.completed", "data": {}}),
        json.dumps([1, 2, 3]),
    ],
)
def test_a_malformed_but_signed_payload_is_refused_and_nothing_is_written(client, payload):
    response = post_event(client, payload)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    assert not JournalTransaction.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get("/stripe/webhook/").status_code == 405


def test_an_event_that_does_not_match_its_top_up_is_parked_for_finance_with_the_reason_kept(
    client, customer, topup
):
    payload = event_for("event_checkout_session_completed", topup, amount_total=100)

    response = post_event(client, payload)

    # Stripe is told we have it (it would only send the same mismatch again); staff see why.
    assert response.status_code == 200
    event = StripeEvent.objects.get()
    assert (event.status, event.parked_reason, event.attempts) == ("parked", "mismatch", 1)
    assert "expects 51450 CNY" in event.error
    assert not topup_postings().exists()
    assert balance(customer)[0] == Decimal("0")


def test_a_parked_event_can_be_retried_by_finance(client, customer, topup, finance, auditor):
    # given an event parked because its amount does not match the top-up…
    post_event(client, event_for("event_checkout_session_completed", topup, amount_total=100))
    event = StripeEvent.objects.get()
    assert event.status == "parked"
    # …until finance corrected the top-up the event belongs to
    CardTopUp.objects.filter(pk=topup.pk).update(amount=Decimal("1.00"), fee=0, charged=Decimal("1.00"))

    client.force_login(auditor)
    assert client.post(f"/dashboard/payments/stripe-events/{event.pk}/retry/").status_code == 403
    client.force_login(finance)
    response = client.post(f"/dashboard/payments/stripe-events/{event.pk}/retry/")

    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.status, event.parked_reason, event.error, event.attempts) == ("processed", "", "", 2)
    assert balance(customer)[0] == Decimal("1.00")
    assert client.get(f"/dashboard/payments/stripe-events/{event.pk}/").status_code == 200
    assert client.get("/dashboard/payments/stripe-events/?status=processed").status_code == 200


def test_events_about_payments_we_did_not_start_are_ignored(client):
    payload = json.dumps(
        {
            "id": "evt_foreign",
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {
                "object": {
                    "id": "pi_foreign",
                    "object": "payment_intent",
                    "metadata": {},
                    "amount_received": 1,
                }
            },
        }
    )
    assert post_event(client, payload).status_code == 200
    assert StripeEvent.objects.get().status == "ignored"
    assert not JournalTransaction.objects.exists()


def test_unhandled_event_types_are_stored_and_ignored(client):
    payload = json.dumps(
        {"id": "evt_x", "object": "event", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}
    )
    assert post_event(client, payload).status_code == 200
    assert StripeEvent.objects.get().status == "ignored"


def test_a_full_refund_reverses_the_credit(client, customer, paid):
    response = post_event(client, event_for("event_charge_refunded", paid))

    assert response.status_code == 200
    assert balance(customer)[0] == Decimal("0")
    reversal = JournalTransaction.objects.get(reverses=paid.credit_transaction)
    assert reversal.kind == "reversal"
    paid.refresh_from_db()
    assert (paid.status, paid.refunded) == ("refunded", Decimal("514.50"))
    # Stripe refunds the fee the customer paid on top, but does not give it back to us: an expense.
    assert clearing() == Decimal("-14.50")
    assert fee_expense() == Decimal("14.50")
    # and the same refund event again changes nothing
    post_event(client, event_for("event_charge_refunded", paid))
    assert balance(customer)[0] == Decimal("0")


def test_partial_refunds_take_back_the_wallet_share_step_by_step(client, customer, paid):
    post_event(client, event_for("event_charge_refunded", paid, event_id="evt_r1", amount_refunded=25725))
    assert balance(customer)[0] == Decimal("250.00")
    post_event(client, event_for("event_charge_refunded", paid, event_id="evt_r2", amount_refunded=51450))
    assert balance(customer)[0] == Decimal("0.00")
    paid.refresh_from_db()
    assert paid.status == "refunded"
    assert clearing() == Decimal("-14.50")
    assert fee_expense() == Decimal("14.50")


def test_a_partial_refund_takes_paid_credit_only(client, customer, paid):
    # given granted credit (a code) and a pack next to the card's paid credit, both burned first by usage
    grant = wallet_credit(
        customer=customer,
        currency="CNY",
        amount=Decimal("80"),
        bucket="granted",
        idempotency_key="gift-1",
        source_account=account_get(kind=AccountKind.PROMOTIONAL_CREDIT, currency="CNY"),
        kind="wallet.topup.code",
        memo="gift",
        expires_at=timezone.now() + timedelta(days=30),
    )
    wallet_credit(
        customer=customer,
        currency="CNY",
        amount=Decimal("20"),
        bucket="pack",
        idempotency_key="pack-1",
        source_account=account_get(kind=AccountKind.CASH_BANK, currency="CNY"),
        kind="wallet.pack",
        memo="pack",
    )

    # when half the charge is refunded
    post_event(client, event_for("event_charge_refunded", paid, event_id="evt_r1", amount_refunded=25725))

    # then the wallet share (250.00) leaves paid credit; the grant and the pack keep all of theirs
    assert balance(customer) == (Decimal("250.00"), Decimal("80"))
    assert WalletLot.objects.get(credited_by=grant).remaining == Decimal("80")
    assert sorted(WalletLot.objects.values_list("remaining", flat=True)) == [Decimal("20"), Decimal("80")]
    refund = JournalTransaction.objects.get(idempotency_key=f"stripe:{PI}:refunded:25725")
    assert {e.account.kind: e.amount for e in refund.entries.select_related("account")} == {
        "wallet_paid": Decimal("250.00"),
        "stripe_clearing": Decimal("-250.00"),
    }

    # and a second partial refund after the paid credit was spent takes paid negative, still not the grant
    wallet_debit(
        customer=customer,
        currency="CNY",
        amount=Decimal("250"),
        idempotency_key="usage-1",
        target_account=account_get(kind=AccountKind.REVENUE_USAGE, currency="CNY"),
        kind="usage.batch",
        memo="usage",
        buckets=["paid"],
    )
    post_event(client, event_for("event_charge_refunded", paid, event_id="evt_r2", amount_refunded=36015))
    assert balance(customer) == (Decimal("-100.00"), Decimal("80"))
    assert WalletLot.objects.get(credited_by=grant).remaining == Decimal("80")
    assert StripeEvent.objects.get(stripe_id="evt_r2").status == "processed"


def test_a_refund_after_the_money_was_spent_takes_the_wallet_negative(client, customer, paid):
    from billing.ledger.accounts import account_get
    from billing.ledger.models import AccountKind
    from billing.wallets.debits import wallet_debit

    wallet_debit(
        customer=customer,
        currency="CNY",
        amount=Decimal("400"),
        idempotency_key="usage-1",
        target_account=account_get(kind=AccountKind.REVENUE_USAGE, currency="CNY"),
        kind="usage.batch",
        memo="usage",
    )

    post_event(client, event_for("event_charge_refunded", paid))

    assert balance(customer)[0] == Decimal("-400")


def test_a_dispute_withdraws_and_a_won_dispute_reinstates(client, customer, paid):
    post_event(client, event_for("event_charge_dispute_created", paid))
    assert balance(customer)[0] == Decimal("0")
    paid.refresh_from_db()
    assert paid.status == "disputed"

    post_event(client, event_for("event_charge_dispute_closed", paid))
    assert balance(customer)[0] == Decimal("500")
    paid.refresh_from_db()
    assert paid.status == "paid"
    assert clearing() == Decimal("500")


def test_a_lost_dispute_stays_withdrawn(client, customer, paid):
    post_event(client, event_for("event_charge_dispute_created", paid))
    post_event(client, event_for("event_charge_dispute_closed", paid, status="lost"))
    assert balance(customer)[0] == Decimal("0")


def test_a_top_up_dispute_books_its_fee_and_each_step_once(client, customer, paid):
    # funds_withdrawn after created, reinstated before closed: each step books once, fees by transaction
    post_event(client, event_for("event_charge_dispute_created", paid))
    post_event(client, event_for("event_charge_dispute_funds_withdrawn", paid))
    # the passed-on fee share (14.50, not returned by Stripe) and the 100.00 dispute fee are our expense
    assert (balance(customer)[0], fee_expense(), clearing()) == (
        Decimal("0"),
        Decimal("114.50"),
        Decimal("-114.50"),
    )

    post_event(client, event_for("event_charge_dispute_funds_reinstated", paid))
    post_event(client, event_for("event_charge_dispute_closed", paid))

    assert (balance(customer)[0], fee_expense(), clearing()) == (Decimal("500"), Decimal("0"), Decimal("500"))
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_an_absorbed_fee_is_booked_as_an_expense(client, customer, owner, stripe_http, settings):
    settings.TOPUP_CARD_FEE_MODE = "absorb"
    topup = card_topup_start(
        user=owner,
        customer=customer,
        amount=Decimal("1000"),
        currency="CNY",
        success_url="http://x/",
        cancel_url="http://x/",
    )

    post_event(client, event_for("event_checkout_session_completed", topup))

    assert balance(customer)[0] == Decimal("1000")
    assert clearing() == Decimal("971.00")  # Stripe pays out the amount less the 29.00 fee we absorb
    fee = JournalTransaction.objects.get(kind="wallet.topup.card_fee")
    assert fee.idempotency_key == f"stripe:{PI}:fee"
    # on the chart's payment-fee expense account, not the manual-adjustment one
    assert {e.account.code: e.amount for e in fee.entries.select_related("account")} == {
        "payment_fees:CNY": Decimal("29.00"),
        "stripe_clearing:CNY": Decimal("-29.00"),
    }
    assert fee_expense() == Decimal("29.00")
    assert not LedgerAccount.objects.filter(kind=AccountKind.MANUAL_ADJUSTMENT).exists()


def test_an_expired_session_marks_the_top_up(client, topup):
    payload = event_for(
        "event_checkout_session_completed", topup, event_id="evt_exp", payment_status="unpaid"
    )
    event = json.loads(payload)
    event["type"] = "checkout.session.expired"
    post_event(client, json.dumps(event))
    topup.refresh_from_db()
    assert topup.status == "expired"
    assert not topup_postings().exists()
