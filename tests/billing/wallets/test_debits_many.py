"""wallet_debits_many (a usage batch's prepaid debits): what one wallet_debit per wallet writes, in bulk."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from billing.ledger.exceptions import IdempotencyConflictError
from billing.ledger.models import JournalEntry, JournalTransaction
from billing.ledger.services import Posting, credit
from billing.ledger.services import debit as ledger_debit
from billing.wallets.debits_many import WalletDebit, wallet_debits_many
from billing.wallets.exceptions import WalletError, WalletFloorError
from billing.wallets.models import BalanceSuspension, WalletLot, WalletLotUse
from tests.billing.factories import available, cash, grant, revenue, spend, topup
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def debit(customer, amount, key, **kwargs) -> WalletDebit:
    return WalletDebit(
        customer=customer,
        currency="CNY",
        amount=Decimal(amount),
        idempotency_key=key,
        target_account=revenue(),
        kind="usage.prepaid",
        memo="usage",
        **kwargs,
    )


def funded(tag: str):
    """A customer with paid credit, a grant expiring soon, a pack expiring later and one already expired."""
    customer = CustomerFactory()
    soon, later = timezone.now() + timedelta(days=5), timezone.now() + timedelta(days=30)
    topup(customer, "100", f"{tag}-paid")
    grant(customer, "5", f"{tag}-g-soon", expires_at=soon)
    grant(customer, "20", f"{tag}-p-later", bucket="pack", expires_at=later)
    grant(customer, "50", f"{tag}-g-old", expires_at=soon)
    WalletLot.objects.filter(credited_by__idempotency_key=f"{tag}-g-old").update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    return customer


def written(txn) -> tuple:
    """What a debit wrote, independent of ids: entries by account kind, lot uses, fingerprint."""
    entries = sorted(
        (e.account.kind, e.amount, e.balance_after)
        for e in JournalEntry.objects.filter(transaction=txn).select_related("account")
    )
    uses = sorted(
        (u.lot.bucket, u.amount) for u in WalletLotUse.objects.filter(transaction=txn).select_related("lot")
    )
    return entries, uses, txn.kind, txn.memo


# Where the webhook is published (``common.task_queue`` calls ``apply_async``), caught before the broker.
WEBHOOK_PUBLISH = "billing.wallets.notification_tasks.notify_wallet_webhook_task.apply_async"


def test_bulk_debits_write_what_single_debits_write(django_capture_on_commit_callbacks):
    one, many = [funded("a1"), funded("a2")], [funded("b1"), funded("b2")]
    amounts = ["12", "130"]  # the first burns the grant, part of the pack; the second runs below the floor

    with (
        mock.patch(WEBHOOK_PUBLISH) as single_hooks,
        django_capture_on_commit_callbacks(execute=True),
    ):
        singles = [
            spend(c, amount, f"s-{i}", allow_below_floor=True)
            for i, (c, amount) in enumerate(zip(one, amounts, strict=True))
        ]
    with (
        mock.patch(WEBHOOK_PUBLISH) as bulk_hooks,
        django_capture_on_commit_callbacks(execute=True),
    ):
        bulk = wallet_debits_many(
            debits=[
                debit(c, amount, f"m-{i}", allow_below_floor=True)
                for i, (c, amount) in enumerate(zip(many, amounts, strict=True))
            ]
        )

    # Same lines except the running balances of the shared revenue account, which differ by the other debits.
    def comparable(txn):
        entries, *rest = written(txn)
        return [e if e[0] != "revenue_usage" else e[:2] for e in entries], *rest

    assert [comparable(t) for t in bulk] == [comparable(t) for t in singles]
    assert [available(c) for c in many] == [available(c) for c in one] == [Decimal("113"), Decimal("-5")]
    remaining = [
        sorted(WalletLot.objects.filter(wallet__customer=c).values_list("bucket", "remaining"))
        for c in one + many
    ]
    assert remaining[:2] == remaining[2:]
    assert remaining[2] == [("granted", Decimal("0")), ("granted", Decimal("50")), ("pack", Decimal("13"))]
    # The second wallet reached its floor: suspended, the notices queued after commit, as a single debit does.
    assert BalanceSuspension.objects.filter(customer=many[1], ended_at__isnull=True).exists()
    assert not BalanceSuspension.objects.filter(customer=many[0]).exists()
    notices = ["wallet.low_balance", "wallet.suspended"]
    assert [c.kwargs["args"][1]["type"] for c in bulk_hooks.call_args_list] == notices
    assert [c.kwargs["args"][1]["type"] for c in single_hooks.call_args_list] == notices


def test_a_replay_returns_the_first_transactions_and_writes_nothing():
    customer, other = funded("r1"), funded("r2")
    first = wallet_debits_many(debits=[debit(customer, "3", "k1"), debit(other, "4", "k2")])
    entries = JournalEntry.objects.count()

    again = wallet_debits_many(debits=[debit(customer, "3", "k1"), debit(other, "4", "k2")])

    assert [t.pk for t in again] == [t.pk for t in first]
    assert JournalEntry.objects.count() == entries
    assert available(customer) == Decimal("122")  # 100 paid + 5 + 20 in open lots, less 3 (the 50 expired)


def test_a_key_reused_for_another_amount_is_refused_and_nothing_written():
    customer, other = funded("c1"), funded("c2")
    wallet_debits_many(debits=[debit(customer, "3", "k1")])
    count = JournalTransaction.objects.count()

    with pytest.raises(IdempotencyConflictError):
        wallet_debits_many(debits=[debit(other, "1", "k-new"), debit(customer, "9", "k1")])

    assert JournalTransaction.objects.count() == count


def test_a_debit_below_the_floor_refuses_the_whole_call():
    rich, poor = funded("f1"), CustomerFactory()
    topup(poor, "1", "f2-paid")
    before = available(rich)

    with pytest.raises(WalletFloorError):
        wallet_debits_many(debits=[debit(rich, "5", "ok"), debit(poor, "2", "too-much")])

    assert available(rich) == before and available(poor) == Decimal("1")


def test_two_debits_of_one_wallet_are_refused():
    customer = funded("d1")
    with pytest.raises(WalletError, match="one debit per wallet"):
        wallet_debits_many(debits=[debit(customer, "1", "x1"), debit(customer, "1", "x2")])


def test_replays_and_new_debits_mix_and_single_debits_replay_through_the_bulk_call():
    """A wallet_debit's key replays through wallet_debits_many (the same fingerprint, or it would raise)."""
    customer, other, third = funded("x1"), funded("x2"), funded("x3")
    single = spend(customer, "3", "s-1")
    before = available(other)

    posted = wallet_debits_many(debits=[debit(customer, "3", "s-1"), debit(other, "4", "m-2")])
    again = wallet_debits_many(debits=[debit(other, "4", "m-2"), debit(third, "1", "m-3")])

    assert posted[0].pk == single.pk and again[0].pk == posted[1].pk
    assert available(customer) == Decimal("122")  # charged once
    assert available(other) == before - 4 and available(third) == Decimal("124")
    assert WalletLotUse.objects.filter(transaction=posted[1]).count() == 1  # 4 of the 5 granted


def test_other_postings_go_with_the_debits_and_may_not_touch_a_wallet():
    customer = funded("o1")
    plain = Posting(
        idempotency_key="plain",
        kind="usage.cost",
        lines=[ledger_debit(cash(), Decimal("2"), "CNY"), credit(revenue(), Decimal("2"), "CNY")],
    )

    posted = wallet_debits_many(debits=[debit(customer, "1", "d-1")], postings=[plain])

    assert [t.idempotency_key for t in posted] == ["d-1", "plain"]
    assert JournalEntry.objects.filter(transaction=posted[1]).count() == 2
    wallet_account = posted[0].entries.get(account__kind="wallet_granted").account
    touching = Posting(
        idempotency_key="touching",
        kind="usage.cost",
        lines=[ledger_debit(wallet_account, Decimal("1"), "CNY"), credit(revenue(), Decimal("1"), "CNY")],
    )
    with pytest.raises(WalletError, match="company accounts"):
        wallet_debits_many(debits=[debit(customer, "1", "d-2")], postings=[touching])
