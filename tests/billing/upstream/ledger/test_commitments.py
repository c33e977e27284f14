"""Committed-spend shortfalls and volume-tier rebates: each posted once, re-runs change nothing."""

from datetime import date
from decimal import Decimal

import pytest

from billing.ledger.models import AccountKind, JournalTransaction
from billing.ledger.verify import ledger_problems
from billing.upstream.bills import vendor_bill_record
from billing.upstream.commitments import commit_periods, commitment_shortfalls_accrue
from billing.upstream.ledger_accounts import channel_account, vendor_expense
from billing.upstream.volume_tiers import volume_rebates_post
from catalog.models import BookKind, CommitPeriod, CostBasis, PriceBook, PriceEntry, PriceTier, Settlement
from catalog.services.contracts import channel_create, contract_create
from tests.billing.upstream.ledger.conftest import contract_make
from tests.billing.usage.factories import T0

pytestmark = pytest.mark.django_db
K = AccountKind


@pytest.fixture
def committed_channel(model):
    contract = contract_make(
        model, name="Committed", settlement=Settlement.POSTPAID, committed_amount=Decimal("10")
    )
    return channel_create(contract=contract, name="deepseek-commit")


def test_shortfall_is_accrued_once_per_ended_period_and_settled_by_its_invoice(committed_channel, usage):
    usage(date(2026, 1, 15), 1000, account="deepseek-commit")  # 3.000 of 10 committed

    results = commitment_shortfalls_accrue(today=date(2026, 2, 2))
    commitment_shortfalls_accrue(today=date(2026, 2, 3))

    january = next(r for r in results if r.end == date(2026, 1, 31))
    assert (january.consumed, january.shortfall) == (Decimal("3"), Decimal("7"))
    posted = JournalTransaction.objects.filter(kind="upstream.commitment.shortfall")
    assert posted.count() == 1
    assert posted.get().effective_date == date(2026, 1, 31)
    accrued = channel_account(committed_channel, K.UPSTREAM_ACCRUED)
    shortfall_leg = posted.get().entries.get(account=accrued)
    assert shortfall_leg.amount == Decimal("-7")
    shortfall = vendor_expense(committed_channel, K.COMMIT_SHORTFALL)
    assert shortfall.balance == Decimal("7")

    bill, _ = vendor_bill_record(
        channel=committed_channel,
        number="COMMIT-2026-01",
        kind="commitment",
        month=date(2026, 1, 1),
        amount=Decimal("7.50"),
        currency="CNY",
        issued_on=date(2026, 2, 5),
    )
    legs = {e.account_id: e.amount for e in bill.transaction.entries.all()}
    assert legs[accrued.pk] == Decimal("7")
    assert legs[shortfall.pk] == Decimal("0.5")
    assert legs[channel_account(committed_channel, K.PAYABLE).pk] == Decimal("-7.5")
    assert ledger_problems() == []


def test_no_shortfall_when_the_commitment_is_met(committed_channel, usage):
    usage(date(2026, 1, 15), 4000, account="deepseek-commit")  # 12.000 ≥ 10
    commitment_shortfalls_accrue(today=date(2026, 2, 2))
    assert not JournalTransaction.objects.filter(kind="upstream.commitment.shortfall").exists()


def test_commit_periods_are_anchored_on_the_contract_start(model):
    contract = contract_make(
        model, name="Quarterly", committed_amount=Decimal("1"), commit_period=CommitPeriod.QUARTER
    )
    contract.valid_from = date(2026, 1, 15)
    assert commit_periods(contract, until=date(2026, 10, 20)) == [
        (date(2026, 1, 15), date(2026, 4, 14)),
        (date(2026, 4, 15), date(2026, 7, 14)),
        (date(2026, 7, 15), date(2026, 10, 14)),
    ]
    contract.commit_period = CommitPeriod.TERM
    assert commit_periods(contract, until=date(2027, 1, 1)) == []  # open-ended: no end to measure
    contract.valid_to = date(2026, 6, 30)
    assert commit_periods(contract, until=date(2027, 1, 1)) == [(date(2026, 1, 15), date(2026, 6, 30))]


@pytest.fixture
def tiered_channel(model):
    return _tiered(model, Settlement.PREPAID, "deepseek-tier")


def _tiered(model, settlement, name):
    list_book = PriceBook.objects.create(name="list-CNY", kind=BookKind.LIST, currency="CNY")
    entry = PriceEntry.objects.create(book=list_book, model=model, effective_from=T0)
    PriceTier.objects.create(entry=entry, lo=0, input=Decimal("1"), output=Decimal("4"))
    contract = contract_create(
        vendor=model.vendor,
        name=f"Tiered {name}",
        settlement=settlement,
        currency="CNY",
        valid_from=date(2026, 1, 1),
        cost_basis=CostBasis.LIST_DISCOUNT,
        list_book=list_book,
        discount=Decimal("0.1"),
        tiers=[(Decimal("2"), Decimal("0.2")), (Decimal("1000"), Decimal("0.5"))],
    )
    return channel_create(contract=contract, name=name)


def test_tier_rebate_is_posted_once_when_the_months_list_volume_reaches_a_tier(tiered_channel, usage):
    usage(date(2026, 1, 10), 1000, account="deepseek-tier")  # list 3.000, cost 2.700 at 10% off

    assert volume_rebates_post(month=date(2026, 1, 1), today=date(2026, 1, 31)) == []  # month not over
    rebates = volume_rebates_post(month=date(2026, 1, 1), today=date(2026, 2, 1))
    volume_rebates_post(month=date(2026, 1, 1), today=date(2026, 2, 2))

    assert [(r.list_volume, r.tier.discount, r.amount) for r in rebates] == [
        (Decimal("3"), Decimal("0.2"), Decimal("0.3"))  # 2.7 × (0.2 − 0.1) / 0.9
    ]
    posted = JournalTransaction.objects.get(kind="upstream.tier.rebate")
    assert posted.effective_date == date(2026, 1, 31)
    legs = {e.account.kind: e.amount for e in posted.entries.select_related("account")}
    assert legs == {K.UPSTREAM_PREPAID: Decimal("0.3"), K.COST_OF_TOKENS: Decimal("-0.3")}
    assert ledger_problems() == []


def test_no_rebate_below_the_first_tier(tiered_channel, usage):
    usage(date(2026, 1, 10), 500, account="deepseek-tier")  # list 1.500 < 2
    assert volume_rebates_post(month=date(2026, 1, 1), today=date(2026, 2, 1)) == []


def test_a_postpaid_months_invoice_moves_the_accrual_net_of_its_rebate(model, usage):
    channel = _tiered(model, Settlement.POSTPAID, "deepseek-tier-post")
    usage(date(2026, 1, 10), 1000, account="deepseek-tier-post")  # 2.700 accrued at 10% off list
    volume_rebates_post(month=date(2026, 1, 1), today=date(2026, 2, 1))  # 0.300 back: Dr accrued

    bill, _ = vendor_bill_record(
        channel=channel,
        number="T-2026-01",
        kind="usage",
        month=date(2026, 1, 1),
        amount=Decimal("2.40"),  # billed at the tier's 20% off
        currency="CNY",
        issued_on=date(2026, 2, 3),
    )

    legs = {e.account.kind: e.amount for e in bill.transaction.entries.select_related("account")}
    assert legs == {K.UPSTREAM_ACCRUED: Decimal("2.4"), K.PAYABLE: Decimal("-2.4")}  # no variance
    assert channel_account(channel, K.UPSTREAM_ACCRUED).balance == 0
    assert ledger_problems() == []
