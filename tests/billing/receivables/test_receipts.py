"""Receipts: one numbered receipt per card top-up paid, bank transfer credited and credit payment."""

from datetime import date
from decimal import Decimal

import pytest

from billing.payments.bank_transfers import bank_transfer_approve, bank_transfer_record
from billing.payments.cards import card_topup_settle, card_topup_start
from billing.receivables.models import Receipt
from billing.receivables.receipts import receipt_for_topup
from billing.receivables.services import payment_record
from tests.billing.factories import staff
from tests.factories import BillingTermsFactory, CustomerFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def prepaid():
    return BillingTermsFactory(customer=CustomerFactory(name="Prepaid Pte", language="zh-hans")).customer


def test_a_paid_card_topup_gets_one_receipt_for_what_the_card_paid(prepaid, stripe_http):
    user = MembershipFactory(user=UserFactory(), customer=prepaid).user
    topup = card_topup_start(
        user=user,
        customer=prepaid,
        amount=Decimal("500"),
        currency="CNY",
        success_url="http://x/",
        cancel_url="http://x/",
    )
    for _ in range(2):  # the session event and the payment-intent event
        card_topup_settle(topup=topup, payment_intent_id="pi_1", amount_minor=51450, currency="cny")

    receipt = Receipt.objects.get()
    assert (receipt.card_topup_id, receipt.amount, receipt.currency) == (topup.pk, Decimal("514.50"), "CNY")
    assert receipt.language == "zh-hans"
    assert receipt.number.endswith("-000001")
    assert receipt_for_topup(card_topup=topup).pk == receipt.pk


def test_an_approved_bank_transfer_gets_a_receipt_and_a_pending_one_none(prepaid, finance, settings):
    settings.BANK_TRANSFER_REQUIRES_APPROVAL = True
    from accounts.models import StaffRole

    transfer = bank_transfer_record(
        recorder=finance,
        customer=prepaid,
        currency="CNY",
        amount=Decimal("2000"),
        reference="ICBC-77",
        value_date=date(2026, 3, 1),
    )
    assert not Receipt.objects.exists()

    bank_transfer_approve(transfer=transfer, approver=staff(StaffRole.FINANCE))

    receipt = Receipt.objects.get()
    assert (receipt.bank_transfer_id, receipt.amount) == (transfer.pk, Decimal("2000"))


def test_receipts_are_numbered_without_gaps_across_sources(acme, prepaid, finance, stripe_http):
    payment_record(
        customer=acme,
        amount=Decimal("10"),
        currency="CNY",
        received_on=date(2026, 3, 1),
        reference="a",
        actor=finance,
        idempotency_key="a",
    )
    payment_record(
        customer=acme,
        amount=Decimal("20"),
        currency="CNY",
        received_on=date(2026, 3, 2),
        reference="b",
        actor=finance,
        idempotency_key="b",
    )
    assert sorted(Receipt.objects.values_list("number", flat=True)) == ["RC-2026-000001", "RC-2026-000002"]
