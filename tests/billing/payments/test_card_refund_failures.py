"""A credit refund to a card when something fails after Stripe is asked: each refund is booked exactly once.

Stripe at its HTTP boundary (recorded answers). Two failures: the booking fails after Stripe made the
refund (its id is kept, Stripe's confirmation books nothing, approving again books it without a second
Stripe call), and Stripe's answer is lost on the way back (the confirmation waits; approving again asks
with the same key, gets the same refund and books it once).
"""

import pytest
from django.core.exceptions import ValidationError

from billing.ledger.exceptions import LedgerError
from billing.payments import postings
from billing.payments.approvals import correction_approve, correction_reject
from billing.payments.cards import card_topup_settle
from billing.payments.models import CardTopUp, Correction, StripeEvent
from billing.payments.refunds import credit_refund_propose
from billing.wallets.verify import books_problems
from tests.billing.payments.correction_helpers import D
from tests.billing.payments.helpers import balance, card_topup, clearing, fee_expense
from tests.billing.payments.stripe_fakes import event_for, post_event

pytestmark = pytest.mark.django_db

PI = "pi_3QbTpyFxK8mWz4Lp1aB2cD3e"


@pytest.fixture
def proposal(owner, customer, stripe_http, finance):
    topup = card_topup(owner, customer, "500")
    card_topup_settle(topup=topup, payment_intent_id=PI, amount_minor=51450, currency="CNY")
    return credit_refund_propose(
        proposer=finance,
        customer=customer,
        source="wallet",
        method="card",
        amount=D("200.00"),
        note="Customer asked for part of its credit back",
        idempotency_key="to-card",
        card_topup=topup,
    )


def _refund_requests(stripe_http) -> list[dict]:
    return [r for r in stripe_http.requests if r["url"].endswith("/v1/refunds")]


def _confirmation(client, proposal, event_id: str):
    post_event(
        client,
        event_for("event_charge_refunded", proposal.card_topup, event_id=event_id, amount_refunded=20000),
    )
    return StripeEvent.objects.get(stripe_id=event_id)


def _booked_once(customer, proposal, stripe_http):
    proposal.refresh_from_db()
    assert proposal.status == Correction.Status.DONE
    assert balance(customer)[0] == D("300.00")
    assert (clearing(), fee_expense()) == (D("300.00"), D("0"))
    topup = CardTopUp.objects.get(pk=proposal.card_topup_id)
    assert (topup.refunded, topup.refunded_fee) == (D("200.00"), D("0"))
    assert {r["headers"]["Idempotency-Key"] for r in _refund_requests(stripe_http)} == {
        f"correction:{proposal.pk}"
    }
    assert books_problems() == []


def test_booking_fails_after_stripe_refunded(
    client, customer, proposal, finance, finance2, stripe_http, monkeypatch
):
    def ledger_down(**_kwargs):
        raise LedgerError("the ledger refused the posting")

    with monkeypatch.context() as patched:
        patched.setattr(postings, "wallet_refund_post", ledger_down)
        with pytest.raises(
            ValidationError, match=r"Stripe made the refund \(re_\w+\), but booking it failed"
        ):
            correction_approve(correction=proposal, approver=finance2)

    proposal.refresh_from_db()
    assert proposal.status == Correction.Status.PENDING
    assert proposal.stripe_refund_id == "re_3QbTpyFxK8mWz4Lp1xR7sT9u"
    assert balance(customer)[0] == D("500.00")
    # Stripe confirms the refund: it is the correction's, so the event books nothing of its own.
    assert _confirmation(client, proposal, "evt_confirm").status == "processed"
    assert (balance(customer)[0], fee_expense()) == (D("500.00"), D("0"))
    # The money has left: the refund can no longer be rejected, only booked; its page says so.
    with pytest.raises(ValidationError, match="can no longer be rejected"):
        correction_reject(correction=proposal, approver=finance2, reason="changed my mind")
    client.force_login(finance2)
    page = client.get(f"/dashboard/payments/corrections/{proposal.pk}/").content.decode()
    assert 'data-testid="refund-unbooked"' in page
    assert 'data-testid="approve"' in page and 'value="reject"' not in page

    correction_approve(correction=proposal, approver=finance2)

    assert len(_refund_requests(stripe_http)) == 1  # Stripe was not asked again
    _booked_once(customer, proposal, stripe_http)


def test_stripe_s_answer_is_lost(client, customer, proposal, finance, finance2, stripe_http):
    stripe_http.lose_next_answer = True
    with pytest.raises(ValidationError, match="Stripe did not answer whether it made the refund"):
        correction_approve(correction=proposal, approver=finance2)

    proposal.refresh_from_db()
    assert (proposal.status, proposal.stripe_refund_id) == (Correction.Status.PENDING, "")
    assert proposal.stripe_refund_requested_at is not None
    # Stripe made it and says so; we cannot tell it from a dashboard refund yet, so the event waits.
    event = _confirmation(client, proposal, "evt_confirm")
    assert (event.status, event.parked_reason) == ("parked", "waiting")
    assert balance(customer)[0] == D("500.00")

    correction_approve(correction=proposal, approver=finance2)

    assert len(_refund_requests(stripe_http)) == 2  # asked again with the same key: the same refund
    proposal.refresh_from_db()
    assert proposal.stripe_refund_id == "re_3QbTpyFxK8mWz4Lp1xR7sT9u"
    event.refresh_from_db()
    assert event.status == "processed"
    _booked_once(customer, proposal, stripe_http)


def test_stripe_refusing_clears_the_ask(customer, proposal, finance2, stripe_http):
    stripe_http.fail_with = (400, "refund_error_amount")
    with pytest.raises(ValidationError, match="Stripe refused the refund"):
        correction_approve(correction=proposal, approver=finance2)

    proposal.refresh_from_db()
    assert (proposal.stripe_refund_requested_at, proposal.stripe_refund_id) == (None, "")
    correction_reject(correction=proposal, approver=finance2, reason="Customer withdrew the request")
    proposal.refresh_from_db()
    assert proposal.status == Correction.Status.REJECTED
    assert balance(customer)[0] == D("500.00")
