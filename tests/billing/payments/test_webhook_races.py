"""Stripe deliveries racing each other on PostgreSQL: one applies, the other replays; nothing is lost."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from billing.payments import webhook_handlers
from billing.payments.cards import AwaitingEarlierEvent, card_topup_start
from billing.payments.models import CardTopUp, StripeEvent
from billing.wallets.verify import books_problems
from tests.billing.payments.helpers import balance, topup_postings
from tests.billing.payments.stripe_fakes import event_for, post_event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _start(owner, customer, round_: int) -> CardTopUp:
    topup = card_topup_start(
        user=owner,
        customer=customer,
        amount=Decimal("100"),
        currency="CNY",
        success_url="http://testserver/s/",
        cancel_url="http://testserver/c/",
    )
    # The recorded Checkout Session always has the same id; give each top-up its own.
    CardTopUp.objects.filter(pk=topup.pk).update(stripe_session_id=f"cs_test_race_{round_}")
    topup.refresh_from_db()
    return topup


def _post_at_once(payloads: list[str], delays: list[float] | None = None) -> list[int]:
    """Post each payload from its own thread and connection, released together; return the statuses."""
    barrier = threading.Barrier(len(payloads))
    statuses: list[int] = [0] * len(payloads)
    delays = delays or [0] * len(payloads)

    def deliver(index: int, payload: str):
        try:
            barrier.wait()
            time.sleep(delays[index])
            statuses[index] = post_event(Client(), payload).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(i, p)) for i, p in enumerate(payloads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_the_same_event_delivered_twice_at_once_credits_once(owner, customer, stripe_http):
    for round_ in range(3):
        topup = _start(owner, customer, round_)
        payload = event_for(
            "event_checkout_session_completed",
            topup,
            event_id=f"evt_race_{round_}",
            payment_intent=f"pi_race_{round_}",
        )

        statuses = _post_at_once([payload, payload])

        assert statuses == [200, 200]
        event = StripeEvent.objects.get(stripe_id=f"evt_race_{round_}")
        assert (event.status, event.attempts) == ("processed", 1)
    assert balance(customer)[0] == Decimal("300")
    assert topup_postings().count() == 3
    assert books_problems() == []


def test_a_dispute_racing_its_payment_is_never_left_waiting(owner, customer, stripe_http, monkeypatch):
    # The worst interleaving, made certain: the dispute finds no credited payment and is slow to park;
    # meanwhile the payment is credited and looks for waiting events before the dispute's parking is
    # committed. The payment's lock makes the payment wait for the dispute, and then apply it.
    original = webhook_handlers._paid_topup

    def slow_to_park(obj, payment_intent_id):
        try:
            return original(obj, payment_intent_id)
        except AwaitingEarlierEvent:
            time.sleep(0.5)
            raise

    monkeypatch.setattr(webhook_handlers, "_paid_topup", slow_to_park)
    topup = _start(owner, customer, 0)
    payment = event_for("event_checkout_session_completed", topup, event_id="evt_pay")
    dispute = event_for("event_charge_dispute_created", topup, event_id="evt_dp")

    assert _post_at_once([dispute, payment], delays=[0, 0.2]) == [200, 200]

    assert dict(StripeEvent.objects.values_list("stripe_id", "status")) == {
        "evt_pay": "processed",
        "evt_dp": "processed",
    }
    assert balance(customer)[0] == Decimal("0")
    assert books_problems() == []
