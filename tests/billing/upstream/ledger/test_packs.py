"""Purchases of upstream credit and their expiry."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing.ledger.models import AccountKind, JournalTransaction
from billing.ledger.verify import ledger_problems
from billing.upstream.burn import burn_day
from billing.upstream.expiry import packs_expire
from billing.upstream.ledger_accounts import channel_account, vendor_expense
from billing.upstream.models import UpstreamPack, VendorBill
from billing.upstream.packs import upstream_pack_buy
from tests.billing.upstream.ledger.conftest import at, buy

pytestmark = pytest.mark.django_db
K = AccountKind


def test_purchase_on_invoice_posts_prepaid_against_payables_with_its_invoice(channel):
    pack, outcome = upstream_pack_buy(
        channel=channel,
        kind="amount",
        reference="ORDER-7",
        price=Decimal("800"),
        credit=Decimal("1000"),
        purchased_at=at(date(2026, 1, 5)),
        validity_days=90,
        invoice_number="VINV-7",
    )
    assert outcome == "created"
    assert pack.expires_at == at(date(2026, 4, 5))
    assert channel_account(channel, K.UPSTREAM_PREPAID).balance == Decimal("800")
    assert channel_account(channel, K.PAYABLE).balance == Decimal("-800")
    bill = VendorBill.objects.get(channel=channel, number="VINV-7")
    assert (bill.kind, bill.amount, bill.transaction_id) == (
        "prepayment",
        Decimal("800"),
        pack.transaction_id,
    )
    assert bill.due_on == date(2026, 2, 4)

    again, outcome = upstream_pack_buy(
        channel=channel,
        kind="amount",
        reference="ORDER-7",
        price=Decimal("800"),
        credit=Decimal("1000"),
        purchased_at=at(date(2026, 1, 5)),
        validity_days=90,
        invoice_number="VINV-7",
    )
    assert (again.pk, outcome) == (pack.pk, "unchanged")
    with pytest.raises(ValidationError) as caught:
        upstream_pack_buy(
            channel=channel, kind="amount", reference="ORDER-7", price=Decimal("800"), credit=Decimal("900")
        )
    assert list(caught.value.message_dict) == ["credit"]
    assert JournalTransaction.objects.filter(kind="upstream.pack.buy").count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reference": ""}, "reference"),
        ({"kind": "voucher"}, "kind"),
        ({"price": Decimal("-1")}, "price"),
        ({"price": Decimal("1.001")}, "price"),
        ({"credit": None}, "credit"),
        ({"kind": "tokens", "credit": None}, "tokens"),
        ({"tokens": 5}, "tokens"),
        ({"expires_at": at(date(2025, 12, 1))}, "expires_at"),
        ({"validity_days": 0}, "validity_days"),
        ({"payment": "cheque"}, "payment"),
    ],
)
def test_bad_purchase_names_the_field(channel, overrides, field):
    fields = {
        "channel": channel,
        "kind": "amount",
        "reference": "R-1",
        "price": Decimal("10"),
        "credit": Decimal("10"),
        "purchased_at": at(date(2026, 1, 1)),
    }
    with pytest.raises(ValidationError) as caught:
        upstream_pack_buy(**(fields | overrides))
    assert list(caught.value.message_dict) == [field]
    assert not UpstreamPack.objects.exists()


def test_a_postpaid_channel_buys_no_packs(postpaid_channel):
    with pytest.raises(ValidationError) as caught:
        upstream_pack_buy(channel=postpaid_channel, kind="prepayment", reference="X", price=Decimal("10"))
    assert list(caught.value.message_dict) == ["channel"]


def test_expired_remainder_is_expensed_once_at_price(channel, usage):
    # paid 8 for 10 of credit, expiring on 3 Feb; 3 of credit used on 1 Feb
    pack = buy(channel, "PROMO", "8", credit="10", expires=date(2026, 2, 3))
    usage(date(2026, 2, 1), 1000)
    burn_day(channel=channel, day=date(2026, 2, 1))

    assert packs_expire(today=date(2026, 2, 2)) == []  # it can still be drawn today
    expired = packs_expire(today=date(2026, 2, 3))  # it expired as the 3rd began
    assert [p.pk for p in expired] == [pack.pk]
    assert packs_expire(today=date(2026, 2, 4)) == []

    pack.refresh_from_db()
    assert pack.expired_credit == Decimal("5.6")  # 7 unused × 8/10
    txn = pack.expiry_transaction
    assert txn.effective_date == date(2026, 2, 3)
    assert txn.entries.get(account=vendor_expense(channel, K.UPSTREAM_EXPIRED)).amount == Decimal("5.6")
    assert JournalTransaction.objects.filter(kind="upstream.pack.expiry").count() == 1
    # what the pack moved on the asset: +8 bought, +0.6 value correction, −5.6 expired = 3 drawn at cost
    prepaid = channel_account(channel, K.UPSTREAM_PREPAID)
    mine = prepaid.entries.filter(transaction__kind__startswith="upstream.pack")
    assert sum(e.amount for e in mine) == Decimal("3")
    assert ledger_problems() == []


def test_an_expired_pack_keeps_its_draws_when_an_earlier_day_is_burnt_again(channel, usage):
    pack = buy(channel, "PROMO", "10", credit="10", expires=date(2026, 2, 3))
    top_up = buy(channel, "TOPUP", "100", kind="prepayment")
    usage(date(2026, 2, 1), 1000)
    burn_day(channel=channel, day=date(2026, 2, 1))
    packs_expire(today=date(2026, 2, 4))

    usage(date(2026, 2, 1), 1000)  # late usage after the expiry was posted
    burn_day(channel=channel, day=date(2026, 2, 1))

    pack.refresh_from_db()
    assert pack.used_credit == Decimal("3")
    assert top_up.draws.get().credit == Decimal("3")


def test_token_pack_expiry_values_unused_tokens_at_price(channel, model):
    pack = buy(channel, "TOK", "10", kind="tokens", tokens=1_000_000, model=model, expires=date(2026, 1, 20))
    packs_expire(today=date(2026, 1, 21))
    pack.refresh_from_db()
    assert pack.expired_credit == Decimal("10")


def test_over_a_packs_life_the_asset_falls_by_its_price_and_cost_is_what_we_paid(channel, usage):
    # given: 10 of credit bought for 8; usage of 3.000 at contract cost posted per channel by ingestion
    pack = buy(channel, "PROMO", "8", credit="10", expires=date(2026, 2, 3))
    prepaid = channel_account(channel, K.UPSTREAM_PREPAID)
    cost = vendor_expense(channel)
    cost_before = cost.balance
    usage(date(2026, 2, 1), 1000)
    prepaid.refresh_from_db()
    assert prepaid.balance == Decimal("5")  # 8 paid − 3 consumed at contract cost

    # when: the day is burnt and the pack expires
    burn_day(channel=channel, day=date(2026, 2, 1))
    packs_expire(today=date(2026, 2, 3))

    # then: nothing is left on the asset, cost of tokens is 3 × 8/10 and the rest is expired credit
    prepaid.refresh_from_db()
    cost.refresh_from_db()
    assert prepaid.balance == 0
    assert cost.balance - cost_before == Decimal("2.4")
    assert vendor_expense(channel, K.UPSTREAM_EXPIRED).balance == Decimal("5.6")
    pack.refresh_from_db()
    assert (pack.used_credit, pack.expired_credit) == (Decimal("3"), Decimal("5.6"))
    assert ledger_problems() == []
