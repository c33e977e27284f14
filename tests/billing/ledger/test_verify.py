from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from billing.ledger.models import LedgerAccount
from billing.wallets.models import WalletLot
from billing.wallets.verify import books_problems
from demo.loader import demo_load
from tests.billing.factories import grant, spend, topup
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_ledger_verify_passes_on_demo_data(capsys):
    demo_load()
    demo_load()  # idempotent: a second load posts nothing new and breaks nothing
    call_command("ledger_verify")
    assert "OK" in capsys.readouterr().out
    assert LedgerAccount.objects.filter(kind="wallet_paid").exists()


def test_ledger_verify_fails_naming_the_account_with_a_corrupted_cached_balance(capsys):
    customer = CustomerFactory()
    topup(customer, "100", "t1")
    spend(customer, "30", "s1")
    account = LedgerAccount.objects.get(kind="wallet_paid", customer=customer)
    # A cached balance is not append-only (the service updates it), so corruption is possible — and caught.
    LedgerAccount.objects.filter(pk=account.pk).update(balance=Decimal("-71"))
    with pytest.raises(CommandError, match="problem"):
        call_command("ledger_verify")
    err = capsys.readouterr().err
    assert account.code in err
    assert "cached balance -71" in err


def test_ledger_verify_notices_a_lot_out_of_step_with_its_account(capsys):
    customer = CustomerFactory()
    grant(customer, "50", "g1")
    WalletLot.objects.update(remaining=Decimal("40"))
    with pytest.raises(CommandError):
        call_command("ledger_verify")
    assert "wallet lot" in capsys.readouterr().err


def test_books_problems_holds_the_journal_and_the_lots():
    """What the money tests assert empty covers the wallets' lots too, not only the journal."""
    customer = CustomerFactory()
    grant(customer, "50", "g1")
    assert books_problems() == []
    WalletLot.objects.update(remaining=Decimal("40"))
    [problem] = [p for p in books_problems() if p.startswith("wallet lot")]
    assert "remaining 40" in problem


def test_ledger_verify_python_sums_path_agrees(monkeypatch):
    """The SQLite path (Decimal sums in Python) finds what the SQL path finds, and nothing on sound books."""
    from billing.ledger import verify

    customer = CustomerFactory()
    topup(customer, "100.1", "t1")
    spend(customer, "30.2", "s1")
    monkeypatch.setattr(verify, "sums_in_python", lambda: True)
    assert verify.ledger_problems() == []
    account = LedgerAccount.objects.get(kind="wallet_paid", customer=customer)
    LedgerAccount.objects.filter(pk=account.pk).update(balance=Decimal("-71"))
    [problem] = verify.ledger_problems()
    assert account.code in problem and "69.9" in problem
