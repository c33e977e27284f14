"""A top-up's charge refunded partly by a credit refund to the card and partly from Stripe's dashboard.

The audit's case: a 500.00 top-up charged 514.50 (the customer pays the 14.50 card fee), 200.00 of wallet
credit refunded to the card through a correction, then the rest of the charge refunded in Stripe. The
correction took wallet credit only, so the rest is the other 300.00 of credit and the whole 14.50 fee:
the wallet ends at 0.00 (not −5.64) and the fee is our expense (not 8.86). In every order, the whole
charge refunded takes back exactly the 500.00 credited and the 14.50 fee.
"""

import pytest
from django.core.exceptions import ValidationError

from billing.payments.approvals import correction_approve
from billing.payments.cards import card_topup_settle
from billing.payments.models import CardTopUp, StripeEvent
from billing.payments.refunds import credit_refund_propose
from billing.wallets.verify import books_problems
from tests.billing.payments.correction_helpers import D
from tests.billing.payments.helpers import balance, card_topup, clearing, fee_expense
from tests.billing.payments.stripe_fakes import event_for, post_event

pytestmark = pytest.mark.django_db

PI = "pi_3QbTpyFxK8mWz4Lp1aB2cD3e"


@pytest.fixture
def charged(owner, customer, stripe_http):
    topup = card_topup(owner, customer, "500")
    card_topup_settle(topup=topup, payment_intent_id=PI, amount_minor=51450, currency="CNY")
    assert (topup.charged, balance(customer)[0], fee_expense()) == (D("514.50"), D("500.00"), D("0"))
    return topup


def _refund_to_card(topup, amount: str, finance, finance2, key: str = "to-card"):
    proposal = credit_refund_propose(
        proposer=finance,
        customer=topup.customer,
        source="wallet",
        method="card",
        amount=D(amount),
        note="Customer asked for part of its credit back",
        idempotency_key=key,
        card_topup=topup,
    )
    return correction_approve(correction=proposal, approver=finance2)


def _stripe_total(client, topup, minor: int, event_id: str):
    post_event(client, event_for("event_charge_refunded", topup, event_id=event_id, amount_refunded=minor))
    assert StripeEvent.objects.get(stripe_id=event_id).status == "processed"


def _all_back(topup, customer):
    topup.refresh_from_db()
    assert (topup.refunded, topup.refunded_fee, topup.status) == (
        D("514.50"),
        D("14.50"),
        CardTopUp.Status.REFUNDED,
    )
    assert balance(customer)[0] == D("0")
    assert fee_expense() == D("14.50")
    assert clearing() == D("-14.50")  # Stripe paid back 514.50 of the 500.00 it held for us
    assert books_problems() == []


def test_correction_first_then_the_rest_in_stripe(client, customer, charged, finance, finance2):
    _refund_to_card(charged, "200.00", finance, finance2)
    _stripe_total(client, charged, 20000, "evt_correction_confirmed")  # the correction's own: nothing more
    assert (balance(customer)[0], fee_expense()) == (D("300.00"), D("0"))

    _stripe_total(client, charged, 51450, "evt_rest")

    _all_back(charged, customer)


def test_the_rest_reported_before_the_correction_s_own_confirmation(
    client, customer, charged, finance, finance2
):
    _refund_to_card(charged, "200.00", finance, finance2)
    _stripe_total(client, charged, 51450, "evt_rest")
    _stripe_total(client, charged, 20000, "evt_correction_confirmed_late")
    _all_back(charged, customer)


def test_stripe_first_then_a_correction_then_the_rest(client, customer, charged, finance, finance2):
    _stripe_total(client, charged, 10000, "evt_dashboard")  # 100.00: 97.18 of credit, 2.82 of fee
    assert (balance(customer)[0], fee_expense()) == (D("402.82"), D("2.82"))

    _refund_to_card(charged, "200.00", finance, finance2)
    _stripe_total(client, charged, 30000, "evt_correction_confirmed")
    assert (balance(customer)[0], fee_expense()) == (D("202.82"), D("2.82"))

    _stripe_total(client, charged, 51450, "evt_rest")
    _all_back(charged, customer)


def test_both_partial(client, customer, charged, finance, finance2):
    _refund_to_card(charged, "200.00", finance, finance2)
    # 100.00 more from the dashboard comes out of the remaining 300.00 of credit and 14.50 of fee.
    _stripe_total(client, charged, 30000, "evt_dashboard")
    assert (balance(customer)[0], fee_expense()) == (D("204.61"), D("4.61"))

    _refund_to_card(charged, "50.00", finance, finance2, key="to-card-2")
    assert balance(customer)[0] == D("154.61")
    _stripe_total(client, charged, 35000, "evt_second_correction_confirmed")
    assert (balance(customer)[0], fee_expense()) == (D("154.61"), D("4.61"))

    _stripe_total(client, charged, 51450, "evt_rest")
    _all_back(charged, customer)


def test_a_correction_refunds_wallet_credit_only_never_the_fee(client, customer, charged, finance, finance2):
    with pytest.raises(ValidationError, match=r"At most 500\.00 CNY"):
        _refund_to_card(charged, "500.01", finance, finance2)
    _stripe_total(client, charged, 10000, "evt_dashboard")
    with pytest.raises(ValidationError, match=r"At most 402\.82 CNY"):
        _refund_to_card(charged, "402.83", finance, finance2, key="too-much")
    _refund_to_card(charged, "402.82", finance, finance2, key="the-rest-of-the-credit")
    _stripe_total(client, charged, 51450, "evt_rest_of_fee")
    _all_back(charged, customer)
