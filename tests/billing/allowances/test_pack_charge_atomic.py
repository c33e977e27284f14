"""A credit pack's charge and its fill are one transaction: a failure in the fill takes the charge back, so
the hourly beat charges the pack again and exactly once."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from billing.allowances.charges import charges_due
from billing.allowances.models import AllowanceCharge, PackPurchase
from billing.allowances.purchases import pack_sell
from billing.ledger.models import JournalTransaction
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from tests.billing.allowances.helpers import credit_pack, customer_on, fund

pytestmark = pytest.mark.django_db


def _buckets(customer) -> tuple[Decimal, Decimal]:
    balance = wallet_balance(wallet=Wallet.objects.get(customer=customer, currency="CNY"))
    return balance.paid, balance.pack


def _fill_crashes():
    return mock.patch("billing.allowances.charges.wallet_credit", side_effect=RuntimeError("worker lost"))


def test_a_fill_that_fails_in_the_beat_takes_the_charge_back_and_the_rerun_charges_once():
    # given a prepaid customer with 1,500 and a credit pack recorded without its charge (the admin site)
    customer = customer_on("prepaid")
    fund(customer, "1500")
    now = timezone.now()
    pack = credit_pack()
    purchase = PackPurchase.objects.create(
        customer=customer,
        pack=pack,
        purchased_at=now,
        expires_at=now + timedelta(days=pack.validity_days),
        price=Decimal("1000"),
        currency="CNY",
        idempotency_key="admin-credit-pack",
    )

    # when the beat charges it and the fill of its credit fails
    with _fill_crashes(), pytest.raises(RuntimeError, match="worker lost"):
        charges_due()

    # then nothing stays: no charge, no wallet debit, paid credit untouched
    assert not AllowanceCharge.objects.filter(pack_purchase=purchase).exists()
    assert not JournalTransaction.objects.filter(kind="wallet.pack").exists()
    assert _buckets(customer) == (Decimal("1500"), Decimal("0"))

    # and the next run charges the 1,000 once and lands the 1,050 of credit
    assert charges_due() == 1
    assert charges_due() == 0
    assert _buckets(customer) == (Decimal("500"), Decimal("1050"))
    assert AllowanceCharge.objects.get(pack_purchase=purchase).amount == Decimal("1000")


def test_a_sale_whose_fill_fails_writes_nothing():
    customer = customer_on("prepaid")
    fund(customer, "1000")
    with _fill_crashes(), pytest.raises(RuntimeError, match="worker lost"):
        pack_sell(customer=customer, pack=credit_pack(), actor=None, idempotency_key="sale-1")
    assert not PackPurchase.objects.exists()
    assert _buckets(customer) == (Decimal("1000"), Decimal("0"))
