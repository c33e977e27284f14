"""Finance's "Needs attention" list of Stripe events, and the two ways to close one: credit what Stripe
captured, or mark it resolved with a note."""

import json
from decimal import Decimal

import pytest

from billing.ledger.models import JournalTransaction
from billing.payments import webhook_handlers
from billing.payments.models import StripeEvent
from billing.wallets.verify import books_problems
from tests.billing.payments.helpers import balance, card_topup, clearing, fee_expense
from tests.billing.payments.stripe_fakes import event_for, post_event, recorded

pytestmark = pytest.mark.django_db

LIST = "/dashboard/payments/stripe-events/"


def detail(event: StripeEvent) -> str:
    return f"{LIST}{event.pk}/"


@pytest.fixture
def mixed_events(client, topup, monkeypatch):
    """One event of each kind: processed, ignored, waiting, mismatched, malformed, failed."""
    foreign_refund = recorded("event_charge_refunded")
    foreign_refund["id"] = "evt_waiting"
    foreign_refund["data"]["object"].update(metadata={}, payment_intent="pi_later")
    post_event(client, json.dumps(foreign_refund))
    post_event(
        client, event_for("event_checkout_session_completed", topup, event_id="evt_mismatch", amount_total=1)
    )
    post_event(
        client, event_for("event_payment_intent_succeeded", topup, event_id="evt_invalid", currency=None)
    )
    post_event(client, json.dumps({"id": "evt_ignored", "type": "customer.created", "data": {"object": {}}}))
    with monkeypatch.context() as patch:
        patch.setitem(webhook_handlers.HANDLERS, "checkout.session.expired", lambda obj: 1 / 0)
        post_event(
            client,
            event_for("event_checkout_session_completed", topup, event_id="evt_failed").replace(
                "checkout.session.completed", "checkout.session.expired"
            ),
        )
    unpaid = event_for(
        "event_checkout_session_completed", topup, event_id="evt_processed", payment_status="unpaid"
    )
    post_event(client, unpaid)
    return {e.stripe_id: e for e in StripeEvent.objects.all()}


def test_needs_attention_lists_what_finance_must_decide_and_nothing_else(client, finance, mixed_events):
    assert {k: (e.status, e.parked_reason) for k, e in mixed_events.items()} == {
        "evt_waiting": ("parked", "waiting"),
        "evt_mismatch": ("parked", "mismatch"),
        "evt_invalid": ("parked", "invalid"),
        "evt_ignored": ("ignored", ""),
        "evt_failed": ("failed", ""),
        "evt_processed": ("processed", ""),
    }
    client.force_login(finance)

    attention = client.get(f"{LIST}?queue=attention")
    waiting = client.get(f"{LIST}?queue=waiting")

    assert attention.status_code == 200
    listed = {e.stripe_id for e in attention.context["page_obj"]}
    assert listed == {"evt_mismatch", "evt_invalid", "evt_failed"}
    assert {e.stripe_id for e in waiting.context["page_obj"]} == {"evt_waiting"}
    assert attention.context["counts"] == {"attention": 3, "waiting": 1}
    page = attention.content.decode()
    assert "Needs attention" in page
    assert "could not apply by themselves" in page
    # the card top-ups page points finance at them
    cards_page = client.get("/dashboard/payments/cards/").content.decode()
    assert f"{LIST}?queue=attention" in cards_page


def test_the_needs_attention_page_is_in_chinese_for_chinese_readers(client, finance, mixed_events):
    client.force_login(finance)

    page = client.get(f"{LIST}?queue=attention", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "需要处理" in page
    assert "未能自动入账" in page


def test_only_finance_and_admin_see_events_and_auditors_only_read(
    client, finance, auditor, sales, owner, mixed_events
):
    event = mixed_events["evt_mismatch"]
    client.force_login(auditor)
    assert client.get(f"{LIST}?queue=attention").status_code == 200
    page = client.get(detail(event)).content.decode()
    assert 'data-testid="event-decide"' not in page
    assert client.post(f"{detail(event)}resolve/", {"note": "x"}).status_code == 403
    assert client.post(f"{detail(event)}credit-captured/", {"note": "x"}).status_code == 403
    for outsider in (sales, owner):
        client.force_login(outsider)
        assert client.get(f"{LIST}?queue=attention").status_code == 403
        assert client.post(f"{detail(event)}resolve/", {"note": "x"}).status_code == 403
    event.refresh_from_db()
    assert event.status == "parked"


def test_the_detail_page_says_what_finance_can_do(client, finance, mixed_events):
    client.force_login(finance)

    mismatch = client.get(detail(mixed_events["evt_mismatch"])).content.decode()
    waiting = client.get(detail(mixed_events["evt_waiting"])).content.decode()
    processed = client.get(detail(mixed_events["evt_processed"])).content.decode()

    assert "credit what it actually captured" in mismatch
    assert 'data-testid="credit-captured"' in mismatch
    assert "Stripe captured <strong>0.01 CNY</strong>; we asked for 514.50 CNY." in mismatch
    assert "applied automatically" in waiting
    assert 'data-testid="credit-captured"' not in waiting
    assert 'data-testid="resolve"' in waiting
    assert 'data-testid="event-decide"' not in processed


def test_finance_marks_an_event_resolved_with_a_note_and_it_never_applies(client, finance, customer, topup):
    # given a refund waiting for a payment
    post_event(client, event_for("event_charge_refunded", topup, event_id="evt_refund"))
    event = StripeEvent.objects.get()
    client.force_login(finance)

    # a note is required
    client.post(f"{detail(event)}resolve/", {"note": "  "})
    event.refresh_from_db()
    assert event.status == "parked"

    response = client.post(f"{detail(event)}resolve/", {"note": "Refunded by hand, ticket 42."}, follow=True)

    assert "Event marked resolved" in response.content.decode()
    event.refresh_from_db()
    assert (event.status, event.resolved_by, event.resolution) == (
        "resolved",
        finance,
        "Refunded by hand, ticket 42.",
    )
    assert event.resolved_at is not None
    assert "Refunded by hand, ticket 42." in client.get(detail(event)).content.decode()
    # and when its payment arrives, the resolved refund is not applied on top of what finance did
    post_event(client, event_for("event_checkout_session_completed", topup))
    event.refresh_from_db()
    assert event.status == "resolved"
    assert balance(customer)[0] == Decimal("500")
    # nor by a retry, nor by resolving again
    client.post(f"{detail(event)}retry/")
    client.post(f"{detail(event)}resolve/", {"note": "again"})
    event.refresh_from_db()
    assert (event.status, event.resolution) == ("resolved", "Refunded by hand, ticket 42.")
    assert balance(customer)[0] == Decimal("500")


def test_a_processed_event_cannot_be_resolved(client, finance, topup):
    post_event(client, event_for("event_checkout_session_completed", topup))
    event = StripeEvent.objects.get()
    client.force_login(finance)

    response = client.post(f"{detail(event)}resolve/", {"note": "oops"}, follow=True)

    assert "Only a parked or failed event can be resolved" in response.content.decode()
    event.refresh_from_db()
    assert (event.status, event.resolution) == ("processed", "")


def test_crediting_an_underpayment_credits_what_stripe_captured_and_a_waiting_refund_follows(
    client, finance, customer, topup
):
    # given Stripe captured 100.00 CNY where we asked 514.50 (500 to the wallet + 14.50 card fee)…
    post_event(
        client, event_for("event_checkout_session_completed", topup, event_id="evt_paid", amount_total=10000)
    )
    # …and the customer's refund of it arrived before anyone looked
    post_event(
        client, event_for("event_charge_refunded", topup, event_id="evt_refund", amount_refunded=10000)
    )
    paid, refund = (
        StripeEvent.objects.get(stripe_id="evt_paid"),
        StripeEvent.objects.get(stripe_id="evt_refund"),
    )
    assert (paid.parked_reason, refund.parked_reason) == ("mismatch", "waiting")
    client.force_login(finance)

    response = client.post(
        f"{detail(paid)}credit-captured/", {"note": "Customer changed the amount."}, follow=True
    )

    assert "What Stripe captured was credited" in response.content.decode()
    paid.refresh_from_db()
    assert (paid.status, paid.resolved_by) == ("resolved", finance)
    assert paid.resolution == (
        "Credited what Stripe captured, 100.00 CNY (we asked for 514.50 CNY). Customer changed the amount."
    )
    topup.refresh_from_db()
    # the capture splits as the quote did: 100.00 × 500 / 514.50 = 97.18 to the wallet, 2.82 card fee
    assert (topup.amount, topup.fee, topup.charged) == (Decimal("97.18"), Decimal("2.82"), Decimal("100.00"))
    credit = JournalTransaction.objects.get(idempotency_key="stripe:pi_3QbTpyFxK8mWz4Lp1aB2cD3e")
    assert {e.account.kind: e.amount for e in credit.entries.select_related("account")} == {
        "stripe_clearing": Decimal("97.18"),
        "wallet_paid": Decimal("-97.18"),
    }
    # and the refund that waited for this payment took back exactly what was credited
    refund.refresh_from_db()
    assert refund.status == "processed"
    assert balance(customer)[0] == Decimal("0.00")
    topup.refresh_from_db()
    assert (topup.status, topup.refunded) == ("refunded", Decimal("100.00"))
    assert clearing() == Decimal("-2.82")
    assert fee_expense() == Decimal("2.82")
    # a second click changes nothing
    client.post(f"{detail(paid)}credit-captured/", {"note": "again"})
    assert JournalTransaction.objects.filter(kind="wallet.topup.card").count() == 1
    assert books_problems() == []


def test_crediting_an_overpayment_credits_the_larger_capture(client, finance, customer, topup):
    post_event(client, event_for("event_payment_intent_succeeded", topup, amount_received=60000))
    event = StripeEvent.objects.get()
    client.force_login(finance)

    client.post(f"{detail(event)}credit-captured/", {"note": "Paid twice in one go."})

    topup.refresh_from_db()
    assert (topup.amount, topup.fee, topup.charged, topup.status) == (
        Decimal("583.09"),
        Decimal("16.91"),
        Decimal("600.00"),
        "paid",
    )
    assert balance(customer)[0] == Decimal("583.09")
    assert clearing() == Decimal("583.09")
    assert books_problems() == []


def test_crediting_a_capture_when_we_absorb_the_fee_scales_the_fee_we_bear(
    client, finance, owner, customer, stripe_http, settings
):
    settings.TOPUP_CARD_FEE_MODE = "absorb"
    topup = card_topup(owner, customer, amount="1000")
    post_event(client, event_for("event_checkout_session_completed", topup, amount_total=60000))
    client.force_login(finance)

    client.post(f"{detail(StripeEvent.objects.get())}credit-captured/", {"note": "Partial capture."})

    topup.refresh_from_db()
    assert (topup.amount, topup.fee, topup.charged) == (
        Decimal("600.00"),
        Decimal("17.40"),
        Decimal("600.00"),
    )
    assert balance(customer)[0] == Decimal("600.00")
    assert fee_expense() == Decimal("17.40")
    assert clearing() == Decimal("582.60")
    assert books_problems() == []


def test_a_payment_in_another_currency_cannot_be_credited_only_resolved(client, finance, customer, topup):
    post_event(client, event_for("event_checkout_session_completed", topup, currency="usd"))
    event = StripeEvent.objects.get()
    client.force_login(finance)

    assert 'data-testid="credit-captured"' not in client.get(detail(event)).content.decode()
    response = client.post(f"{detail(event)}credit-captured/", {"note": "try"}, follow=True)

    assert "cannot be credited at the captured amount" in response.content.decode()
    event.refresh_from_db()
    assert event.status == "parked"
    assert balance(customer)[0] == Decimal("0")
    assert not JournalTransaction.objects.exists()


def test_crediting_needs_a_note(client, finance, customer, topup):
    post_event(client, event_for("event_checkout_session_completed", topup, amount_total=10000))
    event = StripeEvent.objects.get()
    client.force_login(finance)

    client.post(f"{detail(event)}credit-captured/", {"note": ""})

    event.refresh_from_db()
    assert event.status == "parked"
    assert balance(customer)[0] == Decimal("0")
