"""Refunding a customer's credit balance: unapplied payment credit or paid wallet credit, by bank or card.

Four eyes before money leaves; never more than is refundable; a card refund is asked of Stripe (at its
recorded HTTP boundary) with the correction's key, its id kept, and Stripe's confirmation books nothing more.
"""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.payments.approvals import correction_approve
from billing.payments.cards import card_topup_settle
from billing.payments.models import CardTopUp, Correction, StripeEvent
from billing.payments.refunds import credit_refund_propose
from billing.stripe import api as stripe_api
from billing.wallets.credits import wallet_credit
from billing.wallets.verify import books_problems
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.payments.correction_helpers import D, bank_payment, books, books_agree, credit_customer
from tests.billing.payments.helpers import balance, card_topup, clearing
from tests.billing.payments.stripe_fakes import event_for, post_event

pytestmark = pytest.mark.django_db

PI = "pi_3QbTpyFxK8mWz4Lp1aB2cD3e"


@pytest.fixture
def overpaid(finance):
    """A 100.00 invoice paid by a 160.00 transfer: 60.00 of unapplied credit."""
    customer = credit_customer()
    issued_invoice(customer, "100.00", issue_date=date(2026, 10, 1))
    payment = bank_payment(customer, "160.00", finance, key="overpaid")
    return customer, payment


def _refund(user, customer, amount, *, key="refund-1", **fields):
    fields.setdefault("source", "receivable")
    fields.setdefault("method", "bank")
    return credit_refund_propose(
        proposer=user,
        customer=customer,
        amount=D(amount),
        note="Customer is leaving; pay the balance back",
        idempotency_key=key,
        **fields,
    )


def test_unapplied_payment_credit_refunded_by_bank(overpaid, finance, finance2):
    customer, payment = overpaid
    before = books(customer)
    assert (before["cash"], before["receivable"], before["credit"]) == (D("160.00"), D("-60.00"), D("60.00"))

    proposal = _refund(finance, customer, "60.00", payment=payment)
    assert books(customer) == before
    done = correction_approve(correction=proposal, approver=finance2)

    after = books(customer)
    assert (after["cash"], after["receivable"], after["credit"]) == (D("100.00"), D("0"), D("0"))
    assert books_agree(customer)
    assert done.journal_transaction.kind == "receivable.refund"
    payment.refresh_from_db()
    assert payment.refunded == D("60.00")


def test_more_than_the_credit_is_refused_on_proposal_and_on_approval(overpaid, finance, finance2):
    customer, payment = overpaid
    with pytest.raises(ValidationError) as exc:
        _refund(finance, customer, "60.01", payment=payment)
    assert exc.value.message_dict["amount"] == ["At most 60.00 CNY can be refunded."]

    first = _refund(finance, customer, "40.00", payment=payment, key="a")
    second = _refund(finance, customer, "40.00", payment=payment, key="b")
    correction_approve(correction=first, approver=finance2)
    with pytest.raises(ValidationError, match=r"Only 20\.00 CNY is refundable now"):
        correction_approve(correction=second, approver=finance2)
    assert books(customer)["credit"] == D("20.00")


def test_four_eyes_and_roles(overpaid, finance, sales, auditor):
    customer, payment = overpaid
    with pytest.raises(PermissionDenied):
        _refund(sales, customer, "10.00", payment=payment)
    proposal = _refund(finance, customer, "10.00", payment=payment)
    for user in (finance, sales, auditor):
        with pytest.raises(PermissionDenied):
            correction_approve(correction=proposal, approver=user)
    assert books(customer)["credit"] == D("60.00")


def test_a_payment_of_another_customer_is_refused(overpaid, finance):
    _customer, payment = overpaid
    stranger = credit_customer("Stranger Ltd")
    with pytest.raises(ValidationError) as exc:
        _refund(finance, stranger, "10.00", payment=payment)
    assert "payment" in exc.value.message_dict


def test_paid_wallet_credit_refunded_by_bank_leaves_granted_credit(customer, finance, finance2):
    wallet_credit(
        customer=customer,
        currency="CNY",
        amount=D("300"),
        bucket="paid",
        idempotency_key="paid-300",
        source_account=account_get(kind=AccountKind.CASH_BANK, currency="CNY"),
        kind="wallet.topup.bank",
        memo="transfer",
    )
    wallet_credit(
        customer=customer,
        currency="CNY",
        amount=D("50"),
        bucket="granted",
        idempotency_key="grant-50",
        source_account=account_get(kind=AccountKind.PROMOTIONAL_CREDIT, currency="CNY"),
        kind="wallet.grant",
        memo="welcome",
    )
    with pytest.raises(ValidationError, match=r"At most 300\.00 CNY"):
        _refund(finance, customer, "350.00", source="wallet")

    correction_approve(correction=_refund(finance, customer, "120.00", source="wallet"), approver=finance2)

    assert balance(customer) == (D("180.00"), D("50.00"))
    assert account_get(kind=AccountKind.CASH_BANK, currency="CNY").balance == D("180.00")
    assert books_problems() == []


def test_wallet_credit_refunded_to_the_card_it_came_from(
    client, owner, customer, stripe_http, finance, finance2
):
    topup = card_topup(owner, customer, "500")
    card_topup_settle(
        topup=topup,
        payment_intent_id=PI,
        amount_minor=stripe_api.to_minor_units(topup.charged, "CNY"),
        currency="CNY",
    )
    assert balance(customer)[0] == D("500.00")
    clearing_before = clearing()

    proposal = _refund(finance, customer, "200.00", source="wallet", method="card", card_topup=topup)
    assert stripe_http.requests[-1]["url"].endswith("/v1/checkout/sessions")  # nothing asked of Stripe yet
    done = correction_approve(correction=proposal, approver=finance2)

    refund_call = stripe_http.requests[-1]
    assert refund_call["url"].endswith("/v1/refunds")
    assert refund_call["params"]["amount"] == "20000"
    assert refund_call["params"]["payment_intent"] == PI
    assert refund_call["headers"]["Idempotency-Key"] == f"correction:{done.pk}"
    assert done.stripe_refund_id == "re_3QbTpyFxK8mWz4Lp1xR7sT9u"
    assert balance(customer)[0] == D("300.00")
    assert clearing() == clearing_before - D("200.00")
    topup.refresh_from_db()
    assert (topup.refunded, topup.status) == (D("200.00"), CardTopUp.Status.PARTIALLY_REFUNDED)

    # Stripe confirms the refund (the charge's running total): already booked, nothing more moves.
    confirmation = event_for(
        "event_charge_refunded", topup, event_id="evt_refund_confirm", amount_refunded=20000
    )
    post_event(client, confirmation)
    post_event(client, confirmation)
    assert StripeEvent.objects.get(stripe_id="evt_refund_confirm").status == "processed"
    assert balance(customer)[0] == D("300.00")
    assert clearing() == clearing_before - D("200.00")
    assert books_problems() == []


def test_a_card_refund_stripe_refuses_books_nothing_and_stays_pending(
    owner, customer, stripe_http, finance, finance2
):
    topup = card_topup(owner, customer, "500")
    card_topup_settle(topup=topup, payment_intent_id=PI, amount_minor=51450, currency="CNY")
    proposal = _refund(finance, customer, "100.00", source="wallet", method="card", card_topup=topup)
    stripe_http.fail_with = (400, "refund_error_amount")

    with pytest.raises(ValidationError, match="Stripe refused the refund"):
        correction_approve(correction=proposal, approver=finance2)

    proposal.refresh_from_db()
    assert (proposal.status, proposal.stripe_refund_id) == (Correction.Status.PENDING, "")
    assert balance(customer)[0] == D("500.00")
    correction_approve(correction=proposal, approver=finance2)  # approved again once Stripe accepts
    assert balance(customer)[0] == D("400.00")


def test_a_card_refund_needs_a_card_payment(overpaid, finance):
    customer, payment = overpaid
    with pytest.raises(ValidationError) as exc:
        _refund(finance, customer, "10.00", payment=payment, method="card")
    assert "method" in exc.value.message_dict
