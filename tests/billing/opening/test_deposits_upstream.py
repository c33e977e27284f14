"""Deposits become paid wallet credit the customer can spend; upstream prepaid balances become prepayment
packs of their channel, on the upstream ledger. Both against opening balance equity, both idempotent."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from billing.ledger.accounts import account_get, channel_reference
from billing.ledger.models import AccountKind, JournalEntry, JournalTransaction
from billing.ledger.verify import ledger_problems
from billing.opening.plan import start_of
from billing.opening.services import opening_import
from billing.upstream.models import UpstreamPack
from billing.upstream.packs import PAYABLE, upstream_pack_buy
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from tests.billing.factories import available, spend, staff
from tests.billing.opening.conftest import opening_csv

pytestmark = pytest.mark.django_db
K = AccountKind


def run(kind: str, *rows: str, apply=True):
    return opening_import(content=opening_csv(kind, *rows), filename=f"{kind}.csv", kind=kind, apply=apply)


def legs(txn) -> dict:
    return {
        (e.account.kind, e.account.book_id): e.amount
        for e in JournalEntry.objects.filter(transaction=txn).select_related("account")
    }


def test_a_deposit_is_paid_wallet_credit_the_customer_can_spend(prepaid):
    record = run("deposits", "pre,DEP-7,2026-11-30,5000.00,CNY,Prepaid balance")
    assert record.state == "applied" and record.created == 1
    txn = JournalTransaction.objects.get(kind="wallet.topup.opening")
    assert (txn.effective_date, txn.idempotency_key) == (
        date(2026, 11, 30),
        f"opening.deposit:{prepaid.pk}:DEP-7",
    )
    assert txn.memo == "Opening deposit DEP-7: Prepaid balance"
    assert legs(txn) == {
        (K.OPENING_BALANCE_EQUITY, None): Decimal("5000"),
        (K.WALLET_PAID, None): Decimal("-5000"),
    }
    assert available(prepaid) == Decimal("5000")
    spend(prepaid, "1200.50", "use-1")
    balance = wallet_balance(wallet=Wallet.objects.get(customer=prepaid))
    assert (balance.paid, balance.available) == (Decimal("3799.50"), Decimal("3799.50"))
    assert ledger_problems() == []


def test_a_deposit_again_is_unchanged_and_other_figures_are_an_error(prepaid, acme):
    run("deposits", "pre,DEP-7,2026-11-30,5000.00,CNY,")
    again = run("deposits", "pre,DEP-7,2026-11-30,5000.00,CNY,", "acme,DEP-7,2026-11-30,10.00,CNY,")
    # Per customer: Acme's DEP-7 is another document.
    assert (again.state, again.created, again.unchanged) == ("applied", 1, 1)
    changed = run("deposits", "pre,DEP-7,2026-11-29,5000.00,CNY,", "pre,DEP-8,2026-11-29,1.00,USD,")
    assert changed.state == "refused"
    assert [(e["row"], e["field"], e["message"]) for e in changed.errors] == [
        (2, "date", "Document DEP-7 was imported already with date 2026-11-30, not 2026-11-29."),
        (3, "currency", "Pre Paid's wallet is in CNY, not USD: a deposit is held in it."),
    ]
    assert available(prepaid) == Decimal("5000")


def test_a_reseller_s_deposit_is_mirrored_in_its_own_book(reseller):
    shop, child = reseller
    run("deposits", "shop-r,D-1,2026-11-30,300.00,CNY,", "child-c,D-2,2026-11-30,40.00,CNY,")
    child_txn = JournalTransaction.objects.get(idempotency_key=f"opening.deposit:{child.pk}:D-2")
    assert legs(child_txn) == {
        (K.OPENING_BALANCE_EQUITY, shop.pk): Decimal("40"),
        (K.WALLET_PAID, shop.pk): Decimal("-40"),
    }
    mirror = JournalTransaction.objects.get(kind="chain.seller_mirror")
    assert legs(mirror) == {
        (K.DUE_TO_SELLER, shop.pk): Decimal("300"),
        (K.OPENING_BALANCE_EQUITY, shop.pk): Decimal("-300"),
    }
    assert ledger_problems() == []


def test_upstream_prepaid_credit_is_a_pack_of_its_channel_on_the_upstream_ledger(channels, client):
    channel = channels["openai-main"]
    record = run("upstream", "oa,ORD-88123,2026-11-30,1500.00,USD,2027-06-30,Credit left at the vendor")
    assert record.state == "applied" and record.created == 1
    pack = UpstreamPack.objects.get(channel=channel, reference="ORD-88123")
    assert (pack.kind, pack.price, pack.credit, pack.currency, pack.name) == (
        "prepayment",
        Decimal("1500"),
        Decimal("1500"),
        "USD",
        "Credit left at the vendor",
    )
    assert (pack.starts_at, pack.expires_at) == (start_of(date(2026, 11, 30)), start_of(date(2027, 6, 30)))
    assert pack.transaction.effective_date == date(2026, 11, 30)
    prepaid_account = account_get(
        kind=K.UPSTREAM_PREPAID,
        currency="USD",
        vendor=channel.contract.vendor,
        reference=channel_reference(channel.pk),
    )
    assert legs(pack.transaction) == {
        (K.UPSTREAM_PREPAID, None): Decimal("1500"),
        (K.OPENING_BALANCE_EQUITY, None): Decimal("-1500"),
    }
    assert prepaid_account.balance == Decimal("1500")
    client.force_login(staff(StaffRole.FINANCE))
    page = client.get(reverse("upstream-ledger-channel", args=[channel.pk])).content.decode()
    assert "ORD-88123" in page and "1,500.00" in page
    again = run("upstream", "openai-main,ORD-88123,2026-11-30,1500.00,USD,2027-06-30,")
    assert (again.state, again.unchanged, UpstreamPack.objects.count()) == ("applied", 1, 1)


def test_upstream_rows_are_checked_against_the_channel(channels):
    channel = channels["openai-main"]
    upstream_pack_buy(
        channel=channel, kind="prepayment", reference="ORD-1", price=Decimal("10"), payment=PAYABLE
    )
    record = run(
        "upstream",
        "kimi-post,A,2026-11-30,10.00,CNY,,",
        "openai-main,B,2026-11-30,10.00,CNY,,",
        "openai-main,C,2026-11-30,10.00,USD,2026-11-01,",
        "openai-main,ORD-1,2026-11-30,10.00,USD,,",
        "nowhere,D,2026-11-30,10.00,USD,,",
        f"{channel.pk},E,2026-11-30,10.00,USD,,",
        apply=False,
    )
    assert [(e["row"], e["field"], e["message"]) for e in record.errors] == [
        (
            2,
            "channel",
            "kimi-post is postpaid: only channels of prepaid contracts hold credit paid in advance.",
        ),
        (3, "currency", "openai-main's contract is in USD, not CNY."),
        (
            4,
            "expires_on",
            "expires_on 2026-11-01 is not after date 2026-11-30: the balance would have expired already.",
        ),
        (4, "expires_on", "expires_on 2026-11-01 has passed: expired credit is not an open balance."),
        (
            5,
            "document",
            "ORD-1 on openai-main is already recorded as a purchase (Prepayment (top-up)), not as an opening "
            "balance: give the opening balance its own document.",
        ),
        (6, "channel", "'nowhere' is no channel's name, alias or id."),
    ]
    # The channel by its id is read.
    assert record.plan.rows[-1].outcome == "created"
