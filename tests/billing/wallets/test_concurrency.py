"""Concurrent writers on one wallet (DESIGN §4.7), on PostgreSQL where the row locks are real."""

import contextlib
import random
import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from billing.ledger.models import JournalEntry, LedgerAccount
from billing.wallets.exceptions import WalletFloorError
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.status import wallet_settings_update
from tests.billing.factories import available, spend, topup
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8
OPS_PER_THREAD = 200


def _run_threads(work) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def runner(n: int):
        try:
            barrier.wait()
            work(n)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_mixed_top_ups_and_debits_end_with_the_exact_balance():
    customer = CustomerFactory()
    wallet = wallet_get_or_create(customer=customer, currency="CNY")
    # A deep allowed negative so every debit goes through and the expected balance is known exactly.
    wallet_settings_update(wallet=wallet, floor=Decimal("-1000000"), low_balance_threshold=None)
    totals = [Decimal("0")] * THREADS

    def work(n: int):
        rng = random.Random(n)
        for i in range(OPS_PER_THREAD):
            amount = Decimal(rng.randint(1, 100_000)) / Decimal(1000)
            if rng.random() < 0.5:
                topup(customer, amount, f"c:{n}:{i}")
                totals[n] += amount
            else:
                spend(customer, amount, f"d:{n}:{i}")
                totals[n] -= amount

    assert _run_threads(work) == []
    assert available(customer) == sum(totals)
    assert JournalEntry.objects.count() == THREADS * OPS_PER_THREAD * 2
    call_command("ledger_verify")


def test_a_hard_floor_is_never_crossed():
    customer = CustomerFactory()
    topup(customer, "100", "seed")
    spent = [Decimal("0")] * THREADS

    def work(n: int):
        rng = random.Random(100 + n)
        for i in range(OPS_PER_THREAD // 4):
            amount = Decimal(rng.randint(1, 300)) / Decimal(100)
            # a debit refused at the floor is expected here; only accepted ones count
            with contextlib.suppress(WalletFloorError):
                spend(customer, amount, f"d:{n}:{i}")
                spent[n] += amount

    assert _run_threads(work) == []
    final = available(customer)
    assert final >= 0
    assert final == Decimal("100") - sum(spent)
    paid = LedgerAccount.objects.get(kind="wallet_paid", customer=customer)
    # Credit-normal: the customer-side balance never went below zero at any entry.
    assert all(after <= 0 for after in paid.entries.values_list("balance_after", flat=True))
    call_command("ledger_verify")
